"""Results folders: writing a run's outputs atomically, and reading them back.

Data flow: resolved ``Scenario`` + the daily tables of its replicates (from
``sim.execution.runner.run_replicates``; this module imports nothing from execution) ->
``write_results`` ->
``<out_dir>/<name>-<YYYYmmdd-HHMMSS>/``
-> ``read_results`` (and later reports, comparisons) read it back.

Layout of a results folder (see also ``results/README.md``)::

    manifest.json                 resolved scenario, seeds, versions, git commit, timings,
                                  command line and the command that reproduces the folder
    scenario.yaml                 the fully resolved scenario (no ``extends``), runnable as is
    daily/replicate_<r>.parquet   daily metrics of replicate r (r = 0, 1, ...; seed = seed + r),
                                  index "date", columns ``sim.metrics.column_names``
    summary.csv, summary.parquet  one row per replicate: replicate, seed, summary outcomes
    summary_stats.csv             one row per outcome: median, 5% and 95% over the replicates
                                  (the table ``propsim run`` prints)
    plots/*.png                   time series with uncertainty bands and targets

Atomicity (the protocol of ``sim.io.folders``): the data is written into a hidden sibling
``.<folder>.partial`` and renamed to its final name when complete, so a folder with the final
name always holds every daily table, the summary and the manifest; if writing the data fails
(including KeyboardInterrupt) the partial folder is removed. The plots are drawn after the
rename: if they fail, the folder stays complete, the failure is recorded in the manifest
(``post_processing``) and ``sim.io.folders.PostProcessingFailed`` carries the folder's path.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config.names import check_name
from sim.io import folders
from sim.io.folders import (
    FORMAT_VERSION,
    MANIFEST,
    PLOTS_DIR,
    PostProcessingFailed,
    git_state,
    is_partial,
    package_version,
)
from sim.metrics import OUTCOMES, summarize
from sim.scenario import Scenario

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "PLOTS_DIR",
    "PostProcessingFailed",
    "git_state",
    "is_partial",
    "package_version",
    "read_results",
    "summary_stats",
    "summary_table",
    "validate_name",
    "write_results",
]


def make_plots(
    dailies: Sequence[pd.DataFrame], scenario: Any, folder: Path, targets: Sequence[Any] = ()
) -> list[Path]:
    """``sim.io.plots.make_plots``, imported on first use: matplotlib takes about a second to
    import,
    which runs without plots (sweeps, ``--no-plots``) should not pay."""
    from sim.io.plots import make_plots as draw

    return draw(dailies, scenario, folder, targets)


SCENARIO_FILE = "scenario.yaml"
DAILY_DIR = "daily"
SUMMARY_CSV = "summary.csv"
SUMMARY_PARQUET = "summary.parquet"
SUMMARY_STATS_CSV = "summary_stats.csv"
QUANTILES = {"median": 0.5, "q05": 0.05, "q95": 0.95}  # the columns of summary_stats.csv


def validate_name(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is safe as a results folder name
    (``sim.config.names.check_name``)."""
    check_name(name)


def folder_name(name: str, started: dt.datetime) -> str:
    """Final folder name of a run: ``<name>-<YYYYmmdd-HHMMSS>`` (``sim.io.folders.stamped``)."""
    return folders.stamped(name, started)


def daily_file(replicate: int) -> str:
    return f"{DAILY_DIR}/replicate_{replicate}.parquet"


def summary_table(
    scenario: Scenario, dailies: Sequence[pd.DataFrame], seeds: Sequence[int]
) -> pd.DataFrame:
    """One row per replicate: ``replicate``, ``seed`` and the ``sim.metrics`` outcomes."""
    opens, encs = scenario.platform_names("open"), scenario.platform_names("encrypted")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for r, (daily, seed) in enumerate(zip(dailies, seeds, strict=True)):
            rows.append({"replicate": r, "seed": seed, **summarize(daily, opens, encs)})
    columns = ["replicate", "seed", *(o.name for o in OUTCOMES)]
    return pd.DataFrame(rows, columns=columns)


