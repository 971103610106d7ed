"""How many CPU threads torch may use for work started from the window."""

from __future__ import annotations

import os
from typing import Any, Callable


def threads_leaving_a_core(available: int | None = None, current: int | None = None) -> int:
    """One core fewer than torch would take, so the window keeps one to draw with (on two cores, two
    intra-op threads and the GUI thread fight; small models lose nothing by it: gui_training benchmark)."""
    import torch

    available = available if available is not None else (os.cpu_count() or 2)
    current = current if current is not None else torch.get_num_threads()
    return max(1, min(current, available - 1))


def call_leaving_a_core(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` with torch limited to `threads_leaving_a_core()` threads, restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads_leaving_a_core(current=before))
    try:
        return fn(*args, **kwargs)
    finally:
        torch.set_num_threads(before)
