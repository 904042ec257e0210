"""Attitudes' metrics under audience churn (``sim.components.attitudes``): reach counts the
current audience only, recruits stay a flow of users passing ``supporter_above``, and the
metric descriptions say what a recruit is; the substantially exposed (``users_exposed``) are
counted exactly, with and without churn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sim.components.attitudes import Attitudes
from sim.config.loader import ScenarioError
from sim.config.schema import Population
from sim.core import kernels
from sim.core.model import PropagandaModel, simulate
from sim.core.state.churn import replace_users
from sim.core.state.users import NEVER, Users
from sim.scenario import load_scenario

STATES = ["opposed", "neutral", "sympathizers", "supporters"]


@pytest.fixture(scope="module")
def churned() -> pd.DataFrame:
    return simulate(
        make_scenario(end="2015-02-28", audience__churn_per_day=0.02, reach__threshold=10.0), 4
    )


def test_reach_and_states_count_the_current_audience(churned: pd.DataFrame) -> None:
    users = make_scenario().population.users
    np.testing.assert_allclose(churned[STATES].sum(axis=1), users)
    assert (churned["users_reached"] <= churned["users_reached_30d"]).all()
    assert (churned["users_reached_30d"] <= users).all()


def test_recruits_are_a_flow_that_leavers_do_not_undo(churned: pd.DataFrame) -> None:
    np.testing.assert_array_equal(churned["cumulative_recruits"], churned["new_recruits"].cumsum())
    assert (churned["new_recruits"] >= 0).all()
    # supporters leave with the audience: the stock grows by less than the recruits
    grown = churned["supporters"].iloc[-1] - churned["supporters"].iloc[0]
    assert grown < churned["new_recruits"].iloc[1:].sum()


def test_descriptions_say_what_a_recruit_is() -> None:
    text = {m.name: m.description for m in Attitudes.metrics}
    for name in ("new_recruits", "supporters", "cumulative_recruits"):
        assert "online supporter" in text[name]
    assert "not fighters" in text["new_recruits"] or "not fighters" in text["supporters"]
    assert "current at-risk audience" in text["users_reached_30d"]


# --- substantial exposure (section ``reach``: users_exposed, exposed_share) -----------------


def brute_exposed(u: Users, day: int) -> tuple[int, int]:
    """(users whose decayed pro exposure is at or above the threshold on ``day``, users within
    a rounding error of it), recounted from the stored levels and last reached days."""
    age = day - u.last_reached[:: u.exposure_stride].astype(np.float64)  # (the followed users)
    now = u.exposure * np.exp(-age / u.exposure_tau)
    ratio = now / u.exposure_threshold
    return int(np.count_nonzero(ratio >= 1.0)), int(np.count_nonzero(abs(ratio - 1.0) < 1e-9))


def check_exposed(u: Users, day: int) -> None:
    """The incremental count against a recount, and the ring against the expiry days."""
    n, close = brute_exposed(u, day)
    assert abs(u.exposed() - n) <= close
    until = u.exposed_until.astype(np.int64)
    live = until >= day
    assert u.exposed() == int(np.count_nonzero(live))
    h = u.exposed_buckets.size
    assert (until[live] < day + h).all()
    np.testing.assert_array_equal(u.exposed_buckets, np.bincount(until[live] % h, minlength=h))
    assert (u.exposure >= 0).all() and np.isfinite(u.exposure).all()


def test_exposure_decays_and_expires_as_the_equation_says() -> None:
    u = Users(4, Population(), np.random.default_rng(0))
    u.set_exposure(10.0, 5.0)
    p = Population()
    doses = {0: [0, 0, 0, 0, 0, 0, 1], 3: [0, 0, 0], 4: [2], 20: [1, 1, 1, 1, 1]}
    level = 0.0
    for day in range(40):
        for user in doses.get(day, []):
            u.add_pro_views(np.array([user]))
        u.apply_doses(day, p)
        if day == 0:
            level = 6.0
        elif day == 3:
            level = level * np.exp(-3 / 10) + 3
        # user 0: exposed from day 0 while level * exp(-(t - 3) / 10) >= 5
        expected = day >= 0 and level * np.exp(-(day - 3 if day >= 3 else day) / 10) >= 5
        assert bool(u.exposed_until[0] >= day) == expected
        check_exposed(u, day)
    assert u.exposure[0] == pytest.approx(6 * np.exp(-0.3) + 3)
    assert u.exposed_until[0] == 3 + int(10 * np.log(u.exposure[0] / 5))
    assert u.exposed_until[2] == NEVER and u.exposure[2] == pytest.approx(1)  # (never 5)
    # user 1: one view on day 0 (not exposed), five on day 20: exposed that day only
    assert u.exposure[1] == pytest.approx(5 + np.exp(-2.0))
    assert u.exposed_until[1] == 20


def test_the_ring_spans_the_longest_exposure() -> None:
    for tau, threshold in [(1.0, 1.0), (30.0, 10.0), (365.0, 1.0), (365.0, 1000.0)]:
        h = kernels.exposure_horizon(tau, threshold, kernels.DOSE_MAX)
        e_max = kernels.DOSE_MAX / -np.expm1(-1 / tau)
        assert h > tau * np.log(e_max / threshold) + 1 and h & (h - 1) == 0
    # the most a user can be exposed: the largest dose every day
    u = Users(1, Population(), np.random.default_rng(0))
    u.set_exposure(2.0, 1.0)
    for day in range(60):
        u.pro_dose[0] = kernels.DOSE_MAX
        kernels.set_marks(u.dosed, np.array([0]))
        u.apply_doses(day, Population())
        check_exposed(u, day)
    assert u.exposed_until[0] - 59 < u.exposed_buckets.size - 1  # (the clamp never binds)


def _model(seed: int, churn: float, tau: float, threshold: float) -> PropagandaModel:
    return PropagandaModel(
        make_scenario(
            audience__churn_per_day=churn,
            audience__sweep_days=3,
            reach__tau_days=tau,
            reach__threshold=threshold,
        ),
        seed,
    )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(churn=0.0, tau=1.0, threshold=1.0, days=3, seed=0)  # (most users expire every day)
@example(churn=0.05, tau=1.0, threshold=1.0, days=12, seed=1)
@given(
    churn=st.sampled_from([0.0, 0.0, 0.02, 0.05]),
    tau=st.floats(1.0, 365.0),
    threshold=st.floats(1.0, 1000.0),
    days=st.integers(1, 30),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_the_exposed_count_is_a_recount_every_day(
    churn: float, tau: float, threshold: float, days: int, seed: int
) -> None:
    m = _model(seed, churn, tau, threshold)
    for _ in range(days):
        m.step()
        check_exposed(m.users, m.day)  # (``m.day``: the day just done)
        assert 0 <= m.users.exposed() <= m.users.n


def test_exposed_counts_the_current_audience(churned: pd.DataFrame) -> None:
    users = make_scenario().population.users
    assert (churned["users_exposed"] <= churned["users_reached_30d"]).all()
    assert (churned["users_exposed"] >= 0).all() and churned["users_exposed"].max() > 0
    np.testing.assert_allclose(churned["exposed_share"], churned["users_exposed"] / users)


def test_a_leaver_leaves_the_exposed() -> None:
    m = _model(5, 0.0, 30.0, 2.0)
    for _ in range(15):
        m.step()
    u, day = m.users, m.day  # (the day just done: the leavers leave at the start of the next)
    stride = u.exposure_stride
    gone = np.flatnonzero(u.exposed_until >= day)[:50] * stride  # (followed users, by index)
    assert gone.size == 50
    u.n_following[gone] = 0
    before = u.exposed()
    replace_users(u, gone, day + 1, m.sc.population, np.random.default_rng(0), m.channels)
    assert u.exposed() == before - 50
    assert (u.exposure[gone // stride] == 0).all()
    assert (u.exposed_until[gone // stride] == NEVER).all()
    check_exposed(u, day)
    m.step()
    check_exposed(u, m.day)


def test_in_a_large_population_a_systematic_sample_is_followed() -> None:
    """Every 8th user of 1,000 (at least 100 followed): the others are never counted, the
    followed ones exactly, and the estimate scales their count to the population."""
    u = Users(1000, Population(), np.random.default_rng(0))
    u.set_exposure(10.0, 12.0, tracked=100)
    assert (u.exposure_stride, u.exposure_followed) == (8, 125)
    rng = np.random.default_rng(1)
    for day in range(40):
        u.add_pro_views(rng.integers(0, 1000, 1000))
        u.apply_doses(day, Population())
        followed = np.arange(1000) % 8 == 0  # (kept side by side: user 8k at index k)
        assert u.exposure.size == u.exposed_until.size == 125
        live = int(np.count_nonzero(u.exposed_until >= day))
        assert u.exposed() == pytest.approx(live * 1000 / 125)
        age = day - u.last_reached[followed].astype(np.float64)
        now = u.exposure * np.exp(-age / 10.0)
        assert abs(live - int(np.count_nonzero(now >= 12.0))) <= int(
            np.count_nonzero(abs(now / 3.0 - 1) < 1e-9)
        )
    assert 0 < u.exposed() < 1000


@pytest.mark.parametrize(("tracked", "stride"), [(100, 32), (20, 128)])
def test_strides_of_a_word_and_more_follow_the_multiples_of_the_stride(
    tracked: int, stride: int
) -> None:
    """The attitude kernel finds the followed users through a mask of bits in each word of 64
    users, and above a stride of 64 in every ``stride // 64``-th word only: exactly the
    multiples of the stride are followed, each as a brute-force count of its decayed views
    says."""
    n = 4096
    u = Users(n, Population(), np.random.default_rng(0))
    u.set_exposure(10.0, 2.0, tracked=tracked)
    assert u.exposure_stride == stride
    followed = np.arange(n) % stride == 0
    rng = np.random.default_rng(2)
    views = np.zeros((40, n))
    for day in range(40):
        seen = rng.integers(0, n, n // 4)
        np.add.at(views[day], seen, 1.0)
        u.add_pro_views(seen)
        u.apply_doses(day, Population())
        assert u.exposure.size == u.exposed_until.size == followed.sum()
        # the decayed views of each followed user, from scratch
        ages = day - np.arange(day + 1)[:, None]
        level = (views[: day + 1, followed] * np.exp(-ages / 10.0)).sum(axis=0)
        age = day - u.last_reached[followed].astype(np.float64)  # (the kept levels, decayed)
        np.testing.assert_allclose(u.exposure * np.exp(-age / 10.0), level, rtol=1e-9, atol=0)
        live = int(np.count_nonzero(u.exposed_until >= day))
        assert abs(live - int(np.count_nonzero(level >= 2.0))) <= int(
            np.count_nonzero(abs(level / 2.0 - 1) < 1e-9)
        )
        assert u.exposed() == pytest.approx(live * n / followed.sum())
    assert 0 < u.exposed() < n


def test_the_sampled_share_is_the_exact_one_within_sampling_error() -> None:
    """A measure only: following a sample changes nothing else in the run, and the share it
    gives is the exact share within a few standard errors of a sample of that size."""
    exact = simulate(make_scenario(reach__threshold=3.0, reach__tracked_users=0), 4)
    users = make_scenario().population.users
    sampled = simulate(make_scenario(reach__threshold=3.0, reach__tracked_users=users // 16), 4)
    others = [c for c in exact.columns if c not in ("users_exposed", "exposed_share")]
    pd.testing.assert_frame_equal(exact[others], sampled[others])
    p = exact["exposed_share"]
    n = -(-users // 16)
    se = np.sqrt(p * (1 - p) / n)
    assert (abs(sampled["exposed_share"] - p) <= 4 * se + 1e-12).all()
    assert p.max() > 0.05  # (the test says something)


def test_reach_settings_are_checked(tmp_path: Path) -> None:
    for text, where in [
        ("reach:\n  tau_days: 0\n", "x.yaml:2: reach.tau_days: must be >= 1"),
        ("reach:\n  threshold: .nan\n", "x.yaml:2: reach.threshold"),
        ("reach:\n  threshold: 5000\n", "x.yaml:2: reach.threshold: must be <= 1000"),
        (
            "timeline:\n  - {action: set, date: 2015-01-01, values: {reach.tau_days: 10}}\n",
            "timeline.0.values.reach.tau_days: 'reach.tau_days' is fixed",
        ),
    ]:
        f = tmp_path / "x.yaml"
        f.write_text(text, encoding="utf-8")
        with pytest.raises(ScenarioError) as err:
            load_scenario(f)
        assert where in str(err.value)


def test_substantial_exposure_is_off_by_default() -> None:
    """Not measured unless reach.threshold is set: its metrics are NaN, and the other figures
    are the same as with it on (a measure only)."""
    off = simulate(make_scenario(end="2015-01-31"), 2)
    on = simulate(make_scenario(end="2015-01-31", reach__threshold=10.0), 2)
    assert off["users_exposed"].isna().all() and off["exposed_share"].isna().all()
    assert on["users_exposed"].max() > 0
    rest = [c for c in off.columns if c not in ("users_exposed", "exposed_share")]
    pd.testing.assert_frame_equal(off[rest], on[rest], check_exact=True)
