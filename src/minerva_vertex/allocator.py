"""Freed memory kept in the process, so that each training step does not fault it in again.

With glibc's defaults, a freed block of a few MB (a gathered batch, a layer's activations)
goes back to the operating system once enough of the heap's top is free, and the next
step's allocation of the same size faults every page of it in again. A DANN training of
6,400 events spent 7.0 s in the kernel that way (3.3 million minor page faults) and trained
8 % slower (docs/performance.md, "Memory allocator"). Raising glibc's
mmap and trim thresholds keeps those blocks in the heap for reuse; blocks larger than
:data:`MMAP_THRESHOLD_BYTES` are still mapped and unmapped each time, as glibc allows no more.

The setting is process-wide and lasts until the process ends: a training or scoring job's
whole process. Elsewhere than glibc (macOS, musl) nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform

# mallopt's parameter numbers (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# glibc's upper limit for the mmap threshold on 64-bit (HEAP_MAX_SIZE / 2, malloc(3)).
MMAP_THRESHOLD_BYTES = 32 << 20
# mallopt takes a C int: the largest value, so that the heap's free top is never trimmed.
TRIM_THRESHOLD_BYTES = 2**31 - 1


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc with ``mallopt``, else None."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None


def keep_freed_memory() -> bool:
    """Keep freed blocks of up to :data:`MMAP_THRESHOLD_BYTES` in the process's heap;
    True where glibc accepted both settings, False where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return False
    mmap_set = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    trim_set = libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
    return mmap_set and trim_set
