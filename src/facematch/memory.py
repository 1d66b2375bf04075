"""Keep a long-running service's resident memory near what it uses.

glibc gives each thread that contends for the heap an arena of its own (up to
8 per core) and, after a large block is freed, raises the size from which
blocks are mapped directly, so the next large blocks come from those arenas
and are never handed back. A match request allocates several image-sized
buffers (a 1600x1200 photo is 5.8 MB as RGB, more as float) on two threads:
left alone, a process with two matching threads grew to 488 MiB under load;
with at most two arenas and a fixed 4 MB mapping threshold it stayed at
368 MiB (docs/performance.md). Setting the mapping threshold also fixes the
trim threshold at glibc's 128 KB, so every request's freed image buffers were
handed back and faulted in again by the next (7-8 ms of a match on 2 cores):
the heap now keeps up to ``trim_threshold`` free at its top. Measured on one
served process (``python -m benchmarks.memory`` / ``benchmarks.latency``,
docs/performance.md): server CPU a request 263 -> 245 ms, HTTP p50 over the
in-process core 12-14 -> 6-7 ms, highest RSS under load 378 -> 395 MiB (one
worker) and 497 -> 505 MiB (two). Settings an operator made through glibc's
own environment variables win.
"""

from __future__ import annotations

import ctypes
import gc
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def tune_malloc(arenas: int = 2, mmap_threshold: int = 4 << 20, trim_threshold: int = 8 << 20) -> bool:
    """Apply the limits; False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(M_ARENA_MAX, arenas)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(M_MMAP_THRESHOLD, mmap_threshold)
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        mallopt(M_TRIM_THRESHOLD, trim_threshold)
    return True


def return_freed() -> None:
    """Collect garbage and hand freed heap memory back to the system (after a
    large one-off allocation, such as building a model)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
