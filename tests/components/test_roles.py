"""The roles component (``sim.components.roles``): off by default, roles drawn with their shares
and acting by role, the network among accounts kept consistent, gradual return of audiences,
clean messages for bad settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.components.roles import (
    HUB_REMOVALS,
    HUB_SLAB,
    NOT_TARGET,
    EndedEdges,
    attachment_weights,
    remove_members,
    searchers_by_day,
)
from sim.config.loader import ScenarioError
from sim.core import draws
from sim.core.model import PropagandaModel, simulate
from sim.core.state.accounts import ROLES
from sim.scenario import load_scenario

ROLES_ON: dict[str, Any] = {
    "roles__ordinary__share": 0.85,
    "roles__official__share": 0.03,
    "roles__official__followers": 10.0,
    "roles__official__attract": 5.0,
    "roles__shoutout__share": 0.07,
    "roles__shoutout__shoutouts": 0.5,
    "roles__bot__share": 0.05,
    "roles__bot__posting": 5.0,
    "roles__bot__followers": 0.2,
}
NETWORK_ON: dict[str, Any] = {"roles__in_network_follows": 1000.0}
GRADUAL_ON: dict[str, Any] = {"roles__returns__days": 4.0, "roles__returns__share": 0.5}


def run(seed: int = 2, end: str = "2015-02-28", **changes: Any) -> pd.DataFrame:
    return simulate(make_scenario(end=end, **changes), seed)


def network_pairs(m: PropagandaModel) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """(follower, followed) pairs among active accounts, from the network and from the reverse
    index."""
    net, following = m.network, m.components["roles"].following  # type: ignore[attr-defined]
    assert net is not None and following is not None
    act = m.accounts.column("active")
    by_followed = {(int(f), int(a)) for a in np.flatnonzero(act) for f in net.followers(a)}
    by_follower = {
        (int(f), int(b)) for f in np.flatnonzero(act) for b in following.followers(f) if act[b]
    }
    return by_followed, by_follower


@pytest.fixture(scope="module")
def off() -> pd.DataFrame:
    return run()


def test_off_by_default_changes_nothing(off: pd.DataFrame) -> None:
    explicit = run(
        roles__ordinary__share=1.0,
        roles__official__hazard=3.0,  # no official accounts: no effect
        roles__returns__days=0.0,
        roles__returns__share=1.0,
    )
    pd.testing.assert_frame_equal(explicit, off, check_exact=True)
    assert (off["twitter.in_network_share"] == 0).all()
    assert off["twitter.targeted_suspensions"].eq(0).all()


def test_roles_are_drawn_with_their_shares_and_scale_rates_and_followers() -> None:
    sc = make_scenario(scale=20, **ROLES_ON)
    m = PropagandaModel(sc, 1)
    t = m.accounts
    role = t.column("role")
    share = np.bincount(role, minlength=len(ROLES)) / role.size
    np.testing.assert_allclose(share, [0.85, 0.03, 0.07, 0.05], atol=0.025)
    rate = t.column("rate")
    assert np.median(rate[role == 3]) > 3 * np.median(rate[role == 0])  # bots post 5x
    followers = m.graph.length[: t.n]
    assert np.median(followers[role == 1]) > 4 * np.median(followers[role == 0])  # officials
    assert np.median(followers[role == 3]) < np.median(followers[role == 0])  # bots


def test_hazard_multiplier_acts_by_role() -> None:
    base = {**ROLES_ON, "roles__official__share": 0.3, "roles__ordinary__share": 0.58}
    safe = PropagandaModel(make_scenario(**base, roles__official__hazard=0.0), 3)
    safe.run()
    t = safe.accounts
    ended = ~t.column("active") & (t.column("ended") >= 0)
    assert ended.sum() > 0
    officials = t.column("role") == 1
    # no official account was suspended (abandonments aside: those end without moderation)
    hot = PropagandaModel(make_scenario(**base, roles__official__hazard=20.0), 3)
    hot.run()
    h = hot.accounts
    susp = lambda mm: mm.table[:, mm.column("twitter.suspensions")].sum()  # noqa: E731
    assert susp(hot) > susp(safe)
    assert (h.column("role")[~h.column("active")] == 1).mean() > (
        officials[~t.column("active")]
    ).mean()


def test_discovery_multiplier_scales_discovery(off: pd.DataFrame) -> None:
    none = run(roles__ordinary__discovery=0.0)
    assert none["twitter.impressions"].mean() < 0.9 * off["twitter.impressions"].mean()


def test_network_counts_in_followers_and_stays_consistent(off: pd.DataFrame) -> None:
    m = PropagandaModel(make_scenario(end="2015-02-28", **ROLES_ON, **NETWORK_ON), 2)
    df = m.run()
    share = df["twitter.in_network_share"]
    assert (share > 0.2).all() and (share < 1).all()
    assert df["twitter.mean_followers"].mean() > off["twitter.mean_followers"].mean()
    a, b = network_pairs(m)
    assert a == b and len(a) > 0
    assert (m.network is not None) and (m.network.length[: m.accounts.n] >= 0).all()
    # successors were followed again by their predecessors' follower accounts
    t = m.accounts
    rec = np.flatnonzero(t.column("recreated") & t.column("active"))
    assert rec.size and (m.network.length[rec] > 0).mean() > 0.3


def test_gradual_return_regains_fewer_followers_in_a_week(off: pd.DataFrame) -> None:
    slow = run(**{**GRADUAL_ON, "roles__returns__days": 20.0})
    assert off["twitter.regained_share_week"].mean() > slow["twitter.regained_share_week"].mean()
    # (followers also come through shout-outs and discovery: not down to 0)
    nobody = run(roles__returns__share=0.0)
    assert nobody["twitter.regained_share_week"].mean() < off["twitter.regained_share_week"].mean()


def test_shoutout_accounts_speed_up_the_return() -> None:
    base = {
        **ROLES_ON,
        **GRADUAL_ON,
        "roles__returns__days": 20.0,
        "moderation__twitter__intensity": 0.02,  # enough re-created accounts to compare
    }
    fast = run(**base, roles__returns__shoutout_speedup=100.0)
    slow = run(**base)
    assert fast["twitter.regained_share_week"].mean() > slow["twitter.regained_share_week"].mean()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    follows=st.sampled_from([0.0, 400.0, 3000.0]),
    days=st.floats(0.0, 10.0),
    share=st.floats(0.0, 1.0),
    official=st.floats(0.0, 0.5),
    seed=st.integers(0, 50),
)
def test_network_and_counts_are_conserved(
    follows: float, days: float, share: float, official: float, seed: int
) -> None:
    sc = make_scenario(
        end="2015-01-31",
        roles__ordinary__share=1.0 - official,
        roles__official__share=official,
        roles__in_network_follows=follows,
        roles__returns__days=days,
        roles__returns__share=share,
    )
    m = PropagandaModel(sc, seed)
    df = m.run()
    t, u = m.accounts, m.users
    assert (u.n_following >= 0).all()
    assert u.n_following.sum() == m.graph.n_edges  # every follow counted once
    assert (m.follower_counts()[: t.n] >= 0).all()
    assert set(np.unique(t.column("role")).tolist()) <= ({0, 1} if official else {0})
    rec = t.column("predecessor") >= 0
    assert (t.column("recreated") == rec).all()
    np.testing.assert_array_equal(
        t.column("role")[rec], t.column("role")[t.column("predecessor")[rec]]
    )
    for col in ("twitter.regained_share_week", "twitter.in_network_share"):
        v = df[col].dropna()
        assert (v >= 0).all()
    assert (df["twitter.in_network_share"].dropna() <= 1).all()
    if follows:
        a, b = network_pairs(m)
        assert a == b


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="role shares must sum to 1"):
        make_scenario(roles__official__share=0.1)
    with pytest.raises(ValidationError, match="shoutouts \\(0.8\\) must stay below 1"):
        make_scenario(roles__shoutout__shoutouts=0.8)
    with pytest.raises(ValidationError, match="posting"):
        make_scenario(roles__bot__posting=-1.0)
    with pytest.raises(ValidationError, match="days"):
        make_scenario(roles__returns__days=float("nan"))
    with pytest.raises(ValidationError, match="in_network_follows"):
        make_scenario(
            timeline=[
                {"action": "set", "date": "2015-02-01", "values": {"roles.in_network_follows": 5}}
            ]
        )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("roles:\n  official:\n    share: 0.1\n", "r.yaml:1: roles: role shares must sum to 1"),
        ("roles:\n  shoutout:\n    shoutouts: 0.9\n", "r.yaml:3: roles.shoutout.shoutouts:"),
        ("roles:\n  bot:\n    posting: 500\n", "r.yaml:3: roles.bot.posting:"),
    ],
)
def test_a_scenario_file_gets_a_located_message(tmp_path: Path, text: str, where: str) -> None:
    f = tmp_path / "r.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert where in str(err.value)


def test_moderation_rows_by_role_multiply_intensity_and_flagging() -> None:
    from sim.components.moderation import Moderation, by_role, hazard_parameters

    params = np.array(
        [
            hazard_parameters(Moderation(intensity=0.01, flagging=0.1)),
            hazard_parameters(Moderation()),
        ]
    )
    factor = np.array([1.0, 3.0, 0.0, 0.5])
    platform = np.array([0, 1, 1, 0], np.int8)
    role = np.array([1, 0, 3, 2], np.int8)
    which, rows = by_role(platform, role, params, factor)
    np.testing.assert_array_equal(which, [1, 4, 7, 2])
    for p in range(2):
        for r in range(4):
            want = params[p].copy()
            want[[0, 4]] *= factor[r]
            np.testing.assert_array_equal(rows[p * 4 + r], want)


# --- the edges ended accounts leave for their successors (EndedEdges) ------------------------


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_property_ended_edges_behave_like_a_dict_of_lists(data: st.DataObject) -> None:
    """Against a plain dict: what ``keep`` stores, ``take`` hands out once, in the order of the
    new accounts, to the first successor only; ``forget_before`` forgets by day; compaction
    loses nothing that is still kept."""
    store, model = EndedEdges(), {}  # model: account -> (day, followers, followed)
    n_accounts = 0
    for d in range(data.draw(st.integers(1, 12))):
        # accounts end: each with some follower accounts and followed accounts
        k = data.draw(st.integers(0, 5))
        ids = np.arange(n_accounts, n_accounts + k)
        n_accounts += k
        lists = [
            [data.draw(st.lists(st.integers(0, 99), max_size=4)) for _ in range(k)]
            for _ in range(2)
        ]
        packed = []
        for per in lists:
            bounds = np.r_[0, np.cumsum([len(x) for x in per])].astype(np.int64)
            values = np.array([v for x in per for v in x], dtype=np.int32)
            packed.append((values, bounds))
        store.keep(ids, d, packed[0], packed[1], n_accounts)
        for j, a in enumerate(ids.tolist()):
            if lists[0][j] or lists[1][j]:
                model[a] = (d, lists[0][j], lists[1][j])
        # new accounts take over predecessors (some none, some twice)
        pred = np.array(
            data.draw(st.lists(st.integers(-1, max(n_accounts - 1, -1)), max_size=5)), np.int64
        )
        new = np.arange(1000 + 10 * d, 1000 + 10 * d + pred.size)
        got = store.take(new, pred)
        want_f, want_s, want_src, want_out = [], [], [], []
        for acc, p in zip(new.tolist(), pred.tolist(), strict=True):
            if p in model:
                _, f, o = model.pop(p)
                want_f += f
                want_s += [acc] * len(f)
                want_src += [acc] * len(o)
                want_out += o
        if got is None:
            assert not want_f and not want_out and not want_src
        else:
            (f, s), (src, out) = got
            assert f.tolist() == want_f and s.tolist() == want_s
            assert src.tolist() == want_src and out.tolist() == want_out
        if data.draw(st.booleans()):
            cut = data.draw(st.integers(0, d + 1))
            store.forget_before(cut)
            model = {a: v for a, v in model.items() if v[0] >= cut}
    # everything still kept comes out intact
    rest = np.array(sorted(model), dtype=np.int64)
    got = store.take(rest + 5000, rest)
    if rest.size:
        assert got is not None
        (f, _), (_, out) = got
        assert f.tolist() == [v for a in rest.tolist() for v in model[a][1]]
        assert out.tolist() == [v for a in rest.tolist() for v in model[a][2]]


def _scratch(n: int) -> np.ndarray:
    """``remove_members``' scratch for account ids below ``n``, as it must be on entry."""
    out = np.zeros((2, n), np.int64)
    out[0] = NOT_TARGET
    return out


