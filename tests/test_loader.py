"""Tests of sim.config.loader: extends, --set overrides, and clear messages for malformed scenarios.

Each file in tests/scenarios_bad/ marks the line its error must be reported at with ``# ERROR``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.components.moderation import PurgeEvent
from sim.components.policy import SetEvent
from sim.config.loader import parse_set, scenario_to_yaml
from sim.errors import ScenarioError
from sim.scenario import Scenario, load_scenario

HERE = Path(__file__).parent
OK = HERE / "scenarios_ok"
BAD = HERE / "scenarios_bad"


def marked_line(path: Path) -> int:
    """The 1-based line of ``path`` that carries the ``# ERROR`` marker."""
    for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
        if b"# ERROR" in line:
            return number
    raise AssertionError(f"no '# ERROR' marker in {path}")


def load_error(path: Path, overrides: list[str] | None = None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value


# --- malformed scenario files -----------------------------------------------------------------

# (file loaded, file that holds the error, dotted key or None, text the message must contain)
BAD_CASES = [
    ("top_level_typo", None, "replicatse", "unknown key — did you mean 'replicates'?"),
    ("nested_typo", None, "moderation.twitter.intensty", "unknown key — did you mean 'intensity'?"),
    ("wrong_type", None, "population.users", "expected a number, got 'lots'"),
    ("negative_scale", None, "scale", "must be >= 1, got -3"),
    ("bad_date", None, "end", "not a valid date (YYYY-MM-DD), got '2016-13-01'"),
    ("end_before_start", None, "end", "end 2015-01-01 is before start 2016-01-01"),
    ("counter_end_before_start", None, "counter.gov.end", "is before start"),
    ("missing_extends", None, "extends", "'no_such_parent.yaml' not found"),
    ("circular_a", "circular_b", "extends", "circular extends"),
    ("syntax_error", None, None, "YAML syntax error"),
    ("tabs", None, None, "tabs"),
    ("python_tag", None, None, "'!!python/object/apply:os.getcwd' is not allowed"),
    ("language_sum", None, "population.languages", "must sum to 1, they sum to 1.2"),
    ("unknown_action", None, "timeline.1.action", "unknown action 'purg' — did you mean 'purge'?"),
    (
        "timeline_set_unknown_key",
        None,
        "timeline.0.values.moderation.twiter.intensity",
        "did you mean 'twitter'?",
    ),
    (
        "timeline_set_out_of_range",
        None,
        "timeline.0.values.moderation.twitter.flagging",
        "must be <= 1, got 3",
    ),
    ("set_not_numeric", None, "timeline.0.values.platforms.twitter.kind", "not numeric"),
    ("set_fixed_at_start", None, "timeline.0.values.population.users", "fixed when the run starts"),
    ("timeline_date_outside", None, "timeline.1.date", "2009-04-02 is before the warm-up begins"),
    ("purge_encrypted", None, "timeline.0.platform", "purge needs an open platform"),
    ("moderation_unknown_platform", None, "moderation.twiter", "did you mean 'twitter'?"),
    ("literal_typo", None, "platforms.twitter.kind", "got 'opne' — did you mean 'open'?"),
    ("missing_field", None, "timeline.0.platform", "required key is missing"),
    ("duplicate_key", None, None, "duplicate key 'seed' (already given at line 2)"),
    ("non_mapping", None, None, "top level"),
    ("empty", None, None, "empty"),
    ("not_utf8", None, None, "not a UTF-8 text file"),
]


@pytest.mark.parametrize(
    ("name", "culprit", "key", "text"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_bad_scenario_gives_one_clear_message(
    name: str, culprit: str | None, key: str | None, text: str
) -> None:
    where = BAD / f"{culprit or name}.yaml"
    line = marked_line(where)
    err = load_error(BAD / f"{name}.yaml")
    message = str(err)
    first = message.splitlines()[0]
    assert first.startswith(f"{where}:{line}: "), message
    assert text in first, message
    assert err.path == where
    assert err.line == line
    assert err.key == key
    if key:
        assert f": {key}: " in first, message
    assert "Traceback" not in message and "pydantic" not in message, message


def test_at_least_a_dozen_bad_files_are_covered() -> None:
    files = {p.stem for p in BAD.glob("*.yaml")}
    covered = {c[0] for c in BAD_CASES} | {c[1] for c in BAD_CASES if c[1]}
    assert files == covered
    assert len(files) >= 12


def test_circular_extends_names_both_files() -> None:
    message = str(load_error(BAD / "circular_a.yaml"))
    assert "circular_a.yaml -> " in message and "circular_b.yaml -> " in message


def test_missing_file() -> None:
    err = load_error(BAD / "no_such_file.yaml")
    assert str(err) == f"{BAD / 'no_such_file.yaml'}: file not found"
    assert err.line is None


def test_folder_instead_of_file() -> None:
    assert "folder" in str(load_error(BAD))


def test_python_tag_is_never_executed(tmp_path: Path) -> None:
    flag = tmp_path / "pwned"
    bad = tmp_path / "evil.yaml"
    bad.write_text(f'name: evil\ndescription: !!python/object/apply:os.system ["touch {flag}"]\n')
    err = load_error(bad)
    assert err.line == 2 and "not allowed" in str(err)
    assert not flag.exists()


def test_several_errors_are_all_reported_one_per_line(tmp_path: Path) -> None:
    f = tmp_path / "many.yaml"
    f.write_text("name: many\nscale: 0\nseed: -1\npopulation:\n  userz: 5\n")
    lines = str(load_error(f)).splitlines()
    assert [line.split(":")[1] for line in lines] == ["2", "3", "5"]
    assert "did you mean 'users'?" in lines[2]


def test_errors_in_an_extended_file_name_that_file(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text("name: parent\nreplicates: 0\n")
    (tmp_path / "kid.yaml").write_text("extends: parent.yaml\nname: kid\n")
    err = load_error(tmp_path / "kid.yaml")
    assert str(err).startswith(f"{tmp_path / 'parent.yaml'}:2: replicates: must be >= 1, got 0")


def test_extends_must_be_a_file_name(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_text("name: x\nextends: [a.yaml]\n")
    err = load_error(f)
    assert err.line == 2 and err.key == "extends"


def test_impossible_date_is_reported_with_its_key(tmp_path: Path) -> None:
    f = tmp_path / "feb.yaml"
    f.write_text("name: feb\nstart: 2015-02-30\n")
    assert str(load_error(f)) == f"{f}:2: start: not a valid date (YYYY-MM-DD), got '2015-02-30'"


# --- extends --------------------------------------------------------------------------------


def test_extends_deep_merges_and_child_wins() -> None:
    base = load_scenario(OK / "base.yaml")
    child = load_scenario(OK / "child.yaml")
    assert child.name == "test_child"
    assert child.moderation["twitter"].intensity == 0.002  # overridden by the child
    assert child.moderation["twitter"].flagging == 0.01  # sibling kept from the parent
    assert child.moderation["telegram"] == base.moderation["telegram"]  # other entry kept
    assert child.population == base.population
    assert child.counter == base.counter


def test_extends_replaces_lists() -> None:
    child = load_scenario(OK / "child.yaml")
    assert len(child.timeline) == 1
    assert isinstance(child.timeline[0], PurgeEvent)
    assert child.timeline[0].date == dt.date(2015, 6, 1)


def test_extends_chain() -> None:
    s = load_scenario(OK / "grandchild.yaml")
    assert s.name == "test_grandchild"
    assert s.population.users == 200_000
    assert s.population.languages.arabic == 0.5  # from base, two levels up
    assert s.moderation["twitter"].intensity == 0.002  # from child
    assert len(s.timeline) == 1


def test_loaded_file_equals_plain_validation() -> None:
    import yaml

    plain = yaml.safe_load((OK / "base.yaml").read_text())
    assert load_scenario(str(OK / "base.yaml")) == Scenario.model_validate(plain)


# --- --set overrides ------------------------------------------------------------------------


def test_overrides_numbers_dates_and_dict_sections() -> None:
    s = load_scenario(
        OK / "child.yaml",
        [
            "scale=40",
            "end=2016-01-31",
            "moderation.twitter.intensity=0.01",
            "population.attitude_mean=-0.2",
            "timeline.0.accounts=7",
            "name=variant_1",
        ],
    )
    assert s.scale == 40.0
    assert s.end == dt.date(2016, 1, 31)
    assert s.moderation["twitter"].intensity == 0.01
    assert s.moderation["twitter"].flagging == 0.01  # siblings untouched
    assert s.population.attitude_mean == -0.2
    event = s.timeline[0]
    assert isinstance(event, PurgeEvent) and event.accounts == 7
    assert s.name == "variant_1"


def test_override_inside_timeline_set_values() -> None:
    s = load_scenario(OK / "base.yaml", ["timeline.0.values.moderation.twitter.intensity=0.02"])
    event = s.timeline[0]
    assert isinstance(event, SetEvent)
    assert event.values == {"moderation.twitter.intensity": 0.02}


def test_override_of_a_section_absent_from_the_file_starts_from_its_defaults() -> None:
    # accounts.languages defaults to 0.73/0.18/0.09 (not the class defaults 0.6/0.25/0.15)
    s = load_scenario(
        OK / "base.yaml", ["accounts.languages.other=0.09", "observation.pro_recall=0.5"]
    )
    assert s.accounts.languages.as_array() == pytest.approx([0.73, 0.18, 0.09])
    assert s.observation.pro_recall == 0.5
    assert s.observation.anti_recall == Scenario().observation.anti_recall


def test_later_override_wins_and_file_is_not_changed() -> None:
    s = load_scenario(OK / "base.yaml", ["seed=3", "seed=4"])
    assert s.seed == 4
    assert load_scenario(OK / "base.yaml").seed == 7


BAD_OVERRIDES = [
    ("scale", "expected key=value"),
    ("=3", "expected key=value"),
    ("population.users=", "no value"),
    ("replicatse=3", "unknown key 'replicatse' — did you mean 'replicates'?"),
    ("moderation.twitter.intensty=0.1", "did you mean 'intensity'?"),
    ("moderation.twiter.intensity=0.1", "unknown entry 'twiter' in moderation — did you mean"),
    ("counter.arabic.messengers=3", "unknown entry 'arabic' in counter"),
    ("timeline.5.date=2015-01-01", "'5' is not a position in timeline (positions: 0..2)"),
    ("start.day=3", "'start' is not a section"),
    ("scale=abc", "expected a number, got 'abc'"),
    ("moderation.twitter.intensity=2", "must be <= 1, got 2"),
    ("end=2015-13-45", "not a valid date"),
    ("platforms.twitter.kind=opn", "did you mean 'open'?"),
]


@pytest.mark.parametrize(("override", "text"), BAD_OVERRIDES)
def test_bad_override_names_the_override(override: str, text: str) -> None:
    message = str(load_error(OK / "base.yaml", [override]))
    assert f"--set {override}: " in message
    assert text in message


def test_override_that_breaks_a_cross_check_is_mentioned() -> None:
    message = str(load_error(OK / "base.yaml", ["start=2016-02-01"]))
    assert "is before start" in message and "(with --set start=2016-02-01)" in message


def test_parse_set_reads_values_as_yaml() -> None:
    assert parse_set(["a.b=3", "c=0.5", "d=2015-01-02", "e=true", "f=text", "g=x=y"]) == {
        "a.b": 3,
        "c": 0.5,
        "d": dt.date(2015, 1, 2),
        "e": True,
        "f": "text",
        "g": "x=y",
    }
    assert parse_set(None) == {}
    with pytest.raises(ScenarioError, match="--set nothing"):
        parse_set(["nothing"])


# --- dumping --------------------------------------------------------------------------------


def test_scenario_to_yaml_round_trips(tmp_path: Path) -> None:
    s = load_scenario(OK / "grandchild.yaml", ["scale=100"])
    text = scenario_to_yaml(s)
    assert "start: 2015-01-01\n" in text
    out = tmp_path / "resolved.yaml"
    out.write_text(text)
    assert load_scenario(out) == s


# --- robustness -----------------------------------------------------------------------------

BASE_LINES = (OK / "base.yaml").read_text().splitlines()
NASTY = [
    "", "-", "[", "]", "{", "}", ":", "'", '"', "*x", "&a", "!!python/object:os.system",
    "!!binary ?", "!foo bar", "null", "~", "-1", "1e400", ".nan", "2015-02-30", "- a", "{a: 1}",
    "[1, 2]", "yes", "%", "@", "`", "\t", "a: b: c", "? x",
]  # fmt: skip
values = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=15),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats().map(str),
)
keys = st.one_of(
    st.sampled_from(["name", "scale", "users", "twitter", "extends", "action", "timeline", "end"]),
    st.text(min_size=1, max_size=10),
)


def mutate(data: st.DataObject, lines: list[str]) -> str:
    lines = list(lines)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["value", "insert", "delete", "key"]))
        indent = " " * (len(lines[i]) - len(lines[i].lstrip()))
        if op == "value" and ":" in lines[i]:
            lines[i] = lines[i].split(":", 1)[0] + ": " + data.draw(values)
        elif op == "insert":
            spaces = data.draw(st.sampled_from(["", indent, indent + "  ", " "]))
            lines.insert(i, f"{spaces}{data.draw(keys)}: {data.draw(values)}")
        elif op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "key" and ":" in lines[i]:
            lines[i] = indent + data.draw(keys) + ":" + lines[i].split(":", 1)[1]
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_garbage_mutations_load_or_raise_scenario_error(data: st.DataObject) -> None:
    text = mutate(data, BASE_LINES)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutated.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_scenario(path)
        except ScenarioError as err:
            message = str(err)
            assert message.startswith(str(path)), message
            assert "Traceback" not in message


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.text(max_size=30), st.builds("{}={}".format, keys, values)), max_size=3)
)
def test_garbage_overrides_load_or_raise_scenario_error(overrides: list[str]) -> None:
    try:
        load_scenario(OK / "base.yaml", overrides)
    except ScenarioError as err:
        assert str(err)


