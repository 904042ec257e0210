"""The ``propsim sweep`` and ``propsim sensitivity`` subcommands: their options and their flow.

``sim.cli.build_parser`` calls ``add_parsers``; everything else of the two commands lives here
and in the modules it calls, so the CLI stays a thin layer:

    sweep:        SCENARIO + --set + --vary ──sim.analysis.design──> points ──sweep.load_points──>
                  validated point scenarios ──sweep.create_folder──> in-progress folder
    sensitivity:  SCENARIO + --set + --params ──sensitivity.load_params / sample──> points ──(same)
    both:         ──sweep.execute on sim.execution.executors──> part files ──finish──> plots,
                  run table (and for sensitivity the indices) ──> final folder, printed table

Everything is checked before the folder is made: bad input ends in ``BadInput`` or
``ScenarioError`` (exit 2) with nothing on disk. ``--resume DIR`` continues a folder from its
own manifest; a bare ``--resume`` continues the newest unfinished folder of the same sweep in
``--out`` (or starts one). Only light modules are imported at the top: ``propsim --help`` stays
fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    MAX_REPLICATES,
    BadInput,
    _err,
    _load,
    _positive_int,
    _prepare_out,
    _seed,
)

if TYPE_CHECKING:
    from sim.analysis.sweep import Plan
    from sim.execution.executors import Executor

CORES = os.cpu_count() or 1
_SET_HELP = (
    "override a scenario value by its dotted key path before varying, as in `propsim run` "
    "(repeatable; applied in order)"
)


def _common(p: argparse.ArgumentParser, replicates_default: str) -> None:
    p.add_argument(
        "scenario", metavar="SCENARIO", nargs="?", help="scenario YAML file (not with --resume DIR)"
    )
    p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[], help=_SET_HELP)
    p.add_argument(
        "--replicates",
        type=_positive_int,
        metavar="N",
        help=f"replicates per point, 1..{MAX_REPLICATES}; replicate r uses seed S + r at every "
        f"point (common random numbers) (default: {replicates_default})",
    )
    p.add_argument("--seed", type=_seed, metavar="S", help="root seed (default: the scenario's)")
    p.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help="folder in which the results folder is created (default: results/)",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        default=CORES,
        help=f"runs at once in local processes (default: all cores, here {CORES}); results do "
        "not depend on N",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask distributed cluster through its scheduler, e.g. tcp://10.0.0.5:8786 "
        "(its workers need propsim installed); same results as locally",
    )
    p.add_argument(
        "--resume",
        nargs="?",
        const="",
        metavar="DIR",
        help="finish an interrupted run: give its folder (the hidden .<name>.partial folder "
        "printed at the start), or no DIR to continue the newest unfinished folder of the same "
        "command in --out",
    )
    p.add_argument("--no-plots", action="store_true", help="do not draw plots/*.png")
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar and no table; print only the folder"
    )


def add_parsers(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``sweep`` and ``sensitivity`` to the ``propsim`` subcommands."""
    sw = sub.add_parser(
        "sweep",
        help="run many variants of a scenario (grid or Latin hypercube)",
        formatter_class=formatter,
        description=textwrap.dedent(
            """\
            Run a scenario at every point of a design over one or more keys, with common random
            numbers (replicate r uses seed S + r at every point). Each finished run is saved at
            once, so an interrupted sweep loses nothing: --resume finishes it.

            VALUES of --vary: a list a,b,c or a range start:stop:count (evenly spaced, ends
            included); with --design lhs, bounds lo:hi.

            Writes <out>/<name>-sweep-<YYYYmmdd-HHMMSS>/: manifest.json, scenario.yaml (the
            base), points.csv, runs/point_<p>-rep_<r>.parquet (daily metrics of each run),
            runs.csv/.parquet (one row per run: point, varied values, replicate, seed, summary
            outcomes) and plots/*.png. Until it is complete the folder is hidden
            (.<name>-sweep-<time>.partial).
            """
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              propsim sweep scenarios/baseline.yaml --set scale=160 \\
                  --vary moderation.twitter.intensity=0.0001,0.0003,0.001 --replicates 5
              propsim sweep scenarios/baseline.yaml --vary population.counter_effect=0:0.012:4 \\
                  --vary platforms.twitter.discovery=1,2,4
              propsim sweep scenarios/baseline.yaml --design lhs --samples 50 \\
                  --vary population.pro_effect=0.001:0.004 --vary population.share_prob=0.01:0.04
              propsim sweep --resume results/.baseline-sweep-20260101-120000.partial
            """
        ),
    )
    _common(sw, "the scenario's `replicates`")
    sw.add_argument(
        "--vary",
        action="append",
        metavar="KEY=VALUES",
        default=[],
        help="a dotted scenario key and its values (repeatable; one key each)",
    )
    sw.add_argument(
        "--design",
        choices=["grid", "lhs"],
        default="grid",
        help="grid: every combination (default); lhs: a Latin hypercube of --samples points",
    )
    sw.add_argument(
        "--samples", type=_positive_int, metavar="N", help="points of a Latin hypercube"
    )
    sw.set_defaults(func=cmd_sweep, start=start_pool)

    se = sub.add_parser(
        "sensitivity",
        help="rank levers by Sobol or Morris indices (SALib)",
        formatter_class=formatter,
        description=textwrap.dedent(
            """\
            Global sensitivity of chosen outcomes to chosen levers. The parameter file names
            the levers (dotted scenario keys, a mode and bounds) and the outcomes (a daily
            metric, a statistic and a date window); see docs/sweeps.md. SALib samples the
            levers (Sobol: N x (levers + 2) runs; Morris: N x (levers + 1)), the runs go
            through the same executors and folders as `propsim sweep`, and SALib computes the
            indices with 95% confidence intervals on the mean over replicates at each point.

            Writes <out>/<name>-sensitivity-<time>/: as a sweep, plus params.yaml,
            indices.csv/.parquet and plots/indices.png.
            """
        ),
        epilog=textwrap.dedent(
            """\
            example:
              propsim sensitivity scenarios/baseline.yaml --set scale=160 \\
                  --params scenarios/sensitivity/levers.yaml --method sobol --n 64
            """
        ),
    )
    _common(se, "1")
    se.add_argument("--params", metavar="FILE", help="parameter file (YAML): levers, outcomes")
    se.add_argument(
        "--method", choices=["sobol", "morris"], default="sobol", help="(default: sobol)"
    )
    se.add_argument(
        "--n",
        type=_positive_int,
        metavar="N",
        default=32,
        help="base sample size: a power of two for Sobol (default: 32)",
    )
    se.set_defaults(func=cmd_sensitivity, start=start_pool)


# --- shared flow -------------------------------------------------------------------------------


def start_pool(args: argparse.Namespace) -> None:
    """Called by ``sim.cli.main`` right after parsing, before the heavy imports: start the fork
    server of a local pool (``sim.execution.pool.start_server``), so that it loads the model while
    this
    process imports its own modules and checks the input."""
    if args.scheduler is None and args.workers > 1:
        from contextlib import suppress

        from sim.execution.pool import start_server

        with suppress(OSError):  # a head start only: the pool starts it again and reports it
            start_server()


def _resume_dir(args: argparse.Namespace, extra: list[tuple[str, Any]]) -> Path | None:
    """The folder of ``--resume DIR``, checking that no design was given with it."""
    if not args.resume:
        return None
    common = [("SCENARIO", args.scenario), ("--replicates", args.replicates)]
    given = [
        flag for flag, on in [*common, ("--seed", args.seed), *extra] if on is not None and on != []
    ]
    if given:
        raise BadInput(
            f"--resume {args.resume}: the folder holds the whole design; drop {', '.join(given)}"
        )
    return Path(args.resume)


def _executor(args: argparse.Namespace) -> Executor:
    from sim.execution.executors import make_executor

    executor = make_executor(args.workers, args.scheduler)
    connect = getattr(executor, "connect", None)
    if connect is not None:
        try:
            connect()
        except OSError as err:
            raise BadInput(str(err)) from None
    return executor


def _open(folder: Path, kind: str) -> tuple[dict[str, Any], Plan]:
    from sim.analysis.sweep import FolderError, is_partial, open_folder

    try:
        manifest, plan = open_folder(folder)
    except FolderError as err:
        raise BadInput(str(err)) from None
    if manifest["kind"] != kind:
        raise BadInput(
            f"--resume {folder}: a {manifest['kind']} folder; use propsim {manifest['kind']}"
        )
    if not is_partial(folder):
        raise BadInput(f"--resume {folder}: the folder is complete; nothing to resume")
    return manifest, plan


def _start(
    args: argparse.Namespace, plan: Plan, command_line: list[str], files: dict[str, str]
) -> Path:
    """The folder to work in: a matching unfinished one for a bare --resume, else a new one."""
    from sim.analysis.sweep import create_folder, find_resumable

    out = _prepare_out(Path(args.out))
    if args.resume == "":
        found = find_resumable(out, plan)
        if found is not None:
            return found
    return create_folder(out, plan, command_line, files)


def _execute(
    args: argparse.Namespace, folder: Path, plan: Plan, fn: Any, executor: Executor
) -> None:
    """Run what is missing in ``folder``; on Ctrl-C say how to resume."""
    from sim.analysis.sweep import FolderError, execute, locked, pending_tasks

    try:
        with locked(folder):
            tasks = pending_tasks(folder, plan)
            total = len(plan.points) * len(plan.seeds)
            if not args.quiet:
                done = total - len(tasks)
                print(
                    f"{plan.kind.capitalize()} {plan.name}: {len(plan.points)} point(s) x "
                    f"{len(plan.seeds)} replicate(s) = {total} runs"
                    + (f", {done} already done" if done else "")
                    + f", on {executor.describe()}\nIn progress in {folder}",
                    file=sys.stderr,
                )
            try:
                execute(
                    folder,
                    tasks,
                    fn,
                    executor,
                    total=total,
                    progress=not args.quiet,
                    desc=plan.name,
                )
            except KeyboardInterrupt:
                from sim.analysis.sweep import done_runs

                _err(
                    f"interrupted; {len(done_runs(folder))} of {total} runs are saved in "
                    f"{folder}; finish with: propsim {plan.kind} --resume {folder}"
                )
                raise _Interrupted from None
    except FolderError as err:
        raise BadInput(str(err)) from None


class _Interrupted(Exception):
    pass


def _drive(
    args: argparse.Namespace,
    command_line: list[str],
    kind: str,
    design_flags: list[tuple[str, Any]],
    make_plan: Callable[[argparse.Namespace], tuple[Plan, dict[str, str]]],
    finish: Callable[[Path, Plan, bool, float], tuple[Path, Any]],
    show: Callable[[Any, Plan], str],
) -> int:
    """The flow both commands share: plan (or reopen), run what is missing, finish, print."""
    from sim.analysis.sweep import simulate_task

    t0 = time.perf_counter()  # (a local pool's fork server is running already: start_pool)
    folder = _resume_dir(args, design_flags)
    files: dict[str, str] = {}
    if folder is not None:
        _, plan = _open(folder, kind)
    else:
        plan, files = make_plan(args)
    executor = _executor(args)
    try:
        if folder is None:
            folder = _start(args, plan, command_line, files)
        _execute(args, folder, plan, simulate_task, executor)
    except _Interrupted:
        return EXIT_INTERRUPTED
    finally:
        executor.close()
    final, result = finish(folder, plan, not args.no_plots, time.perf_counter() - t0)
    print(final if args.quiet else f"{show(result, plan)}\n\nResults: {final}")
    return EXIT_OK


# --- sweep -------------------------------------------------------------------------------------


def cmd_sweep(args: argparse.Namespace, command_line: list[str]) -> int:
    return _drive(
        args,
        command_line,
        "sweep",
        [("--vary", args.vary), ("--set", args.set), ("--samples", args.samples)],
        lambda a: (_sweep_plan(a), {}),
        _finish_sweep,
        lambda runs, plan: sweep_table(runs, plan.keys),
    )


def _sweep_plan(args: argparse.Namespace) -> Plan:
    from sim.analysis import design as d
    from sim.analysis.sweep import load_points, point_overrides

    if args.scenario is None:
        raise BadInput("give a SCENARIO file (or --resume DIR)")
    if args.design == "grid" and args.samples is not None:
        raise BadInput("--samples is for --design lhs; a grid runs every combination")
    if args.design == "lhs" and args.samples is None:
        raise BadInput("--design lhs needs --samples N")
    try:
        varies = d.parse_varies(list(args.vary), args.design)
    except d.DesignError as err:
        raise BadInput(str(err)) from None
    base = _load(args)
    seed = base.seed if args.seed is None else args.seed
    replicates = args.replicates or base.replicates
    try:
        if args.design == "lhs":
            points = d.lhs_points(varies, args.samples, seed)
        else:
            points = d.grid_points(varies)
    except d.DesignError as err:
        raise BadInput(str(err)) from None
    overrides = [point_overrides(p) for p in points]
    scenarios = load_points(Path(args.scenario), args.set, overrides, lambda t: f"--vary {t}")
    design = {"design": args.design, "vary": list(args.vary), "samples": args.samples}
    return _plan("sweep", base, points, overrides, scenarios, seed, replicates, args, design)


def _plan(
    kind: str,
    base: Any,
    points: list[dict[str, Any]],
    overrides: list[list[str]],
    scenarios: list[Any],
    seed: int,
    replicates: int,
    args: argparse.Namespace,
    design: dict[str, Any],
    outcomes: tuple[Any, ...] = (),
) -> Plan:
    """A plan with the seeds applied to the base and to every point's scenario."""
    from sim.analysis.sweep import Plan
    from sim.execution.runner import replicate_seeds

    return Plan(
        kind=kind,
        name=base.name,
        base=_resolved(base, seed, replicates),
        points=points,
        overrides=overrides,
        seeds=replicate_seeds(seed, replicates),
        scenarios=[_resolved(s, seed, replicates) for s in scenarios],
        outcomes=outcomes,
        design={**design, "sets": list(args.set)},
    )


def _resolved(base: Any, seed: int, replicates: int) -> Any:
    from pydantic import ValidationError

    try:
        return base.model_copy(update={"seed": seed, "replicates": replicates})
    except ValidationError as err:  # pragma: no cover - the CLI types check both already
        raise BadInput(f"--seed/--replicates: {err.errors()[0]['msg']}") from None


def _finish_sweep(folder: Path, plan: Plan, plots: bool, seconds: float) -> tuple[Path, Any]:
    from sim.analysis.sweep import PLOTS_DIR, finish_folder, read_runs

    runs = read_runs(folder)
    paths = []
    if plots:  # (matplotlib takes a second to import: only when drawing)
        from sim.analysis.sweep_plots import make_sweep_plots

        grid = plan.design.get("design") == "grid"
        paths = make_sweep_plots(runs, plan.keys, grid, folder / PLOTS_DIR)
    final = finish_folder(
        folder,
        {"duration_seconds": round(seconds, 3), "plots": [f"{PLOTS_DIR}/{p.name}" for p in paths]},
    )
    return final, runs


SHOWN = ("posts_observed_last90", "total_suspensions", "total_recruits", "encrypted_members_end")


def sweep_table(runs: Any, keys: list[str]) -> str:
    """The printed table: per point, the varied values and median outcomes over replicates."""
    from sim.cli import format_value
    from sim.metrics import OUTCOMES

    units = {o.name: o.unit for o in OUTCOMES}
    shown = [c for c in SHOWN if c in runs]
    med = runs.groupby("point", sort=True).agg(
        {**{k: "first" for k in keys}, **{c: "median" for c in shown}}
    )
    rows = [["point", *keys, *shown]]
    for p, r in med.iterrows():
        rows.append(
            [str(p), *(f"{r[k]:g}" if isinstance(r[k], float) else str(r[k]) for k in keys)]
            + [format_value(float(r[c]), units[c]) for c in shown]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    reps = runs["replicate"].nunique()
    return "\n".join(
        [f"Median over {reps} replicate(s) per point (all outcomes in runs.csv):", *lines]
    )


# --- sensitivity -------------------------------------------------------------------------------


def cmd_sensitivity(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.analysis.sensitivity import indices_text

    return _drive(
        args,
        command_line,
        "sensitivity",
        [("--params", args.params), ("--set", args.set)],
        _sensitivity_plan,
        finish_sensitivity,
        lambda indices, plan: indices_text(indices, plan.design["method"]),
    )


PARAMS_FILE = "params.yaml"


def _read_params(path_text: str | None) -> tuple[Any, str]:
    from sim.analysis.sensitivity import load_params

    if path_text is None:
        raise BadInput("give --params FILE (levers and outcomes; see docs/sweeps.md)")
    path = Path(path_text)
    if not path.is_file():
        raise BadInput(f"--params {path}: no such file")
    params = load_params(path)
    return params, path.read_text(encoding="utf-8")


def _sensitivity_plan(args: argparse.Namespace) -> tuple[Plan, dict[str, str]]:
    from sim.analysis import sensitivity as sa
    from sim.analysis.outcomes import column_for
    from sim.analysis.sweep import load_points
    from sim.execution.runner import encrypted_platforms, open_platforms
    from sim.metrics import column_names

    if args.scenario is None:
        raise BadInput("give a SCENARIO file (or --resume DIR)")
    try:
        sa.check_n(args.method, args.n)
    except ValueError as err:
        raise BadInput(str(err)) from None
    params, text = _read_params(args.params)
    base = _load(args)
    opens, encs = open_platforms(base), encrypted_platforms(base)
    columns = column_names(opens, encs)
    for spec in params.outcomes:
        try:
            column = column_for(spec.metric, opens, encs)
        except ValueError as err:
            raise BadInput(f"{args.params}: outcomes: {spec.name}: {err}") from None
        if column not in columns:
            bare = column.rsplit(".", 1)[-1]
            like = [c for c in columns if c.rsplit(".", 1)[-1] == bare]
            raise BadInput(
                f"{args.params}: outcomes: {spec.name}: the scenario has no metric {column!r}"
                + (f" (it has {', '.join(like)})" if like else "")
            )
    seed = base.seed if args.seed is None else args.seed
    replicates = args.replicates or 1
    dump = base.model_dump(mode="python")
    label = lambda lever: lambda t: f"{args.params}: levers: {lever} sets {t}"  # noqa: E731
    # each lever alone at its bounds first: the message then names the lever and the bound
    for lever in params.levers:
        for x in lever.bounds:
            try:
                own = sa.lever_overrides([lever], {lever.name: x}, dump)
            except (KeyError, IndexError, TypeError, ValueError):
                raise BadInput(
                    f"{args.params}: levers: {lever.name}: mode {lever.mode} needs numeric keys "
                    f"that exist in the scenario ({', '.join(lever.keys)})"
                ) from None
            load_points(
                Path(args.scenario), args.set, [own], label(f"{lever.name} (x={x:g})"), False
            )
    prob = sa.problem(params.levers)
    x = sa.sample(prob, args.method, args.n, seed)
    points = [{name: float(v) for name, v in zip(prob["names"], row, strict=True)} for row in x]
    overrides = [sa.lever_overrides(params.levers, p, dump) for p in points]
    scenarios = load_points(
        Path(args.scenario), args.set, overrides, label("a sample point"), False
    )
    design = {
        "method": args.method,
        "n": args.n,
        "problem": prob,
        "params_file": PARAMS_FILE,
        "analysis_seed": seed,
    }
    plan = _plan(
        "sensitivity", base, points, overrides, scenarios, seed, replicates, args, design,
        tuple(params.outcomes),
    )  # fmt: skip
    return plan, {PARAMS_FILE: text}


INDICES_CSV, INDICES_PARQUET, INDICES_PNG = "indices.csv", "indices.parquet", "indices.png"


def finish_sensitivity(folder: Path, plan: Plan, plots: bool, seconds: float) -> tuple[Path, Any]:
    """Analyse the runs (SALib), write the indices and the chart, and finish the folder."""
    from sim.analysis import sensitivity as sa
    from sim.analysis.sweep import PLOTS_DIR, finish_folder, read_runs

    design = plan.design
    outcomes = [o.name for o in plan.outcomes] or design.get("outcome_names", [])
    indices = sa.analyze(
        read_runs(folder), design["problem"], design["method"], outcomes, design["analysis_seed"]
    )
    indices.to_csv(folder / INDICES_CSV, index=False)
    indices.to_parquet(folder / INDICES_PARQUET, engine="pyarrow", index=False)
    files = []
    if plots:
        sa.bar_chart(indices, design["method"], folder / PLOTS_DIR / INDICES_PNG)
        files.append(f"{PLOTS_DIR}/{INDICES_PNG}")
    final = finish_folder(folder, {"duration_seconds": round(seconds, 3), "plots": files})
    return final, indices
