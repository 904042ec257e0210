"""Reference documentation generated from the code: the parameter and metric tables.

The parameter, metric, phase and component references in ``docs/`` are not written by hand. They
are generated from the code that defines them, so they cannot drift from it:

- ``parameter_table()`` walks the assembled scenario schema (``sim.scenario.Scenario``)
  recursively (scenario, population, platforms, accounts, and each component's section and
  timeline event kinds) and gives, for every key, its dotted path, meaning (the field's
  ``description``), unit (``json_schema_extra["unit"]``), default and valid range (type and
  constraints).
- ``metrics_table()`` lists ``sim.metrics.METRICS`` (the daily metrics the components declare) and
  ``sim.metrics.OUTCOMES`` (summary outcomes per replicate).
- ``phases_table()`` and ``components_table()`` list the day's phases with the components
  hooked into each (``sim.core.component.PHASES``) and every component's declarations.

Generated text sits between markers in the Markdown files of ``docs/``::

    <!-- BEGIN GENERATED: parameters -->
    ...
    <!-- END GENERATED: parameters -->

(likewise ``metrics``). ``python -m sim.docs`` rewrites every such section in place;
``python -m sim.docs --check`` changes nothing and exits with 1 if a section is out of date.
``tests/test_docs.py`` fails on a stale section, so a change to the schema or to the metric
registry must be followed by ``python -m sim.docs``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.components.moderation import moderation_for
from sim.config.names import NAME_PATTERN
from sim.core.component import PHASES
from sim.metrics import METRICS, OUTCOMES
from sim.scenario import Scenario

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"

# Placeholder shown for the entries of the schema's named sections (dicts keyed by a name).
PLACEHOLDERS = {"platforms": "<platform>"} | {
    k: v for c in Scenario.components for k, v in c.placeholders.items()
}

_DISCRIMINATOR = "action"  # the field that tells the timeline's event types apart

# Rules that involve several fields (the schema's validators), by section: the base schema's
# here, each component's in its ``rules``.
_BASE_RULES = {
    "": (
        "`end` may not be before `start`. `accounts.shoutout_share` plus the `invite_share` of "
        "the encrypted platforms must stay below 0.95 (they are shares of the same posts)."
    ),
    "population.languages": "The three shares must sum to 1.",
    "accounts.languages": "The three shares must sum to 1.",
    "accounts.posting": (
        "`knots` has exactly one entry more than `shares`; knots are positive and increasing; "
        "shares are non-negative and sum to 1. An account's bracket is drawn with these shares "
        "and its rate is log-uniform between the bracket's two knots."
    ),
    "platforms.<platform>": (
        "At least one platform must be of kind `open`. Names must be simple identifiers "
        "(letters, digits and `_`, not starting with a digit)."
    ),
    "timeline[]": (
        "No event may be dated before the warm-up begins (`start` minus `warmup_days`); events "
        "after `end` are allowed and never fire."
    ),
}


def _rules() -> dict[str, str]:
    rules = dict(_BASE_RULES)
    for c in Scenario.components:
        for section, text in c.rules.items():
            rules[section] = f"{rules[section]} {text}" if section in rules else text
    return rules


RULES = _rules()


# --- walking the schema --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One parameter as documented."""

    key: str  # dotted path, e.g. "moderation.<platform>.intensity"
    meaning: str
    unit: str
    default: str
    range: str


@dataclass(frozen=True)
class Section:
    """The parameters of one schema section (one pydantic model at one place in the tree)."""

    prefix: str  # e.g. "accounts.posting"; "" for the top level
    title: str
    note: str
    rows: tuple[Row, ...]


def _strip(tp: Any) -> Any:
    """The type without ``Annotated`` and without ``None`` in an optional."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _union_members(tp: Any) -> list[type[BaseModel]]:
    """Model classes of a (possibly annotated) union of models; [] for anything else."""
    tp = _strip(tp)
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if all(_is_model(a) for a in args):
            return list(args)
    return []


def _number(x: float) -> str:
    """A number as it would be written in a scenario file."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10_000 else str(x)
    if not isinstance(x, float):  # a date bound
        return str(x)
    if x.is_integer() and abs(x) < 1e15:
        return _number(int(x))
    return repr(x)


