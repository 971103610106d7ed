"""The session's rules on the data's choices, without Qt: ticks kept across files of the same columns, a
multiclass task for a 3-class column, the balance proposal and auto balance, the label mode's reaction, and the
layers that may be frozen."""

from __future__ import annotations

import numpy as np

from workbench.core.workflow.commands import OpenModel, ReadData
from workbench.core.workflow.session import SessionModel

from .conftest import write_csv


def _session(user_mlp, table=None) -> SessionModel:
    ckpt, source, args, csv = user_mlp
    s = SessionModel()
    OpenModel(s, ckpt, model_source=source, model_args=args).run()
    ReadData(s, table or csv).run()
    return s


def _with_classes(path, names, n=120, seed=0):
    write_csv(path, n=n, n_features=5, label="risk", seed=seed)
    rng = np.random.default_rng(seed)
    lines = path.read_text().splitlines()
    picked = [names[i % len(names)] for i in rng.permutation(n)]
    path.write_text("\n".join([lines[0]] + [",".join(line.split(",")[:-1] + [c])
                                              for line, c in zip(lines[1:], picked)]) + "\n")
    return path


def test_ticks_are_kept_for_a_file_of_the_same_columns(user_mlp, tmp_path):
    first = write_csv(tmp_path / "a.csv", n_features=6, label="risk")
    s = _session(user_mlp, first)
    s.set_features(["f0", "f2", "f3", "f5"])
    assert s.ticked_features() == ["f0", "f2", "f3", "f5"]
    ReadData(s, write_csv(tmp_path / "b.csv", n_features=6, label="risk", seed=1)).run()
    assert s.recipe.data.path.endswith("b.csv") and s.ticked_features() == ["f0", "f2", "f3", "f5"]
    ReadData(s, write_csv(tmp_path / "c.csv", n_features=5, label="risk", seed=2)).run()  # other columns
    assert s.recipe.data.features == ()  # reset to the defaults for the label and the model's width
    assert s.ticked_features() == list(s.columns.default_features("risk", 4)) != ["f0", "f2", "f3", "f5"]


def test_a_three_class_column_proposes_multiclass_and_applies_it_while_auto(user_mlp, tmp_path):
    table = _with_classes(tmp_path / "three.csv", ["high", "low", "medium"])
    s = _session(user_mlp)
    s.set_features(["f0", "f1", "f2", "f3"])
    ReadData(s, table).run()
    s.set_features(["f0", "f1", "f2", "f3"])
    found = s.task_proposal()
    assert found.task == "multiclass" and not found.applied and "3 classes" in found.reason
    assert s.recipe.head.task == "binary" and s.data is None  # the command line's session only proposes
    s.auto_task = True
    s.relabel()
    assert s.recipe.head.task == "multiclass" and s.task_proposal().applied
    assert s.data is not None and s.data.classes == ["low", "medium", "high"]  # natural order
    s.set_label_mode("bins")  # bins are several classes too: the task stays
    assert s.recipe.head.task == "multiclass"
    s.choose_task("ordinal")
    assert not s.auto_task and s.task_proposal() is None


def test_bins_under_an_unchosen_binary_head_make_it_multiclass_and_two_classes_make_it_binary_again(user_mlp):
    """The window's rule, in core: bins are K classes (as bins= and --bins say); a threshold or a two-class
    column takes the binary head back while the user has not chosen a task."""
    s = _session(user_mlp)
    s.auto_task = True
    s.set_label_mode("bins")
    assert s.recipe.head.task == "multiclass"
    s.set_label_mode("threshold")
    assert s.recipe.head.task == "binary"
    s.choose_task("binary")
    s.set_label_mode("bins")  # a task the user chose is kept (the form then says why it does not fit)
    assert s.recipe.head.task == "binary"


def test_balance_proposal_follows_the_data_while_auto_balance_is_on(user_mlp):
    s = _session(user_mlp)
    s.update(**{"data.label_mode": "threshold", "data.threshold": 1.2})  # few positives
    found = s.balance_proposal()
    assert found.weights["pos_weight"] > 1.5 and not found.in_use
    s.set_auto_balance(True)
    assert s.recipe.train.pos_weight == found.weights["pos_weight"] and s.balance_proposal().in_use
    s.update(**{"data.threshold": 1.5})  # new labels: the weights follow
    assert s.recipe.train.pos_weight == s.balance_proposal().weights["pos_weight"] != found.weights["pos_weight"]
    s.set_weights(pos_weight=2.0)  # typed by hand: auto balance stops
    s.update(**{"data.threshold": 1.2})
    assert not s.auto_balance and s.recipe.train.pos_weight == 2.0
    s.set_auto_balance(False)
    assert s.recipe.train.pos_weight is None


