"""Error and trust dialogs: what went wrong and what to do, never a bare traceback."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from workbench.core.errors import UntrustedFileError, WorkbenchError


def show_error(parent: QWidget, exc: BaseException, title: str = "Could not finish") -> None:
    """Show an error as a dialog: the problem and its fix for a user's mistake, details for a bug. Logged first,
    with its traceback (workbench.logs), so the log explains what the dialog says."""
    from workbench import logs

    logs.log_error(exc, f"dialog '{title}'")
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    if isinstance(exc, WorkbenchError):
        problem = exc.window_problem  # the window's words: never a command-line flag
        box.setText(problem[:1].upper() + problem[1:] if problem else str(exc))
        box.setInformativeText("\n\n".join(filter(None, [exc.window_fix, f"File: {exc.path}" if exc.path else ""])))
    else:
        box.setText(f"Something went wrong inside the workbench ({type(exc).__name__}: {exc}).")
        box.setInformativeText("This is a bug, not your mistake. Your files were not changed. "
                               "The details below help to report it.")
        box.setDetailedText(getattr(exc, "gui_traceback", ""))
    box.setObjectName("errorDialog")
    box.exec()


def ask_trust(parent: QWidget, exc: UntrustedFileError) -> bool:
    """Ask before running code a file carries or names; the text is the core's reading of what would run."""
    box = QMessageBox(parent)
    box.setObjectName("trustDialog")
    box.setIcon(QMessageBox.Icon.Warning if exc.dangerous else QMessageBox.Icon.Question)
    box.setWindowTitle("Trust this file?")
    problem = exc.window_problem[:1].upper() + exc.window_problem[1:]
    box.setText(f"{exc.path}\n\n{problem}"
                + ("\n\nIt looks DANGEROUS: it would call " + ", ".join(exc.dangerous) + ", which can run programs "
                   "or change files on your computer." if exc.dangerous else
                   "\n\nOpen it only if you know where it comes from."))
    files = exc.files  # every file that would run, all listed; the imports after them are capped
    rest = [name for name in exc.imports if name not in files]
    box.setInformativeText(("Files that would run:\n" + "\n".join(f"  • {f}" for f in files) + "\n\n" if files else "")
                           + "It would import or run:\n" + "\n".join(f"  • {name}" for name in rest[:30])
                           + (f"\n  … and {len(rest) - 30} more" if len(rest) > 30 else ""))
    trust = box.addButton("Trust this file and open it", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is trust


def ask_close(parent: QWidget, what: str) -> str:
    """Closing would lose work: "save" (the session first), "discard" or "cancel"."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Close Conversion Workbench",
                      f"{what}. Save the session before closing?", parent=parent)
    box.setObjectName("closeDialog")
    box.setInformativeText("Save session keeps every run's recipe and metrics (File ▸ Open session brings them "
                           "back). Training is stopped first; its best epoch so far is kept as a run.")
    save = box.addButton("Save session…", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(save)
    box.exec()
    return "save" if box.clickedButton() is save else "discard" if box.clickedButton() is discard else "cancel"


TABLE_ENDINGS = (".csv", ".tsv", ".txt", ".tab", ".parquet", ".pq", ".feather", ".arrow", ".xlsx", ".xlsm", ".npz")


def ask_locate(parent: QWidget, exc) -> str:
    """A session's input (checkpoint, data, run weights) moved or changed since it was saved: say which, and let the
    user point at it (a SessionInputError). The path chosen, or "" to leave the session closed."""
    from PySide6.QtWidgets import QFileDialog

    box = QMessageBox(QMessageBox.Icon.Warning, "Locate a file of the session",
                      exc.window_problem[:1].upper() + exc.window_problem[1:], parent=parent)
    box.setObjectName("locateDialog")
    box.setInformativeText(f"Saved as: {exc.original}\n\n{exc.window_fix}")
    locate = box.addButton("Locate…", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    if box.clickedButton() is not locate:
        return ""
    if exc.role == "data" and not str(exc.original).lower().endswith(TABLE_ENDINGS):
        return QFileDialog.getExistingDirectory(parent, "Where is the image folder now?")
    path, _ = QFileDialog.getOpenFileName(parent, f"Where is {exc.original} now?")
    return path
