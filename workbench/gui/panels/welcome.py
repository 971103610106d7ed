"""The first view: open a checkpoint, a recent one, or the bundled demo. Pure Qt, so it paints at once."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QProgressBar, QPushButton, QVBoxLayout, QWidget

from .. import theme

STARTING_DEMO = ("Opening the demo: loading PyTorch and the plotting library, then building the diabetes model "
                 "(the first start takes a few seconds)…")
STARTING_FILE = "Opening {name}: loading PyTorch and the plotting library (the first start takes a few seconds)…"


class WelcomeView(QWidget):
    """The first screen: open a checkpoint, open the demo, or pick a recent file."""

    open_requested = Signal()
    demo_requested = Signal()
    recent_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        title = QLabel("<h1>Conversion Workbench</h1>"
                       "<p>Turn a trained PyTorch regression model into a calibrated classifier.</p>")
        title.setAlignment(Qt.AlignCenter)
        open_button = QPushButton("Open a checkpoint…")
        open_button.setObjectName("welcomeOpen")
        demo_button = QPushButton("Open the demo (diabetes MLP)")
        demo_button.setObjectName("welcomeDemo")
        for button in (open_button, demo_button):
            button.setMinimumHeight(40)
            button.setMinimumWidth(240)
        open_button.clicked.connect(self.open_requested)
        demo_button.clicked.connect(self.demo_requested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(open_button)
        buttons.addWidget(demo_button)
        buttons.addStretch(1)
        self.recent = QListWidget()
        self.recent.setObjectName("recentList")
        self.recent.setMaximumWidth(700)
        self.recent.itemActivated.connect(lambda item: self.recent_requested.emit(item.text()))
        hint = QLabel("You can also drop a checkpoint file anywhere on this window.")
        hint.setAlignment(Qt.AlignCenter)
        theme.style(hint, "color: {muted}")
        self.recent_label = QLabel("Recent checkpoints (double-click to open):")
        column = QVBoxLayout()
        column.addWidget(self.recent_label)
        column.addWidget(self.recent)
        center = QHBoxLayout()
        center.addStretch(1)
        center.addLayout(column, 3)
        center.addStretch(1)
        self.progress_text = QLabel("")
        self.progress_text.setObjectName("welcomeProgressText")
        self.progress_text.setAlignment(Qt.AlignCenter)
        self.progress_text.setWordWrap(True)
        self.progress = QProgressBar()  # busy: what the first seconds after a cold start are spent on
        self.progress.setObjectName("welcomeProgress")
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(480)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Starting")
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(self.progress, 2)
        bar.addStretch(1)
        self.progress_text.hide()
        self.progress.hide()
        self.buttons = (open_button, demo_button)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(title)
        layout.addWidget(self.progress_text)
        layout.addLayout(bar)
        layout.addLayout(buttons)
        layout.addWidget(hint)
        layout.addSpacing(20)
        layout.addLayout(center, 2)
        layout.addStretch(1)

    def set_recent(self, paths: list[str]) -> None:
        """Show the recently opened files (hidden when there are none)."""
        self.recent.clear()
        self.recent.addItems(paths)
        self.recent.setVisible(bool(paths))
        self.recent_label.setVisible(bool(paths))

    def show_progress(self, text: str) -> None:
        """Say what is being prepared, with a busy bar, while the tabs are built (the buttons wait)."""
        self.progress_text.setText(text)
        self.progress_text.setVisible(bool(text))
        self.progress.setVisible(bool(text))
        for button in self.buttons:
            button.setEnabled(not text)
