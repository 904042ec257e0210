"""Audience churn on the shared state: users who leave the at-risk audience are replaced, in
their own index, by newcomers drawn as at the start.

Data flow: the ``audience`` component picks the day's leavers; a leaver who follows no pro
account is replaced at once (``replace_users``); one who does is replaced at the next sweep,
when ``drop_follows`` removes the follow edges of all such leavers in one compiled pass over
the follower pool (the pool has no index from users to the accounts they follow, so a pass
over the live edges is the only way to find them; doing it every few days keeps its cost a
small part of the day's). The newcomer keeps the index, and so the language, of the user it
replaces (users are numbered by language, ``Users``), and starts with no follows, no channel,
no reach history and a fresh baseline attitude, susceptibility and follow budget.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import Population
from sim.core import kernels
from sim.core.state.channels import ChannelTable
from sim.core.state.users import NEVER, REACH_WINDOW, Users


def drop_follows(graph_pool: tuple[np.ndarray, np.ndarray, np.ndarray, int], users: Users,
                 leavers: np.ndarray) -> int:  # fmt: skip
    """Remove every follow edge of ``leavers`` from the follower pool ``(pool, start, length,
    n_accounts)`` and set their follow counts to 0; returns the number of edges removed."""
    pool, start, length, n_accounts = graph_pool
    marks = kernels.new_marks(users.n)
    kernels.set_marks(marks, leavers)
    removed = int(kernels.drop_followers(pool, start, length, n_accounts, marks, users.n))
    users.forget_follows(leavers)
    return removed


def replace_users(
    users: Users,
    leavers: np.ndarray,
    day: int,
    p: Population,
    rng: np.random.Generator,
    channels: ChannelTable,
) -> None:
    """Replace ``leavers`` (distinct users, in index order, with no follow edges left) by
    newcomers on day ``day``: they leave the 30-day reach, the substantially exposed (the
    ring of expiry days), their state's count and their encrypted channel; the newcomer draws
    a susceptibility, a baseline attitude and a follow budget as ``Users`` does at the start
    (in that order, from ``rng``, with the current ``population`` values), starts at its
    baseline with the state it implies, and has no follows, no channel, no reach history and
    no pro exposure. Vectorised over the leavers."""
    u = users
    m = leavers.size
    if m == 0:
        return
    last = u.last_reached[leavers].astype(np.int64)
    within = (day - last) < REACH_WINDOW
    if within.any():  # (bucket of day t: t % REACH_WINDOW, as ``kernels.update_attitudes``)
        u.reach_buckets -= np.bincount(last[within] % REACH_WINDOW, minlength=REACH_WINDOW)
    u.last_reached[leavers] = NEVER
    # (the followed leavers, by their index among the followed users: ``Users.set_exposure``)
    stride = u.exposure_stride
    followed = leavers if stride == 1 else leavers[leavers % stride == 0] // stride
    until = u.exposed_until[followed].astype(np.int64)
    live = until >= u.exposed_tally[1]  # (in the ring: exposed up to the last day done or later)
    if live.any():
        h = u.exposed_buckets.size
        u.exposed_buckets -= np.bincount(until[live] % h, minlength=h)
        u.exposed_tally[0] -= int(np.count_nonzero(live))
    u.exposed_until[followed] = NEVER
    u.exposure[followed] = 0.0
    u.counts -= np.bincount(u.state[leavers], minlength=4)
    channel = u.member_channel[leavers]
    member = channel >= 0
    if member.any():
        gone = leavers[member]
        kernels.scatter_add(channels.members, channel[member].astype(np.int64), -1)
        u.member_channel[gone] = -1
        pos = np.searchsorted(u.members, gone)  # (members and leavers are both sorted)
        u.members = np.delete(u.members, pos)
    k = p.susceptibility_shape
    u.susceptibility[leavers] = rng.gamma(k, 1.0 / k, size=m)
    base = rng.normal(p.attitude_mean, p.attitude_sd, size=m).clip(-1, 1).astype(np.float32)
    u.follow_cap[leavers] = rng.geometric(1.0 / p.follow_budget, size=m)
    u.baseline[leavers] = base
    u.attitude[leavers] = base
    u.last_update[leavers] = day
    u.forget_follows(leavers)  # (none left: a leaver who follows waits for ``drop_follows``)
    state = Users._classify(base, p)
    u.state[leavers] = state
    u.counts += np.bincount(state, minlength=4)
