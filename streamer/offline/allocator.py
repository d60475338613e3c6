"""Keep freed memory in the process, so per-window arrays do not page-fault every time.

The detector allocates and frees arrays of a few hundred kilobytes for every
window. glibc hands such blocks back to the kernel on free (mmap threshold,
heap trimming) and the next window faults the same pages in again: on a
19 ch @ 256 Hz scan that was 85,000 page faults for 5 minutes of EEG and a
quarter of the CPU time. Raising both thresholds keeps the pages mapped; the
price is that up to `retain_mb` of freed memory stays in the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: mallopt parameters of glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def retain_freed_memory(retain_mb: int = 64) -> bool:
    """Ask glibc to keep up to `retain_mb` of freed memory; False where that is not glibc.

    Examples
    --------
    >>> import sys
    >>> retain_freed_memory() == sys.platform.startswith("linux")
    True
    """
    if retain_mb <= 0:
        raise ValueError(f"retain_mb must be a positive number of megabytes, got {retain_mb!r}")
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # musl and others: no mallopt, nothing to tune
    size = retain_mb << 20
    # Blocks below the mmap threshold come from the heap; the trim threshold
    # keeps that much free heap mapped instead of returning it to the kernel.
    return bool(mallopt(_M_MMAP_THRESHOLD, size // 2) and mallopt(_M_TRIM_THRESHOLD, size))
