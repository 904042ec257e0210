"""Moderation (``sim.moderation``): hazard, flagging, purge selection, stochastic rounding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.components.moderation import (
    REFERENCE_FOLLOWERS,
    REFERENCE_POSTS,
    Moderation,
    choose_purged,
    stochastic_round,
    suspension_probability,
    visibility,
)

M = Moderation(
    intensity=0.01, post_weight=0.3, follower_weight=0.6, flagging=0.0, evasion_protection=0.5
)


def prob(posts=5.0, followers=1000.0, evasion=0.0, age=100, m: Moderation = M) -> float:
    return float(
        suspension_probability(
            np.array([posts], dtype=float),
            np.array([followers], dtype=float),
            np.array([evasion], dtype=np.float32),
            np.array([age]),
            m,
        )[0]
    )


def test_reference_account_has_visibility_one() -> None:
    v = visibility(np.array([REFERENCE_POSTS - 0.5]), np.array([REFERENCE_FOLLOWERS - 1.0]), M)
    assert v[0] == pytest.approx(1.0)


def test_probability_in_closed_form() -> None:
    # visibility (10.5 / 5)^0.3 * (2001 / 1000)^0.6; hazard 0.01 * vis * (1 - 0.5 * 0.4)
    vis = (10.5 / 5) ** 0.3 * (2001 / 1000) ** 0.6
    want = 1 - math.exp(-0.01 * vis * 0.8)
    assert prob(posts=10, followers=2000, evasion=0.4) == pytest.approx(want, rel=1e-6)


def test_probability_grows_with_posts_followers_and_intensity() -> None:
    posts = [prob(posts=x) for x in (0, 1, 5, 50, 500)]
    assert all(a < b for a, b in zip(posts, posts[1:], strict=False))
    followers = [prob(followers=x) for x in (0, 10, 1_000, 100_000)]
    assert all(a < b for a, b in zip(followers, followers[1:], strict=False))
    by_intensity = [prob(m=M.model_copy(update={"intensity": x})) for x in (0, 0.001, 0.01, 0.5)]
    assert by_intensity[0] == 0.0
    assert all(a < b for a, b in zip(by_intensity, by_intensity[1:], strict=False))


def test_probability_falls_with_evasion() -> None:
    ev = [prob(evasion=x) for x in (0.0, 0.3, 0.7, 1.0)]
    assert all(a > b for a, b in zip(ev, ev[1:], strict=False))
    assert ev[-1] == pytest.approx(prob() * 0.5, rel=0.01)  # half the hazard removed
    m = M.model_copy(update={"evasion_protection": 0.0})
    assert prob(evasion=1.0, m=m) == prob(evasion=0.0, m=m)


def test_probability_is_a_probability() -> None:
    rng = np.random.default_rng(0)
    n = 10_000
    m = Moderation(intensity=1.0, post_weight=2.0, follower_weight=2.0, flagging=1.0)
    p = suspension_probability(
        rng.exponential(100, n), rng.exponential(1e5, n), rng.random(n), rng.integers(0, 30, n), m
    )
    assert np.isfinite(p).all()
    assert ((p >= 0) & (p <= 1)).all()


def test_flagging_applies_only_to_young_accounts() -> None:
    m = M.model_copy(update={"flagging": 0.2, "flag_window_days": 7.0})
    ref = {"posts": REFERENCE_POSTS - 0.5, "followers": REFERENCE_FOLLOWERS - 1.0}
    assert prob(age=0, m=m, **ref) == pytest.approx(1 - math.exp(-(0.01 + 0.2)), rel=1e-6)
    assert prob(age=6, m=m) == prob(age=0, m=m)
    assert prob(age=7, m=m) == prob(age=7)  # window is [0, 7): day 7 is no longer flagged
    assert prob(age=300, m=m) == prob(age=300)
    assert prob(age=6, m=m) > prob(age=7, m=m)
    no_window = m.model_copy(update={"flag_window_days": 0.0})
    assert prob(age=0, m=no_window) == prob(age=0)


def test_choose_purged_returns_distinct_valid_indices() -> None:
    rng = np.random.default_rng(1)
    w = rng.exponential(1.0, 500)
    for n in (0, 1, 17, 499, 500, 800):
        idx = choose_purged(w, n, rng)
        assert idx.size == min(n, 500)
        assert np.unique(idx).size == idx.size
        assert ((idx >= 0) & (idx < 500)).all()
    assert choose_purged(w, -3, rng).size == 0
    assert choose_purged(np.zeros(0), 5, rng).size == 0


def test_choose_purged_prefers_heavy_weights() -> None:
    rng = np.random.default_rng(2)
    w = np.r_[np.full(20, 10.0), np.full(180, 1.0)]
    heavy = np.zeros(200)
    reps = 2_000
    for _ in range(reps):
        heavy[choose_purged(w, 20, rng)] += 1
    rate_heavy = heavy[:20].mean() / reps
    rate_light = heavy[20:].mean() / reps
    assert rate_heavy > 3 * rate_light
    # and the total is conserved: 20 chosen per draw
    assert heavy.sum() == 20 * reps


def test_choose_one_is_proportional_to_weight() -> None:
    rng = np.random.default_rng(3)
    w = np.array([1.0, 2.0, 3.0, 4.0])
    reps = 40_000
    counts = np.bincount([int(choose_purged(w, 1, rng)[0]) for _ in range(reps)], minlength=4)
    expected = reps * w / w.sum()
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 16.3  # 99.9% quantile of chi-square with 3 degrees of freedom


def test_zero_weights_are_chosen_last() -> None:
    rng = np.random.default_rng(4)
    w = np.r_[np.zeros(50), np.full(10, 0.01)]
    for _ in range(50):
        idx = choose_purged(w, 10, rng)
        assert (idx >= 50).all()
    assert set(choose_purged(w, 60, rng).tolist()) == set(range(60))


@pytest.mark.parametrize("x", [0.0, 0.3, 2.5, 7.9])
def test_stochastic_round_expectation(x: float) -> None:
    rng = np.random.default_rng(5)
    draws = np.array([stochastic_round(x, rng) for _ in range(20_000)])
    assert set(np.unique(draws).tolist()) <= {math.floor(x), math.ceil(x)}
    sd = math.sqrt((x % 1) * (1 - x % 1) / draws.size)
    assert abs(draws.mean() - x) <= 4 * sd + 1e-12


def test_stochastic_round_of_integers_is_exact() -> None:
    rng = np.random.default_rng(6)
    assert [stochastic_round(float(k), rng) for k in range(5)] == [0, 1, 2, 3, 4]


def test_suspended_are_those_whose_uniform_falls_below_their_probability() -> None:
    """Two platforms: the second's settings suspend everyone, the first's nobody."""
    from sim.components.moderation import hazard_parameters, suspended
    from sim.core.draws import handle as draws_of

    rng = np.random.default_rng(3)
    n = 200
    posts = rng.poisson(4.0, n)
    followers = rng.integers(0, 5_000, 300)
    evasion = rng.random(300).astype(np.float32)
    created = rng.integers(-100, 0, 300).astype(np.int32)
    accounts = np.sort(rng.choice(300, n, replace=False)).astype(np.int64)
    platform = (np.arange(300) % 2).astype(np.int8)
    # the kernel draws one uniform per account from the stream it is handed: the same numbers
    # as ``random(n)`` on a twin of that stream (each generator is kept alive while in use)
    gens = [np.random.default_rng(11), np.random.default_rng(11)]
    stream = iter([draws_of(g) for g in gens]).__next__
    r = np.random.default_rng(11).random(n)
    params = np.array([hazard_parameters(M), hazard_parameters(M)])
    got = suspended(accounts, posts, platform, followers, evasion, created, 10, params, stream())
    want = r < suspension_probability(
        posts, followers[accounts], evasion[accounts], 10 - created[accounts], M
    )
    np.testing.assert_array_equal(got, accounts[want])
    everyone = M.model_copy(update={"intensity": 0.0, "flagging": 1.0, "flag_window_days": 1e9})
    nobody = M.model_copy(update={"intensity": 0.0})
    params = np.array([hazard_parameters(nobody), hazard_parameters(everyone)])
    got = suspended(accounts, posts, platform, followers, evasion, created, 10, params, stream())
    on_second = accounts[platform[accounts] == 1]
    np.testing.assert_array_equal(got, on_second[r[platform[accounts] == 1] < 1 - math.exp(-1)])
