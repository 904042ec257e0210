"""The targeting component (``sim.components.targeting``): a ``target`` event suspends the top
accounts of an open platform by followers, by in-network in-degree or within a role, through
moderation (so operators decide as usual); bad events get clean messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import make_scenario
from pydantic import ValidationError

from sim.components.targeting import TargetEvent
from sim.config.loader import ScenarioError
from sim.core.model import PropagandaModel, simulate
from sim.scenario import load_scenario

NETWORK = {
    "roles__ordinary__share": 0.9,
    "roles__official__share": 0.1,
    "roles__official__followers": 10.0,
    "roles__in_network_follows": 1000.0,
}


def model(**changes: Any) -> PropagandaModel:
    return PropagandaModel(make_scenario(scale=50, **changes), 4)


def event(**kw: Any) -> TargetEvent:
    return TargetEvent(date="2015-01-01", platform="twitter", **kw)  # type: ignore[arg-type]


def fire(m: PropagandaModel, ev: TargetEvent) -> np.ndarray:
    """Fire ``ev`` now; returns the accounts it suspended."""
    before = m.accounts.column("active").copy()
    m.component("targeting").handle(ev)
    return np.flatnonzero(before & ~m.accounts.column("active"))


def test_top_accounts_by_followers_are_suspended_through_moderation() -> None:
    m = model()
    counts = m.follower_counts()[: m.accounts.n].copy()
    gone = fire(m, event(accounts=500))  # 500 real-world = 10 at 1:50
    assert gone.size == 10
    active = m.accounts.column("active")
    assert counts[gone].min() >= counts[active].max()
    ids, _, _ = m.today.suspended[-1]  # left for the operators to decide on
    np.testing.assert_array_equal(np.sort(ids), gone)


def test_top_share_by_in_degree() -> None:
    m = model(**NETWORK)
    assert m.network is not None
    indeg = m.network.length[: m.accounts.n].copy()
    n_act = int(m.accounts.column("active").sum())
    gone = fire(m, event(by="in_degree", share=0.05))
    assert gone.size == round(0.05 * n_act)
    assert indeg[gone].min() >= indeg[m.accounts.column("active")].max()
    # their in- and out-edges are gone: no active account follows them any more
    assert (m.network.length[gone] == 0).all()
    followed = np.concatenate([m.network.followers(a) for a in np.flatnonzero(m.accounts.active)])
    assert not np.isin(followed, gone).any()


def test_by_role_removes_only_that_role() -> None:
    m = model(**NETWORK)
    role = m.accounts.column("role")
    gone = fire(m, event(by="role", role="official", share=1.0))
    assert gone.size == (role == 1).sum() > 0
    assert (role[gone] == 1).all()
    assert not (m.accounts.column("active") & (role == 1)).any()


def test_in_a_run_counted_and_re_created() -> None:
    tl = [{"action": "target", "date": "2015-02-01", "platform": "twitter", "accounts": 2000}]
    df = simulate(make_scenario(timeline=tl, moderation__twitter__intensity=0.0), 1)
    assert df["twitter.targeted_suspensions"].sum() == 2000
    assert df.loc["2015-02-01", "twitter.suspensions"] == 2000
    assert df.loc["2015-02-02":, "twitter.new_accounts_recreated"].sum() > 0


def test_bad_events_are_refused() -> None:
    with pytest.raises(ValidationError, match="exactly one of accounts and share"):
        event(accounts=10, share=0.1)
    with pytest.raises(ValidationError, match="exactly one of accounts and share"):
        event()
    with pytest.raises(ValidationError, match="role is needed with by: role"):
        event(by="role", accounts=10)
    with pytest.raises(ValidationError, match="role is needed with by: role"):
        event(role="official", accounts=10)
    with pytest.raises(ValidationError, match="share"):
        event(share=1.5)
    with pytest.raises(ValidationError, match="needs an open platform"):
        make_scenario(
            timeline=[
                {"action": "target", "date": "2015-02-01", "platform": "telegram", "share": 0.1}
            ]
        )


def test_a_scenario_file_gets_a_located_message(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(
        "timeline:\n  - {action: target, date: 2015-02-01, platform: twitter, accounts: 10,"
        " share: 0.1}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert "t.yaml:2: timeline.0.accounts: a target event needs exactly one of" in str(err.value)
