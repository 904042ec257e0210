"""The files that ship with propsim, and how a command's file arguments find them.

Shipped files: ``scenarios/*.yaml`` (with ``scenarios/sensitivity/``) and ``calibration/``
(targets, priors, the calibrated overlay, the discussion of the fit report). In a source
checkout (or an editable install) they are the checkout's top-level ``scenarios/`` and
``calibration/`` folders; in an installed wheel the build copies both into the package as
``sim/data/scenarios/`` and ``sim/data/calibration/`` (``setup.py``), read here with
``importlib.resources``. Both layouts keep ``scenarios/`` beside ``calibration/``, so
``overlay: ../calibration/calibrated.yaml`` resolves in either.

How an argument naming a file is resolved (``resolve_input``):

1. an existing file at the given path (relative to the working folder) is used as is, so a
   copy made by ``propsim init`` and edited wins over the shipped one;
2. otherwise, a name of a shipped file is accepted: ``baseline``, ``baseline.yaml`` and
   ``scenarios/baseline.yaml`` all name the shipped baseline, ``calibration/targets.yaml`` (or
   ``targets``) the shipped targets; the caller says which file it used (a note on stderr);
3. anything else is not found (``BadInput``, exit code 2) with the shipped names listed.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
from pathlib import Path, PurePosixPath

from sim.errors import BadInput

__all__ = [
    "CALIBRATION",
    "SCENARIOS",
    "data_root",
    "find_shipped",
    "local_or_shipped",
    "resolve_input",
    "shipped",
    "shipped_files",
    "shipped_names",
]

SCENARIOS = "scenarios"
CALIBRATION = "calibration"
FOLDERS = (SCENARIOS, CALIBRATION)
SUFFIXES = (".yaml", ".yml", ".md", ".csv")  # .csv: calibration/posterior.csv

_root: Path | None = None


def data_root() -> Path:
    """The folder that holds the shipped ``scenarios/`` and ``calibration/`` folders."""
    global _root
    if _root is not None:
        return _root
    packaged = importlib.resources.files("sim") / "data"
    if packaged.is_dir():  # an installed wheel
        if isinstance(packaged, Path):
            _root = packaged
        else:  # a zipped install: extract once for this process
            stack = contextlib.ExitStack()
            atexit.register(stack.close)
            _root = Path(stack.enter_context(importlib.resources.as_file(packaged)))
        return _root
    checkout = Path(str(importlib.resources.files("sim"))).resolve().parent
    if all((checkout / f).is_dir() for f in FOLDERS):  # a source checkout (editable install)
        _root = checkout
        return _root
    raise FileNotFoundError(
        "the shipped scenarios and calibration files are missing from this installation of "
        "propsim (expected sim/data/ in the package); reinstall it with `pip install propsim`"
    )


def shipped(relative: str) -> Path:
    """The shipped file at ``relative`` (e.g. ``"calibration/targets.yaml"``)."""
    path = data_root() / relative
    if not path.is_file():
        raise FileNotFoundError(f"propsim ships no file {relative!r}")
    return path


def shipped_files() -> list[str]:
    """Every shipped file as a relative POSIX path (``scenarios/baseline.yaml``, ...), sorted."""
    root = data_root()
    found = [
        p.relative_to(root).as_posix()
        for folder in FOLDERS
        for p in (root / folder).rglob("*")
        if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts
    ]
    return sorted(found)


def shipped_names(folder: str = SCENARIOS) -> list[str]:
    """Short names of the shipped YAML files directly in ``folder`` (``baseline``, ...)."""
    prefix = folder + "/"
    return [
        f[len(prefix) :].removesuffix(".yaml")
        for f in shipped_files()
        if f.startswith(prefix) and f.endswith(".yaml") and "/" not in f[len(prefix) :]
    ]


def find_shipped(text: str, folder: str = SCENARIOS) -> Path | None:
    """The shipped file that ``text`` names within ``folder``, or None.

    ``text`` may carry the folder (``scenarios/baseline.yaml``) or not (``baseline.yaml``) and
    may leave out ``.yaml`` (``baseline``). Absolute paths and ``..`` never name shipped files.
    """
    pure = PurePosixPath(text.replace("\\", "/"))
    parts = list(pure.parts)
    if not parts or pure.is_absolute() or ".." in parts:
        return None
    inside = folder.split("/")
    if parts[: len(inside)] == inside:
        parts = parts[len(inside) :]
    if not parts:
        return None
    if not parts[-1].endswith((".yaml", ".yml")):
        parts[-1] += ".yaml"
    try:
        root = data_root()
    except FileNotFoundError:
        return None
    path = root.joinpath(*inside, *parts)
    return path if path.is_file() else None


def resolve_input(text: str, what: str, folder: str = SCENARIOS) -> tuple[Path, bool]:
    """``(path, is_shipped)`` for a file argument: the file if it exists, else the shipped one.

    ``what`` names the argument in messages (``"scenario"``, ``"--params"``, ...). A path that
    exists but is not a file, or names nothing, raises ``BadInput`` saying what to give.
    """
    path = Path(text)
    if path.is_file():
        return path, False
    if path.exists():
        raise BadInput(f"{path}: is not a file; give a {what} YAML file")
    found = find_shipped(text, folder)
    if found is not None:
        return found, True
    try:
        names = shipped_names(folder)
    except FileNotFoundError:
        names = []
    hint = f" (shipped: {', '.join(names)})" if names else ""
    raise BadInput(f"{path}: no such {what} file{hint}")


def local_or_shipped(relative: str) -> Path | None:
    """``relative`` in the working folder if it is a file there, else the shipped file, else
    None: for files a command reads by default (an ``init`` copy the analyst edited wins)."""
    local = Path(relative)
    if local.is_file():
        return local
    try:
        return shipped(relative)
    except FileNotFoundError:
        return None
