"""Compiled inner loops (numba) of the day's hot path: views, doses, attitudes, follow gating.

Why compiled: these loops touch every view and every reached user each day (hundreds of
thousands at the default scale). In numpy each of them is a chain of 10-20 full-array passes
with temporaries; fused into one loop each, they run several times faster and keep the day's work
proportional to what happens (views, reached users), never to the population size.

Random numbers come from the model's named numpy streams: either the caller draws them and
passes them in, or a kernel takes a stream's handle (``sim.core.draws``) and draws from the same
generator itself, which saves the arrays and numpy's fixed cost per call.
``cache=True`` stores the compiled code next to this file after the first call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core import draws
from sim.core.prefetch import AHEAD, prefetch


@njit(cache=True)
def daily_posts(active, rate, multiplier, shape, h):  # pragma: no cover - compiled
    """The day's posts: (ids of the active accounts, in id order; their post counts).

    Account ``a`` posts Poisson(``rate[a] * multiplier * G``) times, where G ~ Gamma(shape,
    1 / shape) is its day's burst (mean 1); drawn from the stream ``h`` (``sim.core.draws``). For
    shape 1 (G exponential) that mixture is the geometric distribution of mean ``m = rate[a] *
    multiplier``, ``P(k) = (1 - p) p**k`` with ``p = m / (1 + m)``, drawn directly by
    inversion from one uniform (a quarter of the cost of drawing G and then the Poisson count).
    """
    n = 0
    for a in range(len(active)):
        n += active[a]
    act = np.empty(n, np.int64)
    k = np.empty(n, np.int64)
    j = 0
    for a in range(len(active)):
        if active[a]:
            act[j] = a
            if shape == 1.0:
                m = rate[a] * multiplier
                # k = floor(log(1 - u) / log(p)), log(p) = -log1p(1 / m)
                k[j] = int(np.log1p(-draws.uniform(h)) / -np.log1p(1.0 / m)) if m > 0.0 else 0
            else:
                lam = rate[a] * multiplier * (draws.gamma(h, shape) / shape)
                k[j] = draws.poisson(h, lam)
            j += 1
    return act, k


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
def feed_views(
    pool,
    start,
    length,
    accounts,
    posts,
    platform,
    view_prob,
    kind_edges,
    share_p,
    pro_dose,
    marks,
    impressions,
    h,
):  # pragma: no cover - compiled
    """Feed views of the day: who sees what, counted into the pro doses.

    Account ``accounts[i]`` (``deg`` followers, ``posts[i]`` posts today, on open platform
    ``p = platform[a]``) gets ``Poisson(deg * posts[i] * view_prob[p])`` views. A view is of a
    special post with chance ``q = last + (1 - last) * share_p[p]`` (``last`` the last of
    ``kind_edges``): a shout-out, an invite link, or an ordinary post that becomes a share
    candidate. By Poisson splitting the account's plain views and special views are then two
    independent counts, ``Poisson(mean * (1 - q))`` and ``Poisson(mean * q)``, and only the
    special views need a uniform each, for their kind.

    Each group is spread over the followers by systematic sampling: positions ``(phase + m) *
    deg / c`` for m = 0, 1, ... of the follower list, with one uniform ``phase`` per group.
    Every follower has the same chance, ``c / deg`` views of the group on average (at most one
    when the group has fewer views than followers), and the list is read forward, not at random.

    A special view's uniform ``r``, rescaled to ``[0, q)``, decides its kind: a shout-out if
    ``r < kind_edges[0]``, an invite link to encrypted platform ``e`` if ``kind_edges[e] <= r
    < kind_edges[e + 1]``, else a share candidate.

    Every view adds one to ``pro_dose`` of its user (capped and marked as in ``count_into``)
    and one to ``impressions`` of its platform. Returns, for the special views only, one array
    of three rows: position of the account in ``accounts``, user, and kind (0 shout-out, 1 + e
    invite to platform e, -1 share candidate). (One array rather than three: each array a
    compiled function returns costs about a microsecond to hand back to Python.)

    Draws, in order: per account the two counts; then per account the plain group's phase, and
    the special group's phase and kinds. The doses are added in a pass of their own
    (``count_into``), which keeps many of these random memory accesses in flight together.
    """
    n_acc = len(accounts)
    n_plain = np.zeros(n_acc, np.int64)
    n_special = np.zeros(n_acc, np.int64)
    last = kind_edges[len(kind_edges) - 1]
    q = np.empty(len(view_prob))
    for p in range(len(view_prob)):
        q[p] = last + (1.0 - last) * min(share_p[p], 1.0)
    total = 0
    n_spec = 0
    for i in range(n_acc):
        a = accounts[i]
        deg = length[a]
        if deg > 0 and posts[i] > 0:
            p = platform[a]
            mean = deg * posts[i] * view_prob[p]
            c = draws.poisson(h, mean * (1.0 - q[p]))
            c2 = draws.poisson(h, mean * q[p])
            n_plain[i] = c
            n_special[i] = c2
            impressions[p] += c + c2
            total += c + c2
            n_spec += c2
    users = np.empty(total, pool.dtype)
    out = np.empty((3, n_spec), np.int64)
    j = 0
    n = 0
    for i in range(n_acc):
        c = n_plain[i]
        c2 = n_special[i]
        if c + c2 == 0:
            continue
        a = accounts[i]
        deg = length[a]
        s = start[a]
        if c > 0:
            step = deg / c
            x = draws.uniform(h) * step
            for _ in range(c):
                users[j] = pool[s + min(int(x), deg - 1)]
                x += step
                j += 1
        if c2 > 0:
            qa = q[platform[a]]
            step = deg / c2
            x = draws.uniform(h) * step
            for _ in range(c2):
                u = pool[s + min(int(x), deg - 1)]
                users[j] = u
                x += step
                j += 1
                r = draws.uniform(h) * qa
                kind = -1
                if r < last:
                    kind = 0
                    while r >= kind_edges[kind]:
                        kind += 1
                out[0, n] = i
                out[1, n] = u
                out[2, n] = kind
                n += 1
    count_into(users, pro_dose, marks)
    return out


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


@njit(cache=True)
def update_attitudes(
    marks,
    positions,
    pro_dose,
    counter_dose,
    attitude,
    baseline,
    susceptibility,
    last_update,
    state,
    counts,
    last_reached,
    reach_buckets,
    day,
    keep,
    log1p_table,
    log1p_fine,
    pro_effect,
    counter_effect,
    edges,
):  # pragma: no cover - compiled
    """Relax, apply the day's doses, reclassify and clear the doses of the users marked in
    ``marks`` (those with a dose; found and cleared by ``marked_users``, ``positions`` being
    ``DEBRUIJN_POS``), in index order; keep the 30-day reach; returns (number of users reached
    by pro content, users newly recruited in index order).

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
    """
    touched = marked_users(marks, positions)
    recruits = np.empty(len(touched), np.int64)
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
    agos = np.empty(len(touched), np.int32)
    e0, e1, e2 = edges[0], edges[1], edges[2]
    for i in range(len(touched)):
        u = touched[i]
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


@njit(cache=True)
def scatter_add(target, index, value):  # pragma: no cover - compiled
    """``target[i] += value`` for each i in ``index`` (repeats count; unlike fancy indexing)."""
    for i in index:
        target[i] += value


@njit(cache=True, inline="always")
def _user_of_language(lang, x, lang_start, n_users):  # pragma: no cover - compiled
    """The user at ``x`` (uniform on [0, 1)) among those speaking ``lang`` (among all users if
    nobody does). Users are numbered by language: language l has users ``lang_start[l]`` to
    ``lang_start[l + 1] - 1``. (Clamped: ``x`` rescaled from a part of [0, 1) may round up
    to 1.)"""
    lo = lang_start[lang]
    n = lang_start[lang + 1] - lo
    if n > 0:
        return lo + min(int(x * n), n - 1)
    return min(int(x * n_users), n_users - 1)


@njit(cache=True, inline="always")
def _side_widths(p):  # pragma: no cover - compiled
    """The inverses of the widths of [0, p) and [p, 1) (0 for an empty side), for ``_side``.
    (Products with the inverses, not quotients: a division checks its divisor for zero, and
    that check keeps the choice of side a branch, mispredicted whenever it goes either way.)"""
    return (1.0 / p if p > 0.0 else 0.0), (1.0 / (1.0 - p) if p < 1.0 else 0.0)


@njit(cache=True, inline="always")
def _side(r, p, widths):  # pragma: no cover - compiled
    """Whether the uniform ``r`` falls below ``p``, and ``r`` rescaled to [0, 1) within its
    side (given the side, a fresh uniform)."""
    below = r < p
    return below, (r * widths[0] if below else (r - p) * widths[1])


@njit(cache=True)
def outside_views(
    accounts, languages, mean, follow_prob, lang_start, n_users, pro_dose, marks, h
):  # pragma: no cover - compiled
    """Views of pro posts outside the feed (shares, discovery), counted into the pro doses.

    Source ``i`` (a post of ``accounts[i]``) gets ``Poisson(mean[i])`` views, each by a random
    user of ``languages[i]`` (anyone if nobody speaks it) and each a follow candidate with
    chance ``follow_prob``. One uniform ``r`` per view decides both: a candidate if ``r <
    follow_prob``, and the user from ``r`` rescaled to [0, 1) within its side of
    ``follow_prob`` (given the side, that is a fresh uniform). Every view adds one to
    ``pro_dose`` of its user (as ``count_into``).

    Draws from ``h``, in order: per source its count; then per view its uniform. Returns
    (candidates' users, the accounts they saw, views per source).
    """
    n_src = len(accounts)
    n_views = np.empty(n_src, np.int64)
    total = 0
    for i in range(n_src):
        n_views[i] = draws.poisson(h, mean[i])
        total += n_views[i]
    # both arrays have room for every view: each view is written to both, and the position
    # of its side advances (no branch on the candidate draw, which goes either way)
    cand_users = np.empty(total, np.int64)
    cand_acc = np.empty(total, np.int64)
    other_users = np.empty(total, np.int64)
    widths = _side_widths(follow_prob)
    j = 0
    k = 0
    for i in range(n_src):
        lang = languages[i]
        a = accounts[i]
        for _ in range(n_views[i]):
            cand, x = _side(draws.uniform(h), follow_prob, widths)
            u = _user_of_language(lang, x, lang_start, n_users)
            cand_users[j] = u
            cand_acc[j] = a
            other_users[k] = u
            j += cand
            k += 1 - cand
    count_into(cand_users[:j], pro_dose, marks)
    count_into(other_users[:k], pro_dose, marks)
    return cand_users[:j], cand_acc[:j], n_views


@njit(cache=True)
def counter_views(
    n, targeting, language, weight, mismatch, lang_start, user_language, dose, marks, h
):  # pragma: no cover - compiled
    """``n`` views of one campaign's counter posts, accumulated into the counter doses.

    Each view is targeted (with chance ``targeting``) at a random user of ``language``,
    otherwise at any user; it adds ``weight`` to the viewer's ``dose``, times ``mismatch`` if
    the viewer does not speak ``language`` (as ``accumulate``). One uniform per view, from
    ``h``, decides both, as in ``outside_views``.
    """
    n_users = len(user_language)
    users = np.empty(n, np.int64)
    weights = np.empty(n)
    # the targeted users' range (everyone if nobody speaks the language)
    lo = lang_start[language]
    n_lang = lang_start[language + 1] - lo
    speaks = n_lang > 0  # (then targeted users speak it)
    if not speaks:
        lo, n_lang = 0, n_users
    widths = _side_widths(targeting)
    for i in range(n):
        targeted, x = _side(draws.uniform(h), targeting, widths)
        first = lo if targeted else 0
        size = n_lang if targeted else n_users
        users[i] = first + min(int(x * size), size - 1)
        weights[i] = weight if (targeted and speaks) or mismatch == 1.0 else -1.0
    # the language of the others, read only for them (a random access each)
    for i in range(n):
        if weights[i] < 0.0:
            same = user_language[users[i]] == language
            weights[i] = weight if same else weight * mismatch
    accumulate(users, weights, dose, marks)


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
def end_accounts(ids, day, active, ended, created, platform, bounds, n, followers, age):
    """Accounts ``ids`` end on ``day`` (inactive, ``ended`` set); per platform, add their number,
    followers (from the ``bounds`` of ``empty_slabs``) and ages to ``n``, ``followers``, ``age``."""
    for i in range(len(ids)):
        a = ids[i]
        active[a] = False
        ended[a] = day
        p = platform[a]
        n[p] += 1
        followers[p] += bounds[i + 1] - bounds[i]
        age[p] += day - created[a]


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


@njit(cache=True)
def record_sums(
    active,
    platform,
    length,
    created,
    evasion,
    operator,
    day,
    n_platforms,
    n_operators,
    posters,
    posts,
    recall_loss,
    other_operators,
):  # pragma: no cover - compiled
    """The sums behind a day's metrics row, one row per open platform: over the active accounts,
    (count, followers, age in days, evasion); over the day's ``posters`` and their ``posts``,
    (posts, posts weighted by ``1 - recall_loss * evasion``, what a keyword classifier of full
    recall would find: ``sim.observation``). Also the number of operators who run an active
    account or are among ``other_operators`` (those with a channel). One compiled call
    instead of masks and sums per platform."""
    out = np.zeros((n_platforms, 6))
    running = np.zeros(n_operators, np.bool_)
    for a in range(len(active)):
        if not active[a]:
            continue
        row = out[platform[a]]
        row[0] += 1.0
        row[1] += length[a]
        row[2] += day - created[a]
        row[3] += evasion[a]
        running[operator[a]] = True
    for i in range(len(posters)):
        a = posters[i]
        row = out[platform[a]]
        row[4] += posts[i]
        row[5] += posts[i] * (1.0 - recall_loss * evasion[a])
    for o in other_operators:
        running[o] = True
    return out, running.sum()
