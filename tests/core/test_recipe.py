import pytest

from workbench.core import recipe as rc
from workbench.core.errors import RecipeError


def test_round_trip_json_and_toml(tmp_path):
    recipe = rc.Recipe().replace(**{"head.task": "multiclass", "data.label_mode": "bins", "data.bins": 4,
                                    "train.lr": 0.01, "data.features": ("a", "b"), "seed": 7})
    path = tmp_path / "r.json"
    recipe.save(path)
    assert rc.load(path) == recipe
    toml = tmp_path / "r.toml"
    toml.write_text('seed = 7\ncalibration = "platt"\n[head]\ntask = "multiclass"\n[data]\nlabel_mode = "bins"\n')
    loaded = rc.load(toml)
    assert (loaded.seed, loaded.calibration, loaded.head.task) == (7, "platt", "multiclass")


def test_unknown_field_is_named(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"train": {"learning_rate": 0.1}}')
    with pytest.raises(RecipeError, match="train.learning_rate") as err:
        rc.load(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("changes, field", [
    ({"head.task": "binary", "train.loss": "cross_entropy"}, "train.loss"),
    ({"head.task": "multiclass", "data.label_mode": "threshold"}, "data.label_mode"),
    ({"head.dropout": 1.5}, "head.dropout"),
    ({"data.splits": (0.5, 0.5, 0.5, 0.5)}, "data.splits"),
    ({"train.epochs": 0}, "train.epochs"),
    ({"calibration": "magic"}, "calibration"),
])
def test_invalid_combinations_are_explained(changes, field):
    with pytest.raises(RecipeError, match=field.replace(".", r"\.")):
        rc.Recipe().replace(**changes)


def test_saving_into_a_missing_folder_is_a_user_error_naming_the_file(tmp_path):
    from workbench.core.errors import ExportError

    target = tmp_path / "no such folder" / "recipe.json"
    with pytest.raises(ExportError, match="cannot be written") as err:
        rc.Recipe().save(target)
    assert err.value.path == str(target) and err.value.fix
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind
