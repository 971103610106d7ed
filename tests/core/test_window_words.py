"""Errors and notes said in the window never name a command-line flag; the CLI keeps its flags."""

from __future__ import annotations

import pytest

from workbench.core.data.columns import WidthMismatchError, check_width
from workbench.core.errors import WorkbenchError, for_window
from workbench.core.open.layer_tree import INPUT_SHAPE_FIX

TEXTS = [
    INPUT_SHAPE_FIX,
    "If you know where the files come from, trust them (command line: add --trust, or name the model source "
    "yourself with --model-source; in the window: answer the trust prompt). Trust applies to these exact files only.",
    "Architecture rebuilt as an MLP of Linear layers with relu between them, an activation the file does not "
    "record: choose another one if it was trained with another (--mlp-activation; in the window, the Model tab's "
    "MLP activation).",
    "Check the model source and its constructor arguments (--model-args).",
    "Choose another file name, or add --overwrite to replace it.",
    "Give the class order (--classes low,medium,high; in the window, Move up/down beside the class counts on the "
    "Data tab), cut a numeric column into bins, or choose a multiclass head.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_window_wording_drops_the_flags_and_keeps_the_window_part(text):
    said = for_window(text)
    assert "--" not in said and "command line" not in said
    assert said.endswith(".") and len(said) > 20


def test_window_parts_are_kept():
    assert "the Model tab's Input shape field" in for_window(INPUT_SHAPE_FIX)
    assert "(answer the trust prompt)" in for_window(TEXTS[1])
    assert for_window(TEXTS[2]).endswith("choose another one if it was trained with another (the Model tab's MLP "
                                         "activation).")
    assert "Move up/down beside the class counts" in for_window(TEXTS[5])
    assert for_window("No flags here (really).") == "No flags here (really)."


def test_an_error_made_with_window_words_uses_them():
    exc = WorkbenchError("bad", "Run with --trust.", gui="Answer the trust prompt.")
    assert exc.window_fix == "Answer the trust prompt." and "--trust" in str(exc)


def test_the_width_message_never_asks_for_more_columns_than_the_table_has():
    class Summary:
        names = [f"c{i}" for i in range(7)] + ["y"]
        notes: dict = {}

        def numeric_names(self, label):
            return [n for n in self.names if n != label]

    with pytest.raises(WidthMismatchError) as found:
        check_width((10,), [f"c{i}" for i in range(7)], Summary(), "y", "t.csv")
    exc = found.value
    for text in (exc.fix, exc.window_fix):
        assert "only 7 numeric column(s)" in text and "needs 10" in text and "Choose 10" not in text
    assert "--" not in exc.window_fix
    with pytest.raises(WidthMismatchError) as found:
        check_width((3,), [f"c{i}" for i in range(7)], Summary(), "y", "t.csv")
    assert "Tick 3 of the 7 numeric columns" in found.value.window_fix and "--features" in found.value.fix


def test_an_ordinal_run_is_told_of_its_own_baseline_and_its_median_rule():
    """The Checks and Decisions boxes of an ordinal run: no 'for binary heads' dead end, no slider that is not
    there; the model card (no window) names no tab."""
    from workbench.core.decide.policy import Policy
    from workbench.core.evaluate.baseline_check import scores_for

    why = scores_for("ordinal", None, 1, None, {})["why_not"]
    assert "(the Baseline button)" in for_window(why) and "--baseline" in why
    assert Policy("threshold", ordinal=True).metadata(4)["chosen"] == "the median class of the ordinal head " \
                                                                       "(no threshold)"
    assert "tab" not in Policy("threshold", threshold=0.5).metadata(2)["chosen"]


def test_a_label_message_says_what_was_not_named_and_how_to_name_it(tmp_path):
    from workbench.core.data.columns import DEFAULT_LABEL
    from workbench.core.errors import DataError
    from workbench.core.recipe import DataRecipe

    assert DataRecipe().label == DEFAULT_LABEL
    from workbench.core.data.data import load_table

    (tmp_path / "t.csv").write_text("a,b,level\n1,2,x\n3,4,y\n5,6,z\n")
    with pytest.raises(DataError) as missing:
        load_table(str(tmp_path / "t.csv"), DEFAULT_LABEL)
    assert "(the default label column)" in str(missing.value) and "--label" in str(missing.value)
    assert "Data tab's Label column" in missing.value.window_fix and "--" not in missing.value.window_fix


def test_a_folder_given_as_the_checkpoint_lists_the_files_inside(tmp_path):
    from workbench.core.errors import CheckpointError
    from workbench.core.open.load import load_checkpoint

    (tmp_path / "model.pt").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(CheckpointError, match=r"a folder, not a checkpoint file.*inside it \(model\.pt\)"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="holds none"):
        load_checkpoint(tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else tmp_path)


def test_summaries_say_which_interval_is_which():
    """Accuracy's interval is Wilson's, the others bootstrap: no summary calls them all bootstrap."""
    from workbench.cli.output import _summary
    from workbench.core.evaluate.uncertainty import INTERVALS, method_of

    assert method_of("accuracy") == "wilson" and "Wilson for accuracy" in INTERVALS
    test = {"n": 10, "accuracy": 0.5, "macro_f1": 0.5, "ece": 0.1, "brier": 0.2, "ci": {"accuracy": [0.2, 0.8]}}
    text = _summary({"classes": ["a", "b"], "test": test})
    assert f"test (10 rows; {INTERVALS}, in brackets)" in text


def test_the_training_data_is_recognised_as_a_file_a_folder_or_a_bundled_set(tmp_path):
    from workbench.core.safety.snapshot import fingerprint
    from workbench.core.workflow.evaluate_data import _trained_on

    folder = tmp_path / "imgs" / "cat"
    folder.mkdir(parents=True)
    (folder / "1.png").write_bytes(b"png")
    meta = {"data": {"sha256": fingerprint(str(tmp_path / "imgs"))}, "recipe": {"data": {"path": "sklearn:iris"}}}
    assert _trained_on(meta, str(tmp_path / "imgs"))
    (folder / "2.png").write_bytes(b"another")
    assert not _trained_on(meta, str(tmp_path / "imgs"))  # not the same images any more
    assert _trained_on(meta, "sklearn:iris") and not _trained_on(meta, "sklearn:wine")
    assert not _trained_on(meta, str(tmp_path / "gone.csv"))


@pytest.mark.parametrize("text", TEXTS)
def test_the_notebook_wording_names_arguments_not_flags_or_the_window(text):
    from workbench.core.errors import for_notebook

    said = for_notebook(text)
    assert "--" not in said and "in the window" not in said and "command line" not in said
    assert said.endswith(".") and len(said) > 20


def test_notebook_arguments_read_as_python():
    from workbench.core.errors import for_notebook

    assert for_notebook("Choose --missing drop (leave those rows out) or --missing impute.") == \
        "Choose missing='drop' (leave those rows out) or missing='impute'."
    assert "(trust=True, or name the model source yourself with model_source=)" in for_notebook(TEXTS[1])
    assert "with model_args={\"hidden\": 8}" in for_notebook("Give them with --model-args '{\"hidden\": 8}'.")
    assert "(input_shape=, e.g. 10 or 1,8,8)" in for_notebook(INPUT_SHAPE_FIX)
    assert for_notebook("No flags here (in the window, X).") == "No flags here (in the window, X)."


def test_a_recipe_problem_in_the_window_names_the_control_not_the_dotted_field():
    from workbench.core import recipe as rc
    from workbench.core.errors import RecipeError

    with pytest.raises(RecipeError) as caught:
        rc.Recipe().replace(**{"data.splits": (0.55, 0.15, 0.1, 0.25)})
    said = caught.value.window_problem
    assert said.startswith("Splits: must be four") and "data.splits" not in said
    assert for_window("a table (.csv/.tsv), an .npz with X and y (--data; in the window, Data).") == \
        "a table (.csv/.tsv), an .npz with X and y (Data)."  # the space before ".npz" kept
