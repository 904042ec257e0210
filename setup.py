"""Build hooks of propsim (everything else is in pyproject.toml).

1. Package data: the top-level ``scenarios/`` and ``calibration/`` folders (where users and the
   docs expect them) are copied into the built package as ``sim/data/scenarios/`` and
   ``sim/data/calibration/``, so that a plain ``pip install`` has every file a command reads by
   default (``sim.config.resources`` reads them with ``importlib.resources``). Both keep their
   relative layout: ``extends: ../calibration/calibrated.yaml`` resolves inside the package.
2. Build stamp: ``sim/_build.py`` (git-ignored) records the version and the git commit the
   build was made from (and whether tracked files differed from it), so results folders made by
   an installed wheel still name their commit (``sim.version.build_info``). An sdist carries the
   stamp of the checkout it was made from; a build without git keeps that stamp.

Editable installs need neither: they read the checkout itself.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
DATA_FOLDERS = ("scenarios", "calibration")
DATA_SUFFIXES = (".yaml", ".yml", ".md", ".csv")  # .csv: calibration/posterior.csv
STAMP = Path("sim") / "_build.py"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(HERE), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _stamp(version: str) -> str | None:
    """The text of ``sim/_build.py``, or None outside a git checkout of propsim."""
    top = _git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != HERE:
        return None
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return None
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return (
        '"""Written by propsim\'s build (setup.py); read by sim.version. Not in git."""\n\n'
        f"VERSION = {version!r}\nCOMMIT = {commit!r}\nDIRTY = {dirty!r}\n"
    )


def _data_files() -> list[Path]:
    return sorted(
        p.relative_to(HERE)
        for folder in DATA_FOLDERS
        for p in (HERE / folder).rglob("*")
        if p.is_file() and p.suffix in DATA_SUFFIXES
    )


class BuildPy(build_py):
    """``build_py`` that also copies the data folders into ``sim/data/`` and stamps the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        package = Path(self.build_lib) / "sim"
        data = package / "data"
        if data.exists():
            shutil.rmtree(data)
        for rel in _data_files():
            dest = data / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HERE / rel, dest)
        text = _stamp(self.distribution.get_version())
        stamp = Path(self.build_lib) / STAMP
        if text is not None:
            stamp.write_text(text, encoding="utf-8")
        elif not stamp.exists():  # no git and no stamp from an sdist: the commit is unknown
            stamp.write_text(
                f"VERSION = {self.distribution.get_version()!r}\nCOMMIT = None\nDIRTY = None\n",
                encoding="utf-8",
            )


class Sdist(sdist):
    """``sdist`` that puts the build stamp of this checkout into the source archive."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        text = _stamp(self.distribution.get_version())
        if text is not None:
            target = Path(base_dir) / STAMP
            target.unlink(missing_ok=True)  # (may be a hard link to a file of the checkout)
            target.write_text(text, encoding="utf-8")


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