def _value(v: Any) -> str:
    """A default value for the table."""
    if v is None:
        return "(none)"
    if isinstance(v, bool | int | float):
        return _number(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return f'`"{v}"`' if v == "" else f"`{v}`"
    if isinstance(v, list):
        return (
            "[" + ", ".join(_number(x) if isinstance(x, int | float) else str(x) for x in v) + "]"
        )
    if isinstance(v, dict):
        return "{}" if not v else ", ".join(f"{k}: {_value(x)}" for k, x in v.items())
    return str(v)


def _bounds(field: FieldInfo) -> str:
    """The numeric constraints of a field as an interval, e.g. '[0, 1]', '> 0', '>= 1'."""
    lo: Any = None
    hi: Any = None
    lo_open = hi_open = False
    for m in field.metadata:
        if isinstance(m, Ge):
            lo = m.ge
        elif isinstance(m, Gt):
            lo, lo_open = m.gt, True
        elif isinstance(m, Le):
            hi = m.le
        elif isinstance(m, Lt):
            hi, hi_open = m.lt, True
    if lo is not None and hi is not None:
        return f"{'(' if lo_open else '['}{_number(lo)}, {_number(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {_number(lo)}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {_number(hi)}"
    return ""


def _range(field: FieldInfo) -> str:
    """Type and valid range of a leaf field, in words an analyst reads."""
    tp = _strip(field.annotation)
    optional = tp is not field.annotation and get_origin(field.annotation) in (
        Union,
        types.UnionType,
    )
    origin = get_origin(tp)
    if origin is Literal:
        text = "one of " + ", ".join(f"`{a}`" for a in get_args(tp))
    elif tp is bool:
        text = "true or false"
    elif tp is int:
        text = "whole number"
    elif tp is float:
        text = "number"
    elif tp is str:
        text = "text"
        pattern = next((getattr(m, "pattern", None) for m in field.metadata), None)
        if pattern == NAME_PATTERN:
            text = "text: letters, digits, `_`, `.`, `-`"
        elif pattern:
            text = f"text matching `{pattern}`"
    elif tp is dt.date:
        text = "date (YYYY-MM-DD)"
    elif origin is list:
        text = "list of numbers" if get_args(tp) in ((float,), (int,)) else "list"
    elif origin is dict:
        text = "mapping of dotted key to number"
    else:
        text = getattr(tp, "__name__", str(tp))
    bounds = _bounds(field)
    if bounds:
        text += f" in {bounds}" if bounds.startswith(("[", "(")) else f" {bounds}"
    if optional:
        text += ", or empty"
    return text


def _unit(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    unit = extra.get("unit", "") if isinstance(extra, dict) else ""
    return str(unit)


def _leaf(key: str, name: str, field: FieldInfo, default_obj: Any) -> Row:
    if field.is_required():
        default = "required"
    elif default_obj is not None:
        default = _value(getattr(default_obj, name))
    else:
        default = _value(field.get_default(call_default_factory=True))
    meaning = field.description or ""
    if name == _DISCRIMINATOR and get_origin(_strip(field.annotation)) is Literal:
        (tag,) = get_args(_strip(field.annotation))
        meaning = f"Event type; `{tag}` for this kind of event"
        default = "required"
    return Row(key, meaning, _unit(field), default, _range(field))


def _title(model: type[BaseModel]) -> str:
    """The first paragraph of a schema class's own docstring (not inherited), or ''."""
    doc = model.__dict__.get("__doc__") or ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _diff(obj: BaseModel, reference: BaseModel) -> str:
    """Fields where ``obj`` differs from ``reference``, as 'key value' pairs."""
    parts = [
        f"{name} {_value(getattr(obj, name))}"
        for name in type(obj).model_fields
        if getattr(obj, name) != getattr(reference, name)
    ]
    return ", ".join(parts)


def _dict_note(name: str, model: type[BaseModel], default: dict[str, BaseModel]) -> str:
    """What a named section holds when the scenario does not write it."""
    if name == "moderation":
        unmoderated = moderation_for(Scenario(), "_")
        diff = _diff(unmoderated, model())
        return (
            "One entry per platform name. A platform with no entry here gets the defaults below "
            f"except {diff}, so it is not moderated."
        )
    if not default:
        return "One entry per name of your choosing; none by default."
    entries = []
    for key, obj in default.items():
        diff = _diff(obj, model())
        entries.append(f"`{key}`" + (f" ({diff})" if diff else " (all defaults)"))
    return (
        "One entry per name of your choosing. If the section is not written, it holds "
        + " and ".join(entries)
        + "; if it is written, it holds exactly the entries written."
    )


def schema_sections() -> list[Section]:
    """Every section of the scenario schema, depth first, in the schema's order."""
    sections: list[Section] = []

    def walk(model: type[BaseModel], default_obj: Any, prefix: str, title: str, note: str) -> None:
        rows: list[Row] = []
        nested: list[tuple[type[BaseModel], Any, str, str, str]] = []
        dot = f"{prefix}." if prefix else ""
        for name, field in model.model_fields.items():
            key = f"{dot}{name}"
            tp = _strip(field.annotation)
            origin = get_origin(tp)
            own_default = (
                getattr(default_obj, name)
                if default_obj is not None
                else (None if field.is_required() else field.get_default(call_default_factory=True))
            )
            if _is_model(tp):
                nested.append((tp, own_default, key, _title(tp), ""))
            elif origin is dict and _is_model(_strip(get_args(tp)[1])):
                item = _strip(get_args(tp)[1])
                placeholder = PLACEHOLDERS.get(name, "<name>")
                note_ = _dict_note(name, item, own_default or {})
                nested.append((item, None, f"{key}.{placeholder}", _title(item), note_))
            elif origin is list and _is_model(_strip(get_args(tp)[0])):
                item = _strip(get_args(tp)[0])  # a list of records, e.g. dated levels
                note_ = f"The items of `{key}`: {field.description}."
                nested.append((item, None, f"{key}[]", _title(item), note_))
            elif origin is list and _union_members(get_args(tp)[0]):
                for member in _union_members(get_args(tp)[0]):
                    tag = get_args(_strip(member.model_fields[_DISCRIMINATOR].annotation))[0]
                    member_note = (
                        f"A list item with `{_DISCRIMINATOR}: {tag}`. The list is empty by default."
                    )
                    nested.append((member, None, f"{key}[]", f"`{tag}` event", member_note))
            else:
                rows.append(_leaf(key, name, field, default_obj))
        if rows:
            sections.append(Section(prefix, title, note, tuple(rows)))
        for args in nested:
            walk(*args)

    walk(Scenario, Scenario(), "", "", "Name, time span, scale and seeds.")
    return sections


def schema_keys() -> list[str]:
    """The dotted key of every parameter (with placeholders for named sections)."""
    return [row.key for section in schema_sections() for row in section.rows]


# --- Markdown ------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def parameter_table() -> str:
    """Markdown tables of every scenario parameter: key, meaning, unit, default, range."""
    lines = [
        "Generated from the schema (`sim/config/schema.py` and the components' sections in "
        "`sim/components/`) by `python -m sim.docs`; do not edit by hand.",
        "Counts of people, accounts and channels are real-world numbers (the model divides them",
        "by `scale`); per-account and per-user quantities are not scaled. `<platform>` and",
        "`<group>` stand for the names given in the scenario's `platforms` and `counter`",
        "sections; `timeline[]` for any item of the timeline list.",
    ]
    for s in schema_sections():
        event = s.prefix.startswith("timeline")
        heading = f"`{s.prefix}`" if s.prefix else "Top level"
        if event:
            heading += f": {s.title}"
        lines += ["", f"### {heading}", ""]
        parts = [s.title if s.prefix and not event else "", s.note, RULES.get(s.prefix, "")]
        intro = " ".join(p if p.endswith(".") else p + "." for p in parts if p)
        if intro:
            lines += [intro, ""]
        lines += _table(
            ("key", "meaning", "unit", "default", "valid values"),
            [(f"`{r.key}`", r.meaning, r.unit, r.default, r.range) for r in s.rows],
        )
    return "\n".join(lines)


def metrics_table() -> str:
    """Markdown tables of the daily metrics (by scope) and the summary outcomes."""
    scopes = (
        (
            "open",
            "Per open platform",
            "Column `<platform>.<name>` for each open platform, e.g. `twitter.suspensions`.",
        ),
        (
            "encrypted",
            "Per encrypted platform",
            "Column `<platform>.<name>` for each encrypted platform, e.g. `telegram.members`.",
        ),
        ("global", "Global", "Column `<name>`, one for the whole run."),
    )
    lines = [
        "Generated from the metrics the components declare (`sim/components/`, gathered in "
        "`sim/metrics.py`) by `python -m sim.docs`; do not edit by hand.",
        "Daily metrics are the columns of `daily/replicate_<r>.parquet` in a results folder, one",
        "row per reported day, in real-world units whatever the scenario's scale.",
    ]
    for scope, title, note in scopes:
        lines += ["", f"### Daily metrics: {title.lower()}", "", note, ""]
        lines += _table(
            ("name", "unit", "meaning"),
            [(f"`{m.name}`", m.unit, m.description) for m in METRICS if m.scope == scope],
        )
    lines += [
        "",
        "### Summary outcomes",
        "",
        "Columns of `summary.csv` / `summary.parquet`, one row per replicate (with `replicate`",
        "and `seed`); `propsim run` prints their median and 5-95% range. Outcomes about one",
        "platform use the scenario's first open platform.",
        "",
    ]
    lines += _table(
        ("name", "unit", "meaning"), [(f"`{o.name}`", o.unit, o.description) for o in OUTCOMES]
    )
    return "\n".join(lines)


def phases_table() -> str:
    """The day's phases in order (``sim.core.component.PHASES``) and, per phase, the components
    whose hooks run in it, in the order they run."""
    rows = []
    for i, phase in enumerate(PHASES, 1):
        hooks = [
            f"`{c.name}`" for c in Scenario.components if getattr(c, phase.name, None) is not None
        ]
        rows.append((str(i), f"`{phase.name}`", phase.text, ", ".join(hooks) or "(none)"))
    return "\n".join(_table(("step", "phase", "what happens", "components, in order"), rows))


def components_table() -> str:
    """Every component: its file, section, timeline events, streams and metrics."""
    rows = []
    for c in Scenario.components:
        module = c.__module__.replace(".", "/") + ".py"
        events = ", ".join(f"`{e.model_fields['action'].default}`" for e in c.events)
        metrics = ", ".join(f"`{m.name}`" for m in c.metrics)
        rows.append(
            (
                f"`{c.name}`",
                f"[{module}](../{module})",
                f"`{c.section}`" if c.section else "",
                events,
                ", ".join(f"`{s}`" for s in c.streams),
                metrics,
            )
        )
    head = ("component", "file", "section", "timeline events", "streams", "metrics")
    return "\n".join(_table(head, rows))


GENERATORS: dict[str, Callable[[], str]] = {
    "parameters": parameter_table,
    "metrics": metrics_table,
    "phases": phases_table,
    "components": components_table,
}

_SECTION = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n)"
    r"(?P<body>.*?)"
    r"(<!-- END GENERATED: (?P=name) -->)",
    re.DOTALL,
)


