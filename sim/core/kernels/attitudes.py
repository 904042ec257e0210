"""Attitudes and follows: the attitude update of the users dosed today, and the follow gate.
Compiled with numba.

Part of ``sim.core.kernels`` (see its docstring: why compiled, how they draw random numbers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core import draws
from sim.core.kernels.doses import _DEBRUIJN, _popcount
from sim.core.prefetch import AHEAD, prefetch

NEVER = np.iinfo(np.int32).min // 2  # (``until`` of a user exposed on no day; ``Users.NEVER``)
LOG1P_TABLE = np.log1p(np.arange(1024, dtype=np.float64))


# log1p on a grid of step 1/64 over [0, 16], read with linear interpolation (error < 3e-5):
# the scalar log1p call would otherwise be the costliest part of the attitude loop
LOG1P_FINE_STEP = 64.0


LOG1P_FINE = np.log1p(np.arange(16 * 64 + 2, dtype=np.float64) / LOG1P_FINE_STEP)


@njit(cache=True, inline="always")
def _log1p_fine(x, fine):  # pragma: no cover - compiled
    y = x * LOG1P_FINE_STEP
    i = int(y)
    if i >= len(fine) - 1:
        return np.log1p(x)
    w = y - i
    return fine[i] * (1.0 - w) + fine[i + 1] * w


def keep_table(relaxation: float, days: int = 4096) -> np.ndarray:
    """Share of an attitude's deviation from baseline left after 0, 1, 2, ... days."""
    if relaxation >= 1.0:
        out = np.zeros(days)
        out[0] = 1.0
        return out
    return np.exp(np.arange(days) * np.log1p(-relaxation))


def decay_table(tau: float, days: int = 4096) -> np.ndarray:
    """``exp(-k / tau)`` for k = 0, 1, 2, ... days: share of a pro exposure left after k days."""
    return np.exp(-np.arange(days) / tau)


def exposure_horizon(tau: float, threshold: float, max_dose: int) -> int:
    """Size of the ring of expiry days: a power of two above the longest exposure.

    ``E`` after a day's dose is at most ``E_max = max_dose / (1 - exp(-1 / tau))`` (if
    ``E <= E_max`` before, then after ``k >= 1`` days and a dose of at most ``max_dose``,
    ``E_max * exp(-k / tau) + max_dose <= E_max``), so a user stays exposed for at most
    ``tau * ln(E_max / threshold)`` days after their last dose; the ring spans more days than
    that (plus margin for rounding), so the clamp in ``update_attitudes`` never binds.
    """
    e_max = max_dose / -np.expm1(-1.0 / tau)
    longest = tau * np.log(max(e_max / threshold, 1.0))
    return 1 << int(np.ceil(np.log2(longest + 4)))


JOINED = np.int32(1 << 30)  # (flag of a bucket joined in a move, above the bucket bits)


@njit(cache=True)
def _count_moves(moves, buckets):  # pragma: no cover - compiled
    """Apply the day's moves between the buckets of expiry days (``update_attitudes``'s
    substantial exposure): each entry is a bucket left, or a bucket joined (flag ``JOINED``);
    returns the change in the number of users exposed.

    The moves are noted in the attitude loop and counted here, in 4 lanes: many users reached
    on one day expire on the same day, and incrementing one bucket in the loop made each
    increment wait for the one before (a third of the exposure's time)."""
    h = len(buckets)
    lanes = np.zeros((4, 2, h), np.int32)
    for k in range(len(moves)):
        v = moves[k]
        lanes[k & 3, v >> 30, v & (h - 1)] += 1
    change = 0
    for b in range(h):
        d = 0
        for lane in range(4):
            d += lanes[lane, 1, b] - lanes[lane, 0, b]
        buckets[b] += d
        change += d
    return change


