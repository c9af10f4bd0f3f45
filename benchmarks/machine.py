"""The machine a benchmark ran on, named in its results."""

from __future__ import annotations

import platform


def cpu_model() -> str:
    """The CPU's model name (Linux's ``/proc/cpuinfo``), else the architecture: floating-point
    results and timings differ between CPU models, so every result names it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()
