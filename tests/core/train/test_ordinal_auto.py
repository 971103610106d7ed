"""head.ordinal = "auto": multinomial when the head's input features order the classes clearly better than the
regression output cut, coral when the output already carries the order (train.ordinal.choose_head), and the run records
the pick."""

import numpy as np

from workbench.core.train.ordinal import PROBE_SHARE, choose_head


def _splits(rng, output_noise: float, n=600, k=4):
    """Classes cut from a latent value; features hold it exactly (plus noise columns), the output is it plus noise."""
    latent = rng.normal(size=n)
    y = np.searchsorted(np.quantile(latent, [0.25, 0.5, 0.75]), latent)
    features = np.column_stack([latent, rng.normal(size=(n, 3))])
    output = latent + output_noise * rng.normal(size=n)
    half = n // 2
    part = {"train": slice(0, half), "val": slice(half, n)}
    return ({s: output[p] for s, p in part.items()}, {s: features[p] for s, p in part.items()},
            {s: y[p] for s, p in part.items()}, k)


def test_features_that_order_better_than_the_output_choose_multinomial():
    choice = choose_head(*_splits(np.random.default_rng(0), output_noise=1.0))
    assert choice["chosen"] == "multinomial"
    assert choice["probe_distance"] < PROBE_SHARE * choice["cut_distance"]


def test_an_output_that_carries_the_order_chooses_coral():
    choice = choose_head(*_splits(np.random.default_rng(0), output_noise=0.0))
    assert choice["chosen"] == "coral" and choice["cut_distance"] <= choice["probe_distance"] + 0.05
    assert "probe" in choice["rule"]


def test_auto_is_the_default_and_older_recipes_keep_coral(tmp_path):
    from workbench.core import recipe as rc

    assert rc.Recipe().head.ordinal == "auto"
    old = tmp_path / "old.json"
    old.write_text('{"version": 7, "head": {"task": "ordinal"}}')  # written when a left-out head.ordinal meant coral
    assert rc.load(old).head.ordinal == "coral"
    kept = tmp_path / "kept.json"
    kept.write_text('{"version": 7, "head": {"task": "ordinal", "ordinal": "corn"}}')
    assert rc.load(kept).head.ordinal == "corn"
