"""Loading scenario files: YAML text -> validated scenario (``sim.scenario.Scenario``).

Data flow::

    scenario.yaml ──(safe YAML loader that records the file and line of every key)──> LineDict
        └─ ``extends: other.yaml`` (relative to the file; chains allowed): the parent tree is
           loaded the same way and deep-merged under the child (dicts merge, child wins; lists and
           plain values are replaced). Every key keeps the file and line it came from.
           A child's ``timeline:`` replaces the parent's whole; its ``timeline_changes:``
           (``change:``/``remove:``/``add:``) changes single entries by ``name`` instead.
        └─ ``overlay: values.yaml`` (relative to the file): values laid over the file's own (and
           its parent's) after the merge, as a child's would be, with ``timeline_changes`` for
           single named timeline entries; a file that extends this one still wins over both.
           scenarios/baseline.yaml lays calibration/calibrated.yaml (the fitted values) over
           its history this way.
    merged LineDict ──(``--set dotted.key=value`` overrides, checked against the schema)──> dict
    dict ──(``Scenario.model_validate``)──> Scenario

Every problem on the way (missing or unreadable file, not UTF-8, YAML syntax, unsafe tags, bad or
circular ``extends``, bad override, any pydantic validation error) is raised as one
:class:`ScenarioError` whose text is written for analysts::

    scenarios/x.yaml:12: moderation.twitter.intensty: unknown key — did you mean 'intensity'?

pydantic's own errors are worded here (``_describe``); the schema's validators raise
``sim.config.problems.problem`` with the message and, as data, the key it is about relative to
the validating model, the valid choices and the offending value: the key reported is pydantic's
``loc`` plus that location (``_located``), never read out of the message.

Public API: :func:`load_scenario`, :func:`parse_set`, :func:`scenario_to_yaml`,
:class:`ScenarioError` (with :class:`Problem` for each reported line).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from sim.config import keys
from sim.config.names import (
    EVENT_NAME_FIELD_PATTERN,
    EVENT_NAME_RULE,
    NAME_PATTERN,
    event_name_problem,
)
from sim.config.problems import PROBLEM_TYPE
from sim.config.schema import ScenarioBase
from sim.errors import Problem, ScenarioError

__all__ = [
    "Problem",
    "ScenarioError",
    "load_scenario",
    "parse_set",
    "scenario_to_yaml",
]

Part = str | int


def _fail(
    message: str, file: str | None = None, line: int | None = None, key: str | None = None
) -> NoReturn:
    raise ScenarioError(Problem(message, file, line, key))


def _suggest(word: str, choices: Sequence[str]) -> str:
    """' — did you mean 'x'?' when ``word`` looks like a typo of one of ``choices``."""
    match = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    if not match:
        lowered = {str(c).lower(): str(c) for c in choices}
        if word.lower() in lowered:
            match = [lowered[word.lower()]]
    return f" — did you mean '{match[0]}'?" if match else ""


def _listing(choices: Sequence[Any], limit: int = 20) -> str:
    items = [str(c) for c in choices]
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _show(value: Any) -> str:
    """A value as an analyst would recognise it from their file."""
    if value is None:
        return "nothing (empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return "a section (key: value pairs)"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


# ---------------------------------------------------------------------------------------------
# YAML with line numbers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a key or value came from: a file and line, or a ``--set`` override."""

    file: str | None
    line: int | None
    override: str | None = None


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers where each key was written (``locs``) and where it starts."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.locs: dict[str, Source] = {}
        self.loc: Source | None = None


class LineList(list[Any]):
    """A YAML sequence that remembers where each item starts."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.locs: list[Source] = []
        self.loc: Source | None = None


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that builds LineDict/LineList, rejects duplicate keys and keeps bad dates as text.

    Keys are always taken as the text written in the file (``yes:`` stays ``'yes'``, ``2015:``
    stays ``'2015'``), so they compare with the schema's field names.
    """

    def __init__(self, stream: str, file: str) -> None:
        super().__init__(stream)
        self.file = file

    def _src(self, node: yaml.Node) -> Source:
        return Source(self.file, node.start_mark.line + 1)


def _require_plain_key(key_node: yaml.Node) -> None:
    if not isinstance(key_node, ScalarNode):
        raise ConstructorError(
            None, None, "a key must be a plain name, not a list or a section", key_node.start_mark
        )


def _construct_map(loader: _LineLoader, node: MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.loc = loader._src(node)
    yield data
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        _require_plain_key(key_node)
        line = key_node.start_mark.line + 1
        if key_node.value in seen:
            raise ConstructorError(
                None,
                None,
                f"duplicate key '{key_node.value}' (already given at line {seen[key_node.value]})",
                key_node.start_mark,
            )
        seen[key_node.value] = line
    loader.flatten_mapping(node)  # resolves YAML merge keys (<<: *anchor)
    for key_node, value_node in node.value:
        _require_plain_key(key_node)  # again: merge keys may have brought new ones
        key = str(key_node.value)
        data[key] = loader.construct_object(value_node, deep=False)
        data.locs[key] = loader._src(key_node)


def _construct_seq(loader: _LineLoader, node: SequenceNode) -> Iterator[LineList]:
    data = LineList()
    data.loc = loader._src(node)
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=False))
        data.locs.append(loader._src(item))


def _construct_timestamp(loader: _LineLoader, node: ScalarNode) -> Any:
    # An impossible date such as 2015-13-01 stays text, so validation reports it with its key.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError):
        return str(node.value)