def test_a_cut_drops_the_class_order_and_the_freezable_layers_are_the_bodys(user_mlp, tmp_path):
    table = _with_classes(tmp_path / "three.csv", ["a", "b", "c"])
    s = _session(user_mlp, table)
    s.update(**{"head.task": "multiclass"})
    s.set_features(["f0", "f1", "f2", "f3"])
    s.set_classes(["c", "a", "b"])
    s.set_label_mode("column")
    assert s.recipe.data.classes == ("c", "a", "b")
    s.set_label_mode("bins")
    assert s.recipe.data.classes == () and s.recipe.data.label_mode == "bins"
    assert s.freezable() == ["body", "body.0"]  # the body and its Linear; not the model, not the head


def test_the_applied_task_goes_back_to_binary_when_the_labels_are_two_classes_again(user_mlp, tmp_path):
    table = _with_classes(tmp_path / "numbers.csv", ["1", "2", "3"])
    s = _session(user_mlp)
    s.auto_task = True
    ReadData(s, table).run()
    s.set_features(["f0", "f1", "f2", "f3"])
    assert s.recipe.head.task == "multiclass" and s.data.classes == ["1", "2", "3"]
    s.set_label_mode("threshold")
    assert s.recipe.head.task == "binary" and s.data is not None and len(s.data.classes) == 2
    s.set_label_mode("column")
    assert s.recipe.head.task == "multiclass"


def test_a_continuous_label_column_is_cut_at_its_median_while_auto_labels_and_a_class_column_undoes_it(user_mlp,
                                                                                                       tmp_path):
    """The regression target a model was trained on (240 distinct numbers) under class-column labels: the window's
    and a notebook's session cut it at the median (binary) and say why; the command line's does not (it keeps the
    error, which names the fix); a class column read next goes back to its values; the user's own choice of labels
    is never replaced."""
    s = _session(user_mlp)
    assert s.recipe.data.label_mode == "column" and s.data is None  # the command line's session: the error stands
    assert "240 classes" in s.data_problem
    s = SessionModel(auto_labels=True)
    ckpt, source, args, csv = user_mlp
    OpenModel(s, ckpt, model_source=source, model_args=args).run()
    ReadData(s, csv).run()
    assert s.recipe.data.label_mode == "threshold" and s.recipe.data.threshold is None and s.data is not None
    assert "240 distinct numbers" in s.labels_applied and len(s.data.classes) == 2
    ReadData(s, _with_classes(tmp_path / "two.csv", ["no", "yes"])).run()  # a class column: its values again
    s.set_features(["f0", "f1", "f2", "f3"])
    assert s.recipe.data.label_mode == "column" and not s.labels_applied, s.data_problem
    assert s.data is not None and s.data.classes == ["no", "yes"], s.data_problem
    ReadData(s, csv).run()
    assert s.recipe.data.label_mode == "threshold"
    s.set_label_mode("column")  # the user's choice: kept, with the error beside it
    assert not s.auto_labels and s.recipe.data.label_mode == "column" and s.data is None
    ReadData(s, write_csv(tmp_path / "other.csv", n_features=6, label="risk", seed=3)).run()
    assert s.recipe.data.label_mode == "column"


def test_another_label_column_leaves_the_old_label_unticked(user_mlp, tmp_path):
    """Switching the label from the target to a text column ticked the target as a feature (a leak), and the model's
    width then refused the data; the old label stays out of the features."""
    table = tmp_path / "with_city.csv"
    write_csv(table, n_features=4, label="risk")
    lines = table.read_text().splitlines()
    table.write_text("\n".join([lines[0] + ",city"] + [line + (",north" if i % 2 else ",south")
                                                         for i, line in enumerate(lines[1:])]) + "\n")
    s = _session(user_mlp, table)
    s.set_label("risk")  # the table's last column, city, was taken as the label
    assert s.ticked_features() == ["f0", "f1", "f2", "f3"]
    s.set_label("city")
    assert "risk" not in s.ticked_features() and s.ticked_features() == ["f0", "f1", "f2", "f3"]
    assert s.data is not None and s.data.classes == ["north", "south"]
    s.set_label("risk")
    assert s.ticked_features() == ["f0", "f1", "f2", "f3"]
