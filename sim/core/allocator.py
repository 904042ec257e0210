"""The C allocator's settings for the model's daily temporaries (glibc only; elsewhere a no-op).

Why: a day at full scale allocates and frees a few hundred megabytes of temporary arrays (the
views, the follow candidates, the dosed users), many of them larger than glibc's default limits.
glibc hands such blocks straight back to the kernel when they are freed (``munmap``, or
trimming the top of the heap), so the next day's arrays fault the same memory in again, page
by page, each page zeroed by the kernel: at 1:1 that was 10-15% of a run's time (``perf``:
``clear_page_erms`` under ``do_huge_pmd_anonymous_page``). ``tune`` raises those limits once
per process so that freed blocks stay in the heap for the next day:

- ``M_MMAP_THRESHOLD`` (32 MB, the most glibc's own adjustment would reach): blocks below it
  come from the heap (the day's largest temporaries are about 16 MB at 1:1); setting it also
  stops glibc from adjusting it (and the trim threshold) by itself.
- ``M_TRIM_THRESHOLD`` (1 GB): the heap's free top is returned to the kernel only beyond that.

The results are the same bit for bit; only where memory comes from changes. Peak memory stays
about the same (measured at 1:1: 1,099 against 1,079 MB).
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # (mallopt's parameter numbers, from glibc's malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # DEFAULT_MMAP_THRESHOLD_MAX of 64-bit glibc
TRIM_THRESHOLD = 1024 * 1024 * 1024

_tuned: bool | None = None  # None until ``tune`` has run; then whether the settings took


def tune() -> bool:
    """Apply the settings above to this process, once; whether they are in effect."""
    global _tuned
    if _tuned is None:
        _tuned = _mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and _mallopt(
            M_TRIM_THRESHOLD, TRIM_THRESHOLD
        )
    return _tuned


def _mallopt(param: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        # the symbols already loaded into this process (libc among them): no library search,
        # which would start a subprocess (``ctypes.util.find_library`` runs ``ldconfig -p``)
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(param, value))  # 1 on success