# Numbers as YAML 1.2 reads them (PyYAML implements YAML 1.1): no base-60 (``12:30:00`` is
# text, not 45000), no ``0b``/old-style octal (``012`` is 12), ``1e5`` is a number; underscores
# between digits are still allowed. A number longer than MAX_NUMBER_TEXT characters stays
# text (Python refuses to read ints of thousands of digits), refused by validation with its key.
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
MAX_NUMBER_TEXT = 100
_INT_RE = re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


def _construct_int(loader: yaml.SafeLoader, node: ScalarNode) -> Any:
    text = str(node.value).replace("_", "")
    if len(text) > MAX_NUMBER_TEXT:
        return str(node.value)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)


def _construct_float(loader: yaml.SafeLoader, node: ScalarNode) -> Any:
    if len(str(node.value)) > MAX_NUMBER_TEXT or ":" in str(node.value):  # (!!float 1:30)
        return str(node.value)
    return yaml.SafeLoader.construct_yaml_float(loader, node)


def yaml12_numbers(cls: type[yaml.SafeLoader]) -> None:
    """Make the loader class ``cls`` read numbers by YAML 1.2's rules (see above)."""
    cls.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    cls.add_implicit_resolver(_INT, _INT_RE, list("-+0123456789"))
    cls.add_implicit_resolver(_FLOAT, _FLOAT_RE, list("-+0123456789."))
    cls.add_constructor(_INT, _construct_int)
    cls.add_constructor(_FLOAT, _construct_float)


class _ValueLoader(yaml.SafeLoader):
    """Reads the value of a ``--set`` override (numbers as in files)."""


yaml12_numbers(_LineLoader)
yaml12_numbers(_ValueLoader)


def _refuse_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise ConstructorError(
        None, None, f"could not determine a constructor for the tag '{node.tag}'", node.start_mark
    )


# scenario files hold plain values only: the safe loader's other types are refused too
for _tag in ("binary", "set", "omap", "pairs"):
    _LineLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)
    _ValueLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)
_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)

_YAML_HINTS = (
    ("cannot start any token", " (YAML does not allow tabs; indent with spaces)"),
    ("mapping values are not allowed", " (check the indentation, and put a space after ':')"),
    ("could not find expected ':'", " (each line needs 'key: value')"),
    ("expected <block end>", " (check the indentation of this line)"),
)


def _yaml_problem(err: yaml.YAMLError, file: str, text: str) -> Problem:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line: int | None = mark.line + 1 if mark is not None else None
    if isinstance(err, yaml.reader.ReaderError):
        line = text[: err.position].count("\n") + 1
        char = err.character if isinstance(err.character, int) else ord(str(err.character)[:1])
        return Problem(
            f"the invisible or control character U+{char:04X} is not allowed in a YAML file",
            file,
            line,
        )
    problem = str(getattr(err, "problem", None) or err)
    tag = re.search(r"constructor for the tag '([^']*)'", problem)
    if tag:
        shown = tag.group(1).replace("tag:yaml.org,2002:", "!!")
        return Problem(
            f"the tag '{shown}' is not allowed: scenario files hold plain values only", file, line
        )
    if isinstance(err, ConstructorError):  # our own messages (duplicate keys, complex keys)
        return Problem(problem, file, line)
    hint = next((h for k, h in _YAML_HINTS if k in problem), "")
    return Problem(f"YAML syntax error: {problem}{hint}", file, line)


MAX_FILE_BYTES = 1_000_000  # a scenario or data file; the shipped ones are a few kB
MAX_EXTENDS = 20  # files in one chain of extends


