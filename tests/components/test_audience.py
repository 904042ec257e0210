"""Audience churn (``sim.components.audience``, ``sim.core.state.churn``,
``kernels.drop_followers``): off by default, users leave and newcomers enter at the set rate,
the shared state stays consistent (population, states, reach, follows against the graph,
channel members), and bad settings get a located message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.config.loader import ScenarioError
from sim.config.schema import Population
from sim.core import kernels
from sim.core.model import PropagandaModel, simulate
from sim.core.state.channels import ChannelTable
from sim.core.state.churn import drop_follows, replace_users
from sim.core.state.graph import FollowerGraph
from sim.core.state.users import NEVER, REACH_WINDOW, Users
from sim.scenario import load_scenario

STATES = ["opposed", "neutral", "sympathizers", "supporters"]


def run(seed: int = 2, **changes: object) -> pd.DataFrame:
    return simulate(make_scenario(end="2015-02-28", **changes), seed)


@pytest.fixture(scope="module")
def off() -> pd.DataFrame:
    return run()


def test_off_by_default_changes_nothing(off: pd.DataFrame) -> None:
    assert (off["users_replaced"] == 0).all()
    explicit = run(audience__churn_per_day=0.0, audience__sweep_days=3)
    pd.testing.assert_frame_equal(explicit, off, check_exact=True)
    users = make_scenario().population.users
    np.testing.assert_allclose(off["reach_share_30d"], off["users_reached_30d"] / users)


def test_users_leave_at_the_set_rate_and_the_audience_keeps_its_size(off: pd.DataFrame) -> None:
    c = 0.01
    on = run(audience__churn_per_day=c, audience__sweep_days=5)
    users = make_scenario().population.users
    # every leaver is replaced (followers at the next sweep): the mean rate is c
    assert on["users_replaced"].mean() == pytest.approx(c * users, rel=0.15)
    np.testing.assert_allclose(on[STATES].sum(axis=1), users)
    assert (on["users_reached_30d"] <= users).all()
    assert (on["reach_share_30d"] <= 1).all()
    assert not on.equals(off)


def model_after(days: int, seed: int = 3, **changes: object) -> PropagandaModel:
    m = PropagandaModel(make_scenario(**changes), seed)
    for _ in range(days):
        m.step()
    return m


def check_consistent(m: PropagandaModel) -> None:
    """The shared state after churn: the invariants the rest of the model relies on."""
    u, g, d = m.users, m.graph, m.day
    assert u.counts.sum() == u.n
    np.testing.assert_array_equal(u.counts, np.bincount(u.state, minlength=4))
    assert (u.counts >= 0).all()
    for a in (u.attitude, u.baseline):
        assert np.isfinite(a).all() and (a >= -1).all() and (a <= 1).all()
    assert (u.susceptibility > 0).all() and (u.follow_cap >= 1).all()
    # follows: each user's count is the number of its edges in the graph
    live = [g.followers(a) for a in range(g.n_accounts)]
    edges = np.concatenate(live) if live else np.zeros(0, np.int64)
    np.testing.assert_array_equal(u.n_following, np.bincount(edges, minlength=u.n))
    # the running count of users following a pro account (displacement's pro audience)
    assert u.n_followers_of_pro == np.count_nonzero(u.n_following)
    # reach: the buckets count the users last reached within the window
    ago = d - u.last_reached.astype(np.int64)
    assert (u.reach_buckets >= 0).all()
    assert u.reached_30d() == int((ago < REACH_WINDOW).sum())
    # channels: members as listed, per channel, and in index order
    np.testing.assert_array_equal(u.members, np.flatnonzero(u.member_channel >= 0))
    ch = m.channels
    per = np.bincount(u.member_channel[u.members], minlength=ch.n)
    np.testing.assert_array_equal(ch.members[: ch.n][ch.active[: ch.n]], per[ch.active[: ch.n]])
    assert (ch.members[: ch.n] >= 0).all()


def test_state_stays_consistent_under_heavy_churn() -> None:
    m = model_after(
        60,
        audience__churn_per_day=0.03,
        audience__sweep_days=4,
        platforms__telegram__pull=0.5,
        platforms__telegram__invite_share=0.05,
    )
    assert m.users.members.size > 0  # (channels exercised)
    check_consistent(m)
    # some leavers who followed accounts are waiting for the next sweep, none twice
    a = m.components["audience"]
    waiting = np.concatenate(a.queue) if a.queue else np.zeros(0, np.int64)
    assert np.unique(waiting).size == waiting.size
    np.testing.assert_array_equal(np.sort(waiting), np.flatnonzero(a.queued))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    churn=st.floats(0.0, 0.05),
    sweep=st.integers(1, 90),
    days=st.integers(1, 40),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_churn_conserves_the_population_and_the_graph(
    churn: float, sweep: int, days: int, seed: int
) -> None:
    m = model_after(
        days,
        seed,
        audience__churn_per_day=churn,
        audience__sweep_days=sweep,
        platforms__telegram__pull=0.5,
        platforms__telegram__invite_share=0.05,
    )
    check_consistent(m)


def test_drop_follows_removes_exactly_the_leavers_edges() -> None:
    g = FollowerGraph()
    g.add_accounts(3)
    pairs = [(0, 1), (0, 2), (0, 5), (1, 2), (1, 3), (2, 5), (2, 1), (2, 4)]
    acc, usr = np.array(pairs).T
    g.add_edges(acc, usr, 6)
    users = Users(6, Population(), np.random.default_rng(0))
    users.n_following[:] = np.bincount(usr, minlength=6)
    removed = drop_follows((g.pool, g.start, g.length, g.n_accounts), users, np.array([2, 5]))
    assert removed == 4
    assert g.followers(0).tolist() == [1]
    assert g.followers(1).tolist() == [3]
    assert g.followers(2).tolist() == [1, 4]  # (the others keep their order)
    assert users.n_following.tolist() == [0, 2, 0, 1, 1, 0]


def test_drop_followers_keeps_entries_that_are_not_audience_users() -> None:
    pool = np.array([0, 7, 1, 9], dtype=np.int32)
    start, length = np.array([0, 2]), np.array([2, 2])
    marks = kernels.new_marks(4)
    kernels.set_marks(marks, np.array([0, 1]))
    assert kernels.drop_followers(pool, start, length, 2, marks, 4) == 2
    assert pool[:1].tolist() == [7] and pool[2:3].tolist() == [9]
    assert length.tolist() == [1, 1]


def test_newcomers_are_drawn_as_at_the_start() -> None:
    p = Population(attitude_mean=0.1, attitude_sd=0.2, susceptibility_shape=2.0)
    rng = np.random.default_rng(1)
    u = Users(50_000, p, rng)
    day = 100
    u.last_reached[:] = day - np.arange(u.n) % 60  # half within the 30-day window
    u.reach_buckets[:] = np.bincount(u.last_reached[u.last_reached > day - 30] % 30, minlength=30)
    u.n_following[:] = 0
    lang = u.language.copy()
    leavers = np.arange(0, u.n, 2)
    replace_users(u, leavers, day, p, np.random.default_rng(2), ChannelTable(8))
    base = u.baseline[leavers]
    assert base.mean() == pytest.approx(0.1, abs=0.01)
    assert base.std() == pytest.approx(0.2, abs=0.01)
    assert u.susceptibility[leavers].mean() == pytest.approx(1.0, abs=0.02)
    np.testing.assert_array_equal(u.attitude[leavers], base)
    np.testing.assert_array_equal(u.language, lang)  # (the index keeps its language)
    assert (u.last_reached[leavers] == NEVER).all()
    assert u.reached_30d() == int((u.last_reached > day - 30).sum())
    np.testing.assert_array_equal(u.counts, np.bincount(u.state, minlength=4))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="churn_per_day"):
        make_scenario(audience__churn_per_day=0.5)
    with pytest.raises(ValidationError, match="sweep_days"):
        make_scenario(audience__sweep_days=0)
    with pytest.raises(ValidationError, match="churn_per_day"):
        make_scenario(audience__churn_per_day=float("nan"))


def test_a_scenario_file_gets_a_located_message(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text("audience:\n  churn_per_day: -0.1\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert "a.yaml:2: audience.churn_per_day" in str(err.value)
