"""How much memory is free for new allocations: what large reads (image folders, checkpoints) are checked
against before they allocate."""

from __future__ import annotations

import os


def available_memory() -> int | None:
    """Bytes of memory free for new allocations (MemAvailable on Linux); None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
