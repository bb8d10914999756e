"""Process measurements from /proc (CPU time, RSS, peak RSS) and the machine description.

Benches read the server's own counters rather than timing from the outside, so the figures
do not depend on how fast the load generator is.
"""

from __future__ import annotations

import os
import platform
import resource
import sys

__all__ = [
    "cpu_seconds",
    "machine",
    "median",
    "percentile",
    "raise_nofile",
    "rss_kb",
]

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds consumed so far by process *pid* (utime + stime)."""
    with open(f"/proc/{pid}/stat") as fh:
        stat = fh.read()
    # The command name may contain spaces: the fields start after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of *pid* in KiB (``VmRSS`` now, ``VmHWM`` for the peak)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def raise_nofile(want: int = 65536) -> int:
    """Raise this process's open-file limit as far as allowed; return the new soft limit.

    Root may also raise the hard limit (up to ``fs.nr_open``); others get soft = hard.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, want)
    for new_hard in (max(hard, target), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(target, new_hard), new_hard))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def median(values: list[float]) -> float:
    """The median (mean of the middle two for an even count); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: list[float], q: float) -> float:
    """The *q*-th percentile (0-100, nearest rank) of *values*; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def machine() -> dict[str, object]:
    """CPU model, core count, memory, kernel and Python version of this machine."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    try:
        with open("/proc/meminfo") as fh:
            mem_kb = int(fh.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]

        loop = f"uvloop {getattr(uvloop, '__version__', '?')}"
    except ImportError:
        loop = "asyncio"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "event_loop": loop,
    }
