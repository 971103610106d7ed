"""The Evaluate tab's Decisions box: conformal sets (alpha, LAC/APS, class-conditional) with their test coverage,
set-size histogram and per-class coverage; the decision policy (the threshold, a named objective, a minimum recall
or a cost table) with its operating point; the risk-controlled refer band (epsilon, delta) with its coverage-vs-error
curve; the deployment prior, typed or estimated from an unlabelled file.

Each control runs core's `SetDecisions` command on the picked run (its recipe's `decide` fields and the session's
change; its decisions are recomputed on the calibration split), and the box shows what core returns in the run's
metrics (`decisions_view` formats it). No rule is written here: which policies a head takes is core's
(`recipe_decide.policies_for`), problems are core's typed errors."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from workbench.core.recipe_decide import CONFORMAL_METHODS, PRIOR_METHODS, policies_for

from .. import theme
from . import decisions_view as view
from .checks import rich_label
from .form import FIELD_WIDTH
from .notes import notes_html
from .number_box import NumberBox

# Which part of the box a recipe field is set in: its problem is said there, beside the control, not at the top of
# a box that may be scrolled out of view
SECTION = {"conformal_alpha": "conformal", "conformal_method": "conformal", "class_conditional": "conformal",
           "policy": "policy", "min_recall": "policy", "costs": "policy", "risk_epsilon": "band",
           "risk_delta": "band", "prior": "prior", "prior_from": "prior", "prior_method": "prior"}


def _problem_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    theme.style(label, "color: {error}")
    label.hide()
    return label


def _spin(low: float, high: float, step: float, decimals: int = 3) -> QDoubleSpinBox:
    box = NumberBox()  # typing 0.25 asks once, not for 0.2 first
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    return box


class DecisionsBox(QGroupBox):
    """The decision step of the picked run: controls bound to `SetDecisions`, and core's results."""

    def __init__(self, session, parent=None):
        super().__init__("Decisions", parent)
        self.setObjectName("decisionsBox")
        self.session = session
        self._showing = False  # filling the controls from the run is not a request to change it
        self.problems = {part: _problem_label(f"{part}Problem") for part in ("conformal", "policy", "band", "prior")}
        self.notes = rich_label("decisionNotes")
        grid = QGridLayout()
        grid.addWidget(self._conformal_box(), 0, 0, 1, 2)
        grid.addWidget(self._policy_box(), 1, 0)
        grid.addWidget(self._band_box(), 1, 1)
        grid.addWidget(self._prior_box(), 2, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.notes)
        for widget, name in ((self.alpha, "Conformal alpha"), (self.method, "Conformal score"),
                             (self.class_conditional, "Class-conditional sets"), (self.policy, "Decision policy"),
                             (self.min_recall, "Minimum recall"), (self.costs, "Cost table"),
                             (self.refer, "Refer uncertain cases"), (self.epsilon, "Error target among decided"),
                             (self.delta, "Risk confidence delta"), (self.prior, "Deployment prior"),
                             (self.prior_method, "Prior estimator"), (self.per_class, "Per-class coverage")):
            widget.setAccessibleName(name)
            widget.setAccessibleDescription(widget.toolTip() or widget.placeholderText()
                                            if isinstance(widget, QLineEdit) else widget.toolTip())
        session.run_changed.connect(self._on_run_changed)
        session.jobs_changed.connect(lambda _jobs: self._on_jobs())
        self._on_run_changed(session.model.run)

    # ----- the four parts
    def _conformal_box(self) -> QGroupBox:
        box = QGroupBox("Conformal prediction sets")
        self.alpha = _spin(0.005, 0.95, 0.05)  # the recipe takes (0, 1)
        self.alpha.setObjectName("conformalAlpha")
        self.alpha.setToolTip("Sets hold the true class with probability at least 1 - alpha.")
        self.alpha.valueChanged.connect(lambda v: self._set(conformal_alpha=round(v, 3)))
        self.method = QComboBox()
        self.method.setObjectName("conformalMethod")
        self.method.addItems(list(CONFORMAL_METHODS))
        self.method.setToolTip("lac: the smallest sets; aps: sets that adapt to how hard a case is.")
        self.method.currentTextChanged.connect(lambda v: self._set(conformal_method=v))
        self.class_conditional = QCheckBox("One threshold per class")
        self.class_conditional.setObjectName("classConditional")
        self.class_conditional.toggled.connect(lambda v: self._set(class_conditional=bool(v)))
        row = QHBoxLayout()
        for widget in (QLabel("Alpha:"), self.alpha, QLabel("Score:"), self.method, self.class_conditional):
            row.addWidget(widget)
        row.addStretch(1)
        self.coverage = rich_label("conformalCoverage")
        self.histogram, self.bars = view.histogram_plot()
        self.per_class = view.per_class_table()
        below = QHBoxLayout()
        below.addWidget(self.histogram, 1)
        below.addWidget(self.per_class, 1)
        layout = QVBoxLayout(box)
        layout.addLayout(row)
        layout.addWidget(self.problems["conformal"])
        layout.addWidget(self.coverage)
        layout.addLayout(below)
        return box

    def _policy_box(self) -> QGroupBox:
        box = QGroupBox("Decision policy (what the export decides)")
        self.policy = QComboBox()
        self.policy.setObjectName("decisionPolicy")
        self.policy.activated.connect(lambda _i: self._on_policy())
        self.min_recall = _spin(0.001, 1.0, 0.05)
        self.min_recall.setObjectName("minRecall")
        self.min_recall.valueChanged.connect(lambda v: self._set(min_recall=round(v, 3)))
        self.costs = QTableWidget(0, 0)
        self.costs.setObjectName("costTable")
        self.costs.setTabKeyNavigation(False)  # Tab moves on; the arrow keys walk the cells
        self.costs.setToolTip("Rows: the true class; columns: the decision. The cost of each pair.")
        self.costs.setMinimumSize(200, 90)
        self.apply_costs = QPushButton("Use these costs")
        self.apply_costs.setObjectName("applyCosts")
        self.apply_costs.clicked.connect(self._on_costs)
        # At 4K a stretched combo or number box is hard to read across: the form's widths, at most.
        self.policy.setMaximumWidth(FIELD_WIDTH["QComboBox"])
        self.min_recall.setMaximumWidth(FIELD_WIDTH["other"])
        form = QFormLayout()
        form.addRow("Policy:", self.policy)
        form.addRow("Minimum recall:", self.min_recall)
        self.costs_label = QLabel("Costs (row: true, column: decided):")
        form.addRow(self.costs_label)
        form.addRow(self.costs)
        form.addRow("", self.apply_costs)
        form.addRow(self.problems["policy"])
        self.operating_point = rich_label("operatingPoint")
        self.policy_matrix = view.policy_matrix_table()
        layout = QVBoxLayout(box)
        layout.addLayout(form)
        layout.addWidget(self.operating_point)
        layout.addWidget(self.policy_matrix)
        layout.addStretch(1)
        return box

    def _band_box(self) -> QGroupBox:
        box = self.band_box = QGroupBox("Refer uncertain cases (binary)")
        self.refer = QCheckBox("Refer a band around the threshold")
        self.refer.setObjectName("referBand")
        self.epsilon = _spin(0.001, 0.95, 0.01)
        self.refer.toggled.connect(lambda on: self._set(risk_epsilon=round(self.epsilon.value(), 3) if on else None))
        self.epsilon.setObjectName("riskEpsilon")
        self.epsilon.setValue(0.1)
        self.epsilon.setToolTip("The most errors among decided cases, as a share.")
        self.epsilon.valueChanged.connect(self._on_epsilon)
        self.delta = _spin(0.005, 0.95, 0.05)
        self.delta.setObjectName("riskDelta")
        self.delta.setToolTip("The target holds with probability at least 1 - delta over the calibration split.")
        self.delta.valueChanged.connect(lambda v: self._set(risk_delta=round(v, 3)))
        row = QHBoxLayout()
        for widget in (self.refer, QLabel("Error at most:"), self.epsilon, QLabel("Delta:"), self.delta):
            row.addWidget(widget)
        row.addStretch(1)
        self.band = rich_label("referResult")
        self.band_curve = view.band_plot()
        layout = QVBoxLayout(box)
        layout.addLayout(row)
        layout.addWidget(self.problems["band"])
        layout.addWidget(self.band)
        layout.addWidget(self.band_curve, 1)
        return box

    def _prior_box(self) -> QGroupBox:
        box = QGroupBox("Deployment prior (class shares where the model is used)")
        self.prior = QLineEdit()
        self.prior.setObjectName("deploymentPrior")
        self.prior.setPlaceholderText("shares in class order, e.g. 0.8, 0.2 (one number: the positive class's, "
                                      "binary); empty: the calibration split's")
        self.prior.editingFinished.connect(self._on_prior)
        self.prior_method = QComboBox()
        self.prior_method.setObjectName("priorMethod")
        self.prior_method.addItems(list(PRIOR_METHODS))
        self.prior_method.setToolTip("em: Saerens et al.'s EM; bbse: black-box shift estimation.")
        self.prior_method.currentTextChanged.connect(lambda v: self._set(prior_method=v))
        self.estimate = QPushButton("Estimate from unlabelled data…")
        self.estimate.setObjectName("estimatePrior")
        self.estimate.clicked.connect(self._on_estimate)
        row = QHBoxLayout()
        row.addWidget(self.estimate)
        row.addWidget(QLabel("by"))
        row.addWidget(self.prior_method)
        row.addStretch(1)
        self.prior_text = rich_label("priorResult")
        layout = QVBoxLayout(box)
        self.prior.setMaximumWidth(FIELD_WIDTH["QLineEdit"])
        field = QHBoxLayout()  # the field grows to its cap, the rest of the row stays empty
        field.addWidget(self.prior, 1)
        field.addStretch(0)
        layout.addLayout(field)
        layout.addWidget(self.problems["prior"])
        layout.addLayout(row)
        layout.addWidget(self.prior_text)
        layout.addStretch(1)
        return box

    # ----- requests: core's command, whose problems are said here
    def _set(self, **fields) -> None:
        if self._showing or self.session.model.run is None:
            return
        from workbench.core.errors import WorkbenchError
        from workbench.core.workflow.decision_commands import SetDecisions

        from ..session import window_text

        part = SECTION[next(iter(fields))]
        try:
            job = SetDecisions(self.session.model, **fields)
        except WorkbenchError as exc:
            self._say(window_text(exc), part)  # the window's words: the control's name, never a recipe field's
            return
        self._say("", part)
        self.session.model.start(job)

    def _on_epsilon(self, value: float) -> None:
        if self.refer.isChecked():
            self._set(risk_epsilon=round(value, 3))

    def _say(self, problem: str, part: str) -> None:
        """The problem beside the part of the box it was set in (any other part's problem is over)."""
        for name, label in self.problems.items():
            label.setText(problem if name == part else "")
            label.setVisible(bool(problem) and name == part)

    def _on_policy(self) -> None:
        name = self.policy.currentText()
        self._show_policy_controls(name)
        if name == "cost":
            self._on_costs()
        else:
            self._set(policy=name)

    def _on_costs(self) -> None:
        values = []
        for r in range(self.costs.rowCount()):
            for c in range(self.costs.columnCount()):
                item = self.costs.item(r, c)
                try:
                    values.append(float(item.text() if item is not None else ""))
                except ValueError:
                    self._say(f"The cost in row {r + 1}, column {c + 1} is not a number: give one in each cell.",
                              "policy")
                    return
        self._set(policy="cost", costs=tuple(values))

    def _on_prior(self) -> None:
        from workbench.core.fields import parse_text
        from workbench.core.recipe import FIELDS

        try:
            shares = parse_text(self.prior.text(), FIELDS["decide.prior"][0])
        except ValueError as exc:
            self._say(f"Deployment prior: {exc}, one share per class.", "prior")
            return
        run = self.session.model.run
        if run is not None and shares != tuple(run.recipe.decide.prior):
            self._set(prior=shares, prior_from="")
        else:
            self._say("", "prior")  # the run's own prior again: an earlier refusal is over

    def _on_estimate(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Unlabelled rows from where the model is used", "",
                                              "Tables (*.csv *.tsv *.txt *.parquet *.feather *.xlsx *.npz);;All (*)")
        if path:
            self._set(prior_from=path, prior_method=self.prior_method.currentText())

    # ----- what the run says
    def _on_jobs(self) -> None:
        m = self.session.model
        job = m.job_on(m.current)
        self.setEnabled(m.run is not None and (job is None or not job.locks))

    def _show_policy_controls(self, name: str) -> None:
        self.min_recall.setEnabled(name == "precision_at_recall")
        for widget in (self.costs_label, self.costs, self.apply_costs):
            widget.setVisible(name == "cost")

    def _on_run_changed(self, run) -> None:
        self.setVisible(run is not None)
        if run is None:
            return
        self._showing = True
        try:
            self._fill(run)
        finally:
            self._showing = False
        self._on_jobs()

    def _fill(self, run) -> None:
        c, m = run.recipe.decide, run.metrics
        test, classes, binary = m["test"], list(run.data.classes), run.binary
        self.alpha.setValue(c.conformal_alpha)
        self.method.setCurrentText(c.conformal_method)
        self.class_conditional.setChecked(c.class_conditional)
        sets = test.get("conformal")
        self.coverage.setText(view.conformal_html(sets))
        view.show_histogram(self.histogram, self.bars, (sets or {}).get("set_size_histogram", []))
        view.show_per_class(self.per_class, (sets or {}).get("per_class_coverage", {}))
        self.policy.clear()
        self.policy.addItems(list(policies_for(binary)))
        self.policy.setCurrentText(c.policy)
        self.min_recall.setValue(c.min_recall)
        self._fill_costs(classes, c.costs)
        self._show_policy_controls(c.policy)
        self.operating_point.setText(view.policy_html(test.get("decision_policy"), classes))
        view.show_policy_matrix(self.policy_matrix, test.get("decision_policy"), classes)
        self.band_box.setVisible(binary)
        self.refer.setChecked(c.risk_epsilon is not None)
        if c.risk_epsilon is not None:
            self.epsilon.setValue(c.risk_epsilon)
        self.delta.setValue(c.risk_delta)
        self.band.setText(view.band_html(test.get("abstention")))
        view.show_band(self.band_curve, test.get("abstention"))
        self.band_curve.setVisible(bool(test.get("abstention")))  # Off: no band, no empty axes
        self.prior.setText(", ".join(f"{v:g}" for v in c.prior))
        self.prior_method.setCurrentText(c.prior_method)
        self.prior_text.setText(view.prior_html(m.get("prior_shift"), run.prior_estimate, classes))
        notes = m.get("decision_notes") or []
        self.notes.setText(notes_html(notes, "warning", "Note: "))  # dicts keep their kind (core.notes.as_note)
        self.notes.setVisible(bool(notes))

    def _fill_costs(self, classes: list[str], costs: tuple[float, ...]) -> None:
        k = len(classes)
        self.costs.setRowCount(k)
        self.costs.setColumnCount(k)
        self.costs.setHorizontalHeaderLabels([f"→ {name}" for name in classes])
        self.costs.setVerticalHeaderLabels(list(classes))
        for r in range(k):
            for col in range(k):
                value = costs[r * k + col] if len(costs) == k * k else (0.0 if r == col else 1.0)
                self.costs.setItem(r, col, QTableWidgetItem(f"{value:g}"))

