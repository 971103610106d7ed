"""JSON the workbench writes is JSON every reader accepts: non-finite numbers become null."""

import json

import numpy as np

from workbench.core import json_text


def _strict(text: str):
    def refuse(constant):
        raise ValueError(constant)
    return json.loads(text, parse_constant=refuse)  # NaN / Infinity tokens raise, as JSON.parse does


def test_non_finite_numbers_are_written_as_null():
    value = {"val_accuracy": float("nan"), "ci": [float("-inf"), 0.5], "n": np.float32("nan"), "ok": 1.5,
             "rows": (1, 2)}
    read = _strict(json_text.dumps(value, indent=2))
    assert read == {"val_accuracy": None, "ci": [None, 0.5], "n": None, "ok": 1.5, "rows": [1, 2]}
    assert json_text.dumps({"a": 1.0}) == '{"a": 1.0}'


def test_an_export_without_validation_rows_writes_strict_json(tutorial_ckpt, models_py, table_csv, tmp_path):
    from workbench.core.open.load import load_checkpoint
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.pipeline import export_run, prepare_data, train_run

    recipe = Recipe().replace(**{"data.path": str(table_csv), "data.label_mode": "threshold",
                                 "data.splits": (0.8, 0.0, 0.1, 0.1), "model_source": f"{models_py}:TinyRegressor",
                                 "train.epochs": 2})
    loaded = load_checkpoint(tutorial_ckpt, recipe.model_source)
    run = train_run(recipe, loaded, prepare_data(recipe, loaded.input_shape))
    folder = export_run(run, tmp_path / "export").folder
    for name in ("metrics.json", "metadata.json"):
        _strict((folder / name).read_text())
