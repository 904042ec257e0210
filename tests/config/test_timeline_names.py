"""Named timeline entries: the ``name`` rule, uniqueness, ``timeline_changes`` under ``extends``
(sim.config.loader), keys by name (sim.config.keys, ``--set``, ``--vary``) and a sensitivity lever
file by name on a variant (sim.analysis.plans)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.analysis.plans import sensitivity_plan, sweep_plan
from sim.config import keys
from sim.errors import ScenarioError
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHIPPED_NAMES = [
    "caliphate_declared",
    "surge_fades",
    "purge_2015",
    "suspension_ramp",
    "telegram_channels",
    "suspension_ramp_2",
    "telegram_takedown",
    "automated_flagging",
    # the mechanisms' entries (issue 14), in the baseline since issue 15
    "fall_of_mosul",
    "dawn_app_peak",
    "dawn_app_cut_off",
    "worldcup_hijacked",
    "worldcup_over",
    "foley_video",
    "paris_attacks",
    "twitter_faster",
    "brussels_attacks",
]


def variant(tmp_path: Path, body: str, name: str = "v.yaml") -> Path:
    """A file extending the shipped baseline with ``body``."""
    path = tmp_path / name
    path.write_text(f"extends: {BASELINE}\nname: v\n{body}", encoding="utf-8")
    return path


def error(path: Path, sets: list[str] | None = None) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, sets)
    return str(info.value)


def names(path: Path, sets: list[str] | None = None) -> list[str]:
    return [ev.name for ev in load_scenario(path, sets).timeline]


# --- names ------------------------------------------------------------------------------------


def test_every_baseline_entry_is_named() -> None:
    assert names(BASELINE) == SHIPPED_NAMES


@pytest.mark.parametrize("bad", ["2nd", "a.b", "a b", "_x", "ramp!"])
def test_a_bad_name_is_refused_at_its_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "name: x\ntimeline:\n  - action: purge\n    date: 2015-04-02\n"
        f"    name: '{bad}'\n    platform: twitter\n    accounts: 10\n",
        encoding="utf-8",
    )
    assert "x.yaml:5: timeline.0.name: a timeline entry's name must be a letter" in error(path)


def test_a_duplicate_name_is_refused_where_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "name: x\ntimeline:\n"
        "  - {name: cut, action: purge, date: 2015-04-02, platform: twitter, accounts: 10}\n"
        "  - {name: cut, action: purge, date: 2015-05-02, platform: twitter, accounts: 10}\n",
        encoding="utf-8",
    )
    message = error(path)
    assert "x.yaml:4: timeline.1.name: the name 'cut' is already taken by timeline entry 0" in (
        message
    )


def test_unnamed_entries_are_allowed_and_keep_positions(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "name: x\ntimeline:\n"
        "  - {action: purge, date: 2015-04-02, platform: twitter, accounts: 10}\n"
        "  - {action: purge, date: 2015-05-02, platform: twitter, accounts: 10}\n",
        encoding="utf-8",
    )
    s = load_scenario(path, ["timeline.1.accounts=20"])
    assert [ev.name for ev in s.timeline] == ["", ""]
    assert s.timeline[1].accounts == 20  # type: ignore[attr-defined]


# --- timeline_changes --------------------------------------------------------------------------


def test_change_sets_fields_in_place_and_merges_values(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        "timeline_changes:\n  change:\n"
        "    - {name: telegram_takedown, target: largest, label: L}\n"
        "    - {name: suspension_ramp, values: {moderation.twitter.flagging: 0.002}}\n",
    )
    s, base = load_scenario(path), load_scenario(BASELINE)
    assert [ev.name for ev in s.timeline] == SHIPPED_NAMES
    takedown = s.timeline[6]
    assert (takedown.target, takedown.label, takedown.date) == (  # type: ignore[attr-defined]
        "largest",
        "L",
        base.timeline[6].date,
    )
    assert s.timeline[3].values == {  # type: ignore[attr-defined]
        "moderation.twitter.intensity": 0.03,
        "moderation.twitter.flagging": 0.002,
    }
    for i in (0, 1, 2, 4, 5, 7):
        assert s.timeline[i] == base.timeline[i]


def test_change_to_another_action_replaces_the_entry(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        "timeline_changes:\n  change:\n"
        "    - {name: purge_2015, action: target, date: 2015-04-02, platform: twitter,\n"
        "       by: in_degree, accounts: 100}\n",
    )
    s = load_scenario(path)
    assert s.timeline[2].action == "target" and s.timeline[2].name == "purge_2015"
    assert s.timeline[2].label == ""  # (nothing kept from the purge)


def test_remove_and_add_keep_the_parents_order(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        "timeline_changes:\n  remove: [purge_2015, automated_flagging]\n  add:\n"
        "    - {name: late, action: purge, date: 2014-03-01, platform: twitter, accounts: 5}\n",
    )
    expected = [n for n in SHIPPED_NAMES if n not in ("purge_2015", "automated_flagging")]
    assert names(path) == [*expected, "late"]


def test_changes_apply_along_a_chain(tmp_path: Path) -> None:
    first = variant(tmp_path, "timeline_changes:\n  remove: [purge_2015]\n", "a.yaml")
    second = tmp_path / "b.yaml"
    second.write_text(
        f"extends: {first.name}\ntimeline_changes:\n  change:\n"
        "    - {name: surge_fades, date: 2015-02-01}\n",
        encoding="utf-8",
    )
    s = load_scenario(second)
    assert "purge_2015" not in [ev.name for ev in s.timeline]
    assert str(s.timeline[1].date) == "2015-02-01"


def test_a_child_timeline_still_replaces_the_parents(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        "timeline:\n  - {action: purge, date: 2015-04-02, platform: twitter, accounts: 5}\n",
    )
    assert names(path) == [""]


BAD_CHANGES = [
    (
        "timeline_changes:\n  change:\n    - {name: telegram_takdown, channels: 1}\n",
        "v.yaml:5: timeline_changes.change.0.name: no inherited timeline entry is named "
        "'telegram_takdown' — did you mean 'telegram_takedown'?",
    ),
    (
        "timeline_changes:\n  chnge:\n    - {name: telegram_takedown}\n",
        "v.yaml:4: timeline_changes.chnge: unknown key — did you mean 'change'?",
    ),
    (
        "timeline_changes:\n  remove: [purge_2015, purge_2051]\n",
        "v.yaml:4: timeline_changes.remove.1: no inherited timeline entry is named 'purge_2051'",
    ),
    (
        "timeline_changes:\n  remove: [purge_2015]\n  change:\n    - {name: purge_2015}\n",
        "v.yaml:4: timeline_changes.remove.0: 'purge_2015' is already under change:",
    ),
    (
        "timeline_changes:\n  add:\n    - {name: surge_fades, action: purge, date: 2015-01-01,"
        " platform: twitter, accounts: 1}\n",
        "v.yaml:5: timeline_changes.add.0.name: the inherited timeline already has an entry "
        "named 'surge_fades'; use change:",
    ),
    (
        "timeline_changes:\n  change:\n    - {channels: 1}\n",
        "v.yaml:5: timeline_changes.change.0: a change needs the 'name'",
    ),
    (
        "timeline_changes: [purge_2015]\n",
        "v.yaml:3: timeline_changes: expected a section with change:, remove:, add:",
    ),
    (
        "timeline_changes:\n  remove: purge_2015\n",
        "v.yaml:4: timeline_changes.remove: expected a list of names",
    ),
    (
        "timeline: []\ntimeline_changes:\n  remove: [purge_2015]\n",
        "v.yaml:4: timeline_changes: give either 'timeline:'",
    ),
    (  # a problem inside a changed entry: the variant's line, the entry by name
        "timeline_changes:\n  change:\n    - {name: telegram_takedown,\n       channels: -1}\n",
        "v.yaml:6: timeline.telegram_takedown.channels: must be >= 0, got -1",
    ),
]


@pytest.mark.parametrize(("body", "text"), BAD_CHANGES)
def test_bad_changes_are_located(tmp_path: Path, body: str, text: str) -> None:
    assert text in error(variant(tmp_path, body))


def test_changes_need_extends(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\ntimeline_changes:\n  remove: [a]\n", encoding="utf-8")
    assert "x.yaml:2: timeline_changes: timeline_changes changes the timeline of the scenario" in (
        error(path)
    )


def test_an_unknown_top_key_suggests_timeline_changes(tmp_path: Path) -> None:
    path = variant(tmp_path, "timeline_change:\n  remove: [purge_2015]\n")
    assert "did you mean 'timeline_changes'?" in error(path)


# --- keys by name ------------------------------------------------------------------------------


def test_set_by_name_and_position_reach_the_same_entry() -> None:
    by_name = load_scenario(
        BASELINE,
        [
            "timeline.purge_2015.accounts=20000",
            "timeline.suspension_ramp.values.moderation.twitter.intensity=0.05",
        ],
    )
    by_position = load_scenario(
        BASELINE,
        ["timeline.2.accounts=20000", "timeline.3.values.moderation.twitter.intensity=0.05"],
    )
    assert by_name == by_position
    assert by_name.timeline[2].accounts == 20000  # type: ignore[attr-defined]


def test_set_by_an_unknown_name_suggests_one() -> None:
    message = error(BASELINE, ["timeline.purge_2051.accounts=1"])
    assert "--set timeline.purge_2051.accounts=1: 'purge_2051' is not a position or name" in message
    assert "did you mean 'purge_2015'?" in message


def test_a_bad_value_set_by_name_names_the_override() -> None:
    message = error(BASELINE, ["timeline.telegram_takedown.channels=-3"])
    assert "--set timeline.telegram_takedown.channels=-3: must be >= 0, got -3" in message


def test_keys_walk_named_items_of_models_and_dicts() -> None:
    s = load_scenario(BASELINE)
    assert keys.get(s, "timeline.surge_fades.date") == s.timeline[1].date
    dump = s.model_dump(mode="python")
    key = "timeline.suspension_ramp_2.values.moderation.twitter.intensity"
    assert keys.get(dump, key) == 0.04
    keys.set(dump, key, 0.05)
    assert dump["timeline"][5]["values"]["moderation.twitter.intensity"] == 0.05
    assert keys.item_names(dump["timeline"])["automated_flagging"] == 7
    with pytest.raises(keys.KeyPathError, match="did you mean 'surge_fades'"):
        keys.get(dump, "timeline.surge_fade.date")


def test_vary_by_name_on_a_variant_that_shifts_positions(tmp_path: Path) -> None:
    path = variant(tmp_path, "timeline_changes:\n  remove: [purge_2015]\n")
    plan = sweep_plan(
        str(path),
        [],
        ["timeline.suspension_ramp.values.moderation.twitter.intensity=0.01,0.05"],
        "grid",
        None,
        1,
        1,
        Path,
    )
    got = [
        s.timeline[2].values["moderation.twitter.intensity"]  # type: ignore[union-attr]
        for s in plan.scenarios
    ]
    assert got == [0.01, 0.05]
    assert all(s.timeline[2].name == "suspension_ramp" for s in plan.scenarios)  # type: ignore


def test_the_shipped_lever_file_works_on_a_variant_that_shifts_positions(tmp_path: Path) -> None:
    """scenarios/sensitivity/levers.yaml names the baseline's entries: on a variant without the
    purge (every later entry one position earlier) its levers still reach the same events."""
    path = variant(tmp_path, "timeline_changes:\n  remove: [purge_2015]\n")
    levers = ROOT / "scenarios" / "sensitivity" / "levers.yaml"
    plan, _ = sensitivity_plan(str(path), [], str(levers), "morris", 2, 1, 1, Path, Path)
    for point, s in zip(plan.points, plan.scenarios, strict=True):
        assert s is not None
        x = point["suspension_intensity"]
        ramp = {ev.name: ev for ev in s.timeline}
        assert ramp["suspension_ramp"].values == {  # type: ignore[attr-defined]
            "moderation.twitter.intensity": pytest.approx(0.03 * x)
        }
        assert ramp["suspension_ramp_2"].values == {  # type: ignore[attr-defined]
            "moderation.twitter.intensity": pytest.approx(0.04 * x)
        }
        pull = ramp["telegram_channels"].values["platforms.telegram.pull"]  # type: ignore
        assert pull == point["migration_pull"]
