"""Outside events and official media output (``sim.components.outside_events``): off by default,
pulses of the right size and shape on their dates and platforms, the media series as given,
located messages for bad settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL, load_error, make_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.components.outside_events import MediaOutput, OutsideEvent, media_level
from sim.core.model import PropagandaModel, simulate
from sim.scenario import load_scenario

END = "2015-02-28"
CHANGES = [f"twitter.outside_{f}_change" for f in ("posting", "discovery", "report", "moderation")]


def run(seed: int = 2, **changes: object) -> pd.DataFrame:
    return simulate(make_scenario(end=END, **changes), seed)


def attack(**fields: object) -> dict[str, object]:
    return {"action": "outside", "date": "2015-02-01", "kind": "attack", **fields}


@pytest.fixture(scope="module")
def off() -> pd.DataFrame:
    return run()


def test_off_by_default_changes_nothing(off: pd.DataFrame) -> None:
    assert (off[CHANGES] == 0).all().all()
    # an event of no effect and a media series at level 1 change no draw and no number
    neutral = run(
        timeline=[attack(days=20)],
        media_output__levels=[{"date": "2015-01-10", "level": 1.0}],
    )
    pd.testing.assert_frame_equal(neutral, off, check_exact=True)
    # a media series that posting ignores (elasticity 0) neither
    ignored = run(
        media_output__levels=[{"date": "2015-01-10", "level": 0.2}],
        media_output__elasticity=0.0,
    )
    pd.testing.assert_frame_equal(ignored, off, check_exact=True)


def test_a_decaying_pulse_on_its_dates(off: pd.DataFrame) -> None:
    df = run(timeline=[attack(days=10, posting=3.0, discovery=2.0, reports=5.0, moderation=1.5)])
    change = df["twitter.outside_posting_change"]
    assert (change.loc[:"2015-01-31"] == 0).all()
    assert (change.loc["2015-02-11":] == 0).all()
    t = np.arange(10)
    np.testing.assert_allclose(
        change.loc["2015-02-01":"2015-02-10"].to_numpy(), 2.0 * (1 - t / 10), rtol=1e-12
    )
    np.testing.assert_allclose(
        df["twitter.outside_report_change"].loc["2015-02-01":"2015-02-10"], 4.0 * (1 - t / 10)
    )
    assert df["twitter.outside_moderation_change"].loc["2015-02-01"] == pytest.approx(0.5)
    # the posting surge: more pro posts in the pulse's first days than without it
    first = slice("2015-02-01", "2015-02-04")
    assert (
        df["twitter.pro_posts_true"].loc[first].sum()
        > 1.8 * off["twitter.pro_posts_true"].loc[first].sum()
    )
    # identical before the pulse (no draws of its own; the same streams in the same order)
    pd.testing.assert_frame_equal(df.loc[:"2015-01-31"], off.loc[:"2015-01-31"], check_exact=True)


def test_a_flat_pulse_and_overlapping_events_multiply() -> None:
    df = run(
        timeline=[
            attack(days=5, shape="flat", posting=2.0),
            {"action": "outside", "date": "2015-02-03", "kind": "release", "days": 2,
             "shape": "flat", "posting": 1.5},
        ]
    )  # fmt: skip
    factor = df["twitter.outside_posting_change"].loc["2015-02-01":"2015-02-06"] + 1
    np.testing.assert_allclose(factor.to_numpy(), [2.0, 2.0, 3.0, 3.0, 2.0, 1.0])


def test_no_posting_no_pro_posts_and_no_discovery_no_discovery_views(off: pd.DataFrame) -> None:
    df = run(timeline=[attack(days=3, shape="flat", posting=0.0)])
    assert (df["twitter.pro_posts_true"].loc["2015-02-01":"2015-02-03"] == 0).all()
    assert (df["twitter.pro_posts_true"].loc["2015-02-04":] > 0).all()
    blind = run(timeline=[attack(days=3, shape="flat", discovery=0.0)])
    days = slice("2015-02-01", "2015-02-03")
    # only feed views and shares remain: fewer impressions than without the event
    assert (
        blind["twitter.impressions"].loc[days].sum()
        < 0.8 * off["twitter.impressions"].loc[days].sum()
    )


def test_an_event_acts_on_the_platforms_it_names() -> None:
    base = {**SMALL, "platforms": {**SMALL["platforms"], "facebook": {"kind": "open"}}}
    sc = make_scenario(
        base, end=END, timeline=[attack(days=4, posting=2.0, platforms=["facebook"])]
    )
    df = simulate(sc, 1)
    assert (df["twitter.outside_posting_change"] == 0).all()
    assert df["facebook.outside_posting_change"].loc["2015-02-01"] == pytest.approx(1.0)


def test_media_output_series_scales_posting(off: pd.DataFrame) -> None:
    levels = [{"date": "2015-01-20", "level": 1.0}, {"date": "2015-02-09", "level": 0.5}]
    df = run(media_output__levels=levels, media_output__interpolation="linear")
    factor = df["twitter.outside_posting_change"] + 1
    assert (factor.loc[:"2015-01-20"] == 1).all()
    assert factor.loc["2015-01-30"] == pytest.approx(0.75)
    np.testing.assert_allclose(factor.loc["2015-02-09":], 0.5)
    step = run(media_output__levels=levels, media_output__elasticity=0.5)
    f2 = step["twitter.outside_posting_change"] + 1
    assert (f2.loc[:"2015-02-08"] == 1).all()
    np.testing.assert_allclose(f2.loc["2015-02-09":], 0.5**0.5)
    late = slice("2015-02-09", None)
    assert (
        df["twitter.pro_posts_true"].loc[late].mean()
        < 0.7 * off["twitter.pro_posts_true"].loc[late].mean()
    )


def test_media_level_between_and_outside_the_dates() -> None:
    days, levels = np.array([0.0, 10.0, 20.0]), np.array([0.8, 0.4, 0.2])
    step = MediaOutput(interpolation="step")
    linear = MediaOutput(interpolation="linear")
    assert media_level(step, days, levels, -1) == 1.0
    assert media_level(linear, days, levels, -1) == 1.0
    assert media_level(step, days, levels, 15) == 0.4
    assert media_level(linear, days, levels, 15) == pytest.approx(0.3)
    assert media_level(step, days, levels, 99) == media_level(linear, days, levels, 99) == 0.2
    assert media_level(step, np.zeros(0), np.zeros(0), 5) == 1.0


multipliers = st.floats(0.0, 10.0, allow_nan=False)
events = st.builds(
    dict,
    offset=st.integers(-15, 30),
    days=st.integers(1, 40),
    shape=st.sampled_from(["decay", "flat"]),
    posting=multipliers,
    discovery=multipliers,
    reports=multipliers,
    moderation=multipliers,
)


@pytest.fixture(scope="module")
def model() -> PropagandaModel:
    return PropagandaModel(make_scenario(end=END), 1)


@settings(max_examples=60, deadline=None)
@given(evs=st.lists(events, min_size=0, max_size=4))
def test_factors_in_force_are_the_product_of_the_pulses(
    model: PropagandaModel, evs: list[dict]
) -> None:
    """Property: each day's factor is the product of ``1 + (x - 1) w(t)`` over the events in
    force, never negative; 1 outside every event; expired events are dropped."""
    comp = model.component("outside_events")
    comp._pulses = []
    start = model.sc.start
    parsed = []
    for e in evs:
        offset = e.pop("offset")
        ev = OutsideEvent(action="outside", date=start + dt.timedelta(days=offset), **e)
        comp.handle(ev)
        parsed.append((offset, ev))
    for d in range(-15, 80):
        comp.start(d)
        today = model.today
        got = (
            today.posting_factor[0],
            today.discovery_factor[0],
            today.report_factor[0],
            today.moderation_factor[0],
        )
        want = np.ones(4)
        for offset, ev in parsed:
            w = ev.weight(d - offset)
            xs = (ev.posting, ev.discovery, ev.reports, ev.moderation)
            want *= [1.0 + (x - 1.0) * w for x in xs]
        assert np.all(np.asarray(got) >= 0)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        today.clear()
    assert comp._pulses == []  # every event has ended by then


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.integers(0, 300), st.floats(0, 20, allow_nan=False)),
        min_size=1,
        max_size=6,
        unique_by=lambda p: p[0],
    ),
    d=st.integers(-50, 400),
)
def test_media_level_stays_within_the_levels_given(points: list, d: int) -> None:
    points.sort()
    days = np.array([p[0] for p in points], float)
    levels = np.array([p[1] for p in points])
    for how in ("step", "linear"):
        x = media_level(MediaOutput(interpolation=how), days, levels, d)
        assert min(1.0, *levels) <= x <= max(1.0, *levels)
        if how == "step":
            assert x == 1.0 or x in levels


def test_bad_settings_get_located_messages(tmp_path: Path) -> None:
    msg = load_error(
        tmp_path,
        "timeline:\n  - {action: outside, date: 2015-11-13, kind: attack, days: -3}\n",
    )
    assert "x.yaml:2: timeline.0.days: must be >= 1, got -3" in msg
    msg = load_error(
        tmp_path,
        "media_output:\n  levels:\n    - {date: 2015-08-01, level: 1.0}\n"
        "    - {date: 2015-06-01, level: 0.5}\n",
    )
    assert "x.yaml:4: media_output.levels.1.date: dates of the media output series must" in msg
    msg = load_error(
        tmp_path,
        "timeline:\n  - {action: outside, date: 2015-11-13, platforms: [telegram]}\n",
    )
    assert "timeline.0.platforms.0: 'telegram' is not an open platform" in msg
    msg = load_error(
        tmp_path,
        "timeline:\n  - {action: outside, date: 2015-11-13, posting: -1}\n",
    )
    assert "timeline.0.posting: must be >= 0" in msg
    msg = load_error(tmp_path, "media_output:\n  interpolation: cubic\n")
    assert "media_output.interpolation" in msg


def test_event_label_for_plots() -> None:
    ev = OutsideEvent(action="outside", date=dt.date(2015, 11, 13), kind="attack", posting=2)
    assert ev.describe() == "attack (posting x2, 7 d)"
    assert OutsideEvent(action="outside", date=dt.date(2015, 1, 1), label="Paris").plot_label() == (
        "Paris"
    )


def test_the_baseline_has_the_events_and_the_variant_removes_them() -> None:
    folder = Path(__file__).parents[2] / "scenarios"
    off = load_scenario(folder / "no_outside_events.yaml")
    assert not [e for e in off.timeline if e.action == "outside"] and not off.media_output.levels
    sc = load_scenario(folder / "baseline.yaml")
    events = [e for e in sc.timeline if e.action == "outside"]
    assert [e.date.isoformat() for e in events] == [
        "2014-06-10",
        "2014-08-19",
        "2015-11-13",
        "2016-03-22",
    ]
    assert sc.media_output.levels and sc.media_output.elasticity == 0.5
