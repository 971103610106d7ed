"""The workspace page: the run picker, a banner saying what is being prepared, and the six tabs (Model, Data,
Head & training, Train, Evaluate & calibrate, Compare). It builds the panels and lays them out; the window
connects their requests to its actions. Imported after the first paint: the panels import pyqtgraph and torch."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from workbench.core.train.train import available_devices

from . import theme
from .panels.compare import ComparePanel
from .panels.data import DataPanel
from .panels.evaluate import EvaluatePanel
from .panels.form import TrainingForm
from .panels.model import ModelPanel
from .panels.runs_bar import RunsBar
from .panels.train import TrainPanel
from .session import Session

TITLES = ("1 Model", "2 Data", "3 Head && training", "4 Train", "5 Evaluate && calibrate", "6 Compare")


class Workspace(QWidget):
    """The runs bar, the activity banner and the tabs, over one session."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("workspacePage")
        pg.setConfigOptions(background=theme.colour("base"), foreground=theme.colour("text"),
                            antialias=False)  # antialiased redraws starve training
        self.model_panel = ModelPanel(session)
        self.data_panel = DataPanel(session)
        self.form = TrainingForm(session, available_devices())
        self.train_panel = TrainPanel(session)
        self.evaluate_panel = EvaluatePanel(session)
        self.compare_panel = ComparePanel(session)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("workspaceTabs")
        panels = (self.model_panel, self.data_panel, self.form, self.train_panel, self.evaluate_panel,
                  self.compare_panel)
        for widget, title in zip(panels, TITLES):
            self.tabs.addTab(widget, title)
        self.runs_bar = RunsBar(session)
        self.activity = QLabel()
        self.activity.setObjectName("activityBanner")
        theme.style(self.activity, "background: {banner}; color: {text}; padding: 4px 8px;")
        session.activity_changed.connect(self._on_activity)
        self._on_activity(session.model.activity)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.runs_bar)
        column.addWidget(self.activity)
        column.addWidget(self.tabs, 1)

    def _on_activity(self, text: str) -> None:
        self.activity.setText(text)
        self.activity.setVisible(bool(text))
