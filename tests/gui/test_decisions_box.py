"""The Evaluate tab's Decisions and Calibration & checks boxes: each control runs core's SetDecisions on the picked
run and shows what core computed (coverage after alpha, the policy's operating point), problems are core's typed
errors said in the box, calibration auto's choice and reason are core's, and the offer to fit the baseline appears
when core's verdict says training lost."""

import pytest

from workbench.core.decide.decisions import conformal_of, policy_of

from .conftest import open_model_and_data


@pytest.fixture
def trained(window, files, qtbot):
    open_model_and_data(qtbot, window, files)
    window.form.widgets["train.epochs"].setValue(2)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    qtbot.waitUntil(lambda: not window.session.model.busy and not window.session.model.jobs, timeout=30000)
    window.show_workspace(4)
    return window


def _wait_for_decisions(qtbot, window):
    qtbot.waitUntil(lambda: not window.session.model.jobs, timeout=30000)


def test_alpha_and_the_policy_change_the_run_and_show_cores_numbers(trained, qtbot, tmp_path):
    window, box = trained, trained.evaluate_panel.decisions
    run = window.session.model.run
    assert box.isVisible()
    expected = conformal_of(run, alpha=0.3)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        box.alpha.setValue(0.3)
    _wait_for_decisions(qtbot, window)
    assert run.recipe.decide.conformal_alpha == 0.3 and window.session.model.recipe.decide.conformal_alpha == 0.3
    assert run.metrics["test"]["conformal"]["coverage"] == expected["coverage"]
    assert f"<b>{expected['coverage']:.3f}</b>" in box.coverage.text() and "target 0.70" in box.coverage.text()
    assert sum(box.bars.opts["height"]) == run.metrics["test"]["n"]  # the histogram counts every test row
    assert box.per_class.rowCount() == len(run.data.classes)
    report = tmp_path / "report.html"
    window.save_report(str(report))  # File > Save HTML report: the Decisions section says the new level
    page = report.read_text(encoding="utf-8")
    assert '<h2 id="decisions">Decisions</h2>' in page and "LAC at level 70% (alpha 0.3)" in page

    # a cost table: the operating point shown is core's Bayes threshold and its test scores
    box.policy.setCurrentText("cost")
    box.policy.activated.emit(box.policy.currentIndex())
    assert box.costs.isVisible()
    box.costs.item(1, 0).setText("5")
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        box.apply_costs.click()
    _wait_for_decisions(qtbot, window)
    core = policy_of(run, "cost", (0, 1, 5, 0))
    assert run.recipe.decide.costs == (0, 1, 5, 0) and core["threshold"] == pytest.approx(1 / 6)
    shown = box.operating_point.text()
    assert f"threshold <b>{core['threshold']:.3f}</b>" in shown
    assert f"recall (TPR) <b>{core['test']['recall']:.3f}</b>" in shown and "mean cost" in shown
    # and drawn on the ROC and PR curves: the export's operating point, beside the slider's
    roc = window.evaluate_panel.roc
    fpr, tpr = roc.roc_policy.getData()
    assert fpr[0] == pytest.approx(core["test"]["false_positive_rate"])
    assert tpr[0] == pytest.approx(core["test"]["recall"])
    assert roc.pr_policy.getData()[1][0] == pytest.approx(core["test"]["precision"])
    # and its test decisions as a confusion matrix (true by decided), core's counts
    matrix = box.policy_matrix
    shown_counts = [[int(matrix.item(r, c).text()) for c in range(matrix.columnCount())]
                    for r in range(matrix.rowCount())]
    assert shown_counts == core["test"]["confusion_matrix"] and not matrix.isHidden()

    # a problem is core's, said in the box; the run is unchanged
    box.costs.item(0, 1).setText("x")
    box.apply_costs.click()
    problem = box.problems["policy"]  # beside the cost table, not at the top of the box
    assert not problem.isHidden() and "not a number" in problem.text()

    # the refer band: core's band and curve
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        box.refer.setChecked(True)
    _wait_for_decisions(qtbot, window)
    band = run.metrics["test"]["abstention"]
    assert run.recipe.decide.risk_epsilon == pytest.approx(box.epsilon.value())
    assert f"{band['epsilon']:g}" in box.band.text()
    assert len(box.band_curve.curve.getData()[0]) == len(band["test"]["curve"]["coverage"])


