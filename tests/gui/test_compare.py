"""The comparison view: a baseline and a trained head side by side, kept in a session file."""

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox

from workbench.core.evaluate.compare import table

from .conftest import open_model_and_data, save_session


def test_baseline_and_trained_runs_compare_and_persist(window, files, qtbot, tmp_path, dialogs):
    open_model_and_data(qtbot, window, files)
    assert window.form.baseline_button.isEnabled()
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    assert window.session.model.run.kind == "baseline" and not dialogs.errors
    window.form.widgets["train.epochs"].setValue(5)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    assert [r["kind"] for r in window.session.model.runs] == ["baseline", "trained"]

    panel = window.compare_panel
    # Long run names end in "…" in the list (no sideways scrolling), the whole name in the tooltip.
    assert panel.list.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert all(panel.list.item(i).toolTip() == panel.list.item(i).text() for i in range(panel.list.count()))
    # One spelling: the Data tab's tick box is named by the field's label, as Compare's "What differs" is.
    assert any(box.text().startswith("Standardize features") for box in window.findChildren(QCheckBox))
    expected = table(window.session.model.runs)
    assert panel.table.rowCount() == 2
    for c, best in enumerate(expected["best"]):
        for r in range(2):
            assert ("★" in panel.table.item(r, c + 2).text()) == (r in best)
    # Each value over its interval, no column for a metric neither binary run has, and a page that scrolls to the
    # plots rather than squeezing the table (found at 1024 x 700 with three runs: names and intervals cut off)
    assert "\n[" in panel.table.item(0, 2).text()
    hidden = [expected["columns"][c] for c in range(len(expected["columns"])) if panel.table.isColumnHidden(c + 2)]
    assert hidden == ["class dist.", "QWK"]
    assert panel.scroll.widget().isAncestorOf(panel.curves) and panel.scroll.widget().isAncestorOf(panel.table)
    assert len(panel.losses.getPlotItem().listDataItems()) == 1  # the baseline has no training curve
    assert len(panel.reliability.getPlotItem().listDataItems()) == 3  # the diagonal and two runs

    session_file = tmp_path / "session.json"
    save_session(qtbot, window, session_file)
    m = window.session.model
    for entry in list(m.entries):
        m.remove(entry.id)
    assert panel.table.rowCount() == 0
    window.open_session(str(session_file))
    qtbot.waitUntil(lambda: len(m.runs) == 2 and not m.jobs, timeout=60000)
    assert [r["name"] for r in window.session.model.runs] == [r["name"] for r in json.loads(
        session_file.read_text())["runs"]] and panel.table.rowCount() == 2

    window.resize(1024, 700)  # the run's name keeps a readable width beside the metric columns
    window.show_workspace(5)
    qtbot.wait(50)
    assert panel.table.columnWidth(0) >= 240
    window.save_report(str(tmp_path / "comparison.html"))
    window.show_workspace(4)
    window.save_report(str(tmp_path / "run.html"))
    assert 'src="data:image/svg+xml;base64,' in (tmp_path / "comparison.html").read_text()
    assert "Layers after conversion" in (tmp_path / "run.html").read_text()
    assert f"Run: {window.session.model.entry_of(window.session.model.run).name}" in (tmp_path / "run.html").read_text()


def test_saving_a_session_where_it_cannot_be_written_shows_the_file_and_the_fix(window, tmp_path, dialogs):
    from workbench.core.errors import ExportError

    target = tmp_path / "missing" / "session.json"
    window.save_session(str(target))
    assert len(dialogs.errors) == 1 and isinstance(dialogs.errors[0], ExportError)
    assert dialogs.errors[0].path == str(target) and not target.parent.exists()


def test_compare_shows_each_runs_threshold_and_what_differs(window, files, qtbot, tmp_path, dialogs):
    open_model_and_data(qtbot, window, files)
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.form.baseline_button.click()
    window.form.widgets["train.epochs"].setValue(2)
    window.form.widgets["head.dropout"].setValue(0.2)
    with qtbot.waitSignal(window.session.run_changed, timeout=60000):
        window.start_training()
    with qtbot.waitSignal(window.session.run_changed, timeout=30000):
        window.evaluate_panel.threshold_chosen.emit(0.246)
    qtbot.waitUntil(lambda: window.compare_panel.table.item(1, 1).text() == "0.246", timeout=10000)
    panel = window.compare_panel
    headers = [panel.table.horizontalHeaderItem(c).text() for c in range(5)]
    assert headers == ["run", "threshold", "accuracy @ t", "macro F1 @ t", "ECE"]  # ECE does not depend on it
    assert panel.table.item(0, 1).text() == "0.5" and panel.table.item(1, 1).text() == "0.246"
    assert "at thresholds 0.246 vs 0.5" in panel.note.text()
    diff = panel.diff.text()
    assert "What differs" in diff and "Decision threshold (Evaluate tab): 0.5 | 0.246" in diff
    assert "Dropout" not in diff  # the baseline trains nothing: its head and training fields are no difference
    assert "tandardize" not in diff  # neither in the recipes nor in the run names: both resolved auto the same way
    window.resize(1024, 700)  # the run's name keeps a readable width beside the metric columns
    window.show_workspace(5)
    qtbot.wait(50)
    assert panel.table.columnWidth(0) >= 240
    window.save_report(str(tmp_path / "comparison.html"))
    page = (tmp_path / "comparison.html").read_text()
    assert "What differs between the recipes" in page and "head.dropout" in page
    assert '"head": {' not in page and "<pre>" not in page  # no raw JSON


