"""The displacement component (``sim.components.displacement``): the pro audience across
platforms counted once per user, and the shares of pro posts and operators analysts can see."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.model import PropagandaModel
from sim.scenario import Scenario

COLUMNS = [
    "pro_audience",
    "pro_audience_encrypted_only",
    "observable_post_share",
    "observable_operator_share",
]


def migrating(**changes: Any) -> Scenario:
    base: dict[str, Any] = {
        "end": "2015-03-31",
        "moderation__twitter__intensity": 0.01,
        "platforms__telegram__pull": 0.5,
        "platforms__telegram__invite_share": 0.05,
        "platforms__telegram__join_prob": 0.3,
    }
    return make_scenario(**{**base, **changes})


def brute_force(model: PropagandaModel) -> tuple[float, float, float, float]:
    """The day's four figures recomputed from the state, the slow way."""
    m = model
    u, ch, t, s = m.users, m.channels, m.accounts, m.scale
    member = u.member_channel >= 0
    follows = u.n_following > 0
    audience = np.count_nonzero(member | follows) * s
    enc_only = np.count_nonzero(member & ~follows) * s
    n_ops = len(m.operators)
    with_account = np.zeros(n_ops, bool)
    with_account[t.operator[t.active_ids()]] = True
    with_channel = np.zeros(n_ops, bool)
    with_channel[ch.operator[ch.active_ids()]] = True
    running = np.count_nonzero(with_account | with_channel)
    ops_share = np.count_nonzero(with_account) / running if running else np.nan
    return audience, enc_only, float(running), ops_share


@pytest.fixture(scope="module")
def stepped() -> tuple[PropagandaModel, list[tuple[float, float, float, float]]]:
    # (searchers who follow no pro account join public channels: members seen only there)
    channels = {"telegram": {"public_share": 1.0, "search_rate": 0.02}}
    model = PropagandaModel(migrating(channels=channels), 2)
    truth = []
    for _ in range(model.warmup + model.n_days):
        model.step()
        if model.day >= 0:
            truth.append(brute_force(model))
    return model, truth


def test_audience_counts_each_user_once(stepped: Any) -> None:
    model, truth = stepped
    df = pd.DataFrame(model.table, columns=model.columns)
    np.testing.assert_array_equal(df["pro_audience"], [t[0] for t in truth])
    np.testing.assert_array_equal(df["pro_audience_encrypted_only"], [t[1] for t in truth])
    # never more than the open-platform followers plus the channel members, never less than
    # either of them
    members = df["telegram.members"]
    assert (df["pro_audience"] >= members).all()
    assert (df["pro_audience_encrypted_only"] <= members).all()
    assert df["pro_audience_encrypted_only"].iloc[-1] > 0, "meant to have members only there"


def test_observable_operator_share(stepped: Any) -> None:
    model, truth = stepped
    df = pd.DataFrame(model.table, columns=model.columns)
    np.testing.assert_allclose(df["observable_operator_share"], [t[3] for t in truth])
    np.testing.assert_array_equal(df["active_operators"], [t[2] * model.scale for t in truth])


def test_observable_post_share_falls_as_channels_post(stepped: Any) -> None:
    model, _ = stepped
    df = pd.DataFrame(model.table, columns=model.columns)
    open_posts = df["twitter.pro_posts_true"]
    channel_posts = df["telegram.channel_posts"]
    np.testing.assert_allclose(
        df["observable_post_share"], open_posts / (open_posts + channel_posts)
    )
    assert df["observable_post_share"].iloc[0] == 1.0 or channel_posts.iloc[0] > 0
    assert df["observable_post_share"].iloc[-1] < 1.0


def test_nothing_observable_is_missing_without_encrypted_platforms() -> None:
    sc = make_scenario(platforms={"twitter": {"kind": "open"}}, moderation={})
    model = PropagandaModel(sc, 1)
    df = model.run()
    assert (df["observable_post_share"] == 1.0).all()
    assert (df["observable_operator_share"] == 1.0).all()
    assert (df["pro_audience_encrypted_only"] == 0).all()


@settings(max_examples=8, deadline=None)
@given(
    pull=st.floats(0, 1),
    join=st.floats(0, 1),
    intensity=st.floats(0, 0.2),
    abandon=st.floats(0, 0.05),
    hazard=st.floats(0, 0.3),
)
def test_figures_are_bounded_and_the_count_is_kept(
    pull: float, join: float, intensity: float, abandon: float, hazard: float
) -> None:
    sc = migrating(
        end="2015-02-15",
        platforms__telegram__pull=pull,
        platforms__telegram__join_prob=join,
        moderation__twitter__intensity=intensity,
        moderation__telegram__channel_takedown_rate=hazard,
        accounts__abandon_rate=abandon,
    )
    model = PropagandaModel(sc, 5)
    for _ in range(model.warmup + model.n_days):
        model.step()
        u = model.users
        assert u.n_followers_of_pro == np.count_nonzero(u.n_following > 0)
    df = pd.DataFrame(model.table, columns=model.columns)
    assert (df[COLUMNS[:2]] >= 0).all().all()
    assert (df["pro_audience"] <= model.users.n * model.scale).all()
    for c in COLUMNS[2:]:
        share = df[c].dropna()
        assert ((share >= 0) & (share <= 1)).all()
