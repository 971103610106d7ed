"""The digits demo converted once, its conformal sets at alpha 0.1 and 0.2: coverage near 0.9 and 0.8, smaller
sets at 0.2. Slow (the demo trains its regressor and then the head: about 75 s on a quiet 2-core machine, over
four minutes under load), so it runs when WORKBENCH_SLOW_TESTS=1; the numbers of its last run are in the README."""

import os

import pytest

from workbench.core.decide.decisions import conformal_of

pytestmark = pytest.mark.skipif(not os.environ.get("WORKBENCH_SLOW_TESTS"),
                                reason="converts the digits demo (minutes); set WORKBENCH_SLOW_TESTS=1")


def test_digits_demo_sets_cover_at_their_level_and_shrink_as_alpha_grows(tmp_path):
    from workbench.core.workflow import demo
    from workbench.core.workflow.journey import convert_checkpoint

    ckpt, recipe = demo.build_digits(tmp_path / "digits")
    run, _ = convert_checkpoint(ckpt, recipe)
    n_test = len(run.data.labels("test"))
    for method in ("lac", "aps"):
        at = {alpha: conformal_of(run, alpha=alpha, method=method) for alpha in (0.1, 0.2)}
        for alpha, found in at.items():
            # coverage of one calibration draw: within about 2.5 standard errors (calibration and test) of 1 - alpha
            slack = 2.5 * ((alpha * (1 - alpha)) ** 0.5) * (1 / 180 + 1 / n_test) ** 0.5
            assert abs(found["coverage"] - (1 - alpha)) < slack + 1 / 181, (method, alpha, found["coverage"])
        assert at[0.2]["mean_set_size"] < at[0.1]["mean_set_size"], method
