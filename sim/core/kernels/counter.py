"""Targeted counter-messaging: the users a campaign aims at, and views that backfire. Compiled
with numba.

Part of ``sim.core.kernels`` (see its docstring: why compiled, how they draw random numbers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core import draws
from sim.core.kernels.doses import DOSE_MAX, _mark


@njit(cache=True)
def target_users(lo, hi, day, within, band, people, keep):  # pragma: no cover - compiled
    """The users ``lo`` to ``hi - 1`` (a language's users) that a campaign aims at on ``day``,
    in index order: reached by pro content on one of the ``within`` days before ``day`` (any
    user if ``within`` is 0), and with today's attitude within ``band = (lo, hi)``, relaxed
    toward baseline since the last update (``a = b + (a - b) * keep[day - last_update]``, as
    ``update_attitudes`` does; not read if the band is [-1, 1]). ``people`` = (last_reached,
    last_update, attitude, baseline).

    One branch-free pass per criterion over the range, each narrowing a list of candidates
    (the exposure test first: it reads one array and keeps few users).
    """
    last_reached, last_update, attitude, baseline = people
    out = np.empty(hi - lo, np.int64)
    n = 0
    if within > 0:
        since = day - within  # (reached on day ``since`` or later)
        for u in range(lo, hi):
            out[n] = u
            n += last_reached[u] >= since
    else:
        for u in range(lo, hi):
            out[u - lo] = u
        n = hi - lo
    a_lo, a_hi = band
    if a_lo > -1.0 or a_hi < 1.0:
        m = 0
        n_keep = len(keep)
        for i in range(n):
            u = out[i]
            elapsed = day - last_update[u]
            k = keep[elapsed] if elapsed < n_keep else 0.0
            b = baseline[u]
            a = b + (attitude[u] - b) * k
            out[m] = u
            m += (a >= a_lo) & (a <= a_hi)
        n = m
    return out[:n].copy()


@njit(cache=True)
def backfire_views(users, prob, state, engaged, pro_dose, marks, h):  # pragma: no cover
    """Each view of ``users`` by a user in state ``engaged`` or above (sympathizers and
    supporters) backfires with chance ``prob``: it adds one pro view to the viewer's dose (as
    ``count_into``). One uniform from ``h`` per such view, in order; other views draw nothing.
    Returns the number of views that backfired."""
    n = 0
    for i in range(len(users)):
        u = users[i]
        if state[u] >= engaged and draws.uniform(h) < prob:
            _mark(marks, u, 1)
            d = pro_dose[u]
            if d < DOSE_MAX:
                pro_dose[u] = d + 1
            n += 1
    return n
