"""The session's events: plain callback lists (psygnal/napari's EventEmitter, reduced), one per kind of change.

The window turns each into a Qt signal; a script or a test connects plain functions. Each event carries the new
value.
"""

from __future__ import annotations

from typing import Any, Callable


class Event:
    """A list of callbacks called in order with one value."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[Any], None]] = []

    def connect(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.remove(callback)

    def emit(self, value: Any = None) -> None:
        for callback in list(self._callbacks):
            callback(value)


class Events:
    """What the session model announces.

    recipe (Recipe), model (LoadedModel | None), inspection (Inspection | None), raw (RawTable | None: a table
    file as read), table (Table | None), data (PreparedData | None), data_error (str: why there is no table or no
    labels, in the words of `describe_problem`), run (the current Run | None), runs (the list of run summaries),
    busy (bool: a job that locks the session is running), activity (str: what is being prepared, "" when
    nothing), jobs (the list of jobs in flight), probe (the probe sweep of the open model and data,
    evaluate.probe_sweep.ProbeSweep, or None).
    """

    def __init__(self) -> None:
        self.recipe, self.model, self.inspection, self.raw = Event(), Event(), Event(), Event()
        self.table, self.data, self.data_error = Event(), Event(), Event()
        self.run, self.runs, self.busy, self.activity = Event(), Event(), Event(), Event()
        self.jobs, self.probe = Event(), Event()
