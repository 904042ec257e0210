"""Pro and counter doses of the day: counting views into users' doses, the bit set of users
dosed today. Compiled with numba.

Part of ``sim.core.kernels`` (see its docstring: why compiled, how they draw random numbers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core.prefetch import AHEAD, prefetch

# Pro doses are counted in 16 bits: the dose array is then small enough to stay mostly in the
# processor's cache at full scale, where these random increments are the day's main cost. A
# user would need 32,767 pro views in one day to reach the cap (counts stop there).
DOSE_DTYPE = np.int16


DOSE_MAX = np.iinfo(DOSE_DTYPE).max


@njit(cache=True, inline="always")
def _mark(marks, u, on):  # pragma: no cover - compiled
    # (set whether or not it is set already: a branch on it would be mispredicted often)
    marks[u >> 6] |= np.uint64(on) << np.uint64(u & 63)


@njit(cache=True, inline="always")
def _prefetch_user(u, dose, marks):  # pragma: no cover - compiled
    # (asked for ``AHEAD`` users early: these increments land at random places, see prefetch)
    prefetch(dose, u)
    prefetch(marks, u >> 6)


@njit(cache=True)
def accumulate(users, weights, dose, marks):  # pragma: no cover - compiled
    """``dose[u] += w`` for each (u, w); a nonzero dose sets the user's bit in ``marks`` (see
    ``marked_users``)."""
    n = len(users)
    for i in range(n):
        if i + AHEAD < n:
            _prefetch_user(users[i + AHEAD], dose, marks)
        u = users[i]
        w = weights[i]
        _mark(marks, u, w != 0.0)
        dose[u] += w


@njit(cache=True)
def count_into(users, dose, marks):  # pragma: no cover - compiled
    """``dose[u] += 1`` for each u (repeats count again), capped at ``DOSE_MAX``; sets the
    user's bit in ``marks``."""
    n = len(users)
    for i in range(n):
        if i + AHEAD < n:
            _prefetch_user(users[i + AHEAD], dose, marks)
        u = users[i]
        _mark(marks, u, 1)
        d = dose[u]
        if d < DOSE_MAX:
            dose[u] = d + 1


def new_marks(n: int) -> np.ndarray:
    """A cleared bit set for ``n`` users (one bit each, in 64-bit words)."""
    return np.zeros(n // 64 + 1, dtype=np.uint64)


# lowest set bit -> its position, through a de Bruijn sequence (no count-trailing-zeros in numba)
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)


DEBRUIJN_POS = np.zeros(64, dtype=np.int64)


for _i in range(64):
    DEBRUIJN_POS[((1 << _i) * 0x03F79D71B4CB0A89 % 2**64) >> 58] = _i


@njit(cache=True, inline="always")
def _popcount(w):  # pragma: no cover - compiled
    """Set bits of a 64-bit word (the classic SWAR sum)."""
    w = w - ((w >> np.uint64(1)) & np.uint64(0x5555555555555555))
    w = (w & np.uint64(0x3333333333333333)) + ((w >> np.uint64(2)) & np.uint64(0x3333333333333333))
    w = (w + (w >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (w * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True)
def marked_users(marks, positions):  # pragma: no cover - compiled
    """The users whose bit is set, in index order; clears ``marks``. Reading a bit per user
    costs 1/16 of reading a 16-bit dose per user, so finding the day's dosed users costs little
    more than their number."""
    n = 0
    for i in range(len(marks)):
        n += _popcount(marks[i])
    out = np.empty(n, np.int64)
    j = 0
    for i in range(len(marks)):
        w = marks[i]
        if w == 0:
            continue
        marks[i] = 0
        base = i * 64
        while w:
            low = w & (~w + np.uint64(1))
            out[j] = base + positions[(low * _DEBRUIJN) >> np.uint64(58)]
            j += 1
            w ^= low
    return out
