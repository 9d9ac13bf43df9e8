"""Helpers shared by the benchmarks (each is run as a script: `python bench/NAME.py`)."""

from __future__ import annotations

import resource


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and its finished children (ffmpeg), user + system: unlike wall
    time, barely moved by other work on the machine."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
