"""The window's view of the core session: each core event re-emitted as a Qt signal.

Panels take this object in their constructor, listen to its signals and reach the state explicitly through
`session.model` (core's `SessionModel`). All state and rules live in the model; this adapter only turns its
plain callbacks into Qt signals (emitted on the GUI thread, where the model is edited).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from workbench.core.workflow.session import SessionModel


class Session(QObject):
    """The core session model seen through Qt signals, so the tabs redraw when it changes."""

    recipe_changed = Signal(object)  # Recipe
    model_changed = Signal(object)  # LoadedModel | None
    inspection_changed = Signal(object)  # Inspection | None
    raw_changed = Signal(object)  # tables.RawTable | None: a table file as read, every column
    table_changed = Signal(object)  # Table | None
    data_changed = Signal(object)  # PreparedData | None
    data_error = Signal(str)
    run_changed = Signal(object)  # the current Run | None
    runs_changed = Signal(object)  # list of run summaries (core.runs.summary, with their "id")
    busy_changed = Signal(bool)  # a job that locks the session is in flight (the JobRunner begins and ends jobs)
    activity_changed = Signal(str)  # what is being prepared ("" when nothing)
    jobs_changed = Signal(object)  # the core commands in flight (workflow.jobs.Job)
    probe_changed = Signal(object)  # evaluate.probe_sweep.ProbeSweep of the open model | None

    def __init__(self, model: SessionModel | None = None, parent=None):
        super().__init__(parent)
        self.model: SessionModel = model or SessionModel()
        self.model.describe_problem = window_text
        events = self.model.events
        for event, signal in ((events.recipe, self.recipe_changed), (events.model, self.model_changed),
                              (events.inspection, self.inspection_changed), (events.raw, self.raw_changed),
                              (events.table, self.table_changed),
                              (events.data, self.data_changed), (events.data_error, self.data_error),
                              (events.run, self.run_changed), (events.runs, self.runs_changed),
                              (events.busy, self.busy_changed), (events.activity, self.activity_changed),
                              (events.jobs, self.jobs_changed), (events.probe, self.probe_changed)):
            event.connect(signal.emit)


def window_text(exc) -> str:
    """A data problem as the window says it: naming its controls, never a command-line flag."""
    from workbench.core.data.columns import MissingValuesError, NotNumericError, WidthMismatchError

    if isinstance(exc, MissingValuesError):
        listing = ", ".join(f"{k}: {v}" for k, v in list(exc.counts.items())[:6])
        return (f"{sum(exc.counts.values())} value(s) are missing in the ticked features ({listing}), in "
                f"{exc.rows} row(s). Choose under Missing values: drop those rows, or impute the train split's "
                "medians — or untick those columns.")
    if isinstance(exc, WidthMismatchError):  # never asks to tick more columns than the table has
        return f"The model takes {exc.expected} inputs; {exc.chosen} are ticked. {exc.window_fix}"
    from workbench.core.data.data import SequenceShapeError

    if isinstance(exc, SequenceShapeError):
        return (f"The model is recurrent ({exc.features} features per time step), and the data's {exc.width} values "
                f"per row do not make such sequences. Tick steps × {exc.features} columns (step by step), or set the "
                f"Model tab's Input shape to steps,{exc.features}.")
    if isinstance(exc, NotNumericError):
        return f"Column '{exc.column}' is not numeric; untick it."
    from workbench.core.errors import WorkbenchError, for_window

    if isinstance(exc, WorkbenchError):
        problem = exc.window_problem
        problem = f"{exc.path}: {problem}" if exc.path else problem[:1].upper() + problem[1:]  # a sentence
        return " ".join(filter(None, [problem, exc.window_fix]))
    return for_window(str(exc))