def _remove_one_by_one(
    pool: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    accounts: np.ndarray,
    members: np.ndarray,
) -> None:
    """``remove_members`` as its docstring says, one removal at a time (the reference)."""
    for a, m in zip(accounts.tolist(), members.tolist(), strict=True):
        s, n = start[a], length[a]
        hits = np.flatnonzero(pool[s : s + n] == m)
        if hits.size:
            pool[s + hits[0]] = pool[s + n - 1]
            length[a] = n - 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_acc=st.integers(1, 6),
    ids=st.integers(2, 3_000),
    n_remove=st.integers(0, 120),
    slab=st.integers(0, 200),
)
def test_remove_members_leaves_the_slabs_as_removals_one_by_one(
    seed: int, n_acc: int, ids: int, n_remove: int, slab: int
) -> None:
    """Hubs (many removals from one slab, placed in one pass) and small slabs, members missing
    or in a slab twice, the same removal asked twice: every slab, and the pool entries past
    its end, as the removals one at a time leave them; the scratch is left clean."""
    rng = np.random.default_rng(seed)
    length = rng.integers(0, slab + 1, n_acc).astype(np.int64)
    start = np.r_[0, np.cumsum(length)[:-1]].astype(np.int64)
    pool = rng.integers(0, ids, int(length.sum())).astype(np.int32)
    accounts = rng.integers(0, n_acc, n_remove).astype(np.int64)  # (few accounts: hubs)
    members = rng.integers(0, ids, n_remove).astype(np.int64)
    if pool.size:  # (most of them in the slabs)
        from_pool = rng.random(n_remove) < 0.7
        members[from_pool] = pool[rng.integers(0, pool.size, int(from_pool.sum()))]
    want_pool, want_length = pool.copy(), length.copy()
    _remove_one_by_one(want_pool, start, want_length, accounts, members)
    scratch = _scratch(max(ids, n_acc))  # (an entry per account, member and slab entry)
    remove_members(pool, start, length, accounts, members, scratch)
    np.testing.assert_array_equal(length, want_length)
    np.testing.assert_array_equal(pool, want_pool)
    np.testing.assert_array_equal(scratch, _scratch(max(ids, n_acc)))


