"""The run picker above the tabs: every run of the session by name; the one picked is what Evaluate, Export and
the report show. Runs can be renamed and removed here; Compare checks runs from the same list."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QInputDialog, QLabel, QPushButton, QSizePolicy, QWidget


class RunsBar(QWidget):
    """The picker above the tabs: which run Evaluate, Export and the report show, with rename and remove."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self._updating = False
        self.combo = QComboBox()
        self.combo.setObjectName("runPicker")
        self.combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(28)
        self.combo.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.combo.setToolTip("The run that Evaluate, Export and the report show")
        # Shown when runs are listed but none is picked (another model was opened since they were made)
        self.combo.setPlaceholderText("No run picked: pick one to evaluate or export it")
        self.combo.currentIndexChanged.connect(self._on_picked)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.setObjectName("renameRun")
        self.rename_button.clicked.connect(self._rename)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeRun")
        self.remove_button.clicked.connect(self._remove)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        label = QLabel("&Run:")
        label.setBuddy(self.combo)
        layout.addWidget(label)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.rename_button)
        layout.addWidget(self.remove_button)
        session.runs_changed.connect(self._on_runs_changed)
        session.run_changed.connect(lambda _run: self._on_runs_changed(session.model.runs))
        session.jobs_changed.connect(lambda _jobs: self._on_runs_changed(session.model.runs))
        self._on_runs_changed(session.model.runs)

    def _on_runs_changed(self, runs):
        self._updating = True
        self.combo.clear()
        for summary in runs:
            note = self.session.model.entry(summary["id"]).note  # another model's, or comparison only: why
            self.combo.addItem(summary["name"] + (f"  ({note})" if note else ""), summary["id"])
        if not runs:
            self.combo.addItem("No runs yet: train a head or fit the baseline", None)
        index = self.combo.findData(self.session.model.current) if self.session.model.current else -1
        self.combo.setCurrentIndex(index if index >= 0 else (0 if not runs else -1))
        self._updating = False
        has = bool(runs)
        self.combo.setEnabled(has)
        self.rename_button.setEnabled(has and self.session.model.current is not None)
        current = self.session.model.current
        self.remove_button.setEnabled(has and current is not None and self.session.model.job_on(current) is None)

    def _on_picked(self, index: int):
        if self._updating or index < 0:
            return
        run_id = self.combo.itemData(index)
        if run_id is not None and run_id != self.session.model.current:
            self.session.model.select(run_id)

    def _rename(self):
        run_id = self.session.model.current
        if run_id is None:
            return
        name, ok = QInputDialog.getText(self, "Rename run", "Name:", text=self.session.model.entry(run_id).name)
        if ok:
            self.session.model.rename(run_id, name)

    def _remove(self):
        m = self.session.model
        if m.current is not None and m.job_on(m.current) is None:
            m.remove(m.current)