def test_the_prior_typed_or_estimated_from_unlabelled_rows(trained, files, qtbot, tmp_path, monkeypatch):
    box = trained.evaluate_panel.decisions
    problem = box.problems["prior"]  # said under the field (at the box's top it was scrolled out of view)
    box.prior.setText("0.2, 0.3, 0.5")
    box.prior.editingFinished.emit()
    assert not problem.isHidden() and "deployment prior" in problem.text()
    assert trained.session.model.run.recipe.decide.prior == ()
    box.prior.setText("1.5")  # a share out of range: named by the control, not by the recipe field
    box.prior.editingFinished.emit()
    assert problem.text().startswith("Deployment prior: ") and "decide.prior" not in problem.text()
    box.prior.setText("")  # the run's own (no prior) again: the refusal is over, not left on screen
    box.prior.editingFinished.emit()
    assert problem.isHidden()
    box.prior.setText("0.3, x")
    box.prior.editingFinished.emit()
    assert "'x' is not a number" in problem.text()
    with qtbot.waitSignal(trained.session.run_changed, timeout=30000):
        box.prior.setText("0.3")
        box.prior.editingFinished.emit()
    _wait_for_decisions(qtbot, trained)
    assert trained.session.model.run.metrics["prior_shift"]["prior"] == pytest.approx([0.7, 0.3])
    assert "Deployment prior" in box.prior_text.text() and problem.isHidden()

    # estimated from a file of unlabelled rows (the table without its label), as core estimates it
    lines = files["csv"].read_text().splitlines()
    unlabelled = tmp_path / "new.csv"
    unlabelled.write_text("\n".join(",".join(line.split(",")[:-1]) for line in lines) + "\n")
    from workbench.gui.panels import decisions as module

    monkeypatch.setattr(module.QFileDialog, "getOpenFileName", lambda *a, **k: (str(unlabelled), ""))
    with qtbot.waitSignal(trained.session.run_changed, timeout=30000):
        box.estimate.click()
    _wait_for_decisions(qtbot, trained)
    run = trained.session.model.run
    assert run.prior_estimate["from"] == str(unlabelled) and run.prior_estimate["method"] == "em"
    assert run.recipe.decide.prior == pytest.approx(tuple(run.prior_estimate["prior"]), abs=1e-6)
    assert trained.session.model.recipe.decide.prior == run.recipe.decide.prior
    assert "Estimated by EM from" in box.prior_text.text()


def test_checks_show_cores_choice_and_offer_the_baseline_when_it_wins(trained, qtbot):
    window, checks = trained, trained.evaluate_panel.checks
    run = window.session.model.run
    auto = run.metrics["calibration_auto"]
    assert f"chose <b>{auto['pick']}</b>" in checks.calibration.text() and "Cross-validated Brier" in \
        checks.calibration.text()
    test = run.metrics["test"]
    assert f"debiased <b>{max(test['ece_debiased'], 0):.3f}</b>" in checks.ece.text()
    assert checks.repeats.isHidden()  # one training seed: no spread to show
    from workbench.core.workflow.repeats import summary

    run.metrics["repeats"] = summary([{"seed": 0, "accuracy": 0.8, "brier": 0.15},
                                      {"seed": 1, "accuracy": 0.7, "brier": 0.2}], 0)  # core's record of 2 seeds
    window.session.run_changed.emit(run)
    assert not checks.repeats.isHidden() and "Over 2 training seeds" in checks.repeats.text()
    assert "accuracy 0.750 ± 0.071 [0.700, 0.800]" in checks.repeats.text()
    verdict = run.metrics["baseline_check"]
    assert "Did training beat no training?" in checks.baseline.text()
    assert checks.use_baseline.isHidden() == (verdict["verdict"] not in ("worse", "mixed"))
    # core's verdict says training lost: the offer appears, and takes the baseline as the picked run
    lost = {**verdict, "verdict": "worse",
            "metrics": {name: {**m, "verdict": "worse"} for name, m in verdict["metrics"].items()}}
    run.metrics["baseline_check"] = lost
    window.session.run_changed.emit(run)
    assert not checks.use_baseline.isHidden() and checks.use_baseline.isEnabled()
    assert "<b style='color:#b00020'>no</b>" in checks.baseline.text()
    # while a job runs the offer waits, saying why; after it, its own tip is back (the rest is not redrawn)
    window.form.widgets["train.epochs"].setValue(100000)
    window.form.widgets["train.patience"].setValue(0)
    window.start_training()
    qtbot.waitUntil(lambda: window.session.model.busy, timeout=30000)
    assert not checks.use_baseline.isEnabled() and "fit that baseline" not in checks.use_baseline.toolTip()
    window.stop_training(wait=True)
    qtbot.waitUntil(lambda: not window.session.model.busy, timeout=30000)
    window.session.run_changed.emit(run)  # the stopped run became the picked one; the test's run is shown again
    assert checks.use_baseline.isEnabled() and "fit that baseline" in checks.use_baseline.toolTip()
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        checks.use_baseline.click()
    qtbot.waitUntil(lambda: window.session.model.run is not None and window.session.model.run.kind == "baseline",
                    timeout=30000)
    assert "this run is the baseline" in checks.baseline.text()


