"""Validation locations as data (sim.config.problems): every validator that raises ``problem``
is reported at the file, line and dotted key it is about, with the message it wrote."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError, model_validator

from sim.analysis.problem import load_priors, load_targets
from sim.analysis.sensitivity import load_params
from sim.config.loader import ScenarioError, load_yaml_model
from sim.config.problems import PROBLEM_TYPE, is_problem, problem, within
from sim.config.schema import check_settable
from sim.scenario import Scenario, load_scenario

# --- the helper -------------------------------------------------------------------------------


def test_problem_carries_its_location_as_data() -> None:
    err = problem("bad name", at=("moderation", "twiter"), value="twiter", choices=["twitter"])
    assert isinstance(err, ValueError)  # callers outside validation catch it as one
    assert str(err) == "bad name"
    assert err.type == PROBLEM_TYPE and is_problem(err)
    assert err.context == {
        "message": "bad name",
        "at": ("moderation", "twiter"),
        "value": "twiter",
        "choices": ("twitter",),
    }
    assert problem("x").context == {"message": "x", "at": ()}
    assert problem("x", explain_set=True).context == {"message": "x", "at": (), "explain_set": True}


def test_within_prefixes_a_problem_and_locates_a_plain_value_error() -> None:
    inner = within(("timeline", 2), problem("wrong", at=("platform",), value="x", choices=["y"]))
    assert inner.context is not None
    assert inner.context["at"] == ("timeline", 2, "platform")
    assert inner.context["choices"] == ("y",) and str(inner) == "wrong"
    plain = within(("timeline", 2), ValueError("from an older check"))
    assert is_problem(plain) and plain.context == {
        "message": "from an older check",
        "at": ("timeline", 2),
    }
    assert not is_problem(ValueError("plain"))


def test_problem_in_pydantic_errors_keeps_its_context() -> None:
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate({"start": "2016-01-01", "end": "2015-01-01"})
    (e,) = info.value.errors()
    assert e["type"] == PROBLEM_TYPE
    assert e["msg"] == "end 2015-01-01 is before start 2016-01-01"
    assert e["ctx"]["at"] == ("end",)


def test_check_settable_is_usable_directly() -> None:
    sc = Scenario()
    check_settable(sc, "population.share_prob", 0.5)  # fine: no error
    with pytest.raises(ValueError, match=r"^'population.users' is fixed when the run starts"):
        check_settable(sc, "population.users", 3.0)
    with pytest.raises(ValueError, match=r"^'population.share_prob'=2.0 is invalid"):
        check_settable(sc, "population.share_prob", 2.0)
    with pytest.raises(
        ValueError, match=r"is not a scenario key \(unknown key 'nope' in population"
    ):
        check_settable(sc, "population.nope", 1.0)


# --- each structured validator, reported at file:line: key ------------------------------------


def first_line(path: Path, text: str, overrides: list[str] | None = None) -> tuple[str, str]:
    """(the first line of the error for a scenario file holding ``text``, its 'file:line: key'
    from the error's attributes)."""
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    err = info.value
    return str(err).splitlines()[0], f"{err.path}:{err.line}: {err.key}"


THREE_ENCRYPTED = """platforms:
  twitter: {kind: open}
  t1: {kind: encrypted, invite_share: 0.2}
  t2: {kind: encrypted, invite_share: 0.2}
  t3: {kind: encrypted, invite_share: 0.1}
"""

# (text of the scenario file, line, dotted key, the rest of the first line of the message)
LOCATED = [
    pytest.param(
        "name: x\nstart: 2016-01-01\nend: 2015-01-01\n",
        3,
        "end",
        "end 2015-01-01 is before start 2016-01-01",
        id="end-before-start",
    ),
    pytest.param(
        "name: x\nstart: 2017-01-01\n",
        2,
        "start",
        "end 2016-06-30 is before start 2017-01-01",
        id="start-after-default-end",
    ),
    pytest.param(
        "timeline:\n  - action: redirect\n    date: 2015-01-01\n    share: 0.1\n"
        "  - action: redirect\n    date: 2001-01-01\n    share: 0.2\n",
        6,
        "timeline.1.date",
        "date 2001-01-01 is before the warm-up begins (2013-11-02); events after the end are "
        "allowed and ignored",
        id="timeline-date",
    ),
    pytest.param(
        "name: x\nplatforms:\n  twitter: {kind: open}\n  tele-gram: {kind: encrypted}\n",
        4,
        "platforms.tele-gram",
        "platform name 'tele-gram' must be a simple identifier",
        id="platform-name",
    ),
    pytest.param(
        "population:\n  languages:\n    arabic: 0.9\n",
        2,
        "population.languages",
        "language shares must sum to 1, they sum to 1.3",
        id="language-shares",
    ),
    pytest.param(
        "accounts:\n  posting:\n    shares: [0.5, 0.5]\n    knots: [1, 2, 3, 4]\n",
        4,
        "accounts.posting.knots",
        "knots must have exactly one more entry than shares",
        id="knots-count",
    ),
    pytest.param(
        "accounts:\n  posting:\n    knots: [1, 0.5, 5, 50, 150]\n",
        3,
        "accounts.posting.knots",
        "knots must be positive and increasing",
        id="knots-order",
    ),
    pytest.param(
        "accounts:\n  posting:\n    multiplier: 2\n    shares: [0.5, 0.6, 0.0, 0.0]\n",
        4,
        "accounts.posting.shares",
        "shares must be non-negative and sum to 1",
        id="shares-sum",
    ),
    pytest.param(
        THREE_ENCRYPTED + "accounts:\n  shoutout_share: 0.5\n",
        7,
        "accounts.shoutout_share",
        "accounts.shoutout_share plus the encrypted platforms' invite_share come to 1; they are "
        "shares of the same posts and must stay below 0.95",
        id="post-shares",
    ),
    pytest.param(
        THREE_ENCRYPTED + "timeline:\n  - action: set\n    date: 2015-06-01\n    values:\n"
        "      platforms.t1.pull: 0.5\n      accounts.shoutout_share: 0.5\n",
        11,
        "timeline.0.values.accounts.shoutout_share",
        "from 2015-06-01, accounts.shoutout_share plus the encrypted platforms' invite_share "
        "come to 1;",
        id="post-shares-timeline",
    ),
    pytest.param(
        "moderation:\n  twitter: {intensity: 0.001}\n  twiter:\n    intensity: 0.01\n",
        3,
        "moderation.twiter",
        "moderation names platform 'twiter', which is not defined in platforms "
        "(twitter, telegram) — did you mean 'twitter'?",
        id="moderation-platform",
    ),
    pytest.param(
        "timeline:\n  - action: purge\n    date: 2015-04-02\n    accounts: 5\n"
        "    platform: twiter\n",
        5,
        "timeline.0.platform",
        "purge needs an open platform; 'twiter' is not one (choose from ['twitter']) — did you "
        "mean 'twitter'?",
        id="purge-typo",
    ),
    pytest.param(
        "timeline:\n  - action: takedown\n    date: 2015-04-02\n    platform: twitter\n"
        "    channels: 5\n",
        4,
        "timeline.0.platform",
        "takedown needs an encrypted platform; 'twitter' is not one (choose from ['telegram'])",
        id="takedown-open-platform",
    ),
    pytest.param(
        "timeline:\n  - action: takedown\n    date: 2015-04-02\n    platform: telgram\n"
        "    channels: 5\n",
        4,
        "timeline.0.platform",
        "takedown needs an encrypted platform; 'telgram' is not one (choose from ['telegram']) "
        "— did you mean 'telegram'?",
        id="takedown-typo",
    ),
    pytest.param(
        "timeline:\n  - action: set\n    date: 2015-04-02\n    values:\n"
        "      population.share_prob: 0.1\n      accounts.posting.knots: 3\n",
        6,
        "timeline.0.values.accounts.posting.knots",
        "'accounts.posting.knots' is fixed when the run starts and cannot be changed by the "
        "timeline; set it in the scenario itself",
        id="set-fixed",
    ),
    pytest.param(
        "timeline:\n  - action: set\n    date: 2015-04-02\n    values:\n"
        "      population.shareprob: 0.1\n",
        5,
        "timeline.0.values.population.shareprob",
        "not a scenario key: unknown key 'shareprob' in population — did you mean 'share_prob'?",
        id="set-unknown-key",
    ),
    pytest.param(
        "timeline:\n  - action: set\n    date: 2015-04-02\n    values:\n"
        "      population.share_prob: 1.5\n",
        5,
        "timeline.0.values.population.share_prob",
        "must be <= 1, got 1.5",
        id="set-out-of-range",
    ),
    pytest.param(
        "counter:\n  gov:\n    start: 2015-06-01\n    end: 2015-02-01\n",
        4,
        "counter.gov.end",
        "end 2015-02-01 is before start 2015-06-01",
        id="counter-dates",
    ),
    pytest.param(
        "redirect:\n  start: 2015-06-01\n  end: 2015-02-01\n",
        3,
        "redirect.end",
        "end 2015-02-01 is before start 2015-06-01",
        id="redirect-dates",
    ),
    pytest.param(
        "redirect:\n  share: 0.1\n  platforms:\n    - twitter\n    - twiter\n",
        5,
        "redirect.platforms.1",
        "'twiter' is not an open platform (choose from ['twitter']) — did you mean 'twitter'?",
        id="redirect-platform-typo",
    ),
    pytest.param(
        "redirect:\n  share: 0.1\n  platforms: [telegram]\n",
        3,
        "redirect.platforms.0",
        "'telegram' is not an open platform (choose from ['twitter'])",
        id="redirect-encrypted-platform",
    ),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), LOCATED)
