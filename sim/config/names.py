"""The rules for names: a scenario's ``name`` (a folder name) and a timeline entry's ``name``.

A name may hold letters, digits, ``_``, ``.`` and ``-``; it may not start with ``.`` (hidden and
unfinished folders start with one) nor contain ``..``. The schema's ``name`` field uses
``NAME_PATTERN``; ``sim.io.folders`` builds the folder names (``<name>-<YYYYmmdd-HHMMSS>``, a
collision suffix, the temporary name) on top of ``check_name``.
"""

from __future__ import annotations

import re

NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
NAME_CHARACTERS = "letters, digits, '_', '-' and '.'"
_NAME = re.compile(NAME_PATTERN)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a folder name, or None if it can."""
    if not _NAME.match(name):
        return f"use only {NAME_CHARACTERS} (no spaces or slashes)"
    if name.startswith("."):
        return "it may not start with '.'"
    if ".." in name:
        return "it may not contain '..'"
    return None


def check_name(name: str, what: str = "scenario name") -> None:
    """Raise ``ValueError`` unless ``name`` is safe as a folder name inside an output folder."""
    why = name_problem(name)
    if why is not None:
        raise ValueError(
            f"{what} {name!r} cannot be used as a results folder name: use {NAME_CHARACTERS}, "
            f"not starting with '.' and without '..' ({why})"
        )


# A timeline entry's ``name`` is a part of dotted keys (``timeline.<name>.date``): no dots, and it
# starts with a letter so that it is never read as a position (``timeline.3``).
EVENT_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"
EVENT_NAME_FIELD_PATTERN = r"^(?:[A-Za-z][A-Za-z0-9_-]*)?$"  # the schema's field: a name or ""
EVENT_NAME_RULE = "a letter, then letters, digits, '_' or '-' (no dots or spaces)"
_EVENT_NAME = re.compile(EVENT_NAME_PATTERN)


def event_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a timeline entry, or None if it can."""
    if not _EVENT_NAME.match(name):
        return f"a timeline entry's name must be {EVENT_NAME_RULE}, got {name!r}"
    return None