# --- issue 17.10-17.12: extends loops and chains, file and timeline size, tags ---------------


def test_extends_symlink_loop_long_chain_and_foreign_files(tmp_path: Path) -> None:
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "a.yaml").write_text("name: a\nextends: loop1\n")
    err = load_error(tmp_path / "a.yaml")
    assert (err.line, err.key) == (2, "extends") and "loop of symbolic links" in str(err)
    for i in range(60):
        (tmp_path / f"c{i}.yaml").write_text(f"extends: c{i + 1}.yaml\n")
    (tmp_path / "c60.yaml").write_text("name: x\n")
    err = load_error(tmp_path / "c0.yaml")
    assert "at most 20 files (this one starts at" in str(err) and err.key == "extends"
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:TOPSECRET:/root:/bin/bash\n")
    (tmp_path / "b.yaml").write_text(f"extends: {secret}\n")
    message = str(load_error(tmp_path / "b.yaml"))
    assert "TOPSECRET" not in message and "expected 'key: value' lines" in message


def test_size_limits_of_files_and_timelines(tmp_path: Path) -> None:
    from sim.config.loader import MAX_FILE_BYTES
    from sim.config.schema import MAX_TIMELINE_EVENTS

    big = tmp_path / "big.yaml"
    big.write_text("name: big\ndescription: '" + "x" * MAX_FILE_BYTES + "'\n")
    assert f"at most {MAX_FILE_BYTES:,}" in str(load_error(big))
    many = tmp_path / "many.yaml"
    event = "  - {action: purge, date: 2015-02-01, platform: twitter, accounts: 1}\n"
    many.write_text(f"extends: {OK / 'base.yaml'}\ntimeline:\n" + event * (MAX_TIMELINE_EVENTS + 1))
    err = load_error(many)
    assert err.key == "timeline" and f"at most {MAX_TIMELINE_EVENTS}" in str(err)


