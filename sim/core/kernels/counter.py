"""Targeted counter-messaging: the users a campaign aims at, and views that backfire. Compiled
with numba.

Part of ``sim.core.kernels`` (see its docstring: why compiled, how they draw random numbers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core import draws
from sim.core.kernels.doses import DOSE_MAX, _mark


@njit(cache=True, inline="always")
def _aimed_at(u, day, within, band, people, keep):  # pragma: no cover - compiled
    last_reached, last_update, attitude, baseline = people
    if within > 0 and day - last_reached[u] > within:
        return False
    if band[0] > -1.0 or band[1] < 1.0:  # (the attitude today: relaxed since the last update)
        elapsed = day - last_update[u]
        k = keep[elapsed] if elapsed < len(keep) else 0.0
        b = baseline[u]
        a = b + (attitude[u] - b) * k
        return band[0] <= a <= band[1]
    return True


@njit(cache=True)
def target_users(lo, hi, day, within, band, people, keep):  # pragma: no cover - compiled
    """The users ``lo`` to ``hi - 1`` (a language's users) that a campaign aims at on ``day``,
    in index order: reached by pro content on one of the ``within`` days before ``day`` (any
    user if ``within`` is 0), and with today's attitude within ``band = (lo, hi)``, relaxed
    toward baseline since the last update (``a = b + (a - b) * keep[day - last_update]``, as
    ``update_attitudes`` does; not read if the band is [-1, 1]). ``people`` = (last_reached,
    last_update, attitude, baseline). Two passes (count, then fill): no array of every user."""
    n = 0
    for u in range(lo, hi):
        n += _aimed_at(u, day, within, band, people, keep)
    out = np.empty(n, np.int64)
    j = 0
    for u in range(lo, hi):
        if _aimed_at(u, day, within, band, people, keep):
            out[j] = u
            j += 1
    return out


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