@njit(cache=True)
def update_attitudes(
    doses, people, tables, day, pro_effect, counter_effect, edges, exposure
):  # pragma: no cover - compiled
    """Relax, apply the day's doses, reclassify and clear the doses of the users marked in
    ``marks`` (those with a dose; found and cleared as ``marked_users`` does, ``positions`` being
    ``DEBRUIJN_POS``), in index order; keep the 30-day reach; returns (number of users reached
    by pro content, users newly recruited in index order).

    Grouped arguments (tuples of arrays): ``doses`` = (marks, pro_dose, counter_dose);
    ``people`` = (attitude, baseline, susceptibility, last_update, state, counts, last_reached,
    reach_buckets), the users' state (``Users``); ``tables`` = (positions, keep, log1p_table,
    log1p_fine).

    For each touched user: ``a = b + (a - b) *
    keep[elapsed]`` (relaxation since the last update, ``keep[n] = (1 - relaxation)**n``, 0
    beyond the table), then ``a += s * (pro_effect * log1p(pro) - counter_effect *
    log1p(counter))``, clipped to [-1, 1]; the state is the number of the three ``edges`` the
    attitude reaches (0 opposed .. 3 supporter); supporters stay supporters. ``counts`` per
    state are kept current. Tables replace exp/log1p calls, which would dominate the loop
    (the counter dose's log1p is interpolated on a fine grid, relative error below 3e-5).

    Reach: ``reach_buckets[d % W]`` counts the users last reached by pro content on day d
    (W = ``len(reach_buckets)``). A user reached today moves from the bucket of their previous
    reach (if within the window) to today's, which is reset first (it held day ``day - W``).
    Done here rather than in a pass of its own: the user's other arrays are being read anyway.

    Substantial exposure: ``exposure`` = (level, until, buckets, tally, decay, tau, threshold,
    stride), for the users whose index is a multiple of ``stride`` (a power of two), user ``u``
    at index ``u / stride`` of ``level`` and ``until`` (below written ``level[u]``, ``until[u]``).
    ``level[u]`` is the user's decayed pro exposure ``E`` as of their last reached day
    (``last_reached[u]``); a user reached today gets ``E <- E * decay(day - last) + pro`` with
    ``decay(k) = exp(-k / tau)`` (read from the table ``decay``, computed beyond it), and counts
    as exposed up to and including the day ``until[u] = day + floor(tau * ln(E / threshold))``
    if ``E >= threshold`` (the last day on which ``E * exp(-(t - day) / tau) >= threshold``),
    else ``until[u]`` = ``NEVER`` (exposed on no day). ``buckets[t % H]`` counts the users whose
    ``until`` is day ``t``, for the days ``t >= tally[1]`` (the last day done, here set to
    today after emptying the buckets of the days before it into ``tally[0]``, the number of
    users exposed: those with ``until >= today``). ``H = len(buckets)`` must exceed the longest
    possible exposure, ``tau * ln(E_max / threshold)`` (``exposure_horizon``): the ring then
    never holds two days in one bucket; it is a power of two, so ``t % H`` is ``t & (H - 1)``.
    Done word by word of ``marks`` before the word's attitudes (which overwrite
    ``last_reached``), for the followed users of the word: their doses and reach days are then
    at hand for the attitude loop (a pass of its own over all the words took about a fifth of
    this kernel's time at 2.5 million users, 5% more than this). The moves between buckets are
    noted in the loop and counted after it (``_count_moves``).
    """
    marks, pro_dose, counter_dose = doses
    attitude, baseline, susceptibility, last_update, state, counts, last_reached, reach_buckets = (
        people
    )
    positions, keep, log1p_table, log1p_fine = tables
    n_touched = np.int64(0)
    for i in range(len(marks)):
        n_touched += np.int64(_popcount(marks[i]))
    recruits = np.empty(n_touched, np.int64)
    n_rec = 0
    n_reached = 0
    n_keep = len(keep)
    n_log = len(log1p_table)
    w = len(reach_buckets)
    today = day % w
    reach_buckets[today] = 0
    # how long ago each user reached today was last reached: the buckets they leave are
    # counted after the loop (a decrement there, at an address that waits on the user's
    # ``last_reached``, held up the loop's other memory accesses: a tenth of its time)
    agos = np.empty(n_touched, np.uint8)  # (at most w, ``REACH_WINDOW`` = 30)
    e0, e1, e2 = edges[0], edges[1], edges[2]
    xbuckets, tally, threshold = exposure[2], exposure[3], exposure[6]
    h = len(xbuckets)
    n_exposed = tally[0]
    if threshold > 0.0:  # (0: substantial exposure is not measured)
        # (the users exposed up to a past day leave)
        for t in range(max(tally[1], day - h), day):
            n_exposed -= xbuckets[t & (h - 1)]
            xbuckets[t & (h - 1)] = 0
        tally[1] = day
    level, until, _, _, decay, tau, _, stride = exposure
    n_decay = len(decay)
    shift = 0  # (``level`` and ``until`` of user u at ``u >> shift``: stride = 2**shift)
    while (1 << shift) < stride:
        shift += 1
    # the followed users' bits in a word of 64 users (a word's first user is a multiple of 64;
    # with a stride above 64, only the first bit of every ``stride // 64``-th word)
    pattern = np.uint64(0)
    for k in range(0, 64, min(stride, 64)):
        pattern |= np.uint64(1) << np.uint64(k)
    word_skip = max(stride // 64, 1) - 1  # (a power of two, less one)
    n_followed = np.int64(0)
    if threshold > 0.0:
        for wi in range(0, len(marks), word_skip + 1):
            n_followed += np.int64(_popcount(marks[wi] & pattern))
    moves = np.empty(2 * n_followed, np.int32)  # (see ``_count_moves``)
    n_moves = 0
    # the marked users, word by word, in index order (as ``marked_users`` finds them, without
    # writing and reading back their list: a tenth of this kernel's time at 2.5 million users)
    i = 0
    for wi in range(len(marks)):
        word = marks[wi]
        if word == 0:
            continue
        marks[wi] = 0
        base = wi * 64
        if threshold > 0.0 and (wi & word_skip) == 0:
            # substantial exposure of the word's followed users first (docstring): their
            # ``pro_dose`` and ``last_reached`` are then at hand for the attitudes below
            followed = word & pattern
            while followed:
                low = followed & (~followed + np.uint64(1))
                u = base + positions[(low * _DEBRUIJN) >> np.uint64(58)]
                followed ^= low
                pro = pro_dose[u]
                if pro > 0:
                    gap = day - last_reached[u]
                    f = u >> shift
                    old_until = until[f]
                    # (still exposed: leaves its bucket)
                    moves[n_moves] = old_until & (h - 1)
                    n_moves += old_until >= day
                    q = decay[gap] if gap < n_decay else np.exp(-gap / tau)
                    level_u = level[f] * q + pro
                    level[f] = level_u
                    # (without branches: which way they go is a coin toss for many users)
                    above = level_u >= threshold
                    ahead = min(int(tau * np.log(max(level_u / threshold, 1.0))), h - 1)
                    new_until = day + ahead if above else NEVER
                    until[f] = new_until
                    moves[n_moves] = (new_until & (h - 1)) | JOINED
                    n_moves += above
        while word:
            low = word & (~word + np.uint64(1))
            u = base + positions[(low * _DEBRUIJN) >> np.uint64(58)]
            word ^= low
            pro = pro_dose[u]
            counter = counter_dose[u]
            pro_dose[u] = 0
            counter_dose[u] = 0.0
            elapsed = day - last_update[u]
            b = baseline[u]
            k = keep[elapsed] if elapsed < n_keep else 0.0
            a = b + (attitude[u] - b) * k
            ago = w  # (w: not reached today, or not within the window before)
            if pro > 0:
                n_reached += 1
                ago = min(day - last_reached[u], w)
                last_reached[u] = day
            agos[i] = ago
            i += 1
            push = pro_effect * (log1p_table[pro] if pro < n_log else np.log1p(pro))
            if counter > 0:
                push -= counter_effect * _log1p_fine(counter, log1p_fine)
            a += susceptibility[u] * push
            a = min(1.0, max(-1.0, a))
            attitude[u] = a
            last_update[u] = day
            old = state[u]
            new = (a >= e0) + (a >= e1) + (a >= e2)
            new = 3 if old == 3 else new  # (a select: a branch on it was often mispredicted)
            if new != old:
                counts[old] -= 1
                counts[new] += 1
                state[u] = new
                if new == 3:
                    recruits[n_rec] = u
                    n_rec += 1
    if threshold > 0.0:
        n_exposed += _count_moves(moves[:n_moves], xbuckets)
        tally[0] = n_exposed
    # counted in 8 lanes: most users come back after the same number of days, and one
    # counter would make each increment wait for the one before
    leaving = np.zeros((8, w + 1), np.int64)
    for i in range(len(agos)):
        leaving[i & 7, agos[i]] += 1
    for ago in range(w):  # (the bucket of day - ago, its index found without a division)
        left = 0
        for lane in range(8):
            left += leaving[lane, ago]
        reach_buckets[today - ago + (w if ago > today else 0)] -= left
    reach_buckets[today] += n_reached
    return n_reached, recruits[:n_rec]


ENGAGEMENT = np.array([0.0, 0.1, 1.0, 1.0])  # willingness to follow, by state (opposed..)


@njit(cache=True)
def gate_follows(h, run_end, p_run, users, state, follows):  # pragma: no cover - compiled
    """The follow candidates (users ``users[i]``) that follow, as their indices ``i`` in
    increasing order: those with ``r < p_base * engagement * room``, with one uniform ``r`` per
    candidate drawn in order from the stream ``h`` (``sim.core.draws``). (Indices, not pairs: the
    caller may choose the account followed only for those who follow, e.g. the account a
    shout-out promotes.)

    Candidates come in runs: run ``j`` ends before index ``run_end[j]`` and has ``p_base =
    p_run[j]``. Engagement is 1 for sympathizers and supporters (state >= 2), 0.1 for
    neutral users and 0 for opposed ones (``ENGAGEMENT``); room is the free share of the
    user's follow budget (``follows[u] = (follows made, budget)``).

    In passes: the candidates' states; then the uniforms and the candidates whose uniform
    passes ``p_base * engagement`` (room can only lower the chance: most neutral users are out
    before their budget is read); then their budgets; then the decisions. Each pass either
    reads memory without branching or branches on data at hand, so the random reads of the
    user arrays stay in flight together (engagement is read from a table, not decided by
    branches on the state, which were mispredicted for a third of the candidates).
    """
    n_cand = run_end[len(run_end) - 1] if len(run_end) else 0
    st = np.empty(n_cand, np.int8)
    for k in range(n_cand):
        if k + AHEAD < n_cand:
            prefetch(state, users[k + AHEAD])
        st[k] = state[users[k]]
    cand = np.empty(n_cand, np.int64)
    p_cand = np.empty(n_cand, np.float64)
    r_cand = np.empty(n_cand, np.float64)
    m = 0
    lo = 0
    for j in range(len(run_end)):
        p = p_run[j]
        for i in range(lo, run_end[j]):
            r = draws.uniform(h)
            q = p * ENGAGEMENT[st[i]]
            cand[m] = i
            p_cand[m] = q
            r_cand[m] = r
            m += r < q
        lo = run_end[j]
    made = np.empty(m, np.int32)
    budget = np.empty(m, np.int32)
    flat = follows.reshape(-1)  # (a view: the hint takes 1-d arrays)
    for k in range(m):
        if k + AHEAD < m:
            prefetch(flat, 2 * users[cand[k + AHEAD]])
        u = users[cand[k]]
        made[k] = follows[u, 0]
        budget[k] = follows[u, 1]
    out = np.empty(m, np.int64)
    n = 0
    for k in range(m):
        room = 1.0 - made[k] / budget[k]
        out[n] = cand[k]
        n += (room > 0.0) & (r_cand[k] < p_cand[k] * min(room, 1.0))
    return out[:n]