@pytest.mark.parametrize("tag", ["!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]"])
def test_loose_typing_tags_are_refused(tmp_path: Path, tag: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(f"name: t\ndescription: {tag}\n")
    err = load_error(path)
    assert err.line == 2 and "is not allowed: scenario files hold plain values only" in str(err)


# --- overlay: values laid over a file's own (the calibrated overlay) --------------------------


def test_overlay_wins_over_the_file_and_its_parent_and_a_child_wins_over_both(
    tmp_path: Path,
) -> None:
    (tmp_path / "values.yaml").write_text(
        "moderation:\n  twitter:\n    intensity: 0.005\npopulation:\n  users: 123000\n"
    )
    (tmp_path / "mid.yaml").write_text(
        f"extends: {OK / 'base.yaml'}\noverlay: values.yaml\nname: mid\n"
        "moderation:\n  twitter:\n    intensity: 0.001\n"
    )
    (tmp_path / "kid.yaml").write_text("extends: mid.yaml\nname: kid\npopulation:\n  users: 7000\n")
    base, mid, kid = (
        load_scenario(p)
        for p in (OK / "base.yaml", *[tmp_path / "mid.yaml", tmp_path / "kid.yaml"])
    )
    assert mid.moderation["twitter"].intensity == 0.005  # the overlay over the file's own
    assert mid.population.users == 123000  # the overlay over the parent's
    assert mid.moderation["twitter"].flagging == base.moderation["twitter"].flagging  # (merged)
    assert (kid.population.users, kid.moderation["twitter"].intensity) == (7000, 0.005)


def test_overlay_changes_named_timeline_entries(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text(
        "timeline_changes:\n  change:\n"
        "    - {name: ramp, values: {moderation.twitter.flagging: 0.5}}\n"
    )
    (tmp_path / "s.yaml").write_text(
        f"extends: {OK / 'base.yaml'}\noverlay: values.yaml\nname: s\ntimeline:\n"
        "  - {name: ramp, action: set, date: 2015-06-01,\n"
        "     values: {moderation.twitter.intensity: 0.01}}\n"
    )
    (event,) = load_scenario(tmp_path / "s.yaml").timeline
    assert event.values == {  # type: ignore[union-attr]
        "moderation.twitter.intensity": 0.01,
        "moderation.twitter.flagging": 0.5,
    }


@pytest.mark.parametrize(
    ("values", "line", "key", "text"),
    [
        ("name: x\nextends: a.yaml\n", 2, "extends", "an overlay holds values only"),
        ("overlay: b.yaml\n", 1, "overlay", "an overlay holds values only"),
        ("timeline: []\n", 1, "timeline", "a whole 'timeline:' is not allowed here"),
        (
            "timeline_changes:\n  change:\n    - {name: nope, date: 2015-01-01}\n",
            3,
            "timeline_changes.change.0.name",
            "no inherited timeline entry is named 'nope'",
        ),
        ("population:\n  users: -5\n", 2, "population.users", "must be > 0, got -5"),
    ],
)
def test_bad_overlays_are_located_in_the_overlay(
    tmp_path: Path, values: str, line: int, key: str, text: str
) -> None:
    overlay = tmp_path / "values.yaml"
    overlay.write_text(values)
    (tmp_path / "s.yaml").write_text(
        f"extends: {OK / 'base.yaml'}\noverlay: values.yaml\nname: s\n"
    )
    err = load_error(tmp_path / "s.yaml")
    assert (err.path, err.line, err.key) == (overlay, line, key)
    assert text in str(err)


def test_a_missing_or_circular_overlay_is_located(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("name: s\noverlay: gone.yaml\n")
    err = load_error(tmp_path / "s.yaml")
    assert (err.line, err.key) == (2, "overlay") and "'gone.yaml' not found" in str(err)
    (tmp_path / "self.yaml").write_text("name: s\noverlay: self.yaml\n")
    err = load_error(tmp_path / "self.yaml")
    assert err.key == "overlay" and "circular overlay" in str(err)


def test_an_unknown_top_key_suggests_overlay(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("name: s\noverlya: x.yaml\n")
    assert "did you mean 'overlay'?" in str(load_error(tmp_path / "s.yaml"))