def summary_stats(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per summary outcome of ``summary`` (``summary_table``), in ``sim.metrics.OUTCOMES``
    order: ``outcome``, ``median``, ``q05``, ``q95`` (quantiles of its finite values over the
    replicates, NaN if none), ``unit`` and ``replicates`` (how many values it has). Written as
    ``summary_stats.csv``; the table ``propsim run`` prints and the report's headline table are
    this table formatted."""
    rows = []
    for o in OUTCOMES:
        if o.name not in summary:
            continue
        x = pd.to_numeric(summary[o.name], errors="coerce").astype(float)
        x = x[x.notna() & (x.abs() != float("inf"))]
        stats = {c: float(x.quantile(q)) if len(x) else float("nan") for c, q in QUANTILES.items()}
        rows.append({"outcome": o.name, **stats, "unit": o.unit, "replicates": len(x)})
    return pd.DataFrame(rows, columns=["outcome", *QUANTILES, "unit", "replicates"])


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
) -> dict[str, Any]:
    """The run's manifest (``reproduce`` and the plot files are added when it completes)."""
    manifest = folders.base_manifest("run", scenario.name, command_line, started)
    manifest.update(
        {
            "scenario": scenario.model_dump(mode="json"),
            "seeds": list(seeds),
            "replicates": len(seeds),
            "platforms": {
                "open": scenario.platform_names("open"),
                "encrypted": scenario.platform_names("encrypted"),
            },
            "duration_seconds": round(float(duration), 3),
            "files": {
                "scenario": SCENARIO_FILE,
                "daily": [daily_file(r) for r in range(len(seeds))],
                "summary": [SUMMARY_CSV, SUMMARY_PARQUET],
                "summary_stats": SUMMARY_STATS_CSV,
                "plots": [],
            },
        }
    )
    return manifest


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
    ``-3``, ... appended if that exists), written by the protocol of ``sim.io.folders``: the data
    goes to ``<out_dir>/.<folder>.partial`` (removed if writing fails) and is renamed when
    complete; then the plots are drawn in the finished folder. A plot failure raises
    ``PostProcessingFailed`` (with the finished folder's path) after recording it in the
    manifest: the data is never discarded for a plot.
    """
    validate_name(scenario.name)
    if not dailies or len(dailies) != len(seeds):
        raise ValueError(f"need one seed per replicate: {len(dailies)} tables, {len(seeds)} seeds")
    tmp = folders.reserve(Path(out_dir), folders.stamped(scenario.name, started))
    try:
        (tmp / SCENARIO_FILE).write_text(_scenario_yaml(scenario), encoding="utf-8")
        (tmp / DAILY_DIR).mkdir()
        for r, daily in enumerate(dailies):
            daily.to_parquet(tmp / daily_file(r), engine="pyarrow")
        summary = summary_table(scenario, dailies, seeds)
        summary.to_csv(tmp / SUMMARY_CSV, index=False)
        summary.to_parquet(tmp / SUMMARY_PARQUET, engine="pyarrow", index=False)
        summary_stats(summary).to_csv(tmp / SUMMARY_STATS_CSV, index=False)
        manifest = _manifest(scenario, seeds, command_line, started, duration)
        folders.write_json(tmp / MANIFEST, manifest)
    except BaseException:
        folders.discard(tmp)
        raise

    def draw(final: Path, manifest: dict[str, Any]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            paths = make_plots(dailies, scenario, final / PLOTS_DIR, targets=targets)
        manifest["files"]["plots"] = [f"{PLOTS_DIR}/{p.name}" for p in paths]

    try:
        return folders.complete(
            tmp,
            reproduce=lambda final: reproduce_command(final, seeds),
            post={"plots": draw} if plots else None,
        )
    except FileExistsError:  # the final name was taken meanwhile, by something else
        folders.discard(tmp)
        raise


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
