"""The peak resident memory of this process, for the memory benchmarks.

``ru_maxrss`` (``resource.getrusage``) keeps, across ``exec``, the size of
the parent at ``fork`` (a benchmark that built a 1,000,000-contact file
in-process reported 1,208 MB for a child that used 36 MB), so on Linux the
process's own high-water mark ``VmHWM`` is read instead, and ``ru_maxrss``
only where ``/proc`` is missing.
"""

from __future__ import annotations

import resource

__all__ = ["peak_kib"]


def peak_kib() -> float:
    """This process's peak RSS in KiB (``VmHWM``, else ``ru_maxrss``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
