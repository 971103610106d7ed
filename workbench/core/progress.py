"""Progress of the slow steps that are not training epochs: the learning-rate range test, the frozen body's feature
cache, decoding an image folder, writing an export. The command line draws them as bars (or plain lines when
piped), the window in its status line.

A job's callbacks are the listeners: `Job.run` (and the window's worker) hold them in `reporting(callbacks)` while
the work runs, and a step deep in core reports with `with step("features", "Running the body once", n) as s:
s.advance(k)`, without every function between the job and the loop passing callbacks along. Each callback with an
`on_progress(info)` method is told: at the start, at most every MIN_INTERVAL seconds while it runs, and at the end.
Qt-free; a context variable, so each thread (the window's workers) has its own listeners.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from types import TracebackType
from typing import Any

MIN_INTERVAL = 0.1  # seconds between two reports of one step (its start and end always reported)
_listeners: ContextVar[tuple[object, ...]] = ContextVar("workbench_progress", default=())


@contextlib.contextmanager
def reporting(callbacks: Iterable[object]) -> Iterator[None]:
    """Steps reported inside go to those of `callbacks` that have `on_progress` (when none has, to the listeners
    already set: the command line's bar stays for a job run without callbacks)."""
    found = tuple(c for c in callbacks if callable(getattr(c, "on_progress", None)))
    token = _listeners.set(found or _listeners.get())
    try:
        yield
    finally:
        _listeners.reset(token)


class Step:
    """One slow step: `key` (stable: "lr_range_test", "features", "decode", "export"), `title` (what it is doing,
    in words), `total` units (None when unknown) of `unit`."""

    def __init__(self, key: str, title: str, total: int | None, unit: str) -> None:
        self.key, self.title, self.total, self.unit = key, title, total, unit
        self.done, self.detail = 0, ""
        self.listeners = _listeners.get()
        self.start = self.last = time.perf_counter()

    def __enter__(self) -> Step:
        self._tell(finished=False)
        return self

    def advance(self, n: int = 1, detail: str | None = None) -> None:
        self.done += n
        if detail is not None:
            self.detail = detail
        now = time.perf_counter()
        if self.listeners and now - self.last >= MIN_INTERVAL:
            self.last = now
            self._tell(finished=False)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._tell(finished=True, failed=kind is not None)

    def _tell(self, finished: bool, failed: bool = False) -> None:
        if not self.listeners:
            return
        info: dict[str, Any] = {"step": self.key, "title": self.title, "done": self.done, "total": self.total,
                                "unit": self.unit, "detail": self.detail, "finished": finished, "failed": failed,
                                "seconds": time.perf_counter() - self.start}
        for listener in self.listeners:
            getattr(listener, "on_progress")(info)


def step(key: str, title: str, total: int | None = None, unit: str = "") -> Step:
    return Step(key, title, total, unit)


def describe(info: dict[str, Any]) -> str:
    """One line for a status bar or a piped command line: what the step is doing, how far, and the time left."""
    done, total, unit = info["done"], info.get("total"), info.get("unit", "")
    detail = f" ({info['detail']})" if info.get("detail") else ""
    if info.get("finished"):
        how = "stopped" if info.get("failed") else "done"
        return f"{info['title']}: {how} in {info['seconds']:.1f} s"
    if not total:
        return f"{info['title']}{detail}…"
    text = f"{info['title']}{detail}: {done:,} of {total:,} {unit} ({100 * done / total:.0f}%)"
    if 0 < done < total and info["seconds"] > 1:
        text += f", about {info['seconds'] / done * (total - done):.0f} s left"
    return text
