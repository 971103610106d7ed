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


# --- one description per field: checks, the command line and the form are generated from it

@pytest.mark.parametrize("changes, field", [
    ({"train.weight_decay": float("nan")}, "train.weight_decay"),
    ({"data.bins": 10**30}, "data.bins"),
    ({"head.hidden": 10**9}, "head.hidden"),
    ({"train.patience": -1}, "train.patience"),
    ({"train.focal_gamma": -5.0}, "train.focal_gamma"),
    ({"data.splits": (float("nan"), 0.5, 0.25, 0.25)}, "data.splits"),
    ({"train.epochs": "30"}, "train.epochs"),
    ({"train.mixed_precision": "yes"}, "train.mixed_precision"),
    ({"input_shape": (0, 8)}, "input_shape"),
])
def test_every_field_has_its_range_checked(changes, field):
    with pytest.raises(RecipeError) as err:
        rc.Recipe().replace(**changes)
    assert err.value.field == field


def test_every_field_is_described_and_reachable():
    from workbench.cli import _recipe_options

    fields = set(rc.FIELDS)
    assert "train.lr" in fields and "data.splits" in fields
    flagged = {name for name, *_ in _recipe_options()}
    special = {"data.label_mode", "data.threshold", "data.bins", "head.frozen_layers", "model_source",
               "model_args", "input_shape"}  # set by --threshold/--bins, the Model tab, or the model options
    assert fields - flagged == special


def test_cli_flags_are_generated_and_checked(capsys):
    from workbench import cli

    args = cli.build_parser().parse_args(["convert", "m.pt", "--data", "d.csv", "--out", "o", "--lr", "0.05",
                                          "--splits", "0.5,0.2,0.1,0.2", "--no-standardize", "--epochs", "7"])
    recipe = cli._recipe_from_args(args)
    assert (recipe.train.lr, recipe.data.splits, recipe.train.epochs) == (0.05, (0.5, 0.2, 0.1, 0.2), 7)
    for bad in (["--weight-decay", "nan"], ["--hidden", "1000000000"], ["--patience", "-1"],
                ["--focal-gamma", "-5"], ["--splits", "nan,0.5,0.25,0.25"], ["--bins", "1e30"],
                ["--mlp-activation", "bogus"], ["--model-args", "[" * 5000 + "]" * 5000]):
        code = cli.main(["convert", "m.pt", "--data", "d.csv", "--out", "o", *bad])
        err = capsys.readouterr().err
        assert code == 2, bad
        assert bad[0] in err and "Traceback" not in err


def test_version_is_written_and_older_recipes_migrate(tmp_path):
    assert rc.Recipe().to_dict()["version"] == rc.RECIPE_VERSION
    old = tmp_path / "old.json"
    old.write_text('{"train": {"lr": 0.01}}')  # version 1: no version key
    assert rc.load(old).train.lr == 0.01
    new = tmp_path / "new.json"
    new.write_text('{"version": 99}')
    with pytest.raises(RecipeError, match="newer workbench"):
        rc.load(new)


def test_deeply_nested_recipes_are_refused(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"model_args": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001)
    with pytest.raises(RecipeError, match="nest"):
        rc.load(path)
    toml = tmp_path / "deep.toml"
    toml.write_text("model_args = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(RecipeError):
        rc.load(toml)


def test_mlp_activation_names_match_the_architectures():
    from workbench.core.open.architectures import ACTIVATIONS

    assert set(rc.MLP_ACTIVATIONS) == set(ACTIVATIONS)


# --- a model source named by a recipe file is code that runs only with the user's trust

def _recipe_naming_source(tmp_path):
    marker = tmp_path / "PWNED"
    src = tmp_path / "evil_models.py"
    src.write_text(f"open({str(marker)!r}, 'w').write('x')\nimport torch\nclass Net(torch.nn.Module):\n    pass\n")
    path = tmp_path / "recipe.json"
    path.write_text('{"model_source": "evil_models.py:Net"}')
    return path, marker


def test_a_recipe_naming_a_model_source_needs_trust(tmp_path, monkeypatch):
    from workbench.core.errors import UntrustedFileError

    path, marker = _recipe_naming_source(tmp_path)
    monkeypatch.chdir(tmp_path.parent)  # a relative source resolves against the recipe's folder, not here
    with pytest.raises(UntrustedFileError) as err:
        rc.load(path)
    assert "evil_models.py" in str(err.value) and str(path) in str(err.value)
    assert rc.load(path, typed_source="mine.py:Net").model_source == "mine.py:Net"
    recipe = rc.load(path, trusted=True)
    assert recipe.model_source == f"{tmp_path / 'evil_models.py'}:Net"
    assert rc.load(path).model_source == recipe.model_source  # trusted by hash from now on
    path.write_text('{"model_source": "evil_models.py:Net", "seed": 1}')
    with pytest.raises(UntrustedFileError):
        rc.load(path)  # a changed file is untrusted again
    assert not marker.exists()


def test_convert_with_an_untrusted_recipe_runs_nothing(tmp_path, capsys, tutorial_ckpt, table_csv):
    from workbench import cli

    path, marker = _recipe_naming_source(tmp_path)
    code = cli.main(["convert", str(tutorial_ckpt), "--recipe", str(path), "--data", str(table_csv),
                     "--threshold", "median", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "--trust" in err and "evil_models.py" in err and "Traceback" not in err
    assert not marker.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("task, said, not_said", [("ordinal", "an ordinal head takes threshold (the median class)",
                                                   "most probable"),
                                                  ("multiclass", "a multiclass head takes threshold (the most "
                                                                 "probable class)", "median")])
def test_a_binary_policy_on_another_head_is_refused_in_that_head_s_words(task, said, not_said):
    changes = {"head.task": task, "data.label_mode": "bins", "data.bins": 4, "decide.policy": "f1"}
    with pytest.raises(RecipeError, match=r"decide\.policy") as err:
        rc.Recipe().replace(**changes)
    assert said in str(err.value) and not_said not in str(err.value)
