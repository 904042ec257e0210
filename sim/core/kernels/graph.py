"""The follower graph and user draws: slabs of the follower pool, adding and removing edges,
weighted search. Compiled with numba.

Part of ``sim.core.kernels`` (see its docstring: why compiled, how they draw random numbers).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def scatter_add(target, index, value):  # pragma: no cover - compiled
    """``target[i] += value`` for each i in ``index`` (repeats count; unlike fancy indexing)."""
    for i in index:
        target[i] += value


@njit(cache=True)
def scatter_add_count(target, index, value):  # pragma: no cover - compiled
    """``scatter_add``; returns how many entries of ``target`` went from 0 or less to above 0,
    minus how many went from above 0 to 0 or less (the change in ``count(target > 0)``)."""
    change = 0
    for i in index:
        before = target[i]
        after = before + value
        target[i] = after
        if before <= 0 < after:
            change += 1
        elif after <= 0 < before:
            change -= 1
    return change


@njit(cache=True)
def copy_slabs(src_pool, dst_pool, src_start, dst_start, lengths):  # pragma: no cover
    """Copy follower slabs: ``dst_pool[dst_start[i]:][:lengths[i]] = src_pool[src_start[i]:]...``
    (slab by slab, each read and written forward). In place (``dst_pool is src_pool``) when
    the slabs come in pool order and none moves to a later position."""
    for i in range(len(lengths)):
        s = src_start[i]
        d = dst_start[i]
        for k in range(lengths[i]):
            dst_pool[d + k] = src_pool[s + k]


@njit(cache=True)
def empty_slabs(pool, start, length, cap, accounts):  # pragma: no cover - compiled
    """Empty the slabs of ``accounts``: returns their concatenated contents, the bounds of each
    account's part (``bounds[i]:bounds[i + 1]``) and the capacity freed."""
    bounds = np.zeros(len(accounts) + 1, np.int64)
    for i in range(len(accounts)):
        bounds[i + 1] = bounds[i] + length[accounts[i]]
    out = np.empty(bounds[len(accounts)], pool.dtype)
    freed = 0
    for i in range(len(accounts)):
        a = accounts[i]
        s = start[a]
        j = bounds[i]
        for k in range(length[a]):
            out[j + k] = pool[s + k]
        freed += cap[a]
        length[a] = 0
        cap[a] = 0
    return out, bounds, freed


@njit(cache=True)
def add_pairs(keys, n_users, pool, start, length, cap, end):  # pragma: no cover - compiled
    """Append the follow pairs of the sorted ``keys`` (``account * n_users + user``) to their
    accounts' slabs; a pair repeated in ``keys`` is added once.

    A slab without room for its new pairs moves to the end of the pool first, with capacity
    the larger of what it needs, twice its capacity and 8. Returns (users of the pairs added,
    extra pool room needed, new end of the pool, capacity freed). If the pool has no room past
    ``end`` for the moved slabs, nothing changes and the room needed is returned: the caller
    grows the pool and calls again. One compiled call instead of a chain of numpy calls
    (division, masks, diffs, sums), which cost more than the work itself for the few dozen
    follows of a small population's day.
    """
    n = len(keys)
    n_new = 0
    need = 0  # room for the slabs that move
    i = 0
    while i < n:  # per account: its distinct new pairs, and whether its slab must move
        a = keys[i] // n_users
        hi = (a + 1) * n_users  # (the account's keys end below: one division per account)
        run = 0
        while i < n and keys[i] < hi:
            run += i == 0 or keys[i] != keys[i - 1]
            i += 1
        n_new += run
        if length[a] + run > cap[a]:
            need += max(length[a] + run, 2 * cap[a], 8)
    if end + need > len(pool):
        return np.empty(0, np.int32), need, end, 0
    usr = np.empty(n_new, np.int32)
    freed = 0
    j = 0
    i = 0
    while i < n:
        a = keys[i] // n_users
        hi = (a + 1) * n_users
        lo = i
        run = 0
        while i < n and keys[i] < hi:
            run += i == 0 or keys[i] != keys[i - 1]
            i += 1
        if length[a] + run > cap[a]:  # move the slab past ``end`` (no overlap with live slabs)
            s = start[a]
            for k in range(length[a]):
                pool[end + k] = pool[s + k]
            new_cap = max(length[a] + run, 2 * cap[a], 8)
            freed += cap[a]
            start[a] = end
            cap[a] = new_cap
            end += new_cap
        for k in range(lo, i):
            if k == 0 or keys[k] != keys[k - 1]:
                u = keys[k] - a * n_users
                pool[start[a] + length[a]] = u
                length[a] += 1
                usr[j] = u
                j += 1
    return usr, 0, end, freed


@njit(cache=True)
def search_right(cum, x, edges, lo):  # pragma: no cover - compiled
    """``np.searchsorted(cum, x, side="right")`` for many ``x``, through a bucket index.

    ``edges`` are increasing bucket edges (``edges[0] <= min(x)``, ``edges[-1] > max(x)``) and
    ``lo[b] = searchsorted(cum, edges[b], "right")``, so the answer for ``x`` in bucket ``b``
    lies in ``[lo[b], lo[b + 1]]``: a short search near the answer instead of a binary search
    over all of ``cum`` (one cache miss per level at millions of users). Same results exactly.
    """
    nb = len(edges) - 1
    span = edges[nb] - edges[0]
    out = np.empty(len(x), np.int64)
    for i in range(len(x)):
        v = x[i]
        b = int((v - edges[0]) / span * nb)
        b = min(max(b, 0), nb - 1)
        while b > 0 and edges[b] > v:
            b -= 1
        while b < nb - 1 and edges[b + 1] <= v:
            b += 1
        left, right = lo[b], lo[b + 1]
        while left < right:  # first index with cum[index] > v
            mid = (left + right) // 2
            if cum[mid] <= v:
                left = mid + 1
            else:
                right = mid
        out[i] = left
    return out
