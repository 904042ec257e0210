"""Compiled loops of ``sim.core.kernels`` against plain numpy on random inputs (hypothesis).

Most kernels are tested through the modules that call them (population, network, model); these
are the ones whose results only reach the metrics.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.core import kernels


@settings(max_examples=60, deadline=None)
@given(
    n_accounts=st.integers(1, 60),
    n_platforms=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    day=st.integers(-60, 1_000),
)
def test_record_sums_equal_numpy(n_accounts: int, n_platforms: int, seed: int, day: int) -> None:
    rng = np.random.default_rng(seed)
    platform = rng.integers(0, n_platforms, n_accounts).astype(np.int8)
    length = rng.integers(0, 3_000, n_accounts)
    created = rng.integers(-400, day + 1, n_accounts).astype(np.int32)
    evasion = rng.random(n_accounts).astype(np.float32)
    active = rng.random(n_accounts) < 0.7
    ids = np.flatnonzero(active)
    operator = rng.integers(0, 20, n_accounts)
    with_channel = rng.integers(0, 25, 3)
    posts = rng.poisson(3.0, ids.size)
    loss = float(rng.random())
    language = rng.integers(0, 3, n_accounts).astype(np.int8)
    got, by_language, n_running = kernels.record_sums(
        (active, platform, created, evasion, operator, language),
        (length, length, 0.0),  # (no network among accounts: ``follower_parts``)
        day,
        n_platforms,
        25,
        ids,
        posts,
        loss,
        with_channel,
    )
    assert n_running == np.union1d(operator[ids], with_channel).size
    assert got.shape == (n_platforms, 6)
    for i in range(n_platforms):
        on = ids[platform[ids] == i]
        want = [on.size, length[on].sum(), (day - created[on]).sum(), evasion[on].sum()]
        np.testing.assert_allclose(got[i, :4], want, rtol=1e-6)
        k = posts[platform[ids] == i]
        visible = (k * (1.0 - loss * evasion[on].astype(np.float64))).sum()
        np.testing.assert_allclose(got[i, 4:], [k.sum(), visible], rtol=1e-12)
        for lang in range(3):
            mine = ids[(platform[ids] == i) & (language[ids] == lang)]
            k_lang = posts[(platform[ids] == i) & (language[ids] == lang)]
            want_lang = [mine.size, length[mine].sum(), k_lang.sum()]
            np.testing.assert_array_equal(by_language[i, lang], want_lang)
        # the languages add up to the platform's figures
        np.testing.assert_allclose(by_language[i].sum(axis=0), got[i, [0, 1, 4]], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), seed=st.integers(0, 2**32 - 1), weight=st.floats(0.5, 100.0))
def test_followers_of_is_the_follower_counts_formula(n: int, seed: int, weight: float) -> None:
    """An account's followers read in compiled code (``followers_of``) are bit for bit what
    ``PropagandaModel.follower_counts`` computes for every account with numpy."""
    from numba import njit

    @njit
    def each(parts, n):  # pragma: no cover - compiled
        audience, network, weight = parts
        out = np.empty(n)
        for a in range(n):
            out[a] = kernels.followers_of(audience, network, weight, a)
        return out

    rng = np.random.default_rng(seed)
    audience = rng.integers(0, 100_000, n + 5)  # (capacity beyond the accounts, as the pools)
    network = rng.integers(0, 3_000, n + 9)
    want = audience[:n].astype(np.float64)
    want += weight * network[:n]
    np.testing.assert_array_equal(each((audience, network, weight), n), want)
    none = each((audience, audience, 0.0), n)  # (no network: ``follower_parts``)
    np.testing.assert_array_equal(none, audience[:n].astype(np.float64))


@settings(max_examples=60, deadline=None)
@given(
    n_accounts=st.integers(1, 30),
    n_pairs=st.integers(0, 3_000),
    seed=st.integers(0, 2**32 - 1),
    spare=st.integers(0, 400),
)
@example(n_accounts=17, n_pairs=24, seed=455, spare=30)  # a slab of capacity 0 shares a start
def test_add_pairs_appends_distinct_pairs_and_moves_full_slabs(
    n_accounts: int, n_pairs: int, seed: int, spare: int
) -> None:
    rng = np.random.default_rng(seed)
    n_users = 50
    length = rng.integers(0, 20, n_accounts)
    cap = length + rng.integers(0, 6, n_accounts)
    start = np.r_[0, np.cumsum(cap)[:-1]]
    end = int(cap.sum())
    pool = np.full(end + spare, -1, dtype=np.int32)
    before = {}
    for a in range(n_accounts):
        pool[start[a] : start[a] + length[a]] = rng.integers(0, n_users, length[a])
        before[a] = pool[start[a] : start[a] + length[a]].tolist()
    keys = np.sort(rng.integers(0, n_accounts, n_pairs) * n_users + rng.integers(0, 9, n_pairs))
    distinct = np.unique(keys)
    new = {a: (distinct[distinct // n_users == a] % n_users).tolist() for a in range(n_accounts)}
    need = sum(
        max(length[a] + len(new[a]), 2 * cap[a], 8)
        for a in range(n_accounts)
        if length[a] + len(new[a]) > cap[a]
    )
    state = (pool.copy(), start.copy(), length.copy(), cap.copy())
    users, extra, new_end, freed = kernels.add_pairs(keys, n_users, pool, start, length, cap, end)
    if end + need > pool.size:  # no room: nothing changes, the room needed is returned
        assert extra == need and new_end == end and users.size == 0
        for x, y in zip(state, (pool, start, length, cap), strict=True):
            np.testing.assert_array_equal(x, y)
        return
    assert extra == 0 and new_end == end + need
    np.testing.assert_array_equal(users, distinct % n_users)
    moved = [a for a in range(n_accounts) if state[3][a] != cap[a]]
    assert freed == sum(state[3][a] for a in moved)
    for a in range(n_accounts):
        assert pool[start[a] : start[a] + length[a]].tolist() == before[a] + new[a]
        assert length[a] <= cap[a]
    # live slabs never overlap (a slab of capacity 0 holds nothing: it may share its start)
    held = np.flatnonzero(cap > 0)
    order = held[np.argsort(start[held])]
    assert (start[order][1:] >= (start + cap)[order][:-1]).all()


def _stream(seed: int) -> tuple[np.random.Generator, tuple[int, int]]:
    """A generator and its handle (the generator must stay alive while the handle is used)."""
    from sim.core.draws import handle

    gen = np.random.default_rng(seed)
    return gen, handle(gen)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3_000), n_views=st.integers(0, 2_000), seed=st.integers(0, 2**32 - 1))
def test_marked_users_are_the_dosed_users_in_order(n: int, n_views: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pro, counter = np.zeros(n, kernels.DOSE_DTYPE), np.zeros(n, np.float32)
    marks = kernels.new_marks(n)
    kernels.count_into(rng.integers(0, n, n_views), pro, marks)
    who = rng.integers(0, n, n_views // 2)
    weights = np.where(rng.random(who.size) < 0.3, 0.0, rng.random(who.size))
    kernels.accumulate(who, weights, counter, marks)
    got = kernels.marked_users(marks, kernels.DEBRUIJN_POS)
    np.testing.assert_array_equal(got, np.flatnonzero((pro != 0) | (counter != 0)))
    assert not marks.any()  # cleared for the next day


def _no_cache(n: int) -> tuple[np.ndarray, np.ndarray]:
    """An empty cache of ``daily_posts``' logarithms for ``n`` accounts."""
    return np.full(n, np.nan), np.zeros(n)


