"""The model view: where the checkpoint came from, its layer tree with the head marked, freeze checkboxes."""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.recipe import MLP_ACTIVATIONS

from .. import theme
from .checks_order import thresholds_text
from .form import FIELD_WIDTH
from .notes import notes_html

COLUMNS = ["Layer", "Type", "Output shape", "Parameters", "Trainable", "Freeze", "Role"]
HEAD_COLOUR, NEW_COLOUR = "head", "new"  # theme colour names of the head's layers, old and new


SHAPE_HINT = "per sample, e.g. 10 or 1,8,8 (from the data when empty)"
NO_MODEL = "No model open. Use File ▸ Open, drop a checkpoint on the window, or open the demo."


class ModelPanel(QWidget):
    """The Model tab: what was opened, the layer tree with the head to replace, and the model source."""

    reload_requested = Signal()

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.title = QLabel(NO_MODEL)
        self.title.setObjectName("modelTitle")
        session.activity_changed.connect(self._on_activity)
        self.title.setWordWrap(True)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setObjectName("modelNotes")
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.source = QLineEdit()
        self.source.setPlaceholderText("path/to/models.py:ClassName or notebook.ipynb:ClassName (only for weights "
                                       "without an architecture; only the class and what it needs are run)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_source)
        self.args = QLineEdit()
        self.args.setPlaceholderText('constructor arguments as JSON, e.g. {"hidden": 64}')
        self.shape = QLineEdit()
        self.shape.setPlaceholderText(SHAPE_HINT)
        self.activation = QComboBox()
        self.activation.setObjectName("mlpActivation")
        self.activation.addItems(MLP_ACTIVATIONS)
        self.activation.setToolTip("The activation between the Linear layers of an MLP rebuilt from bare weights "
                                   "(a state_dict does not record it; a saved recipe does). Changing it reopens "
                                   "such a model.")
        self.activation.currentTextChanged.connect(self._on_activation_changed)
        self._opened_with: dict = {}  # the model fields of the open model, as it was opened
        self.reload = QPushButton("Reload model")
        self.reload.clicked.connect(self.reload_requested)
        self._cap_widths()
        row = QHBoxLayout()
        row.addWidget(self.source, 1)
        row.addWidget(browse)
        row.addStretch(0)
        form = QFormLayout()
        form.addRow("Model source:", row)
        form.addRow("Model arguments:", self.args)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)  # up to their maximum
        shape_row = QHBoxLayout()
        shape_row.addWidget(self.shape, 1)
        shape_row.addWidget(self.reload)
        shape_row.addStretch(0)
        form.addRow("Input shape:", shape_row)
        form.addRow("MLP activation:", self.activation)
        from .field_problems import FieldProblems

        self.problems = FieldProblems(session, {
            "model_source": "Model source", "model_args": "Model arguments", "input_shape": "Input shape",
            "head.frozen_layers": "Freeze boxes in the layer tree", "mlp_activation": "MLP activation"})
        form.addRow(self.problems)
        form.addRow(self._pending_line())
        self.tree = QTreeWidget()
        self.tree.setObjectName("layerTree")
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.head_label = QLabel()
        self.head_label.setObjectName("headLabel")
        self.head_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.notes)
        layout.addLayout(form)
        from .probe import ProbeBox, install_cut_menu  # where to cut (issue 29): the sweep and the tree's action

        self.probe = ProbeBox(session)
        self.split = self._tree_and_probe()
        layout.addWidget(self.split, 1)
        install_cut_menu(self.tree, session)
        session.model_changed.connect(self._on_model_changed)
        session.inspection_changed.connect(self._on_inspection_changed)
        session.run_changed.connect(self._on_run_changed)
        session.recipe_changed.connect(self._on_recipe_changed)
        self._on_recipe_changed(session.model.recipe)


    def _cap_widths(self) -> None:
        """The form's widths at most (a path gets two fields' width): at 4K a field across the screen reads badly."""
        self.source.setMaximumWidth(2 * FIELD_WIDTH["QLineEdit"])
        for field in (self.args, self.shape):
            field.setMaximumWidth(FIELD_WIDTH["QLineEdit"])
        self.activation.setMaximumWidth(FIELD_WIDTH["QComboBox"])
    def _browse_source(self):
        path, _ = QFileDialog.getOpenFileName(self, "Model source file", "",
                                              "Python files and notebooks (*.py *.ipynb);;All files (*)")
        if path:
            cls = self.source.text().rpartition(":")[2] if ":" in self.source.text() else "ClassName"
            self.source.setText(f"{path}:{cls}")

    def _on_recipe_changed(self, recipe):
        """The fields show the open model's settings as the recipe has them (a new model's: cleared, or those
        given for it), so what is typed afterwards is what the user gives for the next file."""
        for field, text in ((self.source, recipe.model_source),
                            (self.args, json.dumps(recipe.model_args) if recipe.model_args else ""),
                            (self.shape, ",".join(map(str, recipe.input_shape)))):
            if field.text() != text:
                field.setText(text)
        if self.activation.currentText() != recipe.mlp_activation:
            self.activation.blockSignals(True)
            self.activation.setCurrentText(recipe.mlp_activation)
            self.activation.blockSignals(False)

    def _tree_and_probe(self) -> QSplitter:
        """The tree (with the head's line) over the probe box, in a splitter the user can move: at 1024 x 700 the
        probe's plot under a plain layout left the tree three rows."""
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(self.tree, 1)
        upper_layout.addWidget(self.head_label)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("modelSplit")
        split.setChildrenCollapsible(False)
        split.addWidget(upper)
        split.addWidget(self.probe)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        return split

    def _on_model_changed(self, loaded):
        if loaded is None:
            return
        self.title.setText(f"<b>{loaded.path.name}</b> — {loaded.format} — sha256 {loaded.sha256[:12]}…")
        self.notes.setText(notes_html(loaded.notes))
        r = self.session.model.recipe  # the settings this model was opened with: not given again for another file
        self._opened_with = {"model_source": r.model_source or None, "model_args": r.model_args or None,
                             "input_shape": tuple(r.input_shape) or None}
        said = ",".join(map(str, loaded.input_shape or ()))
        self.shape.setPlaceholderText(f"per sample; empty: {said}, as the checkpoint says" if said else SHAPE_HINT)
        self._say_pending()

    def _on_inspection_changed(self, inspection):
        self._fill(inspection.layers if inspection else [], editable=True)
        if inspection is None:
            self.head_label.setText("Give the input shape (or choose data) to see output shapes and the head.")
            return
        tail = f", followed by {', '.join(inspection.tail)} (removed on conversion)" if inspection.tail else ""
        self.head_label.setText(f"Regression head: <b>{inspection.head or 'the whole program'}</b> "
                                f"({inspection.head_in} → {inspection.head_out}){tail}. "
                                f"Input {inspection.input_shape} → output {inspection.output_shape}.")

    def _on_run_changed(self, run):
        if run is None:
            self._on_inspection_changed(self.session.model.inspection)
            return
        from workbench.core.open.layer_tree import converted_rows

        rows = converted_rows(run.model, run.inspection.input_shape, run.head_name, run.inspection.tail)
        self._fill(rows, editable=False)
        entry = self.session.model.entry_of(run)
        other = entry.other_model if entry is not None else ""  # the title above names the open model, not this
        said = f"<b>The picked run was {html.escape(other)}</b>: the layers below are that run's. " if other else ""
        self.head_label.setText(said + f"Converted: new <b>{run.recipe.head.task}</b> head at <b>{run.head_name}</b> "
                                f"({len(run.data.classes)} classes)." + thresholds_text(run))

    def _fill(self, layers, editable: bool):
        self.tree.blockSignals(True)
        self.tree.clear()
        frozen = set(self.session.model.recipe.head.frozen_layers)
        freezable = set(self.session.model.freezable()) if editable else set()  # core's rule
        parents: list[QTreeWidgetItem] = []
        for layer in layers:
            shape = "×".join(map(str, layer.output_shape[1:])) if layer.output_shape else "—"
            item = QTreeWidgetItem([layer.name.rpartition(".")[2] if layer.depth else layer.name, layer.type, shape,
                                    f"{layer.params:,}", ("yes" if layer.trainable else "no") if layer.params else "—",
                                    "", layer.role])
            item.setData(0, Qt.ItemDataRole.UserRole, layer.name)
            item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if layer.name in freezable:
                item.setCheckState(5, Qt.CheckState.Checked if layer.name in frozen else Qt.CheckState.Unchecked)
            if layer.role:
                for col in range(len(COLUMNS)):
                    item.setBackground(col, QBrush(QColor(theme.colour(NEW_COLOUR if layer.role == "new head"
                                                                       else HEAD_COLOUR))))
                font = QFont()
                font.setBold(True)
                item.setFont(0, font)
            del parents[layer.depth:]
            (parents[-1].addChild(item) if parents else self.tree.addTopLevelItem(item))
            parents.append(item)
        self.tree.expandToDepth(1)
        self.tree.blockSignals(False)

    def _on_item_changed(self, item, column):
        if column != 5:
            return
        frozen = []
        stack = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        while stack:
            node = stack.pop()
            if node.data(5, Qt.CheckStateRole) is not None and node.checkState(5) == Qt.Checked:
                frozen.append(node.data(0, Qt.UserRole))
            stack += [node.child(i) for i in range(node.childCount())]
        self.session.model.update(**{"head.frozen_layers": tuple(sorted(frozen))})

    def settings(self, changed_only: bool = False) -> dict:
        """Model source, arguments and input shape as typed, as `OpenModel` takes them (None for an empty field);
        with `changed_only`, only those that differ from what the open model was opened with. Raises ValueError with a
        readable reason for text that is not an argument object or a shape."""
        args = None
        if self.args.text().strip():
            try:
                args = json.loads(self.args.text())
            except ValueError:
                args = None
            if not isinstance(args, dict):
                raise ValueError('model arguments must be a JSON object such as {"hidden": 64}')
        shape = None
        if self.shape.text().strip():
            try:
                shape = tuple(int(v) for v in self.shape.text().replace("x", ",").split(",") if v.strip())
            except ValueError:
                raise ValueError("the input shape is whole numbers separated by commas, such as 3,32,32") from None
        typed = {"model_source": self.source.text().strip() or None, "model_args": args, "input_shape": shape}
        if not changed_only:
            return typed
        return {k: v for k, v in typed.items() if v != self._opened_with.get(k)}

    def _pending_line(self) -> QLabel:
        """Typed settings apply when the model is opened again: said beside them as they are typed (text that does
        not read, or settings the open model was not opened with); Enter in a field is Reload model."""
        self.pending = QLabel()
        self.pending.setObjectName("modelSettingsPending")
        self.pending.setWordWrap(True)
        self.pending.hide()
        for field in (self.source, self.args, self.shape):
            field.textChanged.connect(self._say_pending)
            field.returnPressed.connect(self.reload_requested)
        return self.pending

    def _say_pending(self, *_typed) -> None:
        try:
            changed = self.settings(changed_only=True)
        except ValueError as exc:
            theme.style(self.pending, "color: {error}")
            self.pending.setText(f"{str(exc)[:1].upper()}{str(exc)[1:]}. Nothing is applied until it reads.")
            self.pending.show()
            return
        changed = {k: v for k, v in changed.items() if v is not None or self._opened_with.get(k) is not None}
        theme.style(self.pending, "color: {warning}")
        self.pending.setText("Not applied yet: press Reload model (or Enter) to open the model with these settings."
                             if changed and self.session.model.loaded is not None else "")
        self.pending.setVisible(bool(self.pending.text()))

    def new_file(self) -> None:
        """Another checkpoint is being opened: from now on every field as it reads counts for it (a retry after a
        failed open takes what the fields show)."""
        self._opened_with = {}

    def mlp_activation(self) -> str:
        """The activation chosen for an MLP rebuilt from a bare state_dict (the recipe's mlp_activation)."""
        return self.session.model.recipe.mlp_activation

    def _on_activation_changed(self, text: str):
        self.session.model.update(mlp_activation=text)  # the model reopens a model it rebuilt as an MLP

    def _on_activity(self, text: str):
        if self.session.model.loaded is None:
            self.title.setText(text or NO_MODEL)
