"""Exposure: feed views (with shout-outs, invite links and shares), views outside the feed
(shares, discovery) and counter views (campaigns, organic speech, redirected searches). Compiled
with numba.

Part of ``sim.core.kernels`` (see its docstring: why compiled, how they draw random numbers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core import draws
from sim.core.kernels.doses import accumulate, count_into


@njit(cache=True)
def feed_views(graph, accounts, posts, platform, params, doses, impressions, h):  # pragma: no cover
    """Feed views of the day: who sees what, counted into the pro doses.

    Grouped arguments (tuples of arrays): ``graph`` = (pool, start, length) of the follower
    graph (``FollowerGraph.arrays``), ``params`` = (view_prob, kind_edges, share_p) by open
    platform, ``doses`` = (pro_dose, marks) of the users.

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
    pool, start, length = graph
    view_prob, kind_edges, share_p = params
    pro_dose, marks = doses
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
    ``h``, decides both, as in ``outside_views``. (``campaign_views`` without a target list.)
    """
    campaign_views(
        n, targeting, language, weight, mismatch, np.zeros(0, np.int64), False, lang_start,
        user_language, dose, marks, h,
    )  # fmt: skip


@njit(cache=True)
def campaign_views(
    n,
    targeting,
    language,
    weight,
    mismatch,
    target,
    among,
    lang_start,
    user_language,
    dose,
    marks,
    h,
):  # pragma: no cover - compiled
    """``counter_views`` aimed at a list of users: returns the viewers, in drawing order.

    With ``among`` false, a targeted view lands on a random speaker of ``language`` (as
    ``counter_views``); with ``among`` true, on a random user of ``target`` (users who speak
    ``language``, e.g. those of them recently reached by pro content; see
    ``kernels.target_users``), or on any user if ``target`` is empty. The draws are the same
    in both cases: one uniform per view, from ``h``.
    """
    n_users = len(user_language)
    users = np.empty(n, np.int64)
    weights = np.empty(n)
    # the targeted users' range (everyone if nobody speaks the language)
    lo = lang_start[language]
    n_lang = lang_start[language + 1] - lo
    if among:
        lo, n_lang = 0, len(target)
    speaks = n_lang > 0  # (then targeted users speak it)
    if not speaks:
        lo, n_lang = 0, n_users
    pick = among and speaks
    widths = _side_widths(targeting)
    for i in range(n):
        targeted, x = _side(draws.uniform(h), targeting, widths)
        first = lo if targeted else 0
        size = n_lang if targeted else n_users
        j = first + min(int(x * size), size - 1)
        users[i] = target[j] if (pick and targeted) else j
        weights[i] = weight if (targeted and speaks) or mismatch == 1.0 else -1.0
    # the language of the others, read only for them (a random access each)
    for i in range(n):
        if weights[i] < 0.0:
            same = user_language[users[i]] == language
            weights[i] = weight if same else weight * mismatch
    accumulate(users, weights, dose, marks)
    return users
