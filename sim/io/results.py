"""Results folders: writing a run's outputs atomically, and reading them back.

Data flow: resolved ``Scenario`` + the daily tables of its replicates (from
``sim.execution.runner.run_replicates``) -> ``write_results`` ->
``<out_dir>/<name>-<YYYYmmdd-HHMMSS>/``
-> ``read_results`` (and later reports, comparisons) read it back.

Layout of a results folder (see also ``results/README.md``)::

    manifest.json                 resolved scenario, seeds, versions, git commit, timings,
                                  command line and the command that reproduces the folder
    scenario.yaml                 the fully resolved scenario (no ``extends``), runnable as is
    daily/replicate_<r>.parquet   daily metrics of replicate r (r = 0, 1, ...; seed = seed + r),
                                  index "date", columns ``sim.metrics.column_names``
    summary.csv, summary.parquet  one row per replicate: replicate, seed, summary outcomes
    plots/*.png                   time series with uncertainty bands and targets

Atomicity: everything is written into a hidden sibling ``.<folder>.partial-<pid>`` and renamed
to its final name as the very last step, so a folder with the final name is always complete. On
any exception (including KeyboardInterrupt) the partial folder is removed.
"""

from __future__ import annotations

import datetime as dt
import errno
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config.schema import Scenario
from sim.execution.runner import encrypted_platforms, open_platforms
from sim.metrics import OUTCOMES, summarize


def make_plots(
    dailies: Sequence[pd.DataFrame], scenario: Any, folder: Path, targets: Sequence[Any] = ()
) -> list[Path]:
    """``sim.io.plots.make_plots``, imported on first use: matplotlib takes about a second to
    import,
    which runs without plots (sweeps, ``--no-plots``) should not pay."""
    from sim.io.plots import make_plots as draw

    return draw(dailies, scenario, folder, targets)


MANIFEST = "manifest.json"
SCENARIO_FILE = "scenario.yaml"
DAILY_DIR = "daily"
PLOTS_DIR = "plots"
SUMMARY_CSV = "summary.csv"
SUMMARY_PARQUET = "summary.parquet"
FORMAT_VERSION = 1

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_PARTIAL = ".partial-"


