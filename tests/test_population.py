"""Users (``sim.core.state.users``): states from attitudes, attitude updates, state bookkeeping.

The day's doses reach ``Users`` through ``add_pro_views`` / ``add_counter_views`` and are applied
by ``apply_doses``; ``expose`` below drives them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config.schema import Population
from sim.core import kernels
from sim.core.state.users import (
    NEUTRAL,
    OPPOSED,
    SUPPORTER,
    SYMPATHIZER,
    Users,
    draw_follow_keys,
    draw_weighted,
)


def expose(users: Users, who, pro, counter, day: int, p: Population) -> np.ndarray:
    """Give ``who[i]`` ``pro[i]`` pro views and ``counter[i]`` weighted counter views on
    ``day`` and update attitudes; returns the new recruits."""
    who = np.asarray(who, dtype=np.int64)
    pro = np.asarray(pro, dtype=np.int64)
    counter = np.asarray(counter, dtype=np.float64)
    users.add_pro_views(np.repeat(who, pro))
    nz = counter > 0
    users.add_counter_views(who[nz], counter[nz])
    _, recruits = users.apply_doses(day, p)
    return np.asarray(recruits)


def one_user(p: Population, baseline: float, attitude: float, susceptibility: float) -> Users:
    u = Users(1, p, np.random.default_rng(0))
    u.baseline[:] = baseline
    u.attitude[:] = attitude
    u.susceptibility[:] = susceptibility
    u.last_update[:] = 0
    u.state[:] = Users._classify(u.attitude, p)
    u.counts[:] = np.bincount(u.state, minlength=4)
    return u


def test_classification_thresholds() -> None:
    p = Population(opposed_below=-0.3, sympathizer_above=0.3, supporter_above=0.8)
    att = [-1.0, -0.3001, -0.3, 0.0, 0.2999, 0.3, 0.7999, 0.8, 1.0]
    want = [
        OPPOSED,
        OPPOSED,
        NEUTRAL,
        NEUTRAL,
        NEUTRAL,
        SYMPATHIZER,
        SYMPATHIZER,
        SUPPORTER,
        SUPPORTER,
    ]
    for dtype in (np.float32, np.float64):
        assert Users._classify(np.array(att, dtype=dtype), p).tolist() == want, dtype


def test_supporter_threshold_below_sympathizer_threshold_never_skips_sympathy() -> None:
    """A supporter threshold under the sympathizer one does not make neutral users recruits."""
    p = Population(opposed_below=-0.3, sympathizer_above=0.5, supporter_above=0.4)
    att = np.array([0.45, 0.49, 0.5], dtype=np.float32)
    state = Users._classify(att, p).tolist()
    assert state[:2] == [NEUTRAL, NEUTRAL]
    assert state[2] >= SYMPATHIZER


def test_initial_counts_match_states() -> None:
    p = Population()
    u = Users(5_000, p, np.random.default_rng(1))
    np.testing.assert_array_equal(u.counts, np.bincount(u.state, minlength=4))
    np.testing.assert_array_equal(u.state, Users._classify(u.attitude, p))
    assert u.counts.sum() == 5_000


def test_update_in_closed_form() -> None:
    """One user, numbers worked out by hand.

    Baseline 0.1, attitude 0.5 (a sympathizer), susceptibility 2, relaxation 0.1 a day,
    pro_effect 0.02, counter_effect 0.04; last updated on day 0.

    Day 10, 3 pro views and a counter dose of 1.5:
      relaxed = 0.1 + (0.5 - 0.1) * 0.9**10 = 0.1 + 0.4 * 0.3486784401 = 0.23947137604
      push    = 2 * (0.02 * ln 4 - 0.04 * ln 2.5)
              = 2 * (0.02772588722 - 0.03665162927) = -0.01785148410
      a1      = 0.22161989194  -> neutral (below 0.3)
    Day 20: nobody reaches the user, nothing changes.
    Day 30, 1 pro view:
      a2 = 0.1 + (a1 - 0.1) * 0.9**20 + 2 * 0.02 * ln 2
         = 0.1 + 0.12161989194 * 0.12157665459 + 0.02772588722 = 0.14251202682
    """
    p = Population(relaxation=0.1, pro_effect=0.02, counter_effect=0.04)
    u = one_user(p, baseline=0.1, attitude=0.5, susceptibility=2.0)
    assert u.state[0] == SYMPATHIZER

    recruits = expose(u, [0], [3], [1.5], day=10, p=p)
    assert recruits.size == 0
    assert float(u.attitude[0]) == pytest.approx(0.22161989194, abs=2e-7)
    assert u.state[0] == NEUTRAL
    assert u.counts.tolist() == [0, 1, 0, 0]

    expose(u, [0], [0], [0.0], day=20, p=p)
    assert float(u.attitude[0]) == pytest.approx(0.22161989194, abs=2e-7)

    expose(u, [0], [1], [0.0], day=30, p=p)
    assert float(u.attitude[0]) == pytest.approx(0.14251202682, abs=2e-7)


def test_relaxation_alone_reaches_toward_baseline() -> None:
    """With tiny doses the deviation from baseline decays by (1 - relaxation) per day."""
    p = Population(relaxation=0.05, pro_effect=0.0, counter_effect=0.0)
    u = one_user(p, baseline=-0.2, attitude=0.6, susceptibility=1.0)
    expose(u, [0], [1], [0.0], day=7, p=p)
    assert float(u.attitude[0]) == pytest.approx(-0.2 + 0.8 * 0.95**7, abs=1e-6)
    expose(u, [0], [1], [0.0], day=7, p=p)  # same day again: no further drift
    assert float(u.attitude[0]) == pytest.approx(-0.2 + 0.8 * 0.95**7, abs=1e-6)


@pytest.mark.parametrize("relaxation", [0.0, 1.0])
def test_relaxation_extremes(relaxation: float) -> None:
    p = Population(relaxation=relaxation, pro_effect=0.01, counter_effect=0.0)
    u = one_user(p, baseline=0.0, attitude=0.5, susceptibility=1.0)
    expose(u, [0], [1], [0.0], day=3, p=p)
    before = 0.5 if relaxation == 0.0 else 0.0
    assert float(u.attitude[0]) == pytest.approx(before + 0.01 * math.log(2), abs=1e-6)


def test_attitude_is_clipped() -> None:
    p = Population(relaxation=0.0, pro_effect=1.0, counter_effect=1.0)
    u = one_user(p, baseline=0.0, attitude=0.0, susceptibility=5.0)
    expose(u, [0], [0], [1000.0], day=1, p=p)
    assert float(u.attitude[0]) == -1.0
    assert u.state[0] == OPPOSED


def test_supporters_stay_supporters() -> None:
    p = Population(relaxation=0.0, pro_effect=0.0, counter_effect=0.5)
    u = one_user(p, baseline=0.9, attitude=0.9, susceptibility=3.0)
    assert u.state[0] == SUPPORTER
    recruits = expose(u, [0], [0], [50.0], day=1, p=p)
    assert float(u.attitude[0]) < -0.3  # attitude fell far ...
    assert u.state[0] == SUPPORTER  # ... but recruitment sticks
    assert u.counts.tolist() == [0, 0, 0, 1]
    assert recruits.size == 0  # not a new recruit


def test_new_recruits_are_returned() -> None:
    p = Population(relaxation=0.0, pro_effect=0.2)
    u = Users(3, p, np.random.default_rng(0))
    u.baseline[:] = u.attitude[:] = [0.7, 0.7, 0.0]
    u.susceptibility[:] = 1.0
    u.state[:] = Users._classify(u.attitude, p)
    u.counts[:] = np.bincount(u.state, minlength=4)
    recruits = expose(u, [0, 1, 2], [1, 0, 1], [0.0, 0.0, 0.0], day=1, p=p)
    # user 0: 0.7 + 0.2 ln 2 = 0.839 -> supporter; user 1 untouched; user 2: 0.139 neutral
    assert sorted(recruits.tolist()) == [0]
    assert u.state.tolist() == [SUPPORTER, SYMPATHIZER, NEUTRAL]
    assert u.counts.tolist() == [0, 1, 1, 1]


def test_counts_equal_a_recount_after_many_updates() -> None:
    p = Population(pro_effect=0.05, counter_effect=0.05, relaxation=0.03)
    rng = np.random.default_rng(7)
    n = 2_000
    u = Users(n, p, rng)
    supporters = set(np.flatnonzero(u.state == SUPPORTER).tolist())
    for day in range(1, 40):
        who = np.unique(rng.integers(0, n, 600))
        pro = rng.poisson(2.0, who.size)
        counter = rng.exponential(1.0, who.size) * (rng.random(who.size) < 0.5)
        before = u.state.copy()
        recruits = expose(u, who, pro, counter, day, p)
        np.testing.assert_array_equal(u.counts, np.bincount(u.state, minlength=4))
        # recruits are exactly the users who became supporters today
        became = np.flatnonzero((u.state == SUPPORTER) & (before != SUPPORTER))
        assert sorted(recruits.tolist()) == became.tolist()
        # supporters stay supporters; others' states follow their attitudes
        assert supporters <= set(np.flatnonzero(u.state == SUPPORTER).tolist())
        supporters = set(np.flatnonzero(u.state == SUPPORTER).tolist())
        others = u.state != SUPPORTER
        np.testing.assert_array_equal(u.state[others], Users._classify(u.attitude, p)[others])
        assert ((u.attitude >= -1) & (u.attitude <= 1)).all()
    assert u.counts.sum() == n
    assert u.counts[SUPPORTER] > 0 and u.counts[OPPOSED] > 0  # the run moved people both ways


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1024, 20_000),
    m=st.integers(1024, 5_000),
    zero_share=st.floats(0.0, 0.9),
    spread=st.floats(0.0, 5.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_draw_weighted_equals_searchsorted(
    n: int, m: int, zero_share: float, spread: float, seed: int
) -> None:
    """The bucketed search gives numpy's answer exactly, ties and zero weights included."""
    rng = np.random.default_rng(seed)
    weights = np.exp(spread * rng.normal(size=n)) * (rng.random(n) >= zero_share)
    weights[0] += 1.0
    cum = np.cumsum(weights)
    x = rng.random(m) * cum[-1]
    x[:50] = cum[rng.integers(0, n, 50)]  # exact ties
    x[50] = 0.0
    np.testing.assert_array_equal(draw_weighted(cum, x), np.searchsorted(cum, x, side="right"))