def test_an_ordinal_run_shows_its_thresholds_order_and_per_threshold_reliability(window, files, qtbot):
    window.model_panel.source.setText(files["source"])
    window.open_checkpoint(str(files["ckpt"]))
    qtbot.waitUntil(lambda: window.session.model.inspection is not None, timeout=30000)
    window.load_data(str(files["csv"]))
    qtbot.waitUntil(lambda: window.session.model.table is not None, timeout=30000)
    window.data_panel.labels.mode_bins.click()
    window.session.model.update(**{"head.task": "ordinal", "head.ordinal": "coral"})  # CORAL has thresholds
    qtbot.waitUntil(lambda: window.session.model.data is not None and len(window.session.model.data.classes) == 3,
                    timeout=10000)
    # the Baseline button follows core's Baseline command (an ordinal head has a no-training baseline)
    assert window.form.baseline_button.isEnabled() == (window.form._why_no_baseline() == "")
    window.form.widgets["train.epochs"].setValue(2)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    qtbot.waitUntil(lambda: not window.session.model.busy and not window.session.model.jobs, timeout=30000)
    window.show_workspace(4)
    run, order = window.session.model.run, window.evaluate_panel.order
    thresholds = run.metrics["ordinal"]["thresholds"]
    assert len(thresholds) == 2 and thresholds == sorted(thresholds)
    assert order.isVisible() and f"<b>{thresholds[0]:.3f}</b>" in order.summary.text()
    assert f"<b>{thresholds[1]:.3f}</b>" in window.model_panel.head_label.text()
    assert "mean class distance" in order.summary.text()
    shading = [[order.matrix.item(i, j).background().color().alphaF() for j in range(3)] for i in range(3)]
    assert shading[0][0] == 0 and shading[0][1] < shading[0][2] and shading[2][0] == shading[0][2]
    assert [order.matrix.item(i, j).text() for i in range(3) for j in range(3)] == \
        [str(v) for row in run.metrics["test"]["confusion_matrix"] for v in row]
    curves = [item for item in order.reliability.getPlotItem().listDataItems() if item.name()]
    assert len(curves) == 2 and "P(class above" in curves[0].name()
    # an ordinal run's conformal sets are ranges, and the Decisions box says so
    assert run.metrics["test"]["conformal"]["contiguous"]
    assert "every set is a range" in window.evaluate_panel.decisions.coverage.text()


def test_the_prior_says_how_many_rows_of_its_file_were_dropped():
    from workbench.gui.panels.decisions_view import prior_html

    shift = {"prior": [0.8, 0.2], "source_prior": [0.5, 0.5]}
    estimate = {"method": "em", "from": "new.csv",
                "notes": ["3 row(s) with missing feature values were dropped ('a' 3)."]}
    assert "3 row(s) with missing feature values were dropped" in prior_html(shift, estimate, ["no", "yes"])