def test_daily_posts_only_active_accounts_at_their_rates() -> None:
    gen, h = _stream(4)  # (gen, a local, lives as long as the test)
    active = np.arange(400) % 3 != 0
    rate = np.where(np.arange(400) < 200, 0.5, 20.0)
    platform = np.zeros(400, np.int64)
    cache = _no_cache(400)
    days = [
        kernels.daily_posts(active, rate, platform, np.array([1.5]), 2.0, h, cache)
        for _ in range(200)
    ]
    act = days[0][0]
    np.testing.assert_array_equal(act, np.flatnonzero(active))
    k = np.array([d[1] for d in days])
    assert (k >= 0).all()
    low, high = k[:, act < 200].mean(), k[:, act >= 200].mean()
    # mean rate * multiplier (the gamma burst has mean 1)
    assert abs(low - 0.75) < 0.03 and abs(high - 30.0) < 0.6
    # burstiness 2: variance of a gamma-Poisson mixture, lam + lam^2 / shape
    assert abs(k[:, act >= 200].var() / (30 + 30**2 / 2) - 1) < 0.1


def test_daily_posts_with_burstiness_one_are_geometric() -> None:
    """Shape 1: Poisson of an exponential burst, drawn directly as a geometric count."""
    gen, h = _stream(6)  # (gen, a local, lives as long as the test)
    active = np.ones(3, bool)
    rate = np.array([0.0, 0.4, 12.0])
    platform = np.zeros(3, np.int64)
    cache = _no_cache(3)
    k = np.array(
        [
            kernels.daily_posts(active, rate, platform, np.array([1.5]), 1.0, h, cache)[1]
            for _ in range(40_000)
        ]
    )
    assert (k[:, 0] == 0).all()  # no rate, no posts
    for col, m in ((1, 0.6), (2, 18.0)):
        x = k[:, col]
        assert abs(x.mean() / m - 1) < 0.03
        assert abs(np.mean(x == 0) / (1 / (1 + m)) - 1) < 0.05  # P(0) = 1 / (1 + m)
        assert abs(x.var() / (m + m**2) - 1) < 0.08  # a gamma(1)-Poisson mixture's variance


