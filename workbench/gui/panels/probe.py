"""Where to cut, on the Model tab: the probe sweep (core's Probe command) with its plot, the layer tree's "Attach the
head here" action, and the tree's roles under a cut (core's cut_roles: the cut layer and the layers dropped)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QTreeWidget, QVBoxLayout, QWidget

from workbench.core.errors import WorkbenchError
from workbench.core.train.cut import cut_roles

from ..plots.probe import ProbePlot

ROLE_COLUMN = 6
ORIGINAL_ROLE = Qt.ItemDataRole.UserRole + 1
NOT_RUN = ("Where to cut: a linear probe at every layer the head can be attached at, scored on the validation "
           "split (one pass of the body): Probe every layer, once labelled data is read.")


class ProbeBox(QWidget):
    """The probe sweep: a button that starts it, the plot of accuracy by layer, and what it suggests."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.button = QPushButton("Probe every layer")
        self.button.setObjectName("probeButton")
        self.button.setToolTip("Fit a logistic regression on each layer's output (one pass of the body over the "
                               "train and validation splits) to see where a cut loses nothing.")
        self.button.clicked.connect(self.start)
        self.attach = QPushButton("Attach the head at the smallest within noise")
        self.attach.setObjectName("probeAttach")
        self.attach.clicked.connect(self._attach_smallest)
        self.attach.setEnabled(False)
        self.caption = QLabel(NOT_RUN)
        self.caption.setObjectName("probeCaption")
        self.caption.setWordWrap(True)
        self.plot = ProbePlot()
        self.plot.layer_clicked.connect(self.attach_at)
        self.plot.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addWidget(self.attach)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot)
        session.probe_changed.connect(self._on_probe)

    def start(self) -> None:
        """Start the Probe command on the session's runner; a state that does not allow it is said here."""
        from workbench.core.workflow.probe_command import Probe

        try:
            job = Probe(self.session.model)
        except WorkbenchError as exc:
            self.caption.setText(self.session.model.describe_problem(exc))
            return
        self.caption.setText("Probing every layer …")
        self.session.model.start(job)

    def attach_at(self, layer: str) -> None:
        self.session.model.update(**{"model.cut_at": layer})

    def _attach_smallest(self) -> None:
        sweep = self.session.model.probe_sweep
        if sweep is not None and sweep.smallest is not None:
            self.attach_at(sweep.smallest.layer)

    def _on_probe(self, sweep) -> None:
        self.plot.setVisible(sweep is not None)
        self.plot.show_sweep(sweep)
        self.attach.setEnabled(sweep is not None and sweep.smallest is not None)
        if sweep is None:
            self.caption.setText(NOT_RUN)
            return
        best, small = sweep.best, sweep.smallest
        text = (f"Best: <b>{best.layer}</b> ({best.accuracy:.3f}, {best.parameters:,d} parameters); smallest within "
                f"noise of it: <b>{small.layer}</b> ({small.accuracy:.3f} [{small.low:.3f}, {small.high:.3f}], "
                f"{small.parameters:,d} parameters; the whole model has {sweep.full_parameters:,d}). "
                f"{sweep.n_val} validation rows. Click a point, or right-click a layer, to attach the head there.")
        if sweep.stopped_at:
            text += f" Later layers cannot take the head: {sweep.stopped_at}"
        self.caption.setText(text)


def install_cut_menu(tree: QTreeWidget, session) -> None:
    """The layer tree's context menu ("Attach the head here", "Keep the whole body") and its roles under a cut."""
    tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def show_menu(pos) -> None:
        item = tree.itemAt(pos)
        actions = cut_actions(tree, session, item) if item is not None else []
        if actions:
            menu = QMenu(tree)
            menu.addActions(actions)
            menu.exec(tree.viewport().mapToGlobal(pos))

    def mark(*_args) -> None:
        mark_cut(tree, session)

    tree.customContextMenuRequested.connect(show_menu)
    session.recipe_changed.connect(mark)
    session.inspection_changed.connect(mark)
    session.run_changed.connect(mark)


def cut_actions(tree: QTreeWidget, session, item) -> list[QAction]:
    """The actions a layer's context menu offers: attach the head there (not at the model or its head), and keep
    the whole body when a cut is set."""
    name = item.data(0, Qt.ItemDataRole.UserRole)
    role = item.data(ROLE_COLUMN, ORIGINAL_ROLE) or item.text(ROLE_COLUMN)
    out = []
    if session.model.run is None and name and name != "(model)" and role not in ("head", "head activation"):
        attach = QAction("Attach the head here", tree)
        attach.setObjectName("attachHeadHere")
        attach.triggered.connect(lambda: session.model.update(**{"model.cut_at": name}))
        out.append(attach)
    if session.model.recipe.model.cut_at:
        whole = QAction("Keep the whole body (no cut)", tree)
        whole.setObjectName("keepWholeBody")
        whole.triggered.connect(lambda: session.model.update(**{"model.cut_at": ""}))
        out.append(whole)
    return out


def mark_cut(tree, session):
    """The Role column under the recipe's cut (the open model's tree only; a run's tree is already cut)."""
    inspection, run = session.model.inspection, session.model.run
    if run is not None:  # a cut run's tree: say what feeds its head
        done = run.inspection.simplified
        roles = {"pool_at_cut": f"{done['adapter']} of {done['cut_at']}'s output"} if done.get("adapter") else {}
    else:
        roles = {} if inspection is None else cut_roles(inspection.layers, session.model.recipe.model.cut_at)
    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        if item.data(ROLE_COLUMN, ORIGINAL_ROLE) is None:
            item.setData(ROLE_COLUMN, ORIGINAL_ROLE, item.text(ROLE_COLUMN))
        item.setText(ROLE_COLUMN, roles.get(item.data(0, Qt.ItemDataRole.UserRole),
                                            item.data(ROLE_COLUMN, ORIGINAL_ROLE)))
        stack += [item.child(i) for i in range(item.childCount())]
