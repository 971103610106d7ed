"""The comparison view: pick 2-6 runs of this session; their loss curves and reliability diagrams overlaid,
and a table of accuracy, macro F1, ECE, Brier and AUC with the best in each column marked."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.evaluate.compare import COLUMNS, model_text, table, thresholds_note
from workbench.core.evaluate.uncertainty import INTERVALS
from workbench.core.workflow.run_names import telling_parts

from .. import theme
from ..plots.compare import ComparePlots

MAX_RUNS = 6
MIN_TABLE_HEIGHT = 90  # pixels: a header and two rows of one line
RUN_COLUMN = (240, 420)  # pixels: the run column at least (two or three words a line) and at most


def _diff_html(diff: dict) -> str:
    """The settings that differ between the ticked runs, one line each (core's recipe_diff), escaped."""
    if not diff["differs"]:
        return "<b>Recipes:</b> the same for every ticked run."
    rows = [f"{html.escape(d['label'])}: " + " | ".join(html.escape(v) for v in d["values"])
            for d in diff["differs"][:12]]
    more = f"<br>… and {len(diff['differs']) - 12} more" if len(diff["differs"]) > 12 else ""
    return ("<b>What differs</b> (" + " | ".join(html.escape(n) for n in diff["names"]) + "):<br>"
            + "<br>".join(rows) + more)


def _paired_line(pair: dict, result: dict) -> str:
    """One run against the first: each column's difference, its paired 95% interval and the verdict."""
    if pair["columns"] is None:
        return f"{pair['name']} vs {pair['against']}: no paired interval (the runs do not hold the same test rows)."
    colors = {verdict: theme.colour(name) for verdict, name in theme.VERDICTS.items()}
    parts = [f"{name} {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] "
             f"<span style='color:{colors[d['verdict']]}'>{d['verdict']}</span>"
             for (name, _k, _h), d in zip(COLUMNS, pair["columns"]) if d and d["difference"] is not None]
    return (f"<b>{pair['name']}</b> − {pair['against']}: " + "; ".join(parts)
            + html.escape(thresholds_note(result, pair)))


class ComparePanel(QWidget):
    """The Compare tab: ticked runs side by side, as a metrics table with paired intervals and plots."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.list = QListWidget()
        self.list.setObjectName("runList")
        self.list.setMaximumWidth(360)
        # Long run names end in "…" (the whole name in the tooltip) rather than scrolling sideways out of sight.
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.itemChanged.connect(lambda _i: self.refresh())
        self.table = QTableWidget(0, 6)
        self.table.setObjectName("compareTable")
        self.table.setTabKeyNavigation(False)  # Tab moves on instead of through the cells
        self.table.setHorizontalHeaderLabels(["run", "accuracy", "macro F1", "ECE", "Brier", "ROC AUC"])
        self.table.verticalHeader().setVisible(False)
        # Values with their interval below them: the value columns take their width, the run's name wraps in the
        # rest, and the table is as tall as its rows (the page scrolls, rather than squeezing it)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for header in (self.table.verticalHeader(), self.table.horizontalHeader()):  # once the rows have settled
            header.sectionResized.connect(lambda *_: QTimer.singleShot(0, self._fit_table))
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.RichText)
        self.diff = QLabel()
        self.diff.setObjectName("recipeDiff")
        self.diff.setWordWrap(True)
        self.diff.setTextFormat(Qt.RichText)
        self.diff.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.curves = ComparePlots()
        self.curves.setMinimumHeight(300)  # readable plots; on a small screen the page scrolls to them
        self.losses, self.reliability = self.curves.losses, self.curves.reliability
        left = QVBoxLayout()
        left.addWidget(QLabel(f"Runs in this session (tick 2 to {MAX_RUNS}):"))
        left.addWidget(self.list, 1)
        page = QWidget()
        right = QVBoxLayout(page)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.table)
        right.addWidget(self.note)
        right.addWidget(self.diff)
        right.addWidget(self.curves, 1)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("compareScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setWidget(page)
        layout = QHBoxLayout(self)
        layout.addLayout(left)
        layout.addWidget(self.scroll, 1)
        session.runs_changed.connect(self._on_runs_changed)
        self._on_runs_changed(session.model.runs)

    def _on_runs_changed(self, runs):
        shown = {self.list.item(i).text(): self.list.item(i).checkState() for i in range(self.list.count())}
        self.list.blockSignals(True)
        self.list.clear()
        for i, run in enumerate(runs):
            item = QListWidgetItem(run["name"])
            item.setToolTip(run["name"])
            # A run keeps the tick the user gave it; new ones start ticked, up to the latest MAX_RUNS.
            state = shown.get(run["name"], Qt.Checked if i >= len(runs) - MAX_RUNS else Qt.Unchecked)
            item.setCheckState(state)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.refresh()

    def selected(self) -> list[dict]:
        """The summaries of the ticked runs (at most MAX_RUNS), as the report and the table use them."""
        names = [self.list.item(i).text() for i in range(self.list.count())
                 if self.list.item(i).checkState() == Qt.CheckState.Checked]
        return [r for r in self.session.model.runs if r["name"] in names][:MAX_RUNS]

    def refresh(self):
        """Redraw the table, the note and the plots for the runs ticked now."""
        runs = self.selected()
        self.curves.show_runs(runs)
        if not runs:
            self.table.setRowCount(0)
            self._fit_table()
            self.note.setText("Train at least two runs (or a baseline and a trained head) to compare them.")
            self.diff.setText("")
            return
        result = table(runs)
        dependent = set(result["threshold_columns"])
        differ = result["thresholds_differ"]  # the same threshold for all is said once, in its column
        self.table.setColumnCount(len(result["columns"]) + 2)
        # A value that moves with the threshold is at its row's: the header says so once (a suffix in every cell
        # left the run's name a column a word wide)
        self.table.setHorizontalHeaderLabels(["run", "threshold"] + [
            f"{name} @ t" if c in dependent and differ else name for c, name in enumerate(result["columns"])])
        self.table.setRowCount(len(result["rows"]))
        bold = QFont()
        bold.setBold(True)
        names = telling_parts([row["name"] for row in result["rows"]])  # whole names in the tooltips
        models = {model_text(row) for row in result["rows"]}
        for r, (row, name) in enumerate(zip(result["rows"], names)):
            model = f"; {model_text(row)}" if len(models) > 1 else ""  # the same model for all is no news here
            item = QTableWidgetItem(f"{name} ({row['kind']}, {row['calibration']}{model})")
            item.setToolTip(f"{row['name']} ({row['kind']}, {row['calibration']}; {model_text(row)})")
            self.table.setItem(r, 0, item)
            t = row["threshold"]
            self.table.setItem(r, 1, QTableWidgetItem("—" if t is None else f"{t:.3g}"))
            for c, (value, ci) in enumerate(zip(row["values"], row.get("intervals", [None] * len(row["values"])))):
                item = QTableWidgetItem("—" if value is None else f"{value:.3f}")
                if r in result["best"][c]:
                    item.setFont(bold)
                    item.setText(item.text() + " ★")
                if ci:
                    item.setText(item.text() + f"\n[{ci[0]:.3f}, {ci[1]:.3f}]")
                self.table.setItem(r, c + 2, item)
        for c in range(len(result["columns"])):  # a metric none of these runs has (QWK of binary runs): no column
            self.table.setColumnHidden(c + 2, all(row["values"][c] is None for row in result["rows"]))
        # The run's name keeps a readable width (it was squeezed to 26 px by eight metric columns at 1024 x 700, a
        # word a line): it wraps within it, and the table scrolls sideways when the metrics need the room
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(0, max(RUN_COLUMN[0], min(RUN_COLUMN[1], self.table.sizeHintForColumn(0))))
        self.table.resizeRowsToContents()
        self.note.setText(f"★ best in its column; {INTERVALS}, in brackets." + (
            "" if result["same_test_split"] else
            " These runs do not share one test split, so the comparison is not like for like.")
            + ("" if result.get("same_classes", True) else
               " They predict different classes, so none is marked best.")
            + "".join("<br>" + _paired_line(pair, result) for pair in result.get("paired", [])))
        self.diff.setText(_diff_html(result["recipe_diff"]))
        self._fit_table()

    def _fit_table(self) -> None:
        """As tall as the header and the rows, which grow when a run's name wraps (and never under a header and two
        rows, as the Evaluate tab's table)."""
        t = self.table
        needed = t.horizontalHeader().height() + t.verticalHeader().length() + 2 * t.frameWidth()
        if t.horizontalScrollBar().maximum() > 0:  # the metrics scroll sideways: the bar takes a row's room
            needed += t.horizontalScrollBar().sizeHint().height()
        t.setFixedHeight(max(MIN_TABLE_HEIGHT, needed))

    def plots(self):
        """The tab's plot widgets by file name, for saving them with a report."""
        return self.curves.plots()
