"""The follower graph and user draws: slabs of the follower pool, adding and removing edges,
weighted search. Compiled with numba.

Part of ``sim.core.kernels`` (see its docstring: why compiled, how they draw random numbers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core import draws
from sim.core.prefetch import AHEAD, prefetch


@njit(cache=True)
def scatter_add(target, index, value):  # pragma: no cover - compiled
    """``target[i] += value`` for each i in ``index`` (repeats count; unlike fancy indexing)."""
    for i in index:
        target[i] += value


@njit(cache=True)
def scatter_add_count(target, index, value):  # pragma: no cover - compiled
    """``scatter_add``; returns how many entries of ``target`` went from 0 or less to above 0,
    minus how many went from above 0 to 0 or less (the change in ``count(target > 0)``).
    The entries come in random order: each is asked for ``AHEAD`` entries early
    (``sim.core.prefetch``)."""
    change = 0
    n = len(index)
    for k in range(n):
        if k + AHEAD < n:
            prefetch(target, index[k + AHEAD])
        i = index[k]
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


RADIX_BITS = 11  # digit of ``sort_keys``: 2,048 counters a pass, which stay in the L1 cache


@njit(cache=True)
def sort_keys(keys):  # pragma: no cover - compiled
    """Sort non-negative int64 ``keys`` in place, as ``keys.sort()`` does (the same array).

    Why not numpy's sort: for the follow keys (``account * n_users + user``, about 40 bits)
    this least-significant-digit radix sort, ``RADIX_BITS`` bits a pass over ``key - min``,
    takes 14 against 50 ms for a million keys and 0.7 against 2.5 s for the 36 million of a
    full-scale start (numpy has no SIMD sort of 64-bit integers on this processor). The
    counts of every pass come from one read of the keys; a pass whose digit is the same for
    every key is skipped. Stable passes, so equal keys stay together and the result is the
    sorted array, whatever the method.
    """
    n = len(keys)
    if n < 2:
        return
    lo = keys[0]
    hi = keys[0]
    for i in range(n):
        v = keys[i]
        lo = min(lo, v)
        hi = max(hi, v)
    bits = 0
    while ((hi - lo) >> bits) > 0:
        bits += 1
    radix = 1 << RADIX_BITS
    mask = radix - 1
    n_pass = (bits + RADIX_BITS - 1) // RADIX_BITS
    counts = np.zeros((n_pass, radix), np.int64)
    for i in range(n):
        v = keys[i] - lo
        for p in range(n_pass):
            counts[p, (v >> (RADIX_BITS * p)) & mask] += 1
    buffer = np.empty(n, np.int64)
    src, dst = keys, buffer
    pos = np.empty(radix, np.int64)
    for p in range(n_pass):
        c = counts[p]
        total = 0
        same = False
        for r in range(radix):
            pos[r] = total
            total += c[r]
            same |= c[r] == n
        if same:  # (every key has this digit: the pass would copy them as they are)
            continue
        shift = RADIX_BITS * p
        for i in range(n):
            v = src[i]
            r = ((v - lo) >> shift) & mask
            dst[pos[r]] = v
            pos[r] += 1
        src, dst = dst, src
    if src is buffer:
        keys[:] = buffer


@njit(cache=True, inline="always")
def _hint_search(cum, x, i, edges, lo, per):  # pragma: no cover - compiled
    """Prefetch hints for the searches of ``x[i + AHEAD]`` (its bucket) and ``x[i + AHEAD /
    2]`` (its stretch of ``cum``, the bucket's start then at hand); see ``search_right``."""
    n = len(x)
    nb = len(edges) - 1
    if i + AHEAD < n:
        ahead = min(max(int((x[i + AHEAD] - edges[0]) * per), 0), nb - 1)
        prefetch(edges, ahead)
        prefetch(lo, ahead)
    if i + AHEAD // 2 < n:
        ahead = min(max(int((x[i + AHEAD // 2] - edges[0]) * per), 0), nb - 1)
        prefetch(cum, lo[ahead])


@njit(cache=True, inline="always")
def _search(cum, v, edges, lo, span):  # pragma: no cover - compiled
    """``searchsorted(cum, v, "right")`` through the bucket index (see ``search_right``)."""
    nb = len(edges) - 1
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
    return left


@njit(cache=True)
def search_right(cum, x, edges, lo):  # pragma: no cover - compiled
    """``np.searchsorted(cum, x, side="right")`` for many ``x``, through a bucket index.

    ``edges`` are increasing bucket edges (``edges[0] <= min(x)``, ``edges[-1] > max(x)``) and
    ``lo[b] = searchsorted(cum, edges[b], "right")``, so the answer for ``x`` in bucket ``b``
    lies in ``[lo[b], lo[b + 1]]``: a short search near the answer instead of a binary search
    over all of ``cum`` (one cache miss per level at millions of users). Same results exactly.

    The ``x`` come in random order, so each draw's bucket is asked for ``AHEAD`` draws early
    and its stretch of ``cum`` half as many (its start read from the bucket then at hand;
    ``sim.core.prefetch``): 1.8 against 2.8 s for 30 million draws over 5 million users.
    """
    span = edges[len(edges) - 1] - edges[0]
    per = (len(edges) - 1) / span  # (only for the hints: ``_search`` finds its own bucket)
    out = np.empty(len(x), np.int64)
    for i in range(len(x)):
        _hint_search(cum, x, i, edges, lo, per)
        out[i] = _search(cum, x[i], edges, lo, span)
    return out


@njit(cache=True)
def draw_keys(h, accounts, counts, cum, edges, lo, n_users):  # pragma: no cover - compiled
    """Follow keys ``account * n_users + user`` for ``counts[i]`` followers of each
    ``accounts[i]``, in that order, each user drawn with chance proportional to its weight:
    ``searchsorted(cum, uniform(h) * cum[-1], "right")`` (``cum`` the cumulative weights,
    ``edges`` and ``lo`` the bucket index of ``search_right`` for ``[0, cum[-1]]``).

    The same keys as ``np.repeat(accounts, counts) * n_users + search_right(cum,
    gen.random(counts.sum()) * cum[-1], edges, lo)`` with the same draws, without those
    temporaries: at a full-scale start they are 36 million entries each, and their pages
    (faulted in and zeroed by the kernel) cost more than the arithmetic. The draws are made
    first, into the array that then holds the keys.
    """
    n = 0
    for c in counts:
        n += c
    x = np.empty(n, np.float64)
    total = cum[len(cum) - 1]
    for i in range(n):
        x[i] = draws.uniform(h) * total
    keys = x.view(np.int64)  # (each key is written where its draw was read)
    span = edges[len(edges) - 1] - edges[0]
    per = (len(edges) - 1) / span
    i = 0
    for k in range(len(accounts)):
        base = accounts[k] * n_users
        for _ in range(counts[k]):
            _hint_search(cum, x, i, edges, lo, per)
            keys[i] = base + _search(cum, x[i], edges, lo, span)
            i += 1
    return keys