def test_validator_problem_is_reported_at_its_key(
    tmp_path: Path, text: str, line: int, key: str, message: str
) -> None:
    path = tmp_path / "s.yaml"
    first, head = first_line(path, text)
    assert head == f"{path}:{line}: {key}"
    assert first.startswith(f"{path}:{line}: {key}: {message}"), first
    assert "timeline[" not in first  # no location written into the message itself


def test_problem_in_an_extended_file_names_that_file(tmp_path: Path) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text("name: p\nmoderation:\n  twiter: {intensity: 0.1}\n")
    first, head = first_line(tmp_path / "kid.yaml", "extends: parent.yaml\nname: kid\n")
    assert first.startswith(f"{parent}:3: moderation.twiter: moderation names platform"), first
    assert head == f"{parent}:3: moderation.twiter"


def test_problem_caused_by_an_override_mentions_it(tmp_path: Path) -> None:
    text = "platforms:\n  twitter: {kind: open}\n  x: {kind: open}\ntimeline:\n"
    text += "  - action: purge\n    date: 2015-04-02\n    platform: x\n    accounts: 5\n"
    first, head = first_line(tmp_path / "s.yaml", text, ["platforms.x.kind=encrypted"])
    assert head == f"{tmp_path / 's.yaml'}:7: timeline.0.platform"
    assert first.startswith(f"{head}: purge needs an open platform; 'x' is not one"), first
    assert first.endswith("(with --set platforms.x.kind=encrypted)"), first