def test_pro_doses_stop_at_the_cap() -> None:
    users = Users(10, Population(users=10), np.random.default_rng(0))
    users.pro_dose[3] = kernels.DOSE_MAX - 1
    users.add_pro_views(np.array([3, 3, 3, 4]))
    assert users.pro_dose[3] == kernels.DOSE_MAX and users.pro_dose[4] == 1


def test_users_are_numbered_by_language_then_by_attitude() -> None:
    u = Users(3_000, Population(), np.random.default_rng(5))
    assert (np.diff(u.language) >= 0).all()  # one block per language
    for lang in range(3):
        lo, hi = u.lang_start[lang], u.lang_start[lang + 1]
        assert (u.language[lo:hi] == lang).all() and hi - lo == u.lang_count[lang]
        assert (np.diff(u.baseline[lo:hi]) <= 0).all()  # most sympathetic first


def _random_users(u: Users, lang: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random users of ``lang``, as the compiled view kernels draw them."""
    pick = kernels._user_of_language
    return np.array([pick(lang, x, u.lang_start, u.n) for x in rng.random(n)])


def test_random_users_speak_the_language_and_cover_it() -> None:
    u = Users(2_000, Population(), np.random.default_rng(6))
    rng = np.random.default_rng(7)
    for lang in range(3):
        drawn = _random_users(u, lang, 20 * int(u.lang_count[lang]), rng)
        assert (u.language[drawn] == lang).all()
        # uniform over the language's users: every one of them drawn, none far too often
        counts = np.bincount(drawn - u.lang_start[lang], minlength=int(u.lang_count[lang]))
        assert counts.min() > 0 and counts.max() < 60
    # the end of the range (a rescaled uniform may round up to 1) is still the language's
    assert kernels._user_of_language(2, 1.0, u.lang_start, u.n) == u.n - 1


def test_random_users_of_a_language_nobody_speaks_are_anyone() -> None:
    p = Population(languages={"arabic": 1.0, "english": 0.0, "other": 0.0})
    u = Users(500, p, np.random.default_rng(8))
    assert u.lang_count[1] == 0
    drawn = _random_users(u, 1, 5_000, np.random.default_rng(9))
    assert drawn.min() >= 0 and drawn.max() < u.n and np.unique(drawn).size > 400


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 20_000),
    n_accounts=st.integers(0, 40),
    zero_share=st.floats(0.0, 0.9),
    seed=st.integers(0, 2**32 - 1),
)
def test_draw_follow_keys_are_the_repeated_accounts_and_weighted_users(
    n: int, n_accounts: int, zero_share: float, seed: int
) -> None:
    """The compiled pass gives the keys of the numpy formula, from the same draws, and leaves
    the generator where that formula leaves it."""
    rng = np.random.default_rng(seed)
    weights = np.exp(rng.normal(size=n)) * (rng.random(n) >= zero_share)
    weights[0] += 1.0
    cum = np.cumsum(weights)
    accounts = np.sort(rng.choice(10_000, n_accounts, replace=False)).astype(np.int64)
    counts = rng.integers(0, 300, n_accounts)
    a, b = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    x = a.random(int(counts.sum())) * cum[-1]
    expected = np.repeat(accounts, counts) * n + np.searchsorted(cum, x, side="right")
    keys = draw_follow_keys(accounts, counts, cum, n, b)
    np.testing.assert_array_equal(keys, expected)
    assert a.random() == b.random()