def validate_name(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is safe as a folder name inside the output folder.

    Allowed: letters, digits, ``_``, ``.`` and ``-``; not starting with ``.`` (hidden and
    partial folders start with one) and not containing ``..``.
    """
    if not _NAME.match(name) or name.startswith(".") or ".." in name:
        raise ValueError(
            f"scenario name {name!r} cannot be used as a results folder name: use letters, "
            "digits, '_', '-' and '.', not starting with '.' and without '..'"
        )


def folder_name(name: str, started: dt.datetime) -> str:
    """Final folder name of a run: ``<name>-<YYYYmmdd-HHMMSS>`` (local start time)."""
    return f"{name}-{started:%Y%m%d-%H%M%S}"


def daily_file(replicate: int) -> str:
    return f"{DAILY_DIR}/replicate_{replicate}.parquet"


def package_version() -> str:
    """Installed version of the ``propsim`` distribution, or ``"unknown"``."""
    try:
        return importlib.metadata.version("propsim")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout the ``sim`` package was imported from, if any.

    Only a repository whose top level directly holds the package counts (not, say, a venv that
    happens to sit in some other repository). Failures give ``(None, None)``.
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
            return None, None
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        return commit, dirty
    except (OSError, subprocess.SubprocessError):
        return None, None


def summary_table(
    scenario: Scenario, dailies: Sequence[pd.DataFrame], seeds: Sequence[int]
) -> pd.DataFrame:
    """One row per replicate: ``replicate``, ``seed`` and the ``sim.metrics`` outcomes."""
    opens, encs = open_platforms(scenario), encrypted_platforms(scenario)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for r, (daily, seed) in enumerate(zip(dailies, seeds, strict=True)):
            rows.append({"replicate": r, "seed": seed, **summarize(daily, opens, encs)})
    columns = ["replicate", "seed", *(o.name for o in OUTCOMES)]
    return pd.DataFrame(rows, columns=columns)


def reproduce_command(folder: Path, seeds: Sequence[int]) -> str:
    """The ``propsim`` command that re-runs a results folder from its own ``scenario.yaml``."""
    cmd = ["propsim", "run", str(folder / SCENARIO_FILE)]
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        cmd += ["--seed", str(seeds[0]), "--replicates", str(len(seeds))]
    return shlex.join(cmd)


def _scenario_yaml(scenario: Scenario) -> str:
    from sim.config.loader import scenario_to_yaml

    return scenario_to_yaml(scenario)


def _manifest(
    scenario: Scenario,
    seeds: Sequence[int],
    command_line: str | Sequence[str],
    started: dt.datetime,
    duration: float,
    final: Path,
    plots: list[str],
) -> dict[str, Any]:
    commit, dirty = git_state()
    if not isinstance(command_line, str):
        command_line = shlex.join(command_line)
    return {
        "format_version": FORMAT_VERSION,
        "name": scenario.name,
        "scenario": scenario.model_dump(mode="json"),
        "seeds": list(seeds),
        "replicates": len(seeds),
        "platforms": {
            "open": open_platforms(scenario),
            "encrypted": encrypted_platforms(scenario),
        },
        "package_version": package_version(),
        "git_commit": commit,
        "git_dirty": dirty,
        "started": started.isoformat(timespec="seconds"),
        "duration_seconds": round(float(duration), 3),
        "command_line": command_line,
        "reproduce": reproduce_command(final, seeds),
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
        "files": {
            "scenario": SCENARIO_FILE,
            "daily": [daily_file(r) for r in range(len(seeds))],
            "summary": [SUMMARY_CSV, SUMMARY_PARQUET],
            "plots": plots,
        },
    }


def _candidates(base: str) -> Iterator[str]:
    yield base
    for k in range(2, 1000):
        yield f"{base}-{k}"


def write_results(
    out_dir: Path,
    scenario: Scenario,
    dailies: Sequence[pd.DataFrame],
    seeds: Sequence[int],
    command_line: str | Sequence[str],
    started: dt.datetime,
    duration: float,
    *,
    plots: bool = True,
    targets: Sequence[Any] = (),
) -> Path:
    """Write a complete results folder under ``out_dir`` and return its path.

    The folder is ``<out_dir>/<scenario.name>-<YYYYmmdd-HHMMSS>`` (from ``started``; ``-2``,
    ``-3``, ... appended if that exists). It appears only when complete: contents go to
    ``<out_dir>/.<folder>.partial-<pid>``, renamed at the end and removed on any exception.
    """
    validate_name(scenario.name)
    if not dailies or len(dailies) != len(seeds):
        raise ValueError(f"need one seed per replicate: {len(dailies)} tables, {len(seeds)} seeds")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = folder_name(scenario.name, started)
    tmp = out_dir / f".{base}{_PARTIAL}{os.getpid()}"
    tmp.mkdir()
    try:
        (tmp / SCENARIO_FILE).write_text(_scenario_yaml(scenario), encoding="utf-8")
        (tmp / DAILY_DIR).mkdir()
        for r, daily in enumerate(dailies):
            daily.to_parquet(tmp / daily_file(r), engine="pyarrow")
        summary = summary_table(scenario, dailies, seeds)
        summary.to_csv(tmp / SUMMARY_CSV, index=False)
        summary.to_parquet(tmp / SUMMARY_PARQUET, engine="pyarrow", index=False)
        plot_files: list[str] = []
        if plots:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                paths = make_plots(dailies, scenario, tmp / PLOTS_DIR, targets=targets)
            plot_files = [f"{PLOTS_DIR}/{p.name}" for p in paths]
        for name in _candidates(base):
            final = out_dir / name
            if final.exists():
                continue
            manifest = _manifest(
                scenario, seeds, command_line, started, duration, final.resolve(), plot_files
            )
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            try:
                os.rename(tmp, final)
            except OSError as err:  # taken meanwhile by a concurrent run
                if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    continue
                raise
            return final
        raise FileExistsError(f"no free results folder name for {base!r} in {out_dir}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def is_partial(folder: Path) -> bool:
    """True for a folder still being written (or left by a killed run)."""
    return Path(folder).name.startswith(".") and _PARTIAL in Path(folder).name


def read_results(folder: Path) -> tuple[dict[str, Any], list[pd.DataFrame], pd.DataFrame]:
    """Read a results folder: (manifest, daily table per replicate in order, summary table)."""
    folder = Path(folder)
    if is_partial(folder):
        raise ValueError(f"{folder} is an unfinished results folder (its run did not complete)")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{folder} is not a results folder: it has no {MANIFEST}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    dailies = [
        pd.read_parquet(folder / daily_file(r), engine="pyarrow")
        for r in range(len(manifest["seeds"]))
    ]
    summary = pd.read_parquet(folder / SUMMARY_PARQUET, engine="pyarrow")
    return manifest, dailies, summary
