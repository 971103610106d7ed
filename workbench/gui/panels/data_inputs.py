"""The Data tab's Model inputs box: for a model whose forward takes several tensors, which columns feed each input
(the recipe's data.inputs). Shown only for such a model; the mapping, its checks and the codes are core's."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from workbench.core.data.input_columns import mapping_rows
from workbench.core.open.multi_input import packed_of
from workbench.core.recipe_inputs import join_inputs

from .field_problems import FieldProblems


class ModelInputsBox(QGroupBox):
    """One line per model input: what it takes and its columns, comma-separated; Apply sets data.inputs, Propose
    clears it (category columns to the input feeding embeddings, numeric ones to the other)."""

    def __init__(self, session, parent=None):
        super().__init__("Model inputs", parent)
        self.setObjectName("modelInputs")
        self.session = session
        self.edits: dict[str, QLineEdit] = {}
        self.labels: dict[str, QLabel] = {}  # "name (what it takes):", a sequence's steps x features from its columns
        self.form = QFormLayout()
        self.apply = QPushButton("Apply")
        self.apply.setObjectName("applyInputs")
        self.apply.clicked.connect(self._apply)
        self.propose = QPushButton("Propose")
        self.propose.setToolTip("Category columns to the input feeding embeddings, columns named as steps of a "
                                "series (q_0, q_1, ...) to a sequence input, numeric columns to the other")
        self.propose.clicked.connect(lambda: self.session.model.update(**{"data.inputs": ""}))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.propose)
        buttons.addWidget(self.apply)
        self.input_problems = FieldProblems(session, {"data.inputs": "Model inputs"})  # the recipe's own check
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.input_problems)
        layout.addLayout(buttons)
        for signal in (session.model_changed, session.table_changed, session.recipe_changed):
            signal.connect(lambda *_: self.refresh())
        self.refresh()

    def found(self):
        packed = packed_of(getattr(self.session.model.loaded, "model", None))
        return packed.found if packed is not None else None

    def refresh(self) -> None:
        found = self.found()
        self.setVisible(found is not None)
        if found is None:
            return
        m = self.session.model
        rows = mapping_rows(found, m.table, m.recipe.data.inputs)
        if list(self.edits) != [name for name, _, _ in rows]:
            while self.form.rowCount():
                self.form.removeRow(0)
            self.edits, self.labels = {}, {}
            for name, takes, _ in rows:
                edit = QLineEdit()
                edit.setObjectName(f"inputColumns_{name}")
                edit.setAccessibleName(f"Columns for the model input {name}")
                edit.returnPressed.connect(self._apply)
                self.edits[name] = edit
                self.labels[name] = QLabel()
                self.form.addRow(self.labels[name], edit)
        for name, takes, columns in rows:
            self.labels[name].setText(f"{name} ({takes}):")
            edit = self.edits[name]
            edit.setToolTip(f"{name} takes {takes}; columns comma-separated, in order")
            if not edit.hasFocus():
                edit.setText(", ".join(columns))

    def _apply(self) -> None:
        self.session.model.update(**{"data.inputs": join_inputs({n: e.text() for n, e in self.edits.items()})})
