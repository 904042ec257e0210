"""Sweeps: many variants of one scenario, run on an executor, saved run by run, resumable.

Data flow::

    base scenario + points ({dotted key: value}) + seeds ──> Plan (point scenarios validated by
    sim.config.loader, one --set text per varied key) ──> create_folder: a hidden, resumable folder
    <out>/.<name>-<kind>-<time>.partial/ with manifest.json, scenario.yaml, points.csv
    ──> execute: tasks (point x replicate) not yet saved go to an Executor; each finished run is
    written as runs/point_<p>-rep_<r>.parquet (temp file + rename, so a part file exists iff its
    run is complete) ──> finish_folder: runs.csv/.parquet (one row per run; a sweep also
    summary_stats.csv, per point and outcome), plots, then the folder is renamed to
    <out>/<name>-<kind>-<time>/.

Common random numbers: replicate ``r`` uses seed ``seed + r`` at every point
(``sim.execution.runner.replicate_seeds``), so differences between points come from the policy.

A part file holds the run's daily metrics (columns ``point``, ``replicate``, ``seed``, ``date``
and the metrics) and, in its Parquet metadata, the run's row (point, the varied values,
replicate, seed, outcomes) and its run time. ``read_runs`` assembles the rows from the metadata
alone; ``pandas.read_parquet(folder / "runs")`` reads every daily table at once.

Resuming (``open_folder`` + ``pending_tasks``): the manifest holds the resolved base scenario
(``scenario.yaml``) and each point's ``--set`` texts, so the remaining tasks are rebuilt without
the original files; a lock file keeps two processes from working on one folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.analysis.design import value_text
from sim.analysis.outcomes import OutcomeSpec, outcome_value
from sim.errors import FolderError
from sim.execution.executors import Executor, Ticks
from sim.execution.progress import Progress
from sim.io import folders
from sim.io.folders import (
    FORMAT_VERSION,
    LOCK,
    MANIFEST,
    PARTIAL,
    PLOTS_DIR,
    PostProcessingFailed,
    PostStep,
    is_partial,
    locked,
)
from sim.scenario import Scenario

__all__ = [
    "FORMAT_VERSION",
    "LOCK",
    "MANIFEST",
    "PARTIAL",
    "PLOTS_DIR",
    "FolderError",
    "PostProcessingFailed",
    "is_partial",
    "locked",
]

SCENARIO_FILE = "scenario.yaml"
POINTS_CSV = "points.csv"
RUNS_DIR = "runs"
RUNS_CSV = "runs.csv"
RUNS_PARQUET = "runs.parquet"
SUMMARY_STATS_CSV = "summary_stats.csv"  # a sweep's: per point and outcome, median, 5%, 95%
_ROW_KEY = b"propsim.run"
_SECONDS_KEY = b"propsim.seconds"
_PART = re.compile(r"^point_(\d+)-rep_(\d+)\.parquet$")


@dataclass(frozen=True)
class Task:
    """One run: a point of the design and a replicate, with everything the worker needs."""

    point: int
    replicate: int
    seed: int
    values: dict[str, Any]  # the varied values of the point, as shown in the run table
    scenario: Scenario | None = None  # the point's resolved scenario (None for analytic models)
    outcomes: tuple[OutcomeSpec, ...] = ()  # outcomes computed on top of sim.metrics.summarize


@dataclass
class RunResult:
    """What a worker sends back: the daily table (if any), the outcomes, the run's time."""

    outcomes: dict[str, float]
    daily: pd.DataFrame | None = None
    seconds: float = 0.0


@dataclass
class Plan:
    """A sweep to run: the points, their --set texts and scenarios, the seeds, what to report."""

    kind: str  # "sweep" or "sensitivity": the folder name and how it is finished
    name: str
    base: Scenario | None
    points: list[dict[str, Any]]
    overrides: list[list[str]]  # per point, the --set texts that make its scenario
    seeds: list[int]
    scenarios: list[Scenario | None] = field(default_factory=list)
    outcomes: tuple[OutcomeSpec, ...] = ()
    design: dict[str, Any] = field(default_factory=dict)  # shown in the manifest

    @property
    def keys(self) -> list[str]:
        return list(self.points[0]) if self.points else []

    def tasks(self) -> list[Task]:
        scenarios = self.scenarios or [None] * len(self.points)
        return [
            Task(p, r, seed, values, scenarios[p], self.outcomes)
            for p, values in enumerate(self.points)
            for r, seed in enumerate(self.seeds)
        ]