def test_problem_about_an_unwritten_key_is_reported_at_its_section(tmp_path: Path) -> None:
    # the key named by the validator (knots) is at its default: the section holds the line
    path = tmp_path / "s.yaml"
    first, head = first_line(path, "accounts:\n  posting:\n    shares: [0.5, 0.5]\n")
    assert head == f"{path}:2: accounts.posting"
    assert first.endswith("knots must have exactly one more entry than shares")


def test_location_comes_from_the_context_not_the_text(tmp_path: Path) -> None:
    class Pair(BaseModel):
        a: int = 0
        b: int = 0

        @model_validator(mode="after")
        def _check(self) -> Pair:
            if self.a > self.b:  # a message that reads like another location
                raise problem("timeline[0] end a is before start b", at=("b",))
            return self

    class File(BaseModel):
        pairs: dict[str, Pair]

    path = tmp_path / "pairs.yaml"
    path.write_text("pairs:\n  first:\n    b: 1\n    a: 2\n")
    with pytest.raises(ScenarioError) as info:
        load_yaml_model(File, path)
    assert str(info.value) == f"{path}:3: pairs.first.b: timeline[0] end a is before start b"


# --- data files other than scenarios (load_yaml_model) -----------------------------------------

TARGET = {
    "id": "x",
    "label": "x",
    "metric": "active_accounts",
    "reduce": "mean",
    "windows": [["2014-01-01", "2014-02-28"]],
    "value": 1.0,
    "tolerance": 1.0,
    "source": "s",
}


def lines_of(path: Path, data: object) -> list[str]:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path.read_text().splitlines()


@pytest.mark.parametrize(
    ("change", "key", "needle", "message"),
    [
        (
            {"metric": "active_acounts"},
            "targets.1.metric",
            "  metric: active_acounts",
            "unknown metric 'active_acounts' (see `propsim metrics`) — did you mean "
            "'active_accounts'?",
        ),
        (
            {"windows": [["2014-02-01", "2014-01-01"]]},
            "targets.1.windows.0",
            "  - - '2014-02-01'",
            "window ends (2014-01-01) before it starts (2014-02-01)",
        ),
        (
            {"value": None, "low": 5, "high": 1},
            "targets.1.high",
            "  high: 1",
            "high (1) is below low (5)",
        ),
        ({"id": "y"}, "targets.1.id", "- id: y", "duplicate target ids: y"),
    ],
)
def test_target_problems_are_reported_at_their_key(
    tmp_path: Path, change: dict[str, object], key: str, needle: str, message: str
) -> None:
    path = tmp_path / "targets.yaml"
    lines = lines_of(path, {"targets": [dict(TARGET, id="y"), {**TARGET, **change}]})
    line = [n for n, text in enumerate(lines, 1) if text == needle][-1]
    with pytest.raises(ScenarioError) as info:
        load_targets(path)
    assert str(info.value) == f"{path}:{line}: {key}: {message}"


