"""PySide6 + pyqtgraph views over `workbench.core`; no conversion logic lives here."""