def point_overrides(point: dict[str, Any]) -> list[str]:
    """The ``--set`` texts of a sweep point: ``key=value`` per varied key."""
    return [f"{k}={value_text(v)}" for k, v in point.items()]


# --- the work of one run ---------------------------------------------------------------------


def simulate_task(task: Task, ticks: Ticks | None = None) -> RunResult:
    """Run the model for one task (in a worker): summary outcomes plus the task's own outcomes;
    simulated days go to ``ticks`` (``Executor.ticks``) for the progress report."""
    import warnings

    from sim.execution.runner import check_columns, encrypted_platforms, open_platforms, run_one
    from sim.metrics import summarize

    assert task.scenario is not None, "a model run needs the point's scenario"
    t0 = time.perf_counter()
    daily = run_one(task.scenario, task.seed, ticks)
    seconds = time.perf_counter() - t0
    check_columns(daily, task.scenario)
    opens, encs = open_platforms(task.scenario), encrypted_platforms(task.scenario)
    with warnings.catch_warnings():  # empty windows give NaN, as in the run's summary table
        warnings.simplefilter("ignore", RuntimeWarning)
        outcomes = summarize(daily, opens, encs)
        for spec in task.outcomes:
            outcomes[spec.name] = outcome_value(daily, spec, opens, encs)
    return RunResult(outcomes, daily, seconds)


# --- the folder --------------------------------------------------------------------------------


def part_name(point: int, replicate: int) -> str:
    return f"point_{point:06d}-rep_{replicate:04d}.parquet"


def final_name(folder: Path) -> str:
    """``.<name>.partial`` -> ``<name>``."""
    return folders.final_path(folder).name


def _base_manifest(plan: Plan, command_line: Sequence[str], started: dt.datetime) -> dict:
    manifest = folders.base_manifest(plan.kind, plan.name, command_line, started)
    manifest.update(
        {
            "scenario": plan.base.model_dump(mode="json") if plan.base else None,
            "design": plan.design,
            "keys": plan.keys,
            "points": plan.points,
            "overrides": plan.overrides,
            "seeds": plan.seeds,
            "replicates": len(plan.seeds),
            "runs": len(plan.points) * len(plan.seeds),
            "outcomes": [o.model_dump(mode="json") for o in plan.outcomes],
        }
    )
    return manifest


def create_folder(
    out_dir: Path,
    plan: Plan,
    command_line: Sequence[str],
    files: dict[str, str] | None = None,
    started: dt.datetime | None = None,
) -> Path:
    """Make the hidden in-progress folder with the manifest, base scenario and points."""
    from sim.config.loader import scenario_to_yaml

    started = started or dt.datetime.now().astimezone()
    folder = folders.reserve(out_dir, folders.stamped(f"{plan.name}-{plan.kind}", started))
    try:
        (folder / RUNS_DIR).mkdir()
        if plan.base is not None:
            (folder / SCENARIO_FILE).write_text(scenario_to_yaml(plan.base), encoding="utf-8")
        pd.DataFrame(plan.points).rename_axis("point").to_csv(folder / POINTS_CSV)
        for fname, text in (files or {}).items():
            (folder / fname).write_text(text, encoding="utf-8")
        folders.write_json(folder / MANIFEST, _base_manifest(plan, command_line, started))
    except BaseException:
        folders.discard(folder)
        raise
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest; ``FolderError`` if it has none or it is broken."""
    return folders.read_manifest(folder)


def open_folder(folder: Path) -> tuple[dict[str, Any], Plan]:
    """An unfinished sweep folder's manifest and plan (point scenarios rebuilt from it)."""
    from sim.errors import ScenarioError
    from sim.scenario import load_scenario

    folder = Path(folder)
    if not folder.is_dir():
        raise FolderError(f"--resume {folder}: no such folder")
    manifest = read_manifest(folder)
    if manifest.get("format_version") != FORMAT_VERSION or "overrides" not in manifest:
        raise FolderError(f"--resume {folder}: not a sweep or sensitivity folder of this version")
    outcomes = tuple(OutcomeSpec.model_validate(o) for o in manifest["outcomes"])
    base: Scenario | None = None
    scenarios: list[Scenario | None] = []
    if manifest["scenario"] is not None:
        path = folder / SCENARIO_FILE
        try:
            base = load_scenario(path)
            scenarios = [load_scenario(path, list(o)) for o in manifest["overrides"]]
        except ScenarioError as err:
            raise FolderError(f"--resume {folder}: its scenario no longer loads: {err}") from None
    plan = Plan(
        kind=manifest["kind"],
        name=manifest["name"],
        base=base,
        points=manifest["points"],
        overrides=manifest["overrides"],
        seeds=manifest["seeds"],
        scenarios=scenarios,
        outcomes=outcomes,
        design=manifest["design"],
    )
    return manifest, plan