@pytest.mark.parametrize(
    ("prior", "key", "line", "message"),
    [
        ({"why": "w", "low": 2, "high": 1}, "high", 5, "high (1) must be above low (2)"),
        ({"why": "w", "low": 0, "high": 1, "scale": "log"}, "low", 4, "needs low > 0"),
    ],
)
def test_prior_problems_are_reported_at_their_key(
    tmp_path: Path, prior: dict[str, object], key: str, line: int, message: str
) -> None:
    path = tmp_path / "priors.yaml"
    lines = lines_of(path, {"parameters": {"population.relaxation": prior}})
    assert lines[line - 1].strip().startswith(f"{key}:")
    with pytest.raises(ScenarioError) as info:
        load_priors(path)
    first = str(info.value)
    assert first.startswith(f"{path}:{line}: parameters.population.relaxation.{key}: "), first
    assert first.endswith(message)


def test_outcome_window_problem_is_reported_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        "levers:\n  - name: a\n    key: population.relaxation\n    bounds: [0, 1]\n"
        "outcomes:\n  - metric: sympathizers\n    start: 2015-02-01\n    end: 2015-01-01\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_params(path)
    assert str(info.value) == (
        f"{path}:8: outcomes.0.end: end 2015-01-01 is before start 2015-02-01"
    )


# --- a wrong platform anywhere in a timeline ---------------------------------------------------

YAML_WORDS = {"yes", "no", "on", "off", "true", "false", "null", "twitter", "telegram"}
names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(lambda s: s not in YAML_WORDS)
dates = st.dates(dt.date(2014, 1, 1), dt.date(2016, 6, 30))


@st.composite
def valid_event(draw: st.DrawFn) -> list[str]:
    """A valid timeline event as the lines of a YAML list item."""
    date = draw(dates).isoformat()
    kind = draw(st.sampled_from(["set", "purge", "takedown", "redirect"]))
    head = [f"  - action: {kind}", f"    date: {date}"]
    if kind == "set":
        value = draw(st.floats(0, 1, allow_nan=False))
        return [*head, "    values:", f"      population.share_prob: {value!r}"]
    if kind == "purge":
        return [*head, "    platform: twitter", f"    accounts: {draw(st.integers(0, 10**5))}"]
    if kind == "takedown":
        return [*head, "    platform: telegram", f"    channels: {draw(st.integers(0, 500))}"]
    return [*head, f"    share: {draw(st.floats(0, 1, allow_nan=False))!r}"]


@st.composite
def wrong_platform_event(draw: st.DrawFn) -> tuple[list[str], int]:
    """An event naming a platform it cannot act on; and the offset of its ``platform:`` line."""
    kind, good, other = draw(
        st.sampled_from([("purge", "twitter", "telegram"), ("takedown", "telegram", "twitter")])
    )
    name = draw(st.one_of(st.just(other), names))
    amount = "accounts" if kind == "purge" else "channels"
    lines = [f"  - action: {kind}", f"    {amount}: 3"]
    extra = [f"    date: {draw(dates).isoformat()}", f"    label: 'wrong {good}'"]
    lines += draw(st.permutations(extra))
    at = draw(st.integers(1, len(lines)))
    lines.insert(at, f"    platform: {name}")
    return lines, at


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.lists(valid_event(), max_size=6),
    after=st.lists(valid_event(), max_size=6),
    bad=wrong_platform_event(),
)
def test_wrong_platform_anywhere_in_a_timeline_is_reported_at_its_line(
    tmp_path: Path,
    before: list[list[str]],
    after: list[list[str]],
    bad: tuple[list[str], int],
) -> None:
    lines = ["name: random_timeline", "timeline:"]
    for event in before:
        lines += event
    bad_lines, offset = bad
    line = len(lines) + offset + 1
    lines += bad_lines
    for event in after:
        lines += event
    path = tmp_path / "timeline.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    i = len(before)
    assert (err.path, err.line, err.key) == (path, line, f"timeline.{i}.platform")
    first = str(err).splitlines()[0]
    assert first.startswith(f"{path}:{line}: timeline.{i}.platform: "), first
    assert "needs an open platform" in first or "needs an encrypted platform" in first
