"""Dotted keys: the one way to read, write and locate a value by its key path.

A dotted key names a value in a scenario or in any YAML-like tree: ``scale``,
``moderation.twitter.intensity`` (a dict section entry), ``timeline.2.date`` (a list item by
position), ``timeline.3.values.moderation.twitter.intensity`` (a dict whose own keys contain dots,
such as a timeline event's ``values``: where a part is not a key of a dict but the rest of the path
joined by dots is, that joined text is the key).

The same walk serves every kind of tree, node by node:

- a pydantic ``BaseModel``: the part must be one of its fields (``type(node).model_fields``);
- a ``dict`` (a dict section, a dumped scenario, a YAML mapping): the part must be a key, or the
  rest of the path joined by dots must be one;
- a ``list`` or ``tuple``: the part must be a position ``0..len-1``, or the ``name`` of one of its
  items (a dict or model with a non-empty ``name``, such as a named timeline entry:
  ``timeline.surge_fades.date``; the slot is then the item's position);
- anything else is a value and has no keys below it.

A failing walk raises ``KeyPathError`` (a ``KeyError``) carrying the key, the failing part, its
position in ``split(key)`` and the choices there, with a message that says what would work.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

Part = str | int

__all__ = [
    "KeyPathError",
    "Part",
    "get",
    "has",
    "item_names",
    "join",
    "resolve_parent",
    "set",
    "split",
]

_MISSING: Any = object()


class KeyPathError(KeyError):
    """A dotted key that does not lead to a value.

    ``key`` is the whole key, ``part`` the part that failed, ``position`` its index in
    ``split(key)`` (so ``split(key)[:position]`` is the part of the path that exists) and
    ``choices`` the keys or positions that exist there.
    """

    def __init__(
        self, key: str, part: str, position: int, reason: str, choices: Sequence[str] = ()
    ) -> None:
        super().__init__(key)
        self.key = key
        self.part = part
        self.position = position
        self.reason = reason
        self.choices = list(choices)

    @property
    def parent(self) -> str:
        """The existing part of the path above the failing part ("" at the root)."""
        return join(split(self.key)[: self.position])

    def __str__(self) -> str:
        return self.reason


def split(key: str | Sequence[Part]) -> list[str]:
    """The parts of a dotted key; a sequence of parts is taken as already split."""
    if not isinstance(key, str):
        return [str(p) for p in key]
    parts = key.split(".")
    if not key or any(p == "" for p in parts):
        raise KeyPathError(
            key,
            "",
            next((i for i, p in enumerate(parts) if p == ""), 0),
            f"{key!r} is not a dotted key: write the parts joined by single dots, "
            "e.g. moderation.twitter.intensity",
        )
    return parts


def join(parts: Sequence[Part]) -> str:
    """The dotted key of ``parts`` (the inverse of ``split``)."""
    return ".".join(str(p) for p in parts)


def _where(parts: Sequence[str], i: int) -> str:
    return f" in {join(parts[:i])}" if i else ""


def _listing(choices: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(choices[:limit])
    return shown + (f", ... ({len(choices)} in all)" if len(choices) > limit else "")


def _unknown(key: str, parts: Sequence[str], i: int, choices: Sequence[str]) -> KeyPathError:
    part = parts[i]
    close = difflib.get_close_matches(part, choices, n=1, cutoff=0.6)
    if close:
        hint = f"; did you mean '{close[0]}'?"
    elif choices:
        hint = f"; expected one of: {_listing(choices)}"
    else:
        hint = f"; {join(parts[:i]) or 'the tree'} has no entries"
    return KeyPathError(key, part, i, f"unknown key '{part}'{_where(parts, i)}{hint}", choices)


def _step(node: Any, key: str, parts: list[str], i: int) -> tuple[Any, Part, int]:
    """One step down from ``node`` at ``parts[i]``: (child, slot in node, parts consumed).

    The slot is the field name, dict key or list position; for a dict whose key holds dots the
    step consumes the rest of the path.
    """
    part = parts[i]
    if isinstance(node, BaseModel):
        fields = type(node).model_fields
        if part not in fields:
            raise _unknown(key, parts, i, list(fields))
        return getattr(node, part), part, 1
    if isinstance(node, dict):
        if part in node:
            return node[part], part, 1
        rest = join(parts[i:])
        if i < len(parts) - 1 and rest in node:
            return node[rest], rest, len(parts) - i
        raise _unknown(key, parts, i, [str(k) for k in node])
    if isinstance(node, list | tuple):
        names = item_names(node)
        if part in names:
            return node[names[part]], names[part], 1
        if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
            span = f"0..{len(node) - 1}" if node else "none: the list is empty"
            named = f"; names: {_listing(list(names))}" if names else ""
            close = difflib.get_close_matches(part, list(names), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise KeyPathError(
                key,
                part,
                i,
                f"'{part}' is not a position{' or name' if names else ''}{_where(parts, i)} "
                f"(positions: {span}{named}){hint}",
                [*names, *(str(n) for n in range(len(node)))],
            )
        return node[int(part)], int(part), 1
    where = join(parts[:i]) or "the root"
    raise KeyPathError(key, part, i, f"{where} is a value, it has no key '{part}'")


def item_names(items: Sequence[Any]) -> dict[str, int]:
    """The position of each named item of a list (items that are dicts or models with a
    non-empty text ``name``; the first of equal names wins)."""
    names: dict[str, int] = {}
    for n, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else getattr(item, "name", None)
        if isinstance(name, str) and name and name not in names:
            names[name] = n
    return names


def resolve_parent(root: Any, key: str | Sequence[Part]) -> tuple[Any, Part]:
    """The node that holds ``key``'s value and the value's slot in it (field, key or position).

    The slot must exist: a model field, a dict key or a list position (use ``set(...,
    create=True)`` to add dict entries). Raises ``KeyPathError``.
    """
    text = key if isinstance(key, str) else join(key)
    parts = split(key)
    if not parts:
        raise KeyPathError(text, "", 0, "an empty key names the whole tree, not a value in it")
    node, i = root, 0
    while True:
        child, slot, used = _step(node, text, parts, i)
        if i + used >= len(parts):
            return node, slot
        node, i = child, i + used


def get(root: Any, key: str | Sequence[Part], default: Any = _MISSING) -> Any:
    """The value at ``key``; ``default`` if given and the key does not exist, else
    ``KeyPathError``. An empty sequence of parts gives ``root`` itself."""
    if not isinstance(key, str) and not key:
        return root
    try:
        parent, slot = resolve_parent(root, key)
    except KeyPathError:
        if default is _MISSING:
            raise
        return default
    if isinstance(parent, BaseModel):
        return getattr(parent, str(slot))
    return parent[slot]


def has(root: Any, key: str | Sequence[Part]) -> bool:
    """Whether ``key`` leads to a value."""
    try:
        resolve_parent(root, key)
    except KeyPathError:
        return False
    return True


def set(root: Any, key: str | Sequence[Part], value: Any, *, create: bool = False) -> None:  # noqa: A001
    """Put ``value`` at ``key``, in place.

    Models are assigned with ``setattr`` (a model with ``validate_assignment`` checks the value).
    Without ``create`` the key must exist; with it, missing dict entries on the way (and the last
    one) are added as dicts, so ``set({}, "a.b", 1, create=True)`` gives ``{"a": {"b": 1}}``.
    Raises ``KeyPathError``.
    """
    text = key if isinstance(key, str) else join(key)
    parts = split(key)
    node, i = root, 0
    while True:
        try:
            child, slot, used = _step(node, text, parts, i)
        except KeyPathError:
            if not (create and isinstance(node, dict)):
                raise
            child, slot, used = {}, parts[i], 1
            if i + used < len(parts):
                node[slot] = child
        if i + used >= len(parts):
            if isinstance(node, BaseModel):
                setattr(node, str(slot), value)
            else:
                node[slot] = value
            return
        node, i = child, i + used
