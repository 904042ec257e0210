"""Coordinated hashtag campaigns (``sim.components.coordination``): off by default, extra posts
counted, trending above the threshold, hijacked hashtags reach users of other languages, the
day's posts conserved, located messages for bad settings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import load_error, make_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.components.coordination import CoordinationSection
from sim.core.model import PropagandaModel, simulate
from sim.scenario import Scenario, load_scenario

END = "2015-02-28"
METRICS = [
    f"twitter.{m}"
    for m in (
        "coordinated_campaigns",
        "trending_campaigns",
        "hijacking_campaigns",
        "campaign_accounts",
        "campaign_posts",
    )
]


def run(seed: int = 2, **changes: object) -> pd.DataFrame:
    return simulate(make_scenario(end=END, **changes), seed)


def on(**changes: object) -> pd.DataFrame:
    return run(coordination__campaigns_per_day=4.0, **changes)


@pytest.fixture(scope="module")
def off() -> pd.DataFrame:
    return run()


def test_off_by_default_changes_nothing(off: pd.DataFrame) -> None:
    assert (off[METRICS] == 0).all().all()
    no_campaigns = run(
        coordination__campaigns_per_day=0.0,
        coordination__hijack_share=1.0,
        coordination__trending_threshold=1.0,
        coordination__extra_posts=50.0,
    )
    pd.testing.assert_frame_equal(no_campaigns, off, check_exact=True)


def test_campaigns_add_posts_and_are_counted(off: pd.DataFrame) -> None:
    df = on(coordination__trending_threshold=1e6)
    n = df["twitter.coordinated_campaigns"]
    assert 2.5 < n.mean() < 5.5  # Poisson(4) per day
    assert (df["twitter.trending_campaigns"] == 0).all()  # threshold out of reach
    assert (df["twitter.hijacking_campaigns"] == 0).all()  # hijack_share 0 by default
    posts, accounts = df["twitter.campaign_posts"], df["twitter.campaign_accounts"]
    assert (posts[n == 0] == 0).all() and (accounts[n == 0] == 0).all()
    assert posts.sum() > 0
    # each participant makes extra_posts (5) on average; no more participants than accounts
    assert posts.sum() / accounts.sum() == pytest.approx(5.0, rel=0.2)
    assert (accounts <= df["twitter.active_accounts"] + 1e-9).all()
    # the extra posts are posts like any other: counted in the day's pro posts
    assert df["twitter.pro_posts_true"].mean() > off["twitter.pro_posts_true"].mean()


def test_trending_campaigns_raise_discovery() -> None:
    never = on(coordination__trending_threshold=1e6)
    always = on(coordination__trending_threshold=1.0, coordination__trending_multiplier=20.0)
    # (a campaign that nobody joined does not trend, even at a threshold of one account)
    trending, started = (
        always["twitter.trending_campaigns"],
        always["twitter.coordinated_campaigns"],
    )
    assert (trending <= started).all() and trending.sum() > 0.8 * started.sum()
    assert always["twitter.impressions"].mean() > 1.3 * never["twitter.impressions"].mean()
    # the threshold is in real-world accounts: participants (times scale) at or above it trend
    mid = on(coordination__trending_threshold=2000.0)
    trending = mid["twitter.trending_campaigns"]
    assert (trending <= mid["twitter.coordinated_campaigns"]).all()
    assert (trending[mid["twitter.campaign_accounts"] < 2000.0] == 0).all()


def test_campaigns_run_between_start_and_end() -> None:
    df = on(coordination__start="2015-01-20", coordination__end="2015-02-10")
    n = df["twitter.coordinated_campaigns"]
    assert (n.loc[:"2015-01-19"] == 0).all() and (n.loc["2015-02-11":] == 0).all()
    assert n.loc["2015-01-20":"2015-02-10"].sum() > 0


def test_only_the_campaign_languages_take_part() -> None:
    """English-only campaigns: every participant posts in English (the organiser's language)."""
    sc = make_scenario(
        end=END, coordination__campaigns_per_day=4.0, coordination__languages=["english"]
    )
    m = PropagandaModel(sc, 3)
    for _ in range(12):
        m.step()
    d = m.day + 1
    for fn in m._phases[0]:  # start
        fn(d)
    m.component("posting").post(d)
    k0 = m.today.k.copy()
    comp = m.component("coordination")
    comp.post(d)
    assert comp._counts[0, 0] > 0
    joined = m.today.act[m.today.k > k0]
    assert joined.size > 0
    assert (m.accounts.language[joined] == 1).all()


def test_hijacked_hashtags_reach_users_of_other_languages() -> None:
    """All accounts post in English; a hijacked hashtag's extra views go to users of any
    language, so the Arabic speakers' share of the day's pro doses rises."""
    shares = []
    for hijack in (0.0, 1.0):
        sc = make_scenario(
            end=END,
            accounts__languages={"arabic": 0.0, "english": 1.0, "other": 0.0},
            coordination__campaigns_per_day=5.0,
            coordination__hijack_share=hijack,
            coordination__hijack_multiplier=20.0,
        )
        m = PropagandaModel(sc, 1)
        for _ in range(15):
            m.step()
        d = m.day + 1
        for hooks in m._phases[:3]:  # start, post, expose
            for fn in hooks:
                fn(d)
        u = m.users
        arabic = u.pro_dose[u.lang_start[0] : u.lang_start[1]].sum()
        shares.append(arabic / u.pro_dose.sum())
    assert shares[1] > 3 * shares[0]


@pytest.fixture(scope="module")
def model() -> PropagandaModel:
    m = PropagandaModel(make_scenario(end=END, coordination__campaigns_per_day=1.0), 5)
    for _ in range(12):
        m.step()
    return m


@settings(max_examples=40, deadline=None)
@given(
    rate=st.floats(0.0, 30.0),
    lo=st.floats(0.0, 1.0),
    width=st.floats(0.0, 1.0),
    extra=st.floats(0.0, 20.0),
    threshold=st.floats(1.0, 20_000.0),
    mult=st.floats(1.0, 50.0),
    hijack=st.floats(0.0, 1.0),
)
def test_posts_are_conserved_and_bounded(
    model: PropagandaModel,
    rate: float,
    lo: float,
    width: float,
    extra: float,
    threshold: float,
    mult: float,
    hijack: float,
) -> None:
    """Property: after the campaigns, every poster has at least its own posts, the day's posts
    grow by exactly the campaign posts, participants are active accounts, trending campaigns are
    those at or above the threshold, and discovery boosts lie between 1 and the multiplier."""
    m = model
    m.sc.coordination = CoordinationSection(
        campaigns_per_day=rate,
        min_share=lo,
        max_share=min(1.0, lo + width),
        extra_posts=extra,
        trending_threshold=threshold,
        trending_multiplier=mult,
        hijack_share=hijack,
    )
    comp = m.component("coordination")
    comp.refresh()
    d = m.day + 1
    m.component("posting").post(d)
    k0 = m.today.k.copy()
    comp.post(d)
    k = m.today.k
    counts = comp._counts[:, 0]
    n_camp, n_trend, n_hijack, n_acc, n_posts = counts
    assert (k >= k0).all()
    assert (k - k0).sum() == n_posts  # (simulated counts; ``record`` scales them)
    assert 0 <= n_trend <= n_camp and 0 <= n_hijack <= n_camp
    assert n_acc <= m.today.act.size
    if n_acc * m.scale < threshold:
        assert n_trend == 0
    boost = m.today.discovery_boost
    if boost is not None:
        assert (boost >= 1.0 - 1e-12).all() and (boost <= mult + 1e-9).all()
    if comp._general is not None:
        assert (comp._general >= 0).all()
    m.today.clear()


def test_bad_settings_get_located_messages(tmp_path: Path) -> None:
    msg = load_error(tmp_path, "coordination:\n  min_share: 0.3\n  max_share: 0.1\n")
    assert "x.yaml:3: coordination.max_share: max_share 0.1 is below min_share 0.3" in msg
    msg = load_error(tmp_path, "coordination:\n  campaigns_per_day: -2\n")
    assert "x.yaml:2: coordination.campaigns_per_day: must be >= 0, got -2" in msg
    msg = load_error(tmp_path, "coordination:\n  trending_multiplier: 0.5\n")
    assert "coordination.trending_multiplier: must be >= 1" in msg
    msg = load_error(tmp_path, "coordination:\n  languages: [arabik]\n")
    assert "coordination.languages.0" in msg
    msg = load_error(
        tmp_path,
        "timeline:\n  - {action: set, date: 2015-01-01, values: {coordination.min_share: 0.5}}\n",
    )
    assert "timeline.0.values.coordination.min_share: 'coordination.min_share' is fixed" in msg
    msg = load_error(tmp_path, "coordination:\n  start: 2015-03-01\n  end: 2015-01-01\n")
    assert "coordination.end: end 2015-01-01 is before start 2015-03-01" in msg


def test_the_baseline_has_campaigns_and_the_variant_switches_them_off() -> None:
    folder = Path(__file__).parents[2] / "scenarios"
    sc = load_scenario(folder / "baseline.yaml")
    assert sc.coordination.campaigns_per_day > 0 and sc.coordination.hijack_share > 0
    off = load_scenario(folder / "no_coordinated_campaigns.yaml")
    assert off.coordination.campaigns_per_day == 0
    assert not {e.name for e in off.timeline} & {"dawn_app_peak", "worldcup_hijacked"}
    assert Scenario().coordination.campaigns_per_day == 0  # off in the default
