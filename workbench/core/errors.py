"""Typed errors for mistakes a user can make; each message says what is wrong and what to do.

The command line shows `str(err)`; the window shows `err.window_problem` and `err.window_fix`, which never name a
command-line flag: an error made with `gui=` says it in the window's words, and otherwise `for_window` drops the
command-line half of a "(--flag; in the window, the X field)" aside."""

from __future__ import annotations

import re

FIELD_LABELS: dict[str, str] = {}  # recipe field -> its control's label, filled by the recipe (fields.labelled)


class WorkbenchError(Exception):
    """A problem the user can fix. `str(err)` is a complete, user-facing paragraph."""

    def __init__(self, problem: str, fix: str = "", path: object = None, gui: str | None = None):
        self.problem = problem
        self.fix = fix
        self.gui = gui  # the fix in the window's words, when the rule in `for_window` cannot make them
        self.path = str(path) if path is not None else None
        parts = [f"{self.path}: {problem}" if self.path else problem]
        if fix:
            parts.append(fix)
        super().__init__(" ".join(parts))

    @property
    def window_problem(self) -> str:
        return for_window(self.problem)

    @property
    def window_fix(self) -> str:
        return self.gui if self.gui is not None else for_window(self.fix)


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

    def __init__(self, problem: str, fix: str = "", path: object = None, field: str | None = None,
                 window: str | None = None, gui: str | None = None):
        self.field = field
        self.window = window  # the problem naming the field by its control's label, not its dotted name
        super().__init__(problem, fix, path, gui)

    @property
    def window_problem(self) -> str:
        if self.window is not None:
            return self.window
        text = for_window(self.problem)
        if self.field and self.field in text and self.field in FIELD_LABELS:  # "data.splits must be ..." names
            label = FIELD_LABELS[self.field]  # the control: "Splits: must be ..."
            text = re.sub(rf"(?:recipe field )?{re.escape(self.field)}\b:?", f"{label}:", text, count=1)
        return text


class TrainingError(WorkbenchError):
    """Training could not go on (NaN loss, out of memory)."""


class ExportError(WorkbenchError):
    """The export could not be written."""


class TrustStoreError(WorkbenchError):
    """The trust store's folder cannot be created or written, so trust cannot be recorded."""


_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_WINDOW = re.compile(r"\bin the window\b[,:]?\s*")


def for_window(text: str) -> str:
    """`text` without its command-line asides: in each parenthesised aside that names a flag, the parts that say
    what to do in the window are kept ("(--input-shape; in the window, the Input shape field)" -> "(the Input shape
    field)"), the rest dropped; a flag left outside an aside is dropped with the words "with"/"add" before it."""
    depth, start = 0, 0
    pieces: list[str] = []
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                pieces.append(text[start:i])
                start = i
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                pieces.append(_aside(text[start + 1:i]))
                start = i + 1
    pieces.append(text[start:])
    out: str = "".join(pieces)
    out = re.sub(r"\s*\b(?:with|add|use|give)\s+(--[a-z][a-z0-9-]*)(?:\s+[\w./:,\'\"{}]+)?", "", out) \
        if _FLAG.search(out) else out
    out = _FLAG.sub("", out)
    return re.sub(r"\s+([.,;])(?=\s|\)|$)", r"\1", re.sub(r"  +", " ", out)).strip()  # not ".npz"


def _aside(inner: str) -> str:
    """One "( ... )" aside for the window: unchanged without a flag, else its window part, else nothing."""
    if not _FLAG.search(inner) and "command line" not in inner:
        return f"({inner})"
    kept = []
    for part in re.split(r";\s*", inner):
        if not _FLAG.search(part) and "command line" not in part:
            kept.append(_WINDOW.sub("", part, count=1) if part.startswith("in the window") else part)
            continue
        found = _WINDOW.search(part)
        if found is None:
            continue
        after = part[found.end():].strip()
        if after:
            kept.append(after)
        else:  # "..., the Model tab's X in the window": the clause before it
            kept.append(part[:found.start()].rsplit(",", 1)[-1].strip())
    kept = [k for k in kept if k]
    return f"({'; '.join(kept)})" if kept else ""


# The notebook's words for flags whose notebook form is not just `name=` (options are the flags with underscores).
_NOTEBOOK = {"data": "read_data(path)", "trust": "trust=True", "overwrite": "overwrite=True",
             "baseline": "Session.baseline()", "report": "RunView.report(path)", "force": "overwrite=True"}
_VALUE = re.compile(r"\s+('[^']*'|\"[^\"]*\"|drop|impute|em|bbse|[\w./]*[:,/{][\w./:,{}]*|\d[\d.]*)")
_NOTEBOOK_ASIDE = re.compile(r"^(?:command line:\s*)?(?:add|with|use|give)?\s*")


def for_notebook(text: str) -> str:
    """`text` in a notebook's words: "--missing drop" -> "missing='drop'", "--trust" -> "trust=True", and the
    window's half of an aside ("; in the window, the X field") dropped, since a notebook has neither."""
    if not _FLAG.search(text):
        return text

    def aside(match: re.Match[str]) -> str:
        inner = match.group(1)
        if not _FLAG.search(inner):
            return match.group(0)
        kept = [_NOTEBOOK_ASIDE.sub("", p) if p.startswith("command line") else p
                for p in re.split(r";\s*", inner) if not p.lstrip().startswith("in the window")]
        return f"({'; '.join(k for k in kept if k)})"

    def flag(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if name in _NOTEBOOK and value is None:
            return _NOTEBOOK[name]
        word = name.replace("-", "_")
        if value is None:
            return f"{word}="
        value = value.strip()
        after = "," if value.endswith(",") else ""  # a comma ending the clause, not the value's
        return flag_text(word, value.rstrip(",")) + after

    def flag_text(word: str, value: str) -> str:
        if value[:2] in ("'{", "'["):  # JSON for a flag is a dict or list in a notebook
            return f"{word}={value[1:-1]}"
        return f"{word}={value}" if value[0] in "'\"" or value.replace(".", "").isdigit() else f"{word}={value!r}"

    out = re.sub(r"\(([^()]*)\)", aside, text)
    out = re.sub(r"(?<![\w-])--([a-z][a-z0-9-]*)(" + _VALUE.pattern + r")?", flag, out)
    return out.replace("command line: ", "")
