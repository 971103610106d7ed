"""The session's runs: each with a stable id, a summary (what Compare, reports and session files read), and the
live `Run` that Evaluate and Export use when there is one.

Ids are random and saved in session files, so they survive saving and reopening; never `id(obj)`, which Python
reuses once an object is freed. Names are made by `run_names` (they say what differs between runs) unless the
user renamed the run. A run made with another model than the open one stays usable (it carries its own model)
and says so; a run with no live counterpart (its weights were not saved) is listed for comparison, with the
reason, and can still be picked.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.core.workflow.events import Events

if TYPE_CHECKING:
    from workbench.core.open.load import LoadedModel
    from workbench.core.recipe import Recipe
    from workbench.core.workflow.pipeline import Run


@dataclass
class RunEntry:
    """One run of the session."""

    id: str
    summary: dict[str, Any]
    run: Any = None  # pipeline.Run, or None: listed for comparison only (see `comparison_only`)
    number: int = 0
    named: bool = False  # named by the user (or a session file): never renamed automatically
    version: int = 0  # counts commits onto the live run (see run_commands.RunJob)
    comparison_only: str = ""  # why there is no live run ("" when there is one)
    other_model: str = ""  # "made with a.pt, not the open model" ("" when it is the open model's)

    @property
    def name(self) -> str:
        return str(self.summary["name"])

    @property
    def note(self) -> str:
        """What the run picker says beside the name ("" for a live run of the open model)."""
        return "; ".join(p for p in (self.comparison_only, self.other_model) if p)


@dataclass
class RunList:
    """The runs part of the session model (its base class): the list, the current run, names, saving state."""

    entries: list[RunEntry] = field(default_factory=list)
    current: str | None = None  # id of the run Evaluate, Export and the report show
    events: Events = field(default_factory=Events, repr=False, compare=False)
    _numbers: Any = field(default_factory=lambda: itertools.count(1), repr=False, compare=False)
    _saved: set[str] = field(default_factory=set, repr=False, compare=False)  # ids in the last saved file
    _renamed: set[str] = field(default_factory=set, repr=False, compare=False)  # renamed since then
    _detached: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # live runs a file may name
    _was_current: str | None = field(default=None, repr=False, compare=False)  # before the list was replaced

    # ----- reading
    @property
    def run(self) -> Run | None:
        """The live run Evaluate, Export and the report show (None when none is picked or it is not live)."""
        entry = self.entry(self.current)
        return entry.run if entry is not None else None

    @property
    def current_entry(self) -> RunEntry | None:
        return self.entry(self.current)

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The summaries of every run, oldest first."""
        return [e.summary for e in self.entries]

    def entry(self, run_id: str | None) -> RunEntry | None:
        return next((e for e in self.entries if e.id == run_id), None)

    def entry_of(self, run: Run | None) -> RunEntry | None:
        return next((e for e in self.entries if e.run is run), None) if run is not None else None

    # ----- changing the list
    def add_run(self, run: Run, asked: Recipe | None = None, name: str = "") -> RunEntry:
        """A new run, made current. `asked`: the recipe as the user asked for it (autos unresolved), which the
        name compares; `name`: the user's name for it."""
        entry = RunEntry(uuid.uuid4().hex[:12], {}, run, next(self._numbers), named=bool(name))
        entry.summary = self._summary(entry, name or "", asked)
        self.entries.append(entry)
        self._name_all()
        self.events.runs.emit(self.runs)
        self.select(entry.id)
        return entry

    def set_run(self, run: Run | None) -> None:
        """Add `run` (or refresh it, when it is already listed) and make it the current one; None picks none."""
        if run is None:
            self.select(None)
            return
        entry = self.entry_of(run)
        if entry is None:
            self.add_run(run)
            return
        self.refresh(entry)
        self.select(entry.id)

    def refresh(self, entry: RunEntry) -> None:
        """The entry's summary again from its live run (after a command changed it); names may change."""
        entry.summary = self._summary(entry, entry.name, None)
        self._name_all()
        self.events.runs.emit(self.runs)

    def commit_run(self, entry: RunEntry, result: Run) -> None:
        """A command's result (a changed copy of the entry's run) onto the live run, which keeps its identity."""
        live = entry.run
        for name in ("recipe", "calibration", "calibration_check", "calibration_auto", "metrics", "threshold",
                     "prior_estimate"):
            setattr(live, name, getattr(result, name))
        entry.version += 1
        self.refresh(entry)
        if self.current == entry.id:
            self.events.run.emit(live)

    def _summary(self, entry: RunEntry, name: str, asked: Recipe | None) -> dict[str, Any]:
        from workbench.core.workflow.session_files import summary

        old = entry.summary
        made = summary(entry.run, name, old.get("export"))
        made["asked"] = asked.to_dict() if asked is not None else old.get("asked")
        made["id"] = entry.id
        return made

    def select(self, run_id: str | None) -> None:
        """Pick the run Evaluate, Export and the report show (any listed run, live or not; None for none)."""
        self.current = run_id if self.entry(run_id) is not None else None
        self.events.run.emit(self.run)

    def rename(self, run_id: str, name: str) -> None:
        entry = self.entry(run_id)
        if entry is not None and name.strip():
            entry.summary["name"] = name.strip()
            entry.named = True
            self._renamed.add(run_id)
            self.events.runs.emit(self.runs)

    def remove(self, run_id: str) -> None:
        entry = self.entry(run_id)
        if entry is None:
            return
        self.entries.remove(entry)
        self._detached.pop(run_id, None)
        self._name_all()
        self.events.runs.emit(self.runs)
        if self.current == run_id:
            self.select(None)

    def note_export(self, run: Run | None, folder: str) -> None:
        entry = self.entry_of(run)
        if entry is not None:
            entry.summary["export"] = folder

    def take_entries(self, entries: list[RunEntry], current: str | None = None) -> None:
        """Replace the list with `entries` (a session file's, live or comparison-only): ids and names are kept."""
        self.entries = entries
        self._numbers = itertools.count(max((e.number for e in entries), default=0) + 1)
        self._renamed.clear()
        self._name_all()
        self.events.runs.emit(self.runs)
        self.select(current if self.entry(current) is not None else None)

    def set_runs(self, summaries: list[dict[str, Any]]) -> None:
        """Runs read back as summaries, for comparison; ids are kept. A run made in this session that the file also
        holds (saved, then reopened) is live again, and stays current if it was."""
        self._detached.update({e.id: e.run for e in self.entries if e.run is not None})
        current = self._was_current = self.current or self._was_current
        entries: list[RunEntry] = []
        for number, summary in enumerate(summaries, 1):
            run_id = summary.get("id")
            if not isinstance(run_id, str) or any(e.id == run_id for e in entries):
                run_id = uuid.uuid4().hex[:12]
            run = self._detached.get(run_id)
            entries.append(RunEntry(run_id, {**summary, "id": run_id}, run, number, named=True,
                                    comparison_only="" if run is not None else "comparison only: the file holds "
                                    "its metrics, not its weights"))
        self.take_entries(entries, current)

    def mark_other_model(self, loaded: LoadedModel) -> None:
        """Runs made with another model than `loaded` say so; they stay in the session, usable as they were."""
        for entry in self.entries:
            run = entry.run
            path, sha = ((str(run.loaded.path), run.loaded.sha256) if run is not None else
                         (entry.summary.get("source"), entry.summary.get("source_sha256")))
            same = path == str(loaded.path) and (sha is None or sha == loaded.sha256)
            name = str(path).replace("\\", "/").rpartition("/")[2]
            entry.other_model = "" if same else f"made with {name}, not the open model"
        self.events.runs.emit(self.runs)

    def mark_saved(self) -> None:
        """The runs as they are now are in a session file."""
        self._saved = {e.id for e in self.entries}
        self._renamed.clear()

    def unsaved_runs(self) -> list[str]:
        """Ids of runs added or renamed since the session was last saved or opened."""
        return [e.id for e in self.entries if e.id not in self._saved or e.id in self._renamed]

    def _name_all(self) -> None:
        from workbench.core.workflow.run_names import auto_names

        auto = [e for e in self.entries if not e.named]
        for entry, name in zip(auto, auto_names([(e.number, e.summary) for e in auto])):
            entry.summary["name"] = name