def test_long_run_names_elide_in_the_list_and_fit_the_legends_and_standardize_is_spelt_as_its_field(qtbot):
    from PySide6.QtCore import QRectF

    from workbench.gui.panels.data_labels import _field_label
    from workbench.gui.plots.compare import ComparePlots

    plots = ComparePlots()
    qtbot.addWidget(plots)
    plots.resize(740, 300)  # the Compare tab's plots at 1024 x 700
    plots.show()
    name = "1: trained · binary · progression · calibration auto"
    rel = {"confidence": [0.2, 0.5, 0.8], "accuracy": [0.25, 0.5, 0.75], "count": [5, 5, 5]}
    runs = [{"name": f"{i}{name[1:]}", "metrics": {"training": {"history": [
        {"epoch": e, "val_loss": 0.5 - 0.01 * e} for e in range(1, 6)]}, "test": {"reliability": rel}}}
        for i in (1, 2)]
    plots.show_runs(runs)
    qtbot.wait(20)
    plots.grab()
    for plot in (plots.losses, plots.reliability):
        legend = plot.getPlotItem().legend
        frame = plot.getPlotItem().getViewBox().sceneBoundingRect()
        box = legend.sceneBoundingRect()
        assert frame.contains(QRectF(box)), (plot.objectName(), box, frame)  # samples and names inside the plot
        assert all(len(label.text) <= 24 for _sample, label in legend.items)
    assert _field_label("data.standardize") == "Standardize"


def test_the_loss_legend_moves_off_a_validation_loss_that_rises_at_the_end(qtbot):
    """The legend sits in the corner the curves leave empty: top right while losses fall, elsewhere when a run
    overfits and its last epochs climb into the top right (where a fixed legend covered them)."""
    from workbench.gui.plots.compare import ComparePlots

    plots = ComparePlots()
    qtbot.addWidget(plots)
    plots.resize(740, 300)
    plots.show()
    rel = {"confidence": [0.5], "accuracy": [0.5], "count": [5]}

    def runs(losses):
        return [{"name": "1: trained", "metrics": {"training": {"history": [
            {"epoch": e + 1, "val_loss": v} for e, v in enumerate(losses)]}, "test": {"reliability": rel}}}]

    def legend_box():
        qtbot.wait(20)
        plots.grab()
        box = plots.losses.getPlotItem().legend.sceneBoundingRect()
        frame = plots.losses.getPlotItem().getViewBox().sceneBoundingRect()
        return box.center().x() > frame.center().x(), box.center().y() < frame.center().y()  # right, top

    plots.show_runs(runs([0.9, 0.6, 0.4, 0.3, 0.25, 0.22, 0.2, 0.19]))
    assert legend_box() == (True, True)
    plots.show_runs(runs([1.0, 0.95, 0.9, 0.5, 0.2, 0.5, 0.9, 1.0]))  # a U: both top corners are taken
    assert legend_box()[1] is False
    plots.show_runs(runs([0.3, 0.25, 0.3, 0.5, 0.8, 1.0, None, 1.2]))  # rises; an epoch without validation rows
    right, top = legend_box()
    assert not (right and top)


def test_legends_name_runs_by_what_tells_them_apart_as_text(qtbot):
    """The legends cut whole names to '1: trained · binary · p…', losing what differs; and a name renamed to
    'my <b>run</b>' was drawn bold there (a legend reads HTML) while the picker showed it as typed."""
    from workbench.core.workflow.run_names import telling_parts
    from workbench.gui.plots.compare import ComparePlots

    names = ["1: trained · binary · progression · dropout 0", "2: trained · binary · progression · dropout 0.3",
             "my <b>run</b> & co"]
    assert telling_parts(names[:2]) == ["1: trained · dropout 0", "2: trained · dropout 0.3"]
    assert telling_parts(names) == names  # nothing all three share
    rel = {"confidence": [0.6, 0.9], "accuracy": [0.5, 0.8], "count": [3, 4]}
    runs = [{"name": n, "metrics": {"training": {"history": [{"epoch": 1, "val_loss": 0.5}]},
                                    "test": {"reliability": rel}}} for n in names]
    plots = ComparePlots()
    qtbot.addWidget(plots)
    plots.show_runs(runs[:2])
    shown = [label.text for _sample, label in plots.losses.getPlotItem().legend.items]
    assert shown == ["1: trained · dropout 0", "2: trained · dropout 0.3"]
    plots.show_runs(runs[2:])
    shown = [label.text for _sample, label in plots.reliability.getPlotItem().legend.items]
    assert shown == ["my &lt;b&gt;run&lt;/b&gt; &amp; co"]