def generated_sections(text: str) -> dict[str, str]:
    """The generated sections found in a Markdown text: {name: body between the markers}."""
    return {m["name"]: m["body"] for m in _SECTION.finditer(text)}


def render(text: str) -> str:
    """``text`` with every generated section replaced by what the code generates now."""
    cache: dict[str, str] = {}

    def replace(m: re.Match[str]) -> str:
        name = m["name"]
        if name not in GENERATORS:
            raise ValueError(f"unknown generated section {name!r}; known: {', '.join(GENERATORS)}")
        if name not in cache:
            cache[name] = GENERATORS[name]().rstrip("\n") + "\n"
        return m.group(1) + cache[name] + m.group(4)

    return _SECTION.sub(replace, text)


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the generated sections of ``docs/*.md`` in place (or check them)."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.docs",
        description="Regenerate the parameter and metric references in docs/*.md from the code.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 if a generated section is out of date",
    )
    parser.add_argument(
        "--docs", type=Path, default=DOCS_DIR, metavar="DIR", help=f"default: {DOCS_DIR}"
    )
    args = parser.parse_args(argv)
    stale: list[Path] = []
    for path in sorted(args.docs.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if not generated_sections(text):
            continue
        new = render(text)
        if new == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(new, encoding="utf-8")
    verb = "out of date" if args.check else "updated"
    for path in stale:
        print(f"{verb}: {path}")
    if args.check and stale:
        print("run: python -m sim.docs", file=sys.stderr)
        return 1
    if not stale:
        print("generated sections are up to date")
    return 0
