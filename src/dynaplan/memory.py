"""Memory a user's sizes would take, checked before the arrays are allocated.

An allocation sized by user input (a search tree's nodes, a table's states, a tile coder's
hash table) is estimated first and refused with one line when it would not fit in the memory
this machine has available, instead of a ``MemoryError`` traceback half way through (or the
machine swapping). ``too_large(nbytes, what)`` returns that line's reason, or None.
"""

from __future__ import annotations

import os

__all__ = ["available_memory", "human_bytes", "too_large"]


def available_memory() -> int:
    """Bytes of memory available to a new process (``MemAvailable``; else all physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 2**62


def human_bytes(n: float) -> str:
    """``1536`` -> ``1.5 kB`` (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB", "EB"):
        if abs(n) < 1000 or unit == "EB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} EB"  # pragma: no cover


def too_large(nbytes: float, what: str, available: int | None = None) -> str | None:
    """``"WHAT would take 72.8 TB; this machine has 3.1 GB available"`` if ``nbytes`` exceeds the
    available memory (``available``, default this machine's), else None."""
    available = available_memory() if available is None else available
    if nbytes <= available:
        return None
    return f"{what} would take {human_bytes(nbytes)}; this machine has {human_bytes(available)} available"
