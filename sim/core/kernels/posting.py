"""Posting and the account table: the day's posts, abandonment draws, ending accounts, the daily
sums behind the metrics. Compiled with numba.

Part of ``sim.core.kernels`` (see its docstring: why compiled, how they draw random numbers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core import draws
from sim.core.kernels.graph import empty_slabs, scatter_add_count


@njit(cache=True)
def daily_posts(active, rate, platform, multiplier, shape, h, cache):  # pragma: no cover
    """The day's posts: one array of two rows, the ids of the active accounts (in id order) and
    their post counts (one array rather than two: each array a compiled function returns costs
    about a microsecond to hand back to Python).

    Account ``a`` posts Poisson(``rate[a] * multiplier[platform[a]] * G``) times (``multiplier``
    by open platform), where G ~ Gamma(shape, 1 / shape) is its day's burst (mean 1); drawn from
    the stream ``h`` (``sim.core.draws``). For shape 1 (G exponential) that mixture is the
    geometric distribution of mean ``m = rate[a] * multiplier[platform[a]]``, ``P(k) = (1 - p)
    p**k`` with ``p = m / (1 + m)``, drawn directly by inversion from one uniform (a quarter of
    the cost of drawing G and then the Poisson count). ``cache`` = (m, -log1p(1 / m)) per
    account (at least ``len(active)`` long; NaN: none yet): the logarithm is computed again only
    when an account's ``m`` changed (most days it does not).
    """
    cached_m, cached_log = cache
    n = 0
    for a in range(len(active)):
        n += active[a]
    out = np.empty((2, n), np.int64)
    act, k = out[0], out[1]
    j = 0
    for a in range(len(active)):
        if active[a]:
            act[j] = a
            mult = multiplier[platform[a]]
            if shape == 1.0:
                m = rate[a] * mult
                # k = floor(log(1 - u) / log(p)), log(p) = -log1p(1 / m)
                if m > 0.0:
                    if cached_m[a] != m:
                        cached_m[a] = m
                        cached_log[a] = -np.log1p(1.0 / m)
                    k[j] = int(np.log1p(-draws.uniform(h)) / cached_log[a])
                else:
                    k[j] = 0
            else:
                lam = rate[a] * mult * (draws.gamma(h, shape) / shape)
                k[j] = draws.poisson(h, lam)
            j += 1
    return out


@njit(cache=True, inline="always")
def _gap(h, log_keep, cap):  # pragma: no cover - compiled
    """Failures before the next success of chance ``1 - exp(log_keep)`` (geometric), at most
    ``cap`` (which also keeps the float-to-int conversion in range)."""
    g = np.log1p(-draws.uniform(h)) / log_keep
    return int(g) if g < cap else cap


@njit(cache=True)
def pick_active(active, p, h):  # pragma: no cover - compiled
    """The active rows, each picked with chance ``p``: geometric skips between picks, so the
    draws (from stream ``h``) number the picks plus one, not the rows."""
    out = np.empty(0, np.int64)
    if p <= 0.0:
        return out
    log_keep = np.log1p(-p) if p < 1.0 else -np.inf
    n = len(active)
    gap = _gap(h, log_keep, n)
    picked = []
    for a in range(n):
        if not active[a]:
            continue
        if gap > 0:
            gap -= 1
            continue
        picked.append(a)
        gap = _gap(h, log_keep, n)
    if len(picked) == 0:
        return out
    return np.array(picked, np.int64)


@njit(cache=True)
def recreate_rows(old, lo, evasion, day, ended_value, columns):  # pragma: no cover - compiled
    """Rows ``lo, lo + 1, ...`` of the account table re-create the accounts ``old`` (in one
    compiled call, not a numpy call per column: this runs most days). ``columns`` = (platform,
    language, operator, rate, role, evasion, created, ended, active, recreated, predecessor):
    the first five copied from the old row, then the given ``evasion``, ``day``,
    ``ended_value``, active, re-created, the old id."""
    platform, language, operator, rate, role, ev, created, ended, active, recreated, pred = columns
    for i in range(len(old)):
        a, o = lo + i, old[i]
        platform[a] = platform[o]
        language[a] = language[o]
        operator[a] = operator[o]
        rate[a] = rate[o]
        role[a] = role[o]
        ev[a] = evasion[i]
        created[a] = day
        ended[a] = ended_value
        active[a] = True
        recreated[a] = True
        pred[a] = o


@njit(cache=True)
def end_accounts(ids, day, accounts, graph, following, tally):  # pragma: no cover - compiled
    """Accounts ``ids`` end on ``day``, in one compiled call (this runs most days): inactive,
    ``ended`` set (``accounts`` = (active, ended, created, platform, end_followers), columns of
    the account table); their follower slabs emptied (``graph`` = (pool, start, length, cap) of
    the follower graph, as ``empty_slabs``); their audience followers added to
    ``end_followers``; per platform, their number, followers and ages added to ``tally`` = (n,
    followers, age); each follower's count of follows ``following`` lowered by one (as
    ``scatter_add_count``). Returns the followers who lost a follow (account ``ids[i]``'s in
    ``lost[bounds[i]:bounds[i + 1]]``), ``bounds``, the slab capacity freed and the change in
    the number of users who follow any account."""
    active, ended, created, platform, end_followers = accounts
    pool, start, length, cap = graph
    n, followers, age = tally
    lost, bounds, freed = empty_slabs(pool, start, length, cap, ids)
    for i in range(len(ids)):
        a = ids[i]
        active[a] = False
        ended[a] = day
        p = platform[a]
        n[p] += 1
        end_followers[a] += bounds[i + 1] - bounds[i]
        followers[p] += bounds[i + 1] - bounds[i]
        age[p] += day - created[a]
    change = scatter_add_count(following, lost, -1)
    return lost, bounds, freed, change


@njit(cache=True, inline="always")
def followers_of(audience, network, weight, a):  # pragma: no cover - compiled
    """Followers of account ``a`` as ``PropagandaModel.follower_counts`` counts them, from the
    parts ``PropagandaModel.follower_parts`` gives (audience followers, follower accounts in
    the network among accounts, the real-world followers one of them stands for; without a
    network the audience followers again, with weight 0): read for the accounts a kernel
    needs, rather than a column of every account ever opened made first. (No branch on
    whether there is a network: a branch here doubled the cost of ``record_sums``'s pass.)"""
    return audience[a] + weight * network[a]


@njit(cache=True)
def record_sums(
    accounts, followers, day, n_platforms, n_operators, posters, posts, recall_loss,
    other_operators,
):  # pragma: no cover - compiled  # fmt: skip
    """The sums behind a day's metrics row, one row per open platform: over the active accounts
    (``accounts`` = (active, platform, created, evasion, operator, language), columns of the
    account table; ``followers`` their follower counts' parts, see ``followers_of``),
    (count, followers, age in days, evasion); over the day's ``posters`` and their ``posts``,
    (posts, posts weighted by ``1 - recall_loss * evasion``, what a keyword classifier of full
    recall would find: ``sim.observation``). The same by platform and account language
    (``by_language[platform, language]`` = (count, followers, posts)). Also the number of
    operators who run an active account or are among ``other_operators`` (those with a
    channel). One compiled call instead of masks and sums per platform."""
    active, platform, created, evasion, operator, language = accounts
    audience, network, weight = followers
    out = np.zeros((n_platforms, 6))
    by_language = np.zeros((n_platforms, 3, 3))
    running = np.zeros(n_operators, np.bool_)
    for a in range(len(active)):
        if not active[a]:
            continue
        row = out[platform[a]]
        f = followers_of(audience, network, weight, a)
        row[0] += 1.0
        row[1] += f
        row[2] += day - created[a]
        row[3] += evasion[a]
        lang = by_language[platform[a], language[a]]
        lang[0] += 1.0
        lang[1] += f
        running[operator[a]] = True
    for i in range(len(posters)):
        a = posters[i]
        row = out[platform[a]]
        row[4] += posts[i]
        row[5] += posts[i] * (1.0 - recall_loss * evasion[a])
        by_language[platform[a], language[a], 2] += posts[i]
    for o in other_operators:
        running[o] = True
    return out, by_language, running.sum()


@njit(cache=True)
def record_row(
    accounts, followers, day, sizes, day_posts, recall_loss, other_operators, shares, scale, cols,
    row,
):  # pragma: no cover - compiled  # fmt: skip
    """``record_sums`` (``sizes`` = (platforms, operators), ``day_posts`` = (posters, posts)),
    then posting's metrics into ``row``, in one compiled call (not a dozen Python stores per
    platform): ``shares`` = (shares per platform, per platform and language) of the day,
    ``cols[k, p]`` the column of metric ``k`` of platform ``p`` (pro posts, active accounts,
    mean followers, mean age, mean evasion; then pro posts, active accounts and mean
    followers by language, ``5 + 3 * metric + language``). Returns the sums with a seventh
    column, the true pro posts per platform (the accounts' and the shares, real-world; one array
    rather than two, see ``daily_posts``), and the number of operators running."""
    posters, posts = day_posts
    sums, by_language, running = record_sums(
        accounts, followers, day, sizes[0], sizes[1], posters, posts, recall_loss, other_operators
    )
    shared, shared_by_language = shares
    out = np.empty((sums.shape[0], 7))
    out[:, :6] = sums
    pro_true = out[:, 6]
    for i in range(sums.shape[0]):
        n_act, followers, age, evasion, n_posts = (
            sums[i, 0],
            sums[i, 1],
            sums[i, 2],
            sums[i, 3],
            sums[i, 4],
        )
        pro_true[i] = (n_posts + shared[i]) * scale
        row[cols[0, i]] = pro_true[i]
        row[cols[1, i]] = n_act * scale
        row[cols[2, i]] = followers / n_act if n_act else np.nan
        row[cols[3, i]] = age / n_act if n_act else np.nan
        row[cols[4, i]] = evasion / n_act if n_act else np.nan
        for j in range(3):
            n_act, followers, n_posts = (
                by_language[i, j, 0],
                by_language[i, j, 1],
                by_language[i, j, 2],
            )
            row[cols[5 + j, i]] = (n_posts + shared_by_language[i, j]) * scale
            row[cols[8 + j, i]] = n_act * scale
            row[cols[11 + j, i]] = followers / n_act if n_act else np.nan
    return out, running