def test_remove_members_from_a_hub_in_one_pass() -> None:
    """Many removals from a slab of distinct members (the one-pass path), some members
    missing: exactly the named ones go, the others keep their places or fill the gaps."""
    n = 1_000
    pool = np.arange(n, dtype=np.int32)[::-1].copy()
    start, length = np.array([0]), np.array([n])
    members = np.r_[np.arange(0, n, 3), [n + 5, n + 6]].astype(np.int64)  # (two not in it)
    assert members.size >= HUB_REMOVALS and n >= HUB_SLAB
    want_pool, want_length = pool.copy(), length.copy()
    _remove_one_by_one(want_pool, start, want_length, np.zeros(members.size, np.int64), members)
    remove_members(pool, start, length, np.zeros(members.size, np.int64), members, _scratch(n + 10))
    assert length[0] == n - len(range(0, n, 3))
    np.testing.assert_array_equal(pool, want_pool)
    assert not np.isin(pool[: length[0]], members).any()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 400),
    share=st.sampled_from([0.0, 0.3, 1.0]),
    means=st.sampled_from([(), (7.0,), (2.5, 0.4), (1e5, 3.0)]),
    seed=st.integers(0, 2**32),
)
def test_searchers_by_day_draws_and_orders_as_numpy(
    n: int, share: float, means: tuple[float, ...], seed: int
) -> None:
    """The compiled queue of searchers (``searchers_by_day``) keeps, delays and orders them as
    the numpy code it replaced: ``random(n) < share``, then ``rint(exponential(1.0, kept) *
    mean[platform])``, a stable sort by delay (a counting sort, or a merge sort for delays of
    2**15 days and more); the stream is left where numpy leaves it."""
    rng0 = np.random.default_rng(seed)
    who = rng0.integers(0, 10**6, n).astype(np.int32)
    succ = rng0.integers(0, 50, n).astype(np.int64)
    platform = rng0.integers(0, max(1, len(means)), 50).astype(np.int8)
    mean = np.array(means, dtype=np.float64)
    gen, twin = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    w, s, delay = searchers_by_day(who, succ, platform, share, mean, draws.handle(gen))

    keep = twin.random(n) < share
    w0, s0 = who[keep].astype(np.int64), succ[keep]
    d0 = np.zeros(w0.size, np.int64)
    if mean.size:
        d0 = np.rint(twin.exponential(1.0, w0.size) * mean[platform[s0]]).astype(np.int64)
    order = np.argsort(d0, kind="stable")
    for got, want in ((w, w0[order]), (s, s0[order]), (delay, d0[order])):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    assert gen.bit_generator.state == twin.bit_generator.state


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 300), weight=st.sampled_from([0.0, 1.0, 8.0, 37.5]), seed=st.integers(0))
def test_attachment_weights_are_the_numpy_expression(n: int, weight: float, seed: int) -> None:
    """``attachment_weights`` finds the active accounts of a platform and cumulates
    ``attract[role] * (follower_counts + 1)`` exactly as the numpy code it replaced."""
    rng = np.random.default_rng(seed)
    active = rng.random(n) < 0.6
    platform = rng.integers(0, 2, n + 5).astype(np.int8)  # (columns longer than the table)
    role = rng.integers(0, len(ROLES), n + 5).astype(np.int8)
    attract = rng.random(len(ROLES)) * 3.0
    length = rng.integers(0, 10**6, n + 5)
    net_length = rng.integers(0, 3000, n + 5)
    for p in (0, 1):
        cols = (length, net_length, weight)
        cand, cum = attachment_weights(active, platform, p, role, attract, *cols)
        want = np.flatnonzero(active & (platform[:n] == p))
        followers = length[want].astype(np.float64)
        followers += weight * net_length[want]
        np.testing.assert_array_equal(cand, want)
        np.testing.assert_array_equal(cum, np.cumsum(attract[role[want]] * (followers + 1.0)))
