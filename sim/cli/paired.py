"""What ``propsim compare`` and ``propsim attribute`` share: options and the flow.

Flow: plan (``sim.analysis.compare`` / ``sim.analysis.attribution``) or reopen a folder
(``--resume``) -> executor (``sim.execution.executors``) -> folder (``sim.analysis.paired``) ->
run what is missing (``sim.analysis.sweep.execute``: saved run by run, progress with the time
left) -> finish (tables, plots) -> print. Everything is checked before the folder is made.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.cli.batch import _executor, add_execution_options, run_pending
from sim.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    MAX_REPLICATES,
    err,
    positive_int,
    prepare_out,
    seed,
)

if TYPE_CHECKING:
    from sim.analysis.paired import PairedPlan


def add_paired_options(p: argparse.ArgumentParser, replicates_default: str) -> None:
    """Options of both commands (the scenario arguments are each command's own)."""
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="override a value by its dotted key in every scenario, as in `propsim run` "
        "(repeatable; applied in order)",
    )
    p.add_argument(
        "--replicates",
        type=positive_int,
        metavar="N",
        help=f"seeds per posterior draw (or in all, without --posterior), 1..{MAX_REPLICATES} "
        f"(default: {replicates_default})",
    )
    p.add_argument("--seed", type=seed, metavar="S", help="root seed (default: the scenario's)")
    p.add_argument(
        "--posterior",
        type=positive_int,
        metavar="K",
        help="also draw K parameter sets from the calibration posterior (by weight); every "
        "scenario runs under each, on the same seeds, so the intervals carry what the "
        "calibration leaves unknown as well as the noise",
    )
    p.add_argument(
        "--posterior-file",
        metavar="PATH",
        help="the posterior: a posterior.parquet/.csv or a calibration folder (default: "
        "calibration/posterior.csv, else the newest results/calibration/<id>/)",
    )
    p.add_argument(
        "--metric",
        action="append",
        metavar="NAME",
        default=[],
        help="a daily metric whose difference is drawn over time (repeatable; default: observed "
        "and true pro posts, active accounts, users reached in 30 days, recruits)",
    )
    add_execution_options(
        p,
        "finish an interrupted run: its hidden .<name>.partial folder, or no DIR for the "
        "newest unfinished folder of the same design in --out",
    )


def drive_paired(
    args: argparse.Namespace,
    command_line: list[str],
    kind: str,
    make_plan: Callable[[argparse.Namespace], PairedPlan],
    finish: Callable[[Path, PairedPlan, bool, float], tuple[Path, Any]],
    show: Callable[[Any, PairedPlan], str],
) -> int:
    from sim.analysis import paired
    from sim.analysis.sweep import locked, simulate_task

    t0 = time.perf_counter()
    folder: Path | None = None
    if args.resume:
        plan = paired.open_folder(Path(args.resume), kind)
        folder = Path(args.resume)
    else:
        plan = make_plan(args)
    executor = _executor(args)
    try:
        if folder is None:
            out = prepare_out(Path(args.out))
            if args.resume == "":
                folder = paired.find_resumable(out, plan)
            if folder is None:
                folder = paired.create_folder(out, plan, command_line)
        with locked(folder):
            tasks = paired.pending_tasks(folder, plan)
            total = plan.units * len(plan.arms)
            header = (
                f"{kind.capitalize()} {plan.name}: {len(plan.arms)} scenario(s) x "
                f"{plan.units} paired unit(s) = {total} runs"
            )
            if not run_pending(
                args.quiet, folder, tasks, simulate_task, executor, total, header, plan.name
            ):
                err(
                    f"interrupted; the finished runs are saved in {folder}; finish with: "
                    f"propsim {kind} --resume {folder}"
                )
                return EXIT_INTERRUPTED
    finally:
        executor.close()
    final, result = finish(folder, plan, not args.no_plots, time.perf_counter() - t0)
    print(final if args.quiet else f"{show(result, plan)}\n\nResults: {final}")
    return EXIT_OK
