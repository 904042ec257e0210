"""The version and git commit of this propsim, for manifests and ``propsim --version``.

Bottom layer (imports nothing from sim but the generated ``sim._build``). Two sources, in order:

1. a git checkout whose top level directly holds the ``sim`` package (a source checkout or an
   editable install): its ``HEAD`` and whether tracked files differ from it;
2. ``sim/_build.py``, written by the build (``setup.py``'s ``build_py``; git-ignored) with the
   version and the commit the wheel was built from, so a results folder made by an installed
   wheel still names its commit.

Neither: commit and dirty are None.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuildInfo", "build_info", "git_state", "package_version"]

DISTRIBUTION = "propsim"


@dataclass(frozen=True)
class BuildInfo:
    """What a manifest records about the code: version, commit and dirty flag (when known)."""

    version: str
    commit: str | None
    dirty: bool | None
    source: str  # "checkout", "build" or "unknown": where commit and dirty come from


def package_version() -> str:
    """Installed version of the ``propsim`` distribution, else the build's, else "unknown"."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        stamp = _stamp()
        return str(stamp.get("VERSION") or "unknown")


def _stamp() -> dict[str, object]:
    try:
        module = importlib.import_module("sim._build")
    except ImportError:
        return {}
    return {k: getattr(module, k, None) for k in ("VERSION", "COMMIT", "DIRTY")}


def _checkout_state() -> tuple[str, bool] | None:
    """(commit, dirty) of the git checkout the ``sim`` package was imported from, if any.

    Only a repository whose top level directly holds the package counts (not, say, a venv that
    happens to sit in some other repository).
    """
    pkg = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "-C", str(pkg), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip()

    try:
        top = Path(git("rev-parse", "--show-toplevel")).resolve()
        if top != pkg.parent:
            return None
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        return commit, dirty
    except (OSError, subprocess.SubprocessError):
        return None


def build_info() -> BuildInfo:
    """Version, commit and dirty flag: from the checkout, else from the build stamp."""
    version = package_version()
    state = _checkout_state()
    if state is not None:
        return BuildInfo(version, state[0], state[1], "checkout")
    stamp = _stamp()
    commit = stamp.get("COMMIT")
    if isinstance(commit, str) and commit:
        dirty = stamp.get("DIRTY")
        return BuildInfo(version, commit, dirty if isinstance(dirty, bool) else None, "build")
    return BuildInfo(version, None, None, "unknown")


def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) as ``sim.io.results`` records them: ``build_info`` without the version."""
    info = build_info()
    return info.commit, info.dirty
