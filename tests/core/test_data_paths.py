"""A recipe's relative data path is read from the recipe's folder (as its model source is), convert stores it
absolute, and compare sees one split whether the data was typed relative or absolute."""

import json

from workbench.core import recipe as rc
from workbench.core.evaluate.compare import split_key


def test_a_recipes_relative_data_is_read_from_its_folder(tmp_path, monkeypatch):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "table.csv").write_text("a,target\n1,2\n")
    (folder / "recipe.json").write_text(json.dumps({"version": rc.RECIPE_VERSION, "data": {"path": "table.csv"}}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert rc.load(folder / "recipe.json").data.path == str((folder / "table.csv").resolve())
    # a path that is not there is kept as typed (read from the current folder, named as typed when missing)
    (folder / "recipe.json").write_text(json.dumps({"version": rc.RECIPE_VERSION, "data": {"path": "gone.csv"}}))
    assert rc.load(folder / "recipe.json").data.path == "gone.csv"
    assert rc.resolve_data(rc.Recipe().with_changes(**{"data.path": "sklearn:iris"}), folder).data.path == \
        "sklearn:iris"


def test_relative_and_absolute_data_are_one_split(tmp_path, monkeypatch):
    (tmp_path / "table.csv").write_text("a,target\n1,2\n")
    monkeypatch.chdir(tmp_path)
    typed = rc.Recipe().with_changes(**{"data.path": "table.csv"})
    absolute = rc.resolve_data(typed, tmp_path)
    assert absolute.data.path == str(tmp_path / "table.csv")
    assert split_key(typed.to_dict()) == split_key(absolute.to_dict())  # an old export's relative path too


def test_a_model_source_typed_relative_is_kept_absolute(tmp_path, monkeypatch):
    """The CLI's --model-source and a notebook's open(model_source=) are read from the current folder: the run's
    recipe names the file absolutely, so Compare does not list 'models.py' against its absolute path."""
    from workbench.core.evaluate.recipe_diff import recipe_diff
    from workbench.core.workflow.commands import OpenModel
    from workbench.core.workflow.session import SessionModel

    monkeypatch.chdir(tmp_path)
    typed = OpenModel(SessionModel(), "model.pt", "models.py:Net").given["model_source"]
    assert typed == f"{(tmp_path / 'models.py').resolve()}:Net"
    absolute = OpenModel(SessionModel(), "model.pt", str(tmp_path / "models.py") + ":Net").given["model_source"]
    assert typed == absolute
    runs = [{"name": n, "recipe": rc.Recipe().with_changes(model_source=s).to_dict()}
            for n, s in (("typed", typed), ("absolute", absolute))]
    assert not recipe_diff(runs)["differs"]
    assert rc.resolve_source(rc.Recipe().with_changes(model_source="m.py:Net"), tmp_path / "sub").model_source == \
        f"{(tmp_path / 'sub' / 'm.py').resolve()}:Net"