def test_daily_posts_multiplier_by_platform() -> None:
    """The multiplier is read per account's platform (outside events scale one platform)."""
    gen, h = _stream(5)  # (gen, a local, lives as long as the test)
    active = np.ones(200, bool)
    rate = np.full(200, 2.0)
    platform = np.arange(200) % 2
    cache = _no_cache(200)
    k = np.array(
        [
            kernels.daily_posts(active, rate, platform, np.array([1.0, 3.0]), 1.0, h, cache)[1]
            for _ in range(400)
        ]
    )
    assert abs(k[:, platform == 0].mean() - 2.0) < 0.1
    assert abs(k[:, platform == 1].mean() - 6.0) < 0.3


@settings(max_examples=30, deadline=None)
@given(
    rates=st.lists(st.floats(0.0, 50.0), min_size=1, max_size=30),
    factors=st.lists(st.floats(0.5, 3.0), min_size=2, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_daily_posts_cache_changes_no_draw(
    rates: list[float], factors: list[float], seed: int
) -> None:
    """Days drawn with one cache of logarithms kept across days (the rates and multipliers
    changing in between) equal days drawn each with a fresh cache."""
    rate = np.array(rates)
    active = np.ones(rate.size, bool)
    platform = np.zeros(rate.size, np.int64)
    gen_a, h_a = _stream(seed)
    gen_b, h_b = _stream(seed)
    cache = _no_cache(rate.size)
    for f in factors:
        mult = np.array([f])
        kept = kernels.daily_posts(active, rate, platform, mult, 1.0, h_a, cache)
        fresh = kernels.daily_posts(active, rate, platform, mult, 1.0, h_b, _no_cache(rate.size))
        np.testing.assert_array_equal(kept, fresh)
        rate[::2] *= 1.5  # (some accounts' rates change: their logarithms are computed again)


def test_pick_active_picks_each_active_row_with_its_chance() -> None:
    gen, h = _stream(8)  # (gen, a local, lives as long as the test)
    active = np.random.default_rng(1).random(50_000) < 0.4
    picks = [kernels.pick_active(active, 0.02, h) for _ in range(50)]
    assert all(active[p].all() and (np.diff(p) > 0).all() for p in picks)
    n = np.array([p.size for p in picks])
    assert abs(n.mean() / (0.02 * active.sum()) - 1) < 0.02
    assert kernels.pick_active(active, 0.0, h).size == 0
    np.testing.assert_array_equal(kernels.pick_active(active, 1.0, h), np.flatnonzero(active))


def _graph(rng: np.random.Generator, n_acc: int, n_users: int) -> tuple[np.ndarray, ...]:
    length = rng.integers(0, 400, n_acc)
    start = np.r_[0, np.cumsum(length)[:-1]]
    pool = rng.integers(0, n_users, int(length.sum())).astype(np.int32)
    return pool, start, length


def test_feed_views_dose_followers_with_the_right_numbers_and_kinds() -> None:
    rng = np.random.default_rng(3)
    n_users, n_acc = 5_000, 60
    pool, start, length = _graph(rng, n_acc, n_users)
    accounts = np.arange(n_acc)
    posts = rng.poisson(3.0, n_acc)
    platform = (accounts % 2).astype(np.int8)
    view_prob = np.array([0.02, 0.05])
    kind_edges = np.array([0.15, 0.2])  # shout-outs 15%, invites 5%
    share_p = np.array([0.1, 0.0])
    gen, h = _stream(12)  # (gen, a local, lives as long as the test)
    totals = np.zeros(2)  # views per platform
    kinds = np.zeros(3)
    for _ in range(60):
        dose = np.zeros(n_users, kernels.DOSE_DTYPE)
        marks = kernels.new_marks(n_users)
        by_platform = np.zeros(2, np.int64)
        local, user, kind = kernels.feed_views(
            (pool, start, length),
            accounts,
            posts,
            platform,
            (view_prob, kind_edges, share_p),
            (dose, marks),
            by_platform,
            h,
        )
        assert dose.sum() == by_platform.sum()
        assert not np.isin(local, np.flatnonzero((length == 0) | (posts == 0))).any()
        np.testing.assert_array_equal(
            kernels.marked_users(marks, kernels.DEBRUIJN_POS), np.flatnonzero(dose)
        )
        for i, u in zip(local.tolist(), user.tolist(), strict=True):  # a follower of its account
            assert u in pool[start[i] : start[i] + length[i]]
        totals += by_platform
        kinds += [np.sum(kind == -1), np.sum(kind == 0), np.sum(kind == 1)]
    want = [np.sum((length * posts * view_prob[platform] * 60)[platform == p]) for p in (0, 1)]
    np.testing.assert_allclose(totals, want, rtol=0.02)
    seen = totals.sum()
    # ordinary views are shared only on platform 0 (share_p 0.1 of the 80% ordinary ones)
    assert abs(kinds[0] / (totals[0] * 0.8 * 0.1) - 1) < 0.1
    assert abs(kinds[1] / (0.15 * seen) - 1) < 0.05 and abs(kinds[2] / (0.05 * seen) - 1) < 0.1


def test_feed_views_of_a_follower_list_are_spread_evenly() -> None:
    """Systematic sampling: with more views than followers, everyone gets their share."""
    pool = np.arange(100, dtype=np.int32)
    gen, h = _stream(2)  # (gen, a local, lives as long as the test)
    dose = np.zeros(100, kernels.DOSE_DTYPE)
    kernels.feed_views(
        (pool, np.array([0]), np.array([100])),  # graph: one account with 100 followers
        np.array([0]),  # the one account
        np.array([300]),  # posts
        np.array([0], np.int8),  # platform
        (np.array([0.1]), np.array([0.0]), np.array([0.0])),  # view_prob (3,000 views), kinds
        (dose, kernels.new_marks(100)),
        np.zeros(1, np.int64),
        h,
    )
    assert 2_500 < dose.sum() < 3_500
    assert dose.min() >= dose.max() - 1  # about 30 views each, never more than one apart


def test_gate_follows_respects_engagement_and_budgets() -> None:
    n = 4_000
    state = np.repeat(np.arange(4, dtype=np.int8), n // 4)  # opposed, neutral, sympathizer, ...
    follows = np.zeros((n, 2), np.int32)
    follows[:, 1] = 10
    follows[3 * n // 4 :, 0] = 10  # supporters have no room left
    users = np.tile(np.arange(n), 10)
    gen, h = _stream(5)  # (gen, a local, lives as long as the test)
    run_end = np.array([users.size // 2, users.size])
    idx = kernels.gate_follows(h, run_end, np.array([1.0, 0.5]), users, state, follows)
    assert np.all(np.diff(idx) > 0)  # distinct candidates, in order
    st_of = state[users[idx]]
    assert not np.isin(st_of, [0, 3]).any()  # opposed never; no room, never
    first = idx < run_end[0]
    # sympathizers with room always follow at p_base 1 (all their candidates in the first
    # run), at p_base 0.5 about half; neutral users a tenth as often
    symp = state[users] == 2
    assert np.sum(first & (st_of == 2)) == np.sum(symp[: run_end[0]])
    assert abs(np.sum(~first & (st_of == 2)) / np.sum(symp[run_end[0] :]) - 0.5) < 0.05
    n_symp = np.sum(st_of == 2)
    n_neutral = np.sum(st_of == 1)
    assert abs(n_neutral / n_symp - 0.1) < 0.03


def test_outside_views_split_candidates_and_count_doses() -> None:
    n_users = 3_000
    lang_start = np.array([0, 1_000, 3_000, 3_000])  # language 2 has no users
    accounts = np.array([4, 9, 5, 7])
    languages = np.array([0, 1, 2, 1], np.int8)
    mean = np.array([50.0, 20.0, 10.0, 0.0])
    gen, h = _stream(21)  # (gen, a local, lives as long as the test)
    dose = np.zeros(n_users, kernels.DOSE_DTYPE)
    marks = kernels.new_marks(n_users)
    n_cand = n_all = 0
    totals = np.zeros(4)
    for _ in range(200):
        users, acc, total = kernels.outside_views(
            accounts, languages, mean, 0.3, lang_start, n_users, dose, marks, h
        )
        assert total[3] == 0 and 7 not in acc  # no views without a mean
        # candidates speak the language of the source they saw (anyone for language 2)
        assert np.all(users[acc == 4] < 1_000)
        assert np.all((users[acc == 9] >= 1_000) & (users[acc == 9] < 3_000))
        assert np.all((users[acc == 5] >= 0) & (users[acc == 5] < n_users))
        n_cand += users.size
        n_all += total.sum()
        totals += total
    assert dose.sum() == n_all  # every view, candidate or not, is a pro dose
    np.testing.assert_array_equal(
        kernels.marked_users(marks, kernels.DEBRUIJN_POS), np.flatnonzero(dose)
    )
    np.testing.assert_allclose(totals / 200, mean, rtol=0.05)
    assert abs(n_cand / n_all - 0.3) < 0.02


def test_counter_views_target_the_language_and_weigh_mismatches() -> None:
    n_users = 4_000
    lang_start = np.array([0, 1_000, 4_000, 4_000])
    user_language = np.repeat(np.arange(2, dtype=np.int8), [1_000, 3_000])
    gen, h = _stream(8)  # (gen, a local, lives as long as the test)
    dose = np.zeros(n_users, np.float32)
    marks = kernels.new_marks(n_users)
    n = 40_000
    kernels.counter_views(n, 0.7, 0, 0.5, 0.2, lang_start, user_language, dose, marks, h)
    # 70% targeted at language 0, the rest at anyone (a quarter of whom speak language 0)
    share_0 = 0.7 + 0.3 * 0.25
    weight_0, weight_1 = dose[:1_000].sum(), dose[1_000:].sum()
    assert abs(weight_0 / (0.5 * n * share_0) - 1) < 0.02  # full weight for language 0
    assert abs(weight_1 / (0.5 * 0.2 * n * (1 - share_0)) - 1) < 0.03  # a fifth for the rest
    np.testing.assert_array_equal(
        kernels.marked_users(marks, kernels.DEBRUIJN_POS), np.flatnonzero(dose)
    )
    # organic speech: no targeting, no mismatch: anyone, the same weight
    dose[:] = 0
    kernels.counter_views(n, 0.0, 0, 0.5, 1.0, lang_start, user_language, dose, marks, h)
    assert abs(dose[:1_000].sum() / (0.5 * n / 4) - 1) < 0.03
    assert dose.sum() == np.float32(0.5 * n)


@settings(deadline=None)
@given(
    n=st.integers(0, 5_000),
    bits=st.integers(0, 62),
    seed=st.integers(0, 2**32 - 1),
    offset=st.integers(0, 2**40),
)
@example(n=3_000, bits=40, seed=1, offset=0)  # follow keys: four passes
@example(n=2_000, bits=0, seed=2, offset=7)  # all equal: every pass skipped
def test_sort_keys_sorts_as_numpy(n: int, bits: int, seed: int, offset: int) -> None:
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**bits, n, dtype=np.int64, endpoint=True) + offset
    if n > 3:
        keys[: n // 3] = keys[n // 3]  # (repeats, as in a day's follow keys)
    expected = np.sort(keys)
    kernels.sort_keys(keys)
    np.testing.assert_array_equal(keys, expected)


@settings(deadline=None)
@given(n=st.integers(1, 500), m=st.integers(0, 3_000), seed=st.integers(0, 2**32 - 1))
def test_scatter_add_count_adds_and_counts_positive_entries(n: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    follows = rng.integers(-2, 3, (n, 2)).astype(np.int32)
    target = follows[:, 0]  # (a strided view, as ``Users.n_following``)
    index = rng.integers(0, n, m)
    value = int(rng.choice([-1, 1]))
    before = int((target > 0).sum())
    expected = target.copy()
    np.add.at(expected, index, value)
    change = kernels.scatter_add_count(target, index, value)
    np.testing.assert_array_equal(target, expected)
    assert change == int((target > 0).sum()) - before
