"""Keep a training step's temporaries off fresh pages: glibc's allocator settings for NumPy arrays.

A training step allocates and frees the same arrays every step (activations, gate caches, gradient
buffers: tens of KB to tens of MB each). With glibc's starting settings, an array over 128 KiB is
mapped fresh from the kernel (``mmap``) and unmapped when freed, and free memory at the top of the
heap over 128 KiB is given back (trimmed); either way the next step touches new pages, and every
4 KiB page costs a page fault. glibc raises both limits by itself when it frees a large mapped
array, but only up to the largest one seen so far, so the speed of the same model depended on
what the program happened to free first: an LSTM step (32 -> 64, 50 steps, batch 64) took 25-29 ms
with ~3,800 page faults per step, or 12-14 ms with none, by the size of the data set it was given.

:func:`tune_malloc`, run once when glassnet is imported, sets what glibc's own rule reaches after
freeing a 32 MiB array: arrays up to 32 MiB come from the heap (``M_MMAP_THRESHOLD``, glibc's
largest automatic value) and up to 64 MiB of freed heap is kept for the next step
(``M_TRIM_THRESHOLD``, twice that, as glibc sets it). Peak memory does not change; a process may
keep up to 64 MiB of freed memory per allocator arena instead of returning it.

Nothing is changed (and the function returns False) where the C library is not glibc, where the
environment already sets one of glibc's ``MALLOC_*`` tunables (your choice wins), or where
``GLASSNET_TUNE_MALLOC=0``.
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = ["tune_malloc"]

MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers, from glibc's malloc.h
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def tune_malloc(environ=None) -> bool:
    """Set glibc's mmap and trim thresholds (see the module's docstring); True if they were set."""
    environ = os.environ if environ is None else environ
    if environ.get("GLASSNET_TUNE_MALLOC", "1").strip() == "0":
        return False
    if any(name in environ for name in _USER_SETTINGS) or "glibc.malloc." in environ.get("GLIBC_TUNABLES", ""):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; the mmap threshold first, since glibc checks it against a maximum.
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
