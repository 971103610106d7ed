"""The session's commands without Qt: what a new model clears, jobs and busy state, commands on a run with a job
in flight, run names, and the reactions to the recipe (a resize reads images again, a new MLP activation reopens
an MLP)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.core.errors import RecipeError
from workbench.core.workflow.commands import OpenModel, ReadData
from workbench.core.workflow.jobs import JobError
from workbench.core.workflow.pipeline import evaluate_run
from workbench.core.workflow.run_commands import Baseline, Calibrate, Rebin, SetThreshold, Train
from workbench.core.workflow.session import SessionModel

QUICK = {"train.epochs": 2, "train.lr": 0.01}


def _mlp_session(user_mlp) -> SessionModel:
    ckpt, source, args, table = user_mlp
    s = SessionModel()
    OpenModel(s, ckpt, model_source=source, model_args=args).run()
    ReadData(s, table).run()
    s.update(**{"data.label_mode": "threshold", **QUICK})
    return s


def test_a_second_model_takes_nothing_of_the_first(user_mlp, resnet_ckpt, image_folder):
    s = _mlp_session(user_mlp)
    assert s.recipe.model_source and s.recipe.model_args == {"n_in": 4, "hidden": 6}
    assert s.recipe.data.label == "risk" and s.data is not None
    first = Train(s).run()
    # B: a torchvision-shaped ResNet-18, opened with nothing given for it
    OpenModel(s, resnet_ckpt).run()
    assert "torchvision resnet18" in " ".join(s.loaded.notes)  # not built with A's model source and arguments
    assert (s.recipe.model_source, s.recipe.model_args, s.recipe.input_shape) == ("", {}, ())
    assert s.run is None  # A's run is not shown as the current one
    entry = s.entry_of(first)
    assert entry.run is first and "made with mlp.pt" in entry.other_model  # kept, usable, marked
    # A's table is still open: it does not fit a conv net, which is said (typed, beside the data), not raised
    assert s.inspection is None and "do not fit this model" in s.fit_problem and "(4)" in s.fit_problem
    assert any("do not fit" in b for b in s.blockers())
    ReadData(s, image_folder).run()
    assert s.table.X.shape == (24, 3, 20, 24) and s.fit_problem == ""
    assert s.inspection is not None and s.inspection.input_shape == (3, 20, 24)
    assert s.recipe.data.label != "risk" and s.recipe.data.label_mode == "column"
    run = Baseline(s).run()
    name = s.entry_of(run).name
    assert "pets/ folders" in name and "risk" not in name
    assert s.blockers() == []


def test_a_calibration_job_never_races_the_threshold(user_mlp):
    s = _mlp_session(user_mlp)
    run = Train(s).run()
    job = Calibrate(s, "platt")
    s.begin_job(job)  # as the window's runner would: the work part on a worker
    assert s.busy and s.job_on(job.run_id) is job
    done = job.work()
    assert done is not run and run.recipe.calibration == "auto"  # the worker wrote its own copy
    SetThreshold(s, 0.3).run()  # applied to the committed run meanwhile
    assert run.threshold == 0.3 and run.recipe.calibration == "auto"
    job.deliver(done)
    assert not s.busy
    assert run.threshold == 0.3 and run.recipe.calibration == "platt" and s.recipe.calibration == "platt"
    expected = evaluate_run(_copy(run))
    assert run.metrics["test"]["accuracy"] == expected["test"]["accuracy"]
    assert run.metrics["test_rows"]["threshold"] == 0.3 and run.metrics["calibration"] == "platt"


def _copy(run):
    from workbench.core.workflow.jobs import copy_run

    return copy_run(run)


def test_commands_on_a_run_check_their_values(user_mlp):
    s = _mlp_session(user_mlp)
    with pytest.raises(JobError):
        SetThreshold(s, 0.5)  # no run yet
    Train(s).run()
    with pytest.raises(JobError):
        SetThreshold(s, 1.5)
    with pytest.raises(RecipeError):
        Calibrate(s, "matrix")  # matrix scaling is for multiclass heads
    with pytest.raises(RecipeError):
        Rebin(s, "quantile")
    Rebin(s, "mass").run()
    assert s.run.recipe.binning == "mass" and s.run.metrics["test"]["reliability"]["binning"] == "mass"


def test_a_job_begun_replaces_one_of_its_kind_and_its_result_is_dropped(user_mlp):
    s = _mlp_session(user_mlp)
    busy = []
    s.events.busy.connect(busy.append)
    first, second = Train(s), Train(s)
    s.begin_job(first)
    s.begin_job(second)
    assert first.stale and first.stop.stopped and not second.stale and s.busy
    assert first.deliver(first.work()) is None and s.runs == []  # stale: dropped, never lands
    second.deliver(second.work())
    assert len(s.runs) == 1 and not s.busy and busy == [True, False]
    s.begin_job(Train(s))
    with pytest.raises(JobError):
        Train(s)  # training is running: refused, typed


def test_run_names_say_what_differs(user_mlp):
    s = _mlp_session(user_mlp)
    a = Train(s).run()
    s.update(**{"head.dropout": 0.2})
    b = Train(s).run()
    names = [e.name for e in s.entries]
    assert names[0] != names[1] and "dropout 0.2" in names[1] and "dropout 0" in names[0]
    SetThreshold(s, 0.3, s.entry_of(b).id).run()
    assert "decide at 0.3" in s.entry_of(b).name and s.entry_of(a).name != s.entry_of(b).name
    s.rename(s.entry_of(a).id, "mine")
    Train(s).run()
    assert s.entry_of(a).name == "mine"  # a name the user typed is kept


def test_a_resize_or_a_new_input_size_reads_the_images_again(image_folder, resnet_ckpt):
    s = SessionModel()
    ReadData(s, image_folder).run()
    assert s.table.X.resize == "resize"
    s.update(**{"data.resize": "crop"})
    assert s.table.X.resize == "crop"
    OpenModel(s, resnet_ckpt, input_shape=(3, 16, 16)).run()
    assert s.table.X.shape[1:] == (3, 16, 16) and s.inspection.input_shape == (3, 16, 16)


def test_a_new_mlp_activation_reopens_a_model_rebuilt_as_an_mlp(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    torch.save(model.state_dict(), tmp_path / "mlp.pt")
    s = SessionModel()
    OpenModel(s, tmp_path / "mlp.pt").run()
    first = s.loaded
    s.update(mlp_activation="tanh")
    assert s.loaded is not first and any(isinstance(m, torch.nn.Tanh) for m in s.loaded.model.modules())


def test_reading_a_new_table_resets_the_choices_of_the_old_one(tmp_path, user_mlp):
    from .conftest import write_csv

    s = _mlp_session(user_mlp)
    s.set_features(["f0", "f1", "f2", "f3"])  # the defaults: kept as ()
    assert s.recipe.data.features == ()
    s.set_features(["f0", "f1", "f2"])
    assert s.recipe.data.features == ("f0", "f1", "f2") and s.table is None  # 3 of the 4 inputs: said
    ReadData(s, write_csv(tmp_path / "same.csv", label="risk", seed=2)).run()  # the same columns: ticks kept
    assert s.recipe.data.features == ("f0", "f1", "f2") and s.recipe.data.path.endswith("same.csv")
    ReadData(s, write_csv(tmp_path / "other.csv", n_features=5, label="risk", seed=3)).run()  # other columns
    assert s.recipe.data.features == () and s.recipe.data.label == "risk"
    s.set_features(["f0", "f1", "f2", "f3"])
    assert s.table is not None and np.isfinite(s.table.X).all()


def test_the_demo_command_opens_its_model_and_data(tmp_path):
    from workbench.core.workflow.commands import OpenDemo

    s = SessionModel()
    activity = []
    s.events.activity.connect(activity.append)
    OpenDemo(s, tmp_path / "demo").run()
    assert activity[0].startswith("Building the demo") and s.activity == ""
    assert s.loaded is not None and s.inspection is not None and s.data is not None and s.blockers() == []
    assert s.recipe.model_source and s.recipe.data.label_mode == "threshold"


def test_a_list_that_does_not_read_keeps_training_from_starting(user_mlp):
    """Text typed into a list field (the cost matrix) that is not numbers: the recipe keeps its value, and Train
    waits, naming the field by its label, until the field reads or the recipe changes (the field shows it again)."""
    s = _mlp_session(user_mlp)
    costs = s.recipe.decide.costs
    assert s.set_field_text("decide.costs", "0, abc, 1, 0") is False
    assert s.recipe.decide.costs == costs
    assert s.blockers() == ["decide.costs: 'abc' is not a number: give numbers separated by commas"]
    assert s.blockers_in_words()[0].startswith("Cost matrix: 'abc' is not a number")
    with pytest.raises(JobError, match="abc"):
        Train(s)
    assert s.set_field_text("decide.costs", "0; 2, 1, 0") is True
    assert s.recipe.decide.costs == (0.0, 2.0, 1.0, 0.0) and s.blockers() == []
    s.set_field_text("decide.prior", "1, 5")  # read, but refused: then text that does not read replaces it
    s.set_field_text("decide.prior", "abc")
    assert s.blockers() == ["decide.prior: 'abc' is not a number: give numbers separated by commas"]
    s.update(**{"train.epochs": 3})  # the recipe changed: the prior field shows the recipe's value again
    assert s.unparsed == {} and [b.partition(":")[0] for b in s.blockers()] == ["decide.prior"]  # (1, 5) again


def test_a_prior_or_cost_matrix_of_the_wrong_size_is_refused_before_training(user_mlp):
    s = _mlp_session(user_mlp)
    s.set_field_text("decide.prior", "0.2, 0.3, 0.5")  # three shares for two classes
    blockers = s.blockers_in_words()
    assert len(blockers) == 1 and blockers[0].startswith("Deployment prior: the deployment prior has 3 value(s)")
    with pytest.raises(RecipeError, match="^the deployment prior has 3 value") as refused:
        Train(s)  # typed, naming its field: the command line says it as it did, without a dotted name
    assert refused.value.field == "decide.prior"
    s.set_field_text("decide.prior", "0.3")  # a binary head's positive share alone
    s.update(**{"decide.policy": "cost", "decide.costs": (0.0, 1.0, 5.0)})
    assert [b.partition(":")[0] for b in s.blockers()] == ["decide.costs"]
    s.update(**{"decide.costs": (0.0, 1.0, 5.0, 0.0)})
    assert s.blockers() == []


def test_another_data_file_does_not_inherit_the_old_classes_prior_costs_or_weights(user_mlp, resnet_ckpt,
                                                                                   image_folder):
    """A deployment prior typed for one problem moved another problem's decisions (found by a stranger: the demo's
    0.3 made an image run decide at 0.7). Choices about the old classes go with them; the training settings stay."""
    s = _mlp_session(user_mlp)
    s.update(**{"decide.prior": (0.7, 0.3), "decide.policy": "cost", "decide.costs": (0.0, 1.0, 5.0, 0.0),
                "train.pos_weight": 2.0, "head.dropout": 0.3})
    ckpt, source, args, table = user_mlp
    ReadData(s, table).run()  # the same file again: nothing of it changes
    assert s.recipe.decide.prior == (0.7, 0.3) and s.recipe.train.pos_weight == 2.0
    OpenModel(s, resnet_ckpt).run()
    ReadData(s, image_folder).run()
    d, t = s.recipe.decide, s.recipe.train
    assert (d.prior, d.costs, d.policy, t.pos_weight) == ((), (), "threshold", None)
    assert s.recipe.head.dropout == 0.3 and s.blockers() == []


def test_a_cost_matrix_given_alone_means_the_cost_policy(user_mlp):
    """--costs (or costs= in a notebook) without the policy was kept in the recipe and decided nothing."""
    from workbench.core.workflow.decision_commands import SetDecisions
    from workbench.core.workflow.options import recipe_changes

    assert recipe_changes({"costs": (0, 1, 5, 0)})["decide.policy"] == "cost"
    assert recipe_changes({"costs": (0, 1, 5, 0), "decision_policy": "f1"})["decide.policy"] == "f1"
    s = _mlp_session(user_mlp)
    run = Train(s).run()
    SetDecisions(s, costs=(0.0, 1.0, 5.0, 0.0)).run()
    assert run.recipe.decide.policy == "cost" and run.metrics["test"]["decision_policy"]["policy"] == "cost"
    SetDecisions(s, prior=0.3).run()  # one number for a list: a binary head's positive share ("must be a list")
    assert run.recipe.decide.prior == (0.3,) and recipe_changes({"prior": 0.3})["decide.prior"] == (0.3,)
