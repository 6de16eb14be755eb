"""Keep freed analysis buffers in the process heap between analyses (glibc only).

An analysis allocates and frees many record-sized temporaries. With glibc's default (adaptive) thresholds the
freed memory goes back to the kernel and the next analysis faults the same pages in again: 17,500-25,300 minor
page faults per analysis of a 30-min two-lead ECG, 4-5 with this setting (`benchmarks/ecg_speed.py --allocator
default|worker` prints them). Both thresholds are set: setting the trim threshold alone would switch off the
adaptive mmap threshold, and glibc refuses an mmap threshold above 32 MiB. The peak resident size
is unchanged (the same buffers, kept instead of given back); blocks above 32 MiB (a CT volume) are still mapped
and returned as before, and free heap above 256 MiB is still trimmed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

# mallopt parameters from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper limit on 64-bit systems
TRIM_THRESHOLD = 256 * 1024 * 1024

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process, once; False where the C library is not glibc."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    if not _done:
        log.info("allocator thresholds not set (mallopt refused them)")
    return _done