def read_yaml(file: str) -> LineDict:
    """Read one YAML file into a LineDict. ``file`` is the path as it should be shown."""
    try:
        size = Path(file).stat().st_size
        if size > MAX_FILE_BYTES and Path(file).is_file():
            _fail(
                f"the file has {size:,} bytes; scenario and data files may have at most "
                f"{MAX_FILE_BYTES:,}",
                file,
            )
        raw = Path(file).read_bytes()
    except FileNotFoundError:
        _fail("file not found", file)
    except IsADirectoryError:
        _fail("is a folder, not a scenario file", file)
    except OSError as err:
        _fail(f"cannot read the file ({err.strerror or err})", file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        _fail(
            f"not a UTF-8 text file (byte 0x{raw[err.start]:02x} at line {line}); save it as UTF-8",
            file,
            line,
        )
    loader: _LineLoader | None = None
    try:
        loader = _LineLoader(text, file)  # checks for unprintable characters
        data = loader.get_single_data()
    except yaml.YAMLError as err:
        raise ScenarioError(_yaml_problem(err, file, text)) from None
    except RecursionError:
        _fail("the YAML is nested too deeply", file)
    finally:
        if loader is not None:
            loader.dispose()
    if data is None:
        _fail(
            "the file is empty: expected scenario keys such as 'name:', 'start:', 'end:'", file, 1
        )
    if not isinstance(data, LineDict):
        where = getattr(data, "loc", None)
        # (the file's content is not quoted: it may be any file, e.g. extends: /etc/passwd)
        got = "a list" if isinstance(data, list) else "plain text or a single value"
        _fail(
            f"expected 'key: value' lines at the top level (name:, start:, ...), got {got}",
            file,
            where.line if where else 1,
        )
    return data


# ---------------------------------------------------------------------------------------------
# extends
# ---------------------------------------------------------------------------------------------


def _copy(node: Any) -> Any:
    """Shallow copy of a LineDict/LineList (or plain dict/list) keeping its locations."""
    if isinstance(node, dict):
        new = LineDict(node)
        new.locs = dict(getattr(node, "locs", {}))
        new.loc = getattr(node, "loc", None)
        return new
    if isinstance(node, list):
        new_list = LineList(node)
        new_list.locs = list(getattr(node, "locs", []))
        new_list.loc = getattr(node, "loc", None)
        return new_list
    return node


def _deep_merge(base: dict[str, Any], child: dict[str, Any]) -> LineDict:
    """Child over base: dicts merge recursively, everything else (lists too) is replaced."""
    out: LineDict = _copy(base)
    out.loc = getattr(child, "loc", out.loc)
    child_locs: dict[str, Source] = getattr(child, "locs", {})
    for key, value in child.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = _deep_merge(old, value)
        else:
            out[key] = value
        if key in child_locs:
            out.locs[key] = child_locs[key]
    return out


def _load_tree(file: str, chain: list[tuple[Path, str]]) -> LineDict:
    """Load ``file`` and, recursively, what it extends, then its ``overlay`` on top.
    ``chain`` lists the files extending (or overlaid by) it."""
    data = read_yaml(file)
    changes, changes_at = _pop_changes(data, file, needs_extends=True)
    overlay, overlay_at = None, Source(file, None)
    if OVERLAY_KEY in data:
        overlay = data.pop(OVERLAY_KEY)
        overlay_at = data.locs.pop(OVERLAY_KEY, overlay_at)
    here = _chain_with(file, chain)
    merged = data
    if "extends" in data:
        target = data.pop("extends")
        where = data.locs.pop("extends", Source(file, None))
        parent = _linked_file(file, target, where, "extends", here)
        merged = _deep_merge(_load_tree(parent, here), data)
        if changes is not None:
            _change_timeline(merged, changes, changes_at, parent)
    if overlay is not None:
        merged = _apply_overlay(merged, _linked_file(file, overlay, overlay_at, OVERLAY_KEY, here))
    return merged


OVERLAY_KEY = "overlay"


def _pop_changes(data: LineDict, file: str, needs_extends: bool) -> tuple[Any, Source]:
    """Take a file's ``timeline_changes`` out of its tree (None if it has none), checking that
    it has something to change (``extends``, unless ``needs_extends`` is false) and no whole
    ``timeline:`` besides."""
    changes_at = Source(file, None)
    if CHANGES_KEY not in data:
        return None, changes_at
    changes = data.pop(CHANGES_KEY)
    changes_at = data.locs.pop(CHANGES_KEY, changes_at)
    if needs_extends and "extends" not in data:
        _fail(
            f"{CHANGES_KEY} changes the timeline of the scenario this file extends: add "
            "'extends: FILE', or write the whole timeline under 'timeline:'",
            file,
            changes_at.line,
            CHANGES_KEY,
        )
    if "timeline" in data:
        _fail(
            f"give either 'timeline:' (the whole timeline, replacing the inherited one) or "
            f"'{CHANGES_KEY}:' (changes to the inherited one), not both",
            file,
            changes_at.line,
            CHANGES_KEY,
        )
    return changes, changes_at


def _chain_with(file: str, chain: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """``chain`` followed by ``file`` (resolved, to find cycles)."""
    try:
        return [*chain, (Path(file).resolve(), file)]
    except (RuntimeError, OSError):  # a symbolic link loop
        _fail(f"'{file}' is a loop of symbolic links", file)


def _linked_file(
    file: str, target: Any, where: Source, key: str, here: list[tuple[Path, str]]
) -> str:
    """The file that ``file``'s ``key`` (``extends`` or ``overlay``) names, relative to
    ``file``; it must exist and must not close a cycle of files or make the chain too long."""
    if not isinstance(target, str) or not target.strip():
        _fail(f"expected the name of a scenario file, got {_show(target)}", file, where.line, key)
    linked = os.path.normpath(os.path.join(os.path.dirname(file), target.strip()))
    if len(here) >= MAX_EXTENDS:
        _fail(
            f"a chain of extends may have at most {MAX_EXTENDS} files (this one starts at "
            f"{here[0][1]})",
            file,
            where.line,
            key,
        )
    try:
        real = Path(linked).resolve()
    except (RuntimeError, OSError):  # a symbolic link loop
        _fail(f"'{target}' is a loop of symbolic links", file, where.line, key)
    if any(real == seen for seen, _ in here):
        cycle = " -> ".join([name for _, name in here] + [linked])
        _fail(f"circular {key}: {cycle}", file, where.line, key)
    if not Path(linked).is_file():
        what = "is not a file" if Path(linked).exists() else "not found"
        _fail(f"'{target}' {what} (looked for {linked})", file, where.line, key)
    return linked


def _apply_overlay(merged: LineDict, file: str) -> LineDict:
    """``merged`` with the overlay ``file`` on top: its values replace those at the same keys
    (dicts merge, as for a child that extends ``merged``) and its ``timeline_changes`` change
    single named entries of ``merged``'s timeline. An overlay holds values only: no
    ``extends``, ``overlay`` or whole ``timeline`` (e.g. calibration/calibrated.yaml, the
    calibrated free parameters that scenarios/baseline.yaml lays over its own values)."""
    data = read_yaml(file)
    for key in ("extends", OVERLAY_KEY):
        if key in data:
            where = data.locs.get(key, Source(file, None))
            _fail(
                f"an overlay holds values only: '{key}' is not allowed here (the file that "
                "names this overlay decides what it lays the values over)",
                file,
                where.line,
                key,
            )
    changes, changes_at = _pop_changes(data, file, needs_extends=False)
    if "timeline" in data:
        where = data.locs.get("timeline", Source(file, None))
        _fail(
            f"an overlay changes single timeline entries by name under '{CHANGES_KEY}:'; "
            "a whole 'timeline:' is not allowed here",
            file,
            where.line,
            "timeline",
        )
    out = _deep_merge(merged, data)
    if changes is not None:
        _change_timeline(out, changes, changes_at, "the file this overlay lies over")
    return out


# ---------------------------------------------------------------------------------------------
# timeline_changes: a variant changes, removes or adds single named timeline entries
# ---------------------------------------------------------------------------------------------

CHANGES_KEY = "timeline_changes"
_CHANGE_VERBS = ("change", "remove", "add")


def _at(node: Any, slot: Part, default: Source) -> Source:
    """Where the item ``slot`` of a LineDict/LineList was written (``default`` if unknown)."""
    locs = getattr(node, "locs", None)
    if isinstance(locs, dict):
        return locs.get(str(slot), default)
    if isinstance(locs, list) and isinstance(slot, int) and slot < len(locs):
        return locs[slot]
    return default


def _change_timeline(merged: LineDict, changes: Any, where: Source, parent: str) -> None:
    """Apply a file's ``timeline_changes`` to the timeline it inherits from ``parent`` (in place).

    ``change:`` entries (each with the ``name`` of an inherited entry) set the fields they give
    on that entry where it stands: a field replaces the inherited one, ``values`` merge key by
    key, and an entry with a different ``action`` replaces the inherited one whole. ``remove:``
    lists names of inherited entries to drop. ``add:`` entries are appended after the inherited
    ones, in the order written. Every problem is located (file:line: timeline_changes.<...>).
    """
    file = where.file

    def fail(message: str, src: Source, *path: Part) -> NoReturn:
        _fail(message, src.file or file, src.line, _dotted([CHANGES_KEY, *path]))

    if not isinstance(changes, dict):
        fail(
            f"expected a section with {', '.join(v + ':' for v in _CHANGE_VERBS)} "
            f"(lists of timeline entries or names), got {_show(changes)}",
            where,
        )
    for verb in changes:
        if verb not in _CHANGE_VERBS:
            hint = _suggest(verb, _CHANGE_VERBS) or f"; expected one of: {', '.join(_CHANGE_VERBS)}"
            fail(f"unknown key{hint}", _at(changes, verb, where), verb)
    old = merged.get("timeline", [])
    if not isinstance(old, list):
        old = []
    names = keys.item_names(old)
    listing = f"the inherited timeline ({parent}) names: {_listing(list(names))}"
    if not names:
        listing = f"the inherited timeline ({parent}) has no named entries"
    done: dict[str, str] = {}  # name -> the verb that used it

    def items(verb: str) -> list[tuple[int, Any, Source]]:
        given = changes.get(verb)
        src = _at(changes, verb, where)
        if given is None:
            return []
        if not isinstance(given, list):
            what = "names" if verb == "remove" else "timeline entries"
            fail(
                f"expected a list of {what} (lines starting with '- '), got {_show(given)}",
                src,
                verb,
            )
        return [(n, item, _at(given, n, src)) for n, item in enumerate(given)]

    def known(name: Any, verb: str, src: Source, *path: Part) -> str:
        if not isinstance(name, str) or not name:
            fail(f"expected the name of an inherited timeline entry, got {_show(name)}", src, *path)
        if name not in names:
            hint = _suggest(name, list(names))
            fail(f"no inherited timeline entry is named {name!r}{hint} ({listing})", src, *path)
        if name in done:
            fail(
                f"{name!r} is already under {done[name]}: change or remove an entry once",
                src,
                *path,
            )
        done[name] = verb
        return name

    new: dict[int, tuple[Any, Source]] = {}
    for n, item, src in items("change"):
        if not isinstance(item, dict):
            fail(
                f"expected a timeline entry (key: value pairs), got {_show(item)}", src, "change", n
            )
        if "name" not in item:
            fail("a change needs the 'name' of the inherited entry it changes", src, "change", n)
        name = known(item["name"], "change", _at(item, "name", src), "change", n, "name")
        pos = names[name]
        base = old[pos]
        entry: Any = item
        if isinstance(base, dict) and item.get("action", base.get("action")) == base.get("action"):
            entry = _deep_merge(base, item)
        # (else another kind of event: the change is the whole entry)
        new[pos] = (entry, src)
    dropped: set[int] = set()
    for n, name, src in items("remove"):
        dropped.add(names[known(name, "remove", src, "remove", n)])
    added: list[tuple[Any, Source]] = []
    for n, item, src in items("add"):
        if not isinstance(item, dict):
            fail(f"expected a timeline entry (key: value pairs), got {_show(item)}", src, "add", n)
        given = item.get("name")
        if isinstance(given, str) and given in names:
            fail(
                f"the inherited timeline already has an entry named {given!r}; use change: to "
                "change it, or give the new entry another name",
                _at(item, "name", src),
                "add",
                n,
                "name",
            )
        added.append((item, src))
    timeline = LineList()
    timeline.loc = getattr(old, "loc", None) or where
    for pos, entry in enumerate(old):
        if pos in dropped:
            continue
        entry, src = new.get(pos, (entry, _at(old, pos, where)))
        timeline.append(entry)
        timeline.locs.append(src)
    for entry, src in added:
        timeline.append(entry)
        timeline.locs.append(src)
    merged["timeline"] = timeline
    merged.locs.setdefault("timeline", where)


# ---------------------------------------------------------------------------------------------
# The schema as a tree (for overrides, suggestions and locating errors)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """What sits at a place in the scenario: a model, a dict of X, a list of X, a union, a value."""

    tag: Literal["model", "dict", "list", "union", "leaf"]
    tp: Any = None  # model class | _Kind of the items | tuple of model classes | type
    field: FieldInfo | None = None  # for leaves: the field (constraints)


def _kind(tp: Any) -> _Kind:
    origin = get_origin(tp)
    if origin is Annotated:
        return _kind(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _kind(args[0])
        if all(isinstance(a, type) and issubclass(a, BaseModel) for a in args):
            return _Kind("union", tuple(args))
        return _Kind("leaf", tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _Kind("model", tp)
    if origin is dict:
        return _Kind("dict", _kind(get_args(tp)[1]))
    if origin is list:
        return _Kind("list", _kind(get_args(tp)[0]))
    return _Kind("leaf", tp)


_TAG_FIELD = "action"  # discriminator of the timeline's event types


def _union_tags(members: tuple[type[BaseModel], ...]) -> dict[str, type[BaseModel]]:
    tags: dict[str, type[BaseModel]] = {}
    for member in members:
        field = member.model_fields.get(_TAG_FIELD)
        if field is not None and isinstance(field.default, str):
            tags[field.default] = member
    return tags


def _member_for(members: tuple[type[BaseModel], ...], node: Any) -> type[BaseModel] | None:
    """The event type a timeline item in the file declares with its ``action``, if valid."""
    tag = node.get(_TAG_FIELD) if isinstance(node, dict) else None
    return _union_tags(members).get(tag) if isinstance(tag, str) else None


def _field_kind(model: type[BaseModel], name: str) -> _Kind:
    field = model.model_fields[name]
    kind = _kind(field.annotation)
    return _Kind("leaf", kind.tp, field) if kind.tag == "leaf" else kind


def _step(kind: _Kind | None, part: Part) -> _Kind | None:
    """The kind one level down, or None when the schema has nothing there."""
    if kind is None:
        return None
    if kind.tag == "model":
        known = isinstance(part, str) and part in kind.tp.model_fields
        return _field_kind(kind.tp, str(part)) if known else None
    if kind.tag in ("dict", "list"):
        return kind.tp
    return None


def _dotted(parts: Sequence[Part]) -> str:
    return ".".join(str(p) for p in parts)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _BadKey(Exception):
    def __init__(self, message: str, at: Sequence[Part]) -> None:
        super().__init__(message)
        self.message = message
        self.at = list(at)


def _unknown(parts: Sequence[Part], i: int, choices: Sequence[str], what: str) -> _BadKey:
    part = str(parts[i])
    where = f" in {_dotted(parts[:i])}" if i else ""
    hint = _suggest(part, choices)
    if not hint:
        hint = f"; expected one of: {_listing(choices)}" if choices else ""
    return _BadKey(f"unknown {what} '{part}'{where}{hint}", parts[: i + 1])


def _place(
    root: LineDict, key: str, value: Any, src: Source, schema: _Kind, dry: bool = False
) -> str:
    """Set a dotted ``key`` in ``root`` (in place, copying what it changes), checked by the schema.

    Only existing fields, existing dict entries and existing list items (by position or by the
    item's ``name``) can be addressed. Sections missing from the file are filled from the schema
    defaults first. ``dry`` only checks. Returns the key with list items by position.
    Raises _BadKey.
    """
    parts: list[Part] = list(key.split("."))
    node: Any = root
    kind = schema
    i = 0
    while True:
        part = str(parts[i])
        last = i == len(parts) - 1
        if kind.tag == "union":
            member = _member_for(kind.tp, node)
            if member is None:
                raise _BadKey(
                    f"{_dotted(parts[:i])} has no valid '{_TAG_FIELD}' in the file", parts[:i]
                )
            kind = _Kind("model", member)
        slot: Part
        if kind.tag == "model":
            fields = kind.tp.model_fields
            if part not in fields:
                raise _unknown(parts, i, list(fields), "key")
            slot, child_kind = part, _field_kind(kind.tp, part)
        elif kind.tag == "dict":
            slot = part
            if kind.tp.tag == "leaf":  # e.g. timeline values: the rest of the path is one key
                slot = ".".join(str(p) for p in parts[i:])
                parts[i:] = [slot]
                last = True
            if slot not in node:
                section = _dotted(parts[:i])
                if not node:
                    raise _BadKey(
                        f"{section} has no entries in this scenario; "
                        f"add '{slot}' to the file first",
                        parts[: i + 1],
                    )
                raise _unknown(parts, i, list(node), "entry")
            child_kind = kind.tp
        elif kind.tag == "list":
            names = keys.item_names(node)
            if part in names:
                slot = parts[i] = names[part]
            elif not (part.isascii() and part.isdigit()) or int(part) >= len(node):
                span = f"0..{len(node) - 1}" if node else "none: the list is empty"
                named = f"; names: {_listing(list(names))}" if names else ""
                what = "a position or name" if names else "a position"
                raise _BadKey(
                    f"'{part}' is not {what} in {_dotted(parts[:i])} "
                    f"(positions: {span}{named}){_suggest(part, list(names))}",
                    parts[: i + 1],
                )
            else:
                slot = parts[i] = int(part)
            child_kind = kind.tp
        else:
            raise _BadKey(
                f"'{_dotted(parts[:i])}' is a value, it has no key '{part}'", parts[: i + 1]
            )
        if last:
            if not dry:
                node[slot] = value
                if isinstance(node, LineDict):
                    node.locs[str(slot)] = src
                elif isinstance(node, LineList):
                    node.locs[int(slot)] = src
            return _dotted(parts)
        existed = slot in node if isinstance(node, dict) else True
        if existed:
            child = node[slot]
        else:  # a section not written in the file: start from its schema default
            child = _plain(kind.tp.model_fields[slot].get_default(call_default_factory=True))
        want: type = list if child_kind.tag == "list" else dict
        if child_kind.tag == "leaf" or not isinstance(child, want):
            raise _BadKey(
                f"'{_dotted(parts[: i + 1])}' is not a section in the file, so it has no key "
                f"'{parts[i + 1]}'",
                parts[: i + 1],
            )
        child = _copy(child)
        node[slot] = child
        if isinstance(node, LineDict) and not existed:
            node.locs[str(slot)] = src
        node, kind = child, child_kind
        i += 1


# ---------------------------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------------------------


def _parse_overrides(overrides: Sequence[str]) -> list[tuple[str, str, Any]]:
    """(text, key, value) per override; raises ScenarioError naming every malformed one."""
    parsed: list[tuple[str, str, Any]] = []
    problems: list[Problem] = []
    for text in overrides:
        key, eq, raw = str(text).partition("=")
        key = key.strip()
        if not eq or not key or any(not p for p in key.split(".")):
            problems.append(
                Problem(
                    "expected key=value with a dotted key, e.g. moderation.twitter.intensity=0.001",
                    override=str(text),
                )
            )
            continue
        try:
            value = yaml.load(raw, Loader=_ValueLoader) if raw.strip() else None  # noqa: S506
        except yaml.YAMLError as err:
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            problems.append(Problem(f"cannot read the value: {problem}", override=str(text)))
            continue
        except (ValueError, OverflowError):  # e.g. an impossible date such as 2015-13-01
            value = raw.strip()
        if value is None:
            problems.append(Problem("no value after '='", key=key, override=str(text)))
            continue
        parsed.append((str(text), key, value))
    if problems:
        raise ScenarioError(problems)
    return parsed


def parse_set(overrides: Sequence[str] | None) -> dict[str, Any]:
    """Parse ``--set`` texts ``dotted.key=value`` into {key: value}; values are read as YAML.

    Only the syntax is checked here; whether the keys exist is checked by :func:`load_scenario`.
    Raises ScenarioError naming each malformed override.
    """
    return {key: value for _, key, value in _parse_overrides(list(overrides or []))}


def _apply_overrides(
    data: LineDict, parsed: list[tuple[str, str, Any]], file: str, schema: _Kind
) -> None:
    problems: list[Problem] = []
    for n, (text, key, value) in enumerate(parsed):
        try:
            resolved = _place(data, key, value, Source(None, None, text), schema)
            parsed[n] = (text, resolved, value)  # (a timeline entry by position: see _translate)
        except _BadKey as err:
            problems.append(Problem(err.message, file, None, key, override=text))
    if problems:
        raise ScenarioError(problems)


# ---------------------------------------------------------------------------------------------
# Validation errors in plain English
# ---------------------------------------------------------------------------------------------

_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}
_BOUND_KEYS = {
    "greater_than": "gt",
    "greater_than_equal": "ge",
    "less_than": "lt",
    "less_than_equal": "le",
}


def _clean_loc(loc: Sequence[Part], root: _Kind) -> tuple[list[Part], _Kind | None]:
    """Drop pydantic's union tags from ``loc``; return the path and the kind of its parent."""
    kind: _Kind | None = root
    parent: _Kind | None = None
    path: list[Part] = []
    for part in loc:
        if part == "[key]":
            continue
        if kind is not None and kind.tag == "union" and isinstance(part, str):
            member = _union_tags(kind.tp).get(part)
            if member is not None:
                kind = _Kind("model", member)
                continue
        path.append(part)
        parent = kind
        kind = _step(kind, part)
    return path, parent


def source_of(data: LineDict, path: Sequence[Part]) -> Source | None:
    """Where the deepest existing key of ``path`` was written (nearest parent if not written)."""
    src: Source | None = data.loc
    node: Any = data
    for part in path:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            src = getattr(node, "locs", {}).get(part, src)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            locs = getattr(node, "locs", [])
            src = locs[part] if part < len(locs) else src
            node = node[part]
        else:
            break
    return src


def _get(data: Any, path: Sequence[Part]) -> Any:
    """The value at ``path`` in a YAML tree, or None where the path does not exist."""
    return keys.get(data, path, None)


def _literal_choices(path: list[Part], parent: _Kind | None) -> list[str]:
    """The values of the ``Literal`` expected at ``path`` (empty when the schema has none)."""
    kind = _step(parent, path[-1]) if path else None
    if kind is None or kind.tag != "leaf" or get_origin(kind.tp) is not Literal:
        return []
    return [str(a) for a in get_args(kind.tp)]


def _tag_choices(parent: _Kind | None) -> list[str]:
    """The ``action`` tags of the event kinds a list of events (``parent``) accepts."""
    if parent is None or parent.tag != "list" or parent.tp.tag != "union":
        return []
    return list(_union_tags(parent.tp.tp))


def _describe(err: Any, path: list[Part], parent: _Kind | None) -> str:
    """One pydantic error as plain English (without location)."""
    etype: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    value = err.get("input")
    got = f", got {_show(value)}"
    last = str(path[-1]) if path else ""
    if etype == "extra_forbidden":
        fields: list[str] = []
        if parent is not None and parent.tag == "model":
            fields = list(parent.tp.model_fields)
            if issubclass(parent.tp, ScenarioBase):
                fields += ["extends", OVERLAY_KEY, CHANGES_KEY]
        hint = _suggest(last, fields) or (
            f"; expected one of: {_listing(fields)}" if fields else ""
        )
        return f"unknown key{hint}"
    if etype == "missing":
        return "required key is missing"
    if etype in ("float_parsing", "float_type"):
        return f"expected a number{got}"
    if etype in ("int_parsing", "int_type", "int_from_float", "int_parsing_size"):
        return f"expected a whole number{got}"
    if etype == "finite_number":
        return f"expected a finite number{got}"
    if etype in _BOUNDS:
        bound = ctx.get(_BOUND_KEYS[etype])
        shown = bound if isinstance(bound, str) else _show(bound)  # (a date bound is text)
        return f"must be {_BOUNDS[etype]} {shown}{got}"
    if etype == "date_from_datetime_inexact":
        return f"expected a date without a time of day (YYYY-MM-DD){got}"
    if etype.startswith("date_") or etype.startswith("datetime_"):
        return f"not a valid date (YYYY-MM-DD){got}"
    if etype == "string_pattern_mismatch":
        if ctx.get("pattern") == NAME_PATTERN:
            return f"may contain only letters, digits, '_', '.' and '-' (no spaces){got}"
        if ctx.get("pattern") == EVENT_NAME_FIELD_PATTERN:
            return f"a timeline entry's name must be {EVENT_NAME_RULE}{got}"
        return f"must match the pattern {ctx.get('pattern')}{got}"
    if etype in ("string_type", "string_unicode"):
        return f"expected text{got}"
    if etype in ("string_too_short", "string_too_long"):
        return f"{err['msg'].replace('String should', 'text must')}{got}"
    if etype in ("bool_type", "bool_parsing"):
        return f"expected true or false{got}"
    if etype == "literal_error":
        options = _literal_choices(path, parent)
        if not options:
            return f"{err['msg']}{got}"
        hint = _suggest(str(value), options) if isinstance(value, str) else ""
        return f"expected one of {', '.join(repr(o) for o in options)}{got}{hint}"
    if etype == "union_tag_invalid":
        options = _tag_choices(parent)
        tag = str(ctx.get("tag"))
        listed = f" (expected one of {', '.join(options)})" if options else ""
        return f"unknown {_TAG_FIELD} '{tag}'{_suggest(tag, options)}{listed}"
    if etype == "union_tag_not_found":
        options = sorted(_tag_choices(parent))
        return f"missing '{_TAG_FIELD}:' (one of {', '.join(options)})" if options else err["msg"]
    if etype == PROBLEM_TYPE:
        return str(ctx.get("message", err["msg"]))
    if etype in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        return f"expected a section of 'key: value' lines{got}"
    if etype in ("list_type", "tuple_type", "iterable_type"):
        return f"expected a list (lines starting with '- '){got}"
    if etype in ("value_error", "assertion_error"):
        return re.sub(r"^(Value error|Assertion failed), ", "", str(err["msg"]))
    return f"{err['msg']}{got}"


def _set_value_problem(data: LineDict, key: str, value: Any, schema: _Kind) -> str | None:
    """Plain-English reason why a timeline ``set`` of ``key`` to ``value`` is invalid."""
    try:
        _place(_copy(data), key, value, Source(None, None), schema, dry=True)
    except _BadKey as err:
        return f"not a scenario key: {err.message}"
    parts = key.split(".")
    kind: _Kind | None = schema
    node: Any = data
    for part in parts[:-1]:
        if kind is not None and kind.tag == "union":
            member = _member_for(kind.tp, node)
            kind = _Kind("model", member) if member else None
        step: Part = int(part) if kind is not None and kind.tag == "list" else part
        kind = _step(kind, step)
        node = _get(node, [step])
    if kind is None or kind.tag != "model":
        return None
    try:
        kind.tp.model_validate({parts[-1]: value})
    except ValidationError as err:
        for e in err.errors():
            if tuple(e["loc"][:1]) == (parts[-1],):
                return _describe(e, [parts[-1]], kind)
    return None


def _written(data: Any, path: Sequence[Part]) -> int:
    """How many leading parts of ``path`` are written in ``data`` (the file and overrides)."""
    node = data
    for n, part in enumerate(path):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            return n
        node = node[part]
    return len(path)


def _problem_path(loc: list[Part], ctx: dict[str, Any], data: Any) -> list[Part]:
    """The key a validator's problem is about: pydantic's ``loc`` plus the problem's relative
    ``at``, cut to the deepest key written in the file (a key left at its default has no line;
    the problem is then reported at the section that holds it)."""
    full = [*loc, *ctx.get("at", ())]
    return full[: max(_written(data, full), len(loc))]


def _problem_message(ctx: dict[str, Any], path: list[Part], data: LineDict, schema: _Kind) -> str:
    """A validator's message, made more precise where its context allows: the reason a timeline
    ``set`` value is invalid (``explain_set``), a did-you-mean from its ``choices``."""
    message = str(ctx.get("message", ""))
    if ctx.get("explain_set") and len(path) >= 2 and path[-2] == "values":
        values = _get(data, path[:-1])
        key = str(path[-1])
        if isinstance(values, dict) and key in values:
            message = _set_value_problem(data, key, values[key], schema) or message
    value, choices = ctx.get("value"), ctx.get("choices")
    if choices and isinstance(value, str) and value not in choices:
        message += _suggest(value, list(choices))
    return message


def _located(e: Any, data: LineDict, schema: _Kind) -> tuple[list[Part], list[Part], str]:
    """One pydantic error as (its cleaned ``loc``, the path of the key it is about, message)."""
    loc, parent = _clean_loc(e["loc"], schema)
    if e["type"] == PROBLEM_TYPE:
        ctx: dict[str, Any] = e.get("ctx") or {}
        path = _problem_path(loc, ctx, data)
        return loc, path, _problem_message(ctx, path, data, schema)
    message = _describe(e, loc, parent)
    if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return loc, [*loc, _TAG_FIELD], message
    return loc, loc, message


def _by_name(data: Any, path: Sequence[Part]) -> list[Part]:
    """``path`` with each list position of a named item replaced by the item's name (a problem
    in a named timeline entry is reported as ``timeline.<name>.<field>``)."""
    out: list[Part] = []
    node = data
    for part in path:
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            item = node[part]
            name = item.get("name") if isinstance(item, dict) else None
            ok = (
                isinstance(name, str)
                and event_name_problem(name) is None
                and keys.item_names(node).get(name) == part
            )
            out.append(name if ok and name is not None else part)
            node = item
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) and isinstance(part, str) else None
    return out


def _translate(
    err: ValidationError,
    data: LineDict,
    main_file: str,
    overrides: list[tuple[str, str, Any]],
    schema: _Kind,
) -> ScenarioError:
    problems: list[tuple[tuple[int, str, int], int, Problem]] = []
    for n, e in enumerate(err.errors()):
        section, path, message = _located(e, data, schema)
        if e["type"] in (PROBLEM_TYPE, "value_error", "assertion_error"):  # a rule across keys
            used = [
                t
                for t, k, _ in overrides
                if k.split(".")[: len(section)] == [str(p) for p in section]
            ]
            src = source_of(data, path)
            if used and (src is None or src.override is None):
                message += " (with " + ", ".join(f"--set {t}" for t in used) + ")"
        src = source_of(data, path)
        key = _dotted(_by_name(data, path)) or None
        if src is not None and src.override is not None:
            problem = Problem(message, main_file, None, key, override=src.override)
            rank = (0, "", 0)
        else:
            file = src.file if src else main_file
            line = src.line if src else None
            problem = Problem(message, file, line, key)
            rank = (1 if file == main_file else 2, file or "", line or 0)
        problems.append((rank, n, problem))
    problems.sort(key=lambda t: (t[0], t[1]))
    return ScenarioError([p for _, _, p in problems])


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def load_scenario[S: ScenarioBase](
    path: str | Path, overrides: Sequence[str] | None, schema: type[S]
) -> S:
    """Load, merge (``extends``), override (``--set`` texts) and validate a scenario file with
    the root ``schema`` (the assembled ``sim.scenario.Scenario``).

    Raises ScenarioError (and nothing else) for anything wrong with the file or the overrides.
    """
    file = str(path)
    root = _Kind("model", schema)
    parsed = _parse_overrides(list(overrides or []))
    data = _load_tree(file, [])
    _apply_overrides(data, parsed, file, root)
    try:
        return schema.model_validate(data)
    except ValidationError as err:
        raise _translate(err, data, file, parsed, root) from None


def load_yaml_model[M: BaseModel](model: type[M], path: str | Path, what: str = "") -> M:
    """Read a YAML data file that is not a scenario (no ``extends``, no ``--set``: calibration
    targets and priors, sensitivity parameters) and validate it with ``model``.

    Raises ScenarioError (and nothing else) naming the file, line and key of each problem, worded
    as for scenarios; ``what`` names the expected content in the message for an empty file.
    """
    file = str(path)
    if what and Path(path).is_file() and not Path(path).read_bytes().strip():
        raise ScenarioError(Problem(f"the file is empty: expected the {what}", file, 1))
    data = read_yaml(file)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            _, at, message = _located(e, data, _Kind("model", model))
            src = source_of(data, at)
            line = src.line if src else None
            problems.append(Problem(message, src.file if src else file, line, _dotted(at) or None))
        raise ScenarioError(problems) from None


def scenario_to_yaml(s: BaseModel) -> str:
    """The fully resolved scenario as YAML (every field, defaults included; loads back equal)."""
    # mode="python" keeps dates as YAML dates and infinities as .inf (JSON mode would turn them
    # into quoted text and null); every value in the schema is a plain YAML type.
    return yaml.safe_dump(
        s.model_dump(mode="python"), sort_keys=False, allow_unicode=True, width=100
    )