def done_runs(folder: Path) -> set[tuple[int, int]]:
    """(point, replicate) of every saved run; leftovers of killed writes are removed."""
    done = set()
    for entry in os.scandir(folder / RUNS_DIR):
        if entry.name.startswith("."):  # a temp file of a write that was killed
            os.unlink(entry.path)
            continue
        m = _PART.match(entry.name)
        if m:
            done.add((int(m.group(1)), int(m.group(2))))
    return done


def check_parts(folder: Path, plan: Plan) -> list[str]:
    """Make a partial folder whole before it is resumed or finished; returns what was done.

    Every part file under ``runs/`` is read in full: one that cannot be read (truncated, empty,
    garbage), whose row is not the run its name says, or that belongs to no run of the plan is
    removed (its run is then done again); any other file there (a copy of a part) is removed;
    a missing ``points.csv`` is written again from the manifest.
    """
    notes: list[str] = []
    runs = folder / RUNS_DIR
    for entry in sorted(os.scandir(runs), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue  # (temp files of killed writes: removed by done_runs)
        m = _PART.match(entry.name)
        why = "not a part file of this folder"
        if m:
            point, replicate = int(m.group(1)), int(m.group(2))
            why = _part_problem(Path(entry.path), point, replicate, plan)
        if why:
            os.unlink(entry.path)
            notes.append(f"removed {RUNS_DIR}/{entry.name} ({why})")
    if not (folder / POINTS_CSV).is_file():
        pd.DataFrame(plan.points).rename_axis("point").to_csv(folder / POINTS_CSV)
        notes.append(f"wrote the missing {POINTS_CSV} again from the manifest")
    return notes


def _part_problem(path: Path, point: int, replicate: int, plan: Plan) -> str:
    """Why a part file cannot be kept ("" if it can)."""
    if point >= len(plan.points) or replicate >= len(plan.seeds):
        return "no such run in the plan"
    try:
        pq.read_table(path)  # every page, not only the footer
        row, _ = read_part_meta(path)
    except Exception as err:  # noqa: BLE001 - any damage: arrow, JSON, missing keys
        return f"damaged: {type(err).__name__}"
    if (row.get("point"), row.get("replicate"), row.get("seed")) != (
        point,
        replicate,
        plan.seeds[replicate],
    ):
        return "its row is another run's"
    return ""


def pending_tasks(folder: Path, plan: Plan) -> list[Task]:
    done = done_runs(folder)
    return [t for t in plan.tasks() if (t.point, t.replicate) not in done]


def run_row(task: Task, result: RunResult) -> dict[str, Any]:
    return {
        "point": task.point,
        **task.values,
        "replicate": task.replicate,
        "seed": task.seed,
        **result.outcomes,
    }


def write_part(folder: Path, task: Task, result: RunResult) -> Path:
    """Save one finished run atomically: a temp file renamed to its final name."""
    if result.daily is not None:
        daily = result.daily.rename_axis("date").reset_index()
        daily.insert(0, "seed", task.seed)
        daily.insert(0, "replicate", task.replicate)
        daily.insert(0, "point", task.point)
        table = pa.Table.from_pandas(daily, preserve_index=False)
    else:
        table = pa.table({"point": pa.array([], pa.int64())})
    meta = {
        _ROW_KEY: json.dumps(run_row(task, result), default=str).encode(),
        _SECONDS_KEY: repr(result.seconds).encode(),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    final = folder / RUNS_DIR / part_name(task.point, task.replicate)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, final)
    return final


def read_part_meta(path: Path) -> tuple[dict[str, Any], float]:
    """A part file's run row and run time, from its Parquet metadata alone."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[_ROW_KEY]), float(meta[_SECONDS_KEY])


def read_runs(folder: Path, with_seconds: bool = False) -> pd.DataFrame:
    """One row per saved run, ordered by point and replicate."""
    paths = sorted(p for p in (folder / RUNS_DIR).glob("point_*.parquet") if _PART.match(p.name))
    rows = []
    for path in paths:
        row, seconds = read_part_meta(path)
        if with_seconds:
            row["run_seconds"] = seconds
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    return df.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)


def read_daily(folder: Path) -> pd.DataFrame:
    """Every run's daily metrics in one table (columns point, replicate, seed, date, ...)."""
    return pd.read_parquet(folder / RUNS_DIR, engine="pyarrow")


def execute(
    folder: Path,
    tasks: Sequence[Task],
    fn: Callable[..., RunResult],
    executor: Executor,
    *,
    total: int,
    progress: bool,
    desc: str,
) -> None:
    """Run the tasks on the executor and save each run as it finishes, with progress and the
    time left (``sim.execution.progress.Progress``; nothing unless ``progress``).

    Where every task has a scenario, progress counts simulated days: ``fn`` gets the
    executor's tick channel as ``ticks=`` if it takes that keyword (``simulate_task`` does),
    else a run's days count when it ends. The days of runs saved before (a resumed folder)
    are estimated at the pending runs' mean length.
    """
    tasks = list(tasks)
    lengths = [_days(t) for t in tasks]
    days: int | None = None
    initial_days = 0
    if tasks and all(n is not None for n in lengths):
        pending = sum(n for n in lengths if n is not None)
        initial_days = round(pending / len(tasks) * (total - len(tasks)))
        days = pending + initial_days
    with (
        Progress(
            total,
            days=days,
            initial_runs=total - len(tasks),
            initial_days=initial_days,
            desc=desc,
            enabled=progress,
        ) as bar,
        executor.ticks(bar.ticked) as ticks,
    ):
        work = fn
        if days and ticks is not None and _takes_ticks(fn):
            work = partial(fn, ticks=ticks)
            bar.uses_ticks = True
        for task, result in executor.run(work, tasks):
            write_part(folder, task, result)
            bar.run_done(_days(task) or 0)


def _days(task: Task) -> int | None:
    """Simulated days of a task's run (warm-up included); None without a scenario."""
    sc = task.scenario
    return None if sc is None else sc.warmup_days + sc.days


def _takes_ticks(fn: Callable[..., Any]) -> bool:
    import inspect

    try:
        return "ticks" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a callable without a signature
        return False


def finish_folder(
    folder: Path, updates: dict[str, Any], post: Mapping[str, PostStep] | None = None
) -> Path:
    """Write the run table, complete the manifest and give the folder its final name
    (``sim.io.folders.complete``); then run the ``post`` steps (plots, indices) in the finished
    folder: a failing step raises ``PostProcessingFailed`` with the finished folder, recorded in
    its manifest; the runs are kept."""
    runs = read_runs(folder)
    runs.to_csv(folder / RUNS_CSV, index=False)
    runs.to_parquet(folder / RUNS_PARQUET, engine="pyarrow", index=False)
    manifest = read_manifest(folder)
    return folders.complete(folder, updates, lambda final: reproduce_command(manifest, final), post)


def plots_step(draw: Callable[[Path], Sequence[Path]]) -> PostStep:
    """A post step that draws into ``plots/`` and lists the files in the manifest's ``plots``."""

    def step(final: Path, manifest: dict[str, Any]) -> None:
        paths = draw(final / PLOTS_DIR)
        manifest["plots"] = [*manifest.get("plots", []), *(f"{PLOTS_DIR}/{p.name}" for p in paths)]

    return step


def finish_sweep(
    folder: Path, plan: Plan, plots: bool, seconds: float
) -> tuple[Path, pd.DataFrame]:
    """Finish a sweep's folder: run table, final name, then the plots (``sim.analysis.sweep_plots``)
    in the finished folder. Returns the folder and the run table; a plot failure raises
    ``PostProcessingFailed`` after the folder is finished."""
    from sim.analysis.tables import point_stats

    runs = read_runs(folder)
    # (written in the unfinished folder: complete with it, atomically, when finish_folder renames)
    point_stats(runs, plan.keys).to_csv(folder / SUMMARY_STATS_CSV, index=False)

    def draw(plots_dir: Path) -> Sequence[Path]:
        from sim.analysis.sweep_plots import make_sweep_plots  # matplotlib: only when drawing

        return make_sweep_plots(runs, plan.keys, plan.design.get("design") == "grid", plots_dir)

    post = {"plots": plots_step(draw)} if plots else None
    updates = {
        "duration_seconds": round(seconds, 3),
        "plots": [],
        "files": {"runs": RUNS_CSV, "summary_stats": SUMMARY_STATS_CSV},
    }
    final = finish_folder(folder, updates, post)
    return final, runs


def reproduce_command(manifest: dict[str, Any], final: Path) -> str:
    """The command that re-runs a finished folder from its own files."""
    design = manifest["design"]
    cmd = ["propsim", manifest["kind"], str(final / SCENARIO_FILE)]
    seeds = manifest["seeds"]
    if manifest["kind"] == "sensitivity":
        cmd += ["--params", str(final / design["params_file"])]
        cmd += ["--method", design["method"], "--n", str(design["n"])]
    else:
        for vary in design["vary"]:
            cmd += ["--vary", vary]
        if design["design"] == "lhs":
            cmd += ["--design", "lhs", "--samples", str(design["samples"])]
    cmd += ["--replicates", str(len(seeds)), "--seed", str(seeds[0])]
    return shlex.join(cmd)


def elapsed_since(started: str) -> float:
    """Seconds from a manifest's ``started`` time to now."""
    return (dt.datetime.now().astimezone() - dt.datetime.fromisoformat(started)).total_seconds()


def find_resumable(out_dir: Path, plan: Plan) -> Path | None:
    """The newest unfinished folder in ``out_dir`` holding the same plan (for a bare --resume)."""
    if not out_dir.is_dir():
        return None
    same = []
    for entry in out_dir.iterdir():
        if entry.is_dir() and is_partial(entry) and (entry / MANIFEST).is_file():
            try:
                manifest = read_manifest(entry)
            except FolderError:
                continue
            base = plan.base.model_dump(mode="json") if plan.base else None
            if (
                manifest.get("kind") == plan.kind
                and manifest.get("overrides") == plan.overrides
                and manifest.get("seeds") == plan.seeds
                and manifest.get("scenario") == base
            ):
                same.append(entry)
    return max(same, key=lambda p: p.name) if same else None


def load_points(
    path: Path,
    sets: Sequence[str],
    overrides: list[list[str]],
    label: Callable[[str], str],
    name_file: bool = True,
) -> list[Scenario]:
    """Each point's scenario: the file, the ``--set`` texts, then the point's own texts.

    A problem with a point's own text is reported with ``label(text)`` in place of ``--set
    text`` (e.g. ``--vary key=value``), so the message names what the user wrote; without
    ``name_file`` the scenario file is left out of it (when the label names its own file).
    """
    from dataclasses import replace

    from sim.errors import ScenarioError
    from sim.scenario import load_scenario

    own_sets = set(sets)
    scenarios = []
    for own in overrides:
        try:
            scenarios.append(load_scenario(path, [*sets, *own]))
        except ScenarioError as err:
            problems = []
            for p in err.problems:
                if p.override is not None and p.override not in own_sets:
                    p = replace(p, override=None, key=label(p.override))
                    if not name_file:
                        p = replace(p, file=None, line=None)
                for text in own:  # "(with --set k=v)" notes of section-level checks
                    p = replace(p, message=p.message.replace(f"--set {text}", label(text)))
                problems.append(p)
            raise ScenarioError(problems) from None
    return scenarios
