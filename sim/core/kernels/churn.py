"""Audience churn: dropping the follow edges of users who leave the audience. Compiled with
numba.

Part of ``sim.core.kernels`` (see its docstring: why compiled, how they draw random numbers).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def drop_followers(pool, start, length, n_accounts, marks, n_users):  # pragma: no cover
    """Remove, from the follower slab of every account below ``n_accounts``, the users whose
    bit is set in ``marks`` (a bit set of ``sim.core.kernels.new_marks``); the others keep their
    order. Entries ``>= n_users`` (not audience users) are kept. Returns the number of edges
    removed. One pass over the live edges, without branches: each entry is written back and
    the write position advances only for a kept one. (Reading slabs up to their first leaver
    first, or a byte per user instead of a bit, were slower: about 3.7 ns an edge either way,
    0.17 s for 46 million edges, the full-scale peak.)"""
    removed = 0
    one = np.uint64(1)
    for a in range(n_accounts):
        n = length[a]
        s = start[a]
        j = 0
        for k in range(n):
            v = pool[s + k]
            w = min(np.int64(v), n_users)  # (bit ``n_users`` is never set)
            gone = np.int64((marks[w >> 6] >> np.uint64(w & 63)) & one)
            pool[s + j] = v
            j += 1 - gone
        length[a] = j
        removed += n - j
    return removed


@njit(cache=True)
def set_marks(marks, users):  # pragma: no cover - compiled
    """Set the bits of ``users`` in ``marks``."""
    for u in users:
        marks[u >> 6] |= np.uint64(1) << np.uint64(u & 63)
