"""What the ``propsim`` subcommands share: exit codes, argument types, messages, file arguments.

Light imports only (the parser of every command is built on each call of ``propsim``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import EXIT_BAD_INPUT, EXIT_FAILURE, BadInput

if TYPE_CHECKING:
    from sim.scenario import Scenario

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "FMT",
    "MAX_REPLICATES",
    "NAME_HELP",
    "PROG",
    "SET_HELP",
    "err",
    "folder_name",
    "load",
    "named_sets",
    "note",
    "positive_int",
    "prepare_out",
    "resolve_file",
    "scenario_path",
    "seed",
]

PROG = "propsim"
EXIT_OK, EXIT_INTERRUPTED = 0, 130
MAX_REPLICATES = 1000
FMT = argparse.RawDescriptionHelpFormatter
SET_HELP = (
    "override a scenario value by its dotted key path, e.g. "
    "--set moderation.twitter.intensity=0.002 (repeatable; applied in order)"
)
NAME_HELP = (
    "call the scenario NAME instead of its file's `name:`: the results folder and its label in "
    "tables, plots and the report (for a variant built with --set); letters, digits, '_', '-' "
    "and '.'"
)
SCENARIO_HELP = (
    "scenario YAML file, or the name of a shipped scenario (baseline, ...) when no such file "
    "exists here"
)


def err(message: str) -> None:
    """``propsim: error: MESSAGE`` on standard error."""
    print(f"{PROG}: error: {message}", file=sys.stderr)


def note(message: str) -> None:
    """``propsim: note: MESSAGE`` on standard error."""
    print(f"{PROG}: note: {message}", file=sys.stderr)


def positive_int(text: str) -> int:
    """A whole number in 1..MAX_REPLICATES (replicates, workers, samples)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_REPLICATES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_REPLICATES}, got {value}")
    return value


MAX_SEED = 2**32 - 1 - MAX_REPLICATES  # as sim.config.schema.MAX_SEED (light import here)


def seed(text: str) -> int:
    """A root seed: a whole number, 0 to MAX_SEED (seed + replicate fits numpy and Parquet)."""
    text = text.strip()
    if len(text) > 30 or not text.lstrip("+-").isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:30]!r}")
    value = int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED}, got {value}")
    return value


def folder_name(text: str) -> str:
    """A ``--name``: safe as a results folder name (``sim.config.names.check_name``), else an
    argparse error (exit code 2, the rule in the message)."""
    from sim.config.names import name_problem

    why = name_problem(text)
    if why is not None:
        raise argparse.ArgumentTypeError(
            f"{text!r} cannot name a results folder: {why}; use letters, digits, '_', '-' and "
            "'.', not starting with '.'"
        )
    return text


def named_sets(args: argparse.Namespace) -> list[str]:
    """``--set`` texts of ``args``, then ``name=NAME`` for ``--name NAME`` if given: the name
    goes through the scenario's own ``name`` field, so every copy of it (points, arms, the
    saved scenario.yaml that reproduces the folder) carries it."""
    sets = list(getattr(args, "set", None) or [])
    name = getattr(args, "name", None)
    return [*sets, f"name={name}"] if name else sets


def prepare_out(out: Path) -> Path:
    """The output folder, created if needed; ``BadInput`` if it cannot be written."""
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BadInput(f"--out {out}: cannot create the folder ({error.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BadInput(f"--out {out}: the folder is not writable")
    # a real test: os.access says yes for root in read-only places (/proc, a read-only mount)
    import tempfile

    try:
        with tempfile.TemporaryDirectory(prefix=".propsim-check-", dir=out):
            pass
    except OSError as error:
        raise BadInput(f"--out {out}: cannot create folders there ({error.strerror})") from None
    return out


def resolve_file(text: str, what: str, folder: str) -> Path:
    """A file argument: the file if it exists, else the shipped file it names (with a note)."""
    from sim.config.resources import resolve_input

    path, is_shipped = resolve_input(text, what, folder)
    if is_shipped:
        note(f"no file {text} here: using the shipped {path} (`propsim init` copies it out)")
    return path


def scenario_path(text: str) -> Path:
    """The scenario file of a SCENARIO argument (a file here, else a shipped scenario)."""
    return resolve_file(text, "scenario", "scenarios")


def load(args: argparse.Namespace) -> Scenario:
    """The scenario of ``args.scenario`` with the ``--set`` overrides of ``args.set`` (and the
    ``--name`` of ``args.name``, if the command has one: ``named_sets``)."""
    from sim.scenario import load_scenario

    return load_scenario(scenario_path(args.scenario), named_sets(args))
