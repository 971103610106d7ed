"""Typed errors for mistakes a user can make; each message says what is wrong and what to do."""

from __future__ import annotations


class WorkbenchError(Exception):
    """A problem the user can fix. `str(err)` is a complete, user-facing paragraph."""

    def __init__(self, problem: str, fix: str = "", path: object = None):
        self.problem = problem
        self.fix = fix
        self.path = str(path) if path is not None else None
        parts = [f"{self.path}: {problem}" if self.path else problem]
        if fix:
            parts.append(fix)
        super().__init__(" ".join(parts))


class CheckpointError(WorkbenchError):
    """The checkpoint file cannot be read or understood."""


class UntrustedFileError(CheckpointError):
    """The file needs full unpickling (or runs code) and the user has not trusted it."""

    def __init__(self, problem: str, fix: str, path: object, imports: list[str], dangerous: list[str],
                 files: list[str] | None = None):
        self.imports = imports
        self.dangerous = dangerous
        self.files = files or []  # every Python file that would run, in full (a model source and its siblings)
        super().__init__(problem, fix, path)


class ModelSourceError(WorkbenchError):
    """The model source the user named cannot be imported or built."""


class ModelError(WorkbenchError):
    """The model's structure does not allow the requested conversion."""


class DataError(WorkbenchError):
    """The data file, its columns or its labels are unusable."""


class RecipeError(WorkbenchError):
    """A recipe field has an invalid value or an invalid combination; `field` is its dotted name when known."""

    def __init__(self, problem: str, fix: str = "", path: object = None, field: str | None = None):
        self.field = field
        super().__init__(problem, fix, path)


class TrainingError(WorkbenchError):
    """Training could not go on (NaN loss, out of memory)."""


class ExportError(WorkbenchError):
    """The export could not be written."""


class TrustStoreError(WorkbenchError):
    """The trust store's folder cannot be created or written, so trust cannot be recorded."""
