"""The encrypted component (``sim.components.encrypted``): public channels, hubs, search,
successors and takedown targets; off by default, members conserved, located bad-input messages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.components.encrypted import TakedownEvent
from sim.config.loader import ScenarioError
from sim.core.model import PropagandaModel, simulate
from sim.core.state.channels import ChannelTable, join_weights, pick_channels, top_share
from sim.scenario import Scenario, load_scenario

HUBS_DAY = "2015-01-20"


def migrating(**changes: Any) -> Scenario:
    """The small scenario with suspensions, migration and invite links (channels exist)."""
    base: dict[str, Any] = {
        "end": "2015-03-31",
        "moderation__twitter__intensity": 0.01,
        "platforms__telegram__pull": 0.3,
        "platforms__telegram__invite_share": 0.05,
        "platforms__telegram__join_prob": 0.2,
    }
    return make_scenario(**{**base, **changes})


def channel_settings(**values: Any) -> dict[str, Any]:
    return {"telegram": values}


@pytest.fixture(scope="module")
def off() -> pd.DataFrame:
    return simulate(migrating(), 3)


def test_off_by_default_changes_nothing(off: pd.DataFrame) -> None:
    """The defaults written out, and a proportional takedown written out, change no figure."""
    explicit = migrating(
        channels=channel_settings(
            public_share=0.0,
            attachment=1.0,
            public_weight=1.0,
            hubs=0,
            hub_weight=1.0,
            search_rate=0.0,
            successor_find_prob=0.0,
        )
    )
    pd.testing.assert_frame_equal(simulate(explicit, 3), off, check_exact=True)
    assert (off["telegram.public_channels"] == 0).all()
    assert off["telegram.channels"].iloc[-1] > 0, "the scenario was meant to have channels"
    # the channel-size metrics agree with the simple figures when every channel is plain
    assert (off["telegram.largest_channel"] <= off["telegram.members"]).all()
    event = {"action": "takedown", "date": "2015-03-01", "platform": "telegram", "channels": 400}
    a = simulate(migrating(timeline=[event]), 3)
    b = simulate(migrating(timeline=[{**event, "target": "proportional"}]), 3)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_public_share_makes_channels_public(off: pd.DataFrame) -> None:
    on = simulate(migrating(channels=channel_settings(public_share=1.0)), 3)
    live = on["telegram.channels"] > 0
    assert live.any()
    assert (on.loc[live, "telegram.public_channels"] == on.loc[live, "telegram.channels"]).all()
    # without search or weights public channels behave like private ones: same figures
    cols = ["telegram.members", "telegram.channels", "sympathizers"]
    pd.testing.assert_frame_equal(on[cols], off[cols], check_exact=True)


def test_search_brings_members_to_public_channels(off: pd.DataFrame) -> None:
    on = simulate(migrating(channels=channel_settings(public_share=1.0, search_rate=0.01)), 3)
    assert on["telegram.members"].iloc[-1] > 1.5 * off["telegram.members"].iloc[-1]
    assert on["telegram.channel_joins"].sum() > off["telegram.channel_joins"].sum()


def test_hubs_open_on_their_date_and_grow() -> None:
    sc = migrating(
        channels=channel_settings(hubs=3, hubs_date=HUBS_DAY, hub_weight=1000.0, search_rate=0.01)
    )
    model = PropagandaModel(sc, 3)
    df = model.run()
    ch = model.channels
    hubs = np.flatnonzero(ch.column("hub"))
    assert hubs.size == 3  # not scaled: one real channel each, at any scale
    assert (ch.created[hubs] == sc.day_index(dt.date.fromisoformat(HUBS_DAY))).all()
    assert ch.public[hubs].all()
    # a hub counts as one real channel: the channel count jumps by 3, not by 3 * scale
    before, after = df["telegram.channels"].loc["2015-01-19"], df["telegram.channels"].loc[HUBS_DAY]
    assert (after - before) % sc.scale == 3
    # hubs are the largest channels by far; their real members are their members times scale
    assert df["telegram.largest_channel"].iloc[-1] == ch.members[hubs].max() * sc.scale
    assert df["telegram.top10_share"].iloc[-1] > 0.5
    assert df["telegram.channels_1000"].iloc[-1] >= 1


def prepared(**channels: Any) -> PropagandaModel:
    """A model run until it has a few hundred channel members (takedowns aimed by hand)."""
    model = PropagandaModel(migrating(end="2015-06-30", channels=channel_settings(**channels)), 5)
    while model.channels.members[: model.channels.n].sum() < 100:
        model.step()
    return model


def takedown(model: PropagandaModel, n_real: float, **kw: Any) -> np.ndarray:
    """Carry out a takedown event now; returns the channels it removed."""
    before = model.channels.active[: model.channels.n].copy()
    ev = TakedownEvent(date=model.sc.start, platform="telegram", channels=n_real, **kw)
    model.component("encrypted").handle(ev)
    return np.flatnonzero(before & ~model.channels.active[: model.channels.n])


def test_takedown_of_the_largest_removes_the_largest() -> None:
    model = prepared()
    ch, s = model.channels, model.scale
    members = ch.members[: ch.n].copy()
    was_active = ch.active[: ch.n].copy()
    gone = takedown(model, 3 * s, target="largest")
    assert gone.size == 3  # three simulated channels stand for 3 * scale real ones
    np.testing.assert_array_equal(np.sort(members[gone]), np.sort(members[was_active])[-3:])
    assert (ch.members[gone] == 0).all()


def test_takedown_at_random_ignores_size_and_public_only_spares_private() -> None:
    model = prepared(public_share=0.5)
    ch, s = model.channels, model.scale
    public = ch.public[: ch.n].copy()
    gone = takedown(model, 1000 * s, target="random", public_only=True)
    assert gone.size > 0 and public[gone].all()
    assert not (ch.active[: ch.n] & public).any()  # every public channel went
    assert (ch.active[: ch.n] & ~public).any()  # the private ones stayed


def test_members_of_a_removed_channel_find_its_successor() -> None:
    model = prepared(successor_find_prob=1.0, successor_search_days=30)
    ch, u = model.channels, model.users
    members = ch.members[: ch.n].copy()
    big = int(np.argmax(members))
    old_members = u.members[u.member_channel[u.members] == big]
    gone = takedown(model, model.scale, target="largest")
    assert gone.tolist() == [big]
    for _ in range(40):
        model.step()
    succ = ch.successor[big]
    if succ < 0:  # the owner quit (quit_base): nobody can find a successor
        pytest.skip("the owner of the largest channel quit")
    joined = np.count_nonzero(u.member_channel[old_members] == succ)
    assert joined >= 0.5 * old_members.size
    assert ch.public[succ] == ch.public[big] and ch.hub[succ] == ch.hub[big]


def test_takedown_labels() -> None:
    ev = TakedownEvent(
        date=dt.date(2015, 11, 18),
        platform="telegram",
        channels=78,
        target="largest",
        public_only=True,
    )
    assert ev.describe() == "takedown 78 largest public channels (telegram)"
    assert (
        "proportional"
        not in TakedownEvent(
            date=dt.date(2015, 11, 18), platform="telegram", channels=78
        ).describe()
    )


# --- the channel table's helpers -------------------------------------------------------------


def table(members: list[int], public: list[bool], hub: list[bool]) -> ChannelTable:
    ch = ChannelTable()
    ch.add(
        platform=0,
        operator=np.arange(len(members)),
        created=0,
        members=members,
        public=public,
        hub=hub,
    )
    return ch


def test_join_weights_defaults_are_members_plus_one() -> None:
    ch = table([0, 3, 10], [True, False, True], [False, False, True])
    ids = np.arange(3)
    np.testing.assert_array_equal(join_weights(ch, ids), [1.0, 4.0, 11.0])
    w = join_weights(ch, ids, attachment=2.0, public_weight=3.0, hub_weight=5.0, scale=10.0)
    # hub: hub_weight * ((members + 1) * scale) ** attachment / scale
    np.testing.assert_allclose(w, [3.0, 16.0, 5.0 * (11.0 * 10.0) ** 2 / 10.0])


def test_pick_channels_with_no_weight_picks_none() -> None:
    ch = table([0, 0], [False, False], [False, False])
    rng = np.random.default_rng(0)
    assert pick_channels(ch, np.arange(2), 5, rng, np.zeros(2)).size == 0
    assert pick_channels(ch, np.arange(2), 5, rng).size == 5
    tiny = pick_channels(ch, np.arange(2), 1000, rng, np.array([5e-324, 5e-324]))
    assert tiny.size == 1000 and set(tiny.tolist()) <= {0, 1}


def test_top_share_counts_real_channels() -> None:
    # two simulated channels of 10 members standing for 5 real ones each, and a hub of 100
    size, count = np.array([10.0, 10.0, 100.0]), np.array([5.0, 5.0, 1.0])
    total = 10 * 10 + 100
    assert top_share(size, count, 1.0) == pytest.approx(100 / total)
    assert top_share(size, count, 3.5) == pytest.approx((100 + 2.5 * 10) / total)
    assert top_share(size, count, 50.0) == 1.0
    assert np.isnan(top_share(np.zeros(2), np.ones(2), 10.0))


# --- properties ------------------------------------------------------------------------------


@example(  # tiny weights: a draw that rounds up to the total picks the last channel
    public_share=1.0,
    attachment=0.0,
    public_weight=5e-324,
    hub_weight=0.0,
    hubs=0,
    search_rate=0.0,
    successor=0.0,
    hazard=0.0,
    target="proportional",
    public_only=False,
    amount=0.0,
)
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    public_share=st.floats(0, 1),
    attachment=st.floats(0, 2),
    public_weight=st.floats(0, 100),
    hub_weight=st.floats(0, 1000),
    hubs=st.integers(0, 4),
    search_rate=st.floats(0, 0.05),
    successor=st.floats(0, 1),
    hazard=st.floats(0, 0.2),
    target=st.sampled_from(["proportional", "largest", "random"]),
    public_only=st.booleans(),
    amount=st.floats(0, 5000),
)
def test_members_are_conserved_and_nothing_is_negative(
    public_share: float,
    attachment: float,
    public_weight: float,
    hub_weight: float,
    hubs: int,
    search_rate: float,
    successor: float,
    hazard: float,
    target: str,
    public_only: bool,
    amount: float,
) -> None:
    sc = migrating(
        end="2015-02-20",
        moderation__telegram__channel_takedown_rate=hazard,
        channels=channel_settings(
            public_share=public_share,
            attachment=attachment,
            public_weight=public_weight,
            hub_weight=hub_weight,
            hubs=hubs,
            hubs_date="2015-01-05",
            search_rate=search_rate,
            successor_find_prob=successor,
            successor_search_days=10,
        ),
        timeline=[
            {
                "action": "takedown",
                "date": "2015-02-01",
                "platform": "telegram",
                "channels": amount,
                "target": target,
                "public_only": public_only,
            }
        ],
    )
    model = PropagandaModel(sc, 7)
    for _ in range(sc.warmup_days + sc.days):
        model.step()
        ch, u = model.channels, model.users
        n = ch.n
        member_of = u.member_channel[u.members]
        assert (member_of >= 0).all()
        # sum of channel members = users who are members; removed channels have none
        np.testing.assert_array_equal(np.bincount(member_of, minlength=n)[:n], ch.members[:n])
        assert ch.active[member_of].all()
        assert (ch.members[:n] >= 0).all()
        assert u.n_followers_of_pro == np.count_nonzero(u.n_following > 0)
    df = pd.DataFrame(model.table, columns=model.columns)
    enc = [c for c in df.columns if c.startswith("telegram.") and c != "telegram.top10_share"]
    assert (df[enc] >= 0).all().all()
    top = df["telegram.top10_share"].dropna()
    assert ((top >= 0) & (top <= 1 + 1e-12)).all()
    assert (df["telegram.largest_channel"] <= df["telegram.members"] + 1e-9).all()
    assert (df["telegram.public_channels"] <= df["telegram.channels"]).all()


# --- bad input -------------------------------------------------------------------------------


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="not an encrypted platform"):
        make_scenario(channels={"twitter": {"public_share": 0.5}})
    with pytest.raises(ValidationError, match="not an encrypted platform"):
        make_scenario(channels={"telegarm": {"public_share": 0.5}})
    with pytest.raises(ValidationError, match="hubs need a hubs_date"):
        make_scenario(channels=channel_settings(hubs=2))
    with pytest.raises(ValidationError, match="attachment"):
        make_scenario(channels=channel_settings(attachment=3.0))
    with pytest.raises(ValidationError, match="target"):
        make_scenario(
            timeline=[
                {
                    "action": "takedown",
                    "date": "2015-02-01",
                    "platform": "telegram",
                    "channels": 5,
                    "target": "biggest",
                }
            ]
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "channels:\n  telegarm:\n    public_share: 0.5\n",
            "c.yaml:2: channels.telegarm: channels names platform 'telegarm', which is not an "
            "encrypted platform of platforms (choose from ['telegram'])",
        ),
        (
            "channels:\n  telegram:\n    hubs: 3\n",
            "c.yaml:3: channels.telegram.hubs: hubs need a hubs_date (the day they open)",
        ),
        (
            "channels:\n  telegram:\n    search_rate: 2\n",
            "c.yaml:3: channels.telegram.search_rate:",
        ),
    ],
)
def test_a_scenario_file_gets_a_located_message(tmp_path: Path, text: str, expected: str) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert expected in str(err.value), str(err.value)
