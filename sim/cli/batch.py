"""What ``propsim sweep`` and ``propsim sensitivity`` share: options, pool start, the flow.

Flow of both: plan (``sim.analysis.plans``) or reopen a folder (``--resume``) -> executor
(``sim.execution.executors``) -> folder (``sim.analysis.sweep``) -> run what is missing ->
finish (plots, tables) -> print. Everything is checked before the folder is made: bad input
ends in ``BadInput``, ``ScenarioError`` or ``FolderError`` (exit 2) with nothing on disk.
``--resume DIR`` continues a folder from its own manifest; a bare ``--resume`` continues the
newest unfinished folder of the same sweep in ``--out`` (or starts one). Only light modules are
imported at the top: ``propsim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    MAX_REPLICATES,
    NAME_HELP,
    SCENARIO_HELP,
    err,
    folder_name,
    note,
    positive_int,
    prepare_out,
    seed,
)
from sim.errors import BadInput

if TYPE_CHECKING:
    from sim.analysis.sweep import Plan
    from sim.execution.executors import Executor

CORES = os.cpu_count() or 1
_SET_HELP = (
    "override a scenario value by its dotted key path before varying, as in `propsim run` "
    "(repeatable; applied in order)"
)


def add_common_options(p: argparse.ArgumentParser, replicates_default: str) -> None:
    """The options both commands take: SCENARIO, --set, replicates, seed, output, executor."""
    p.add_argument(
        "scenario", metavar="SCENARIO", nargs="?", help=f"{SCENARIO_HELP} (not with --resume DIR)"
    )
    p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[], help=_SET_HELP)
    p.add_argument("--name", type=folder_name, metavar="NAME", help=NAME_HELP)
    p.add_argument(
        "--replicates",
        type=positive_int,
        metavar="N",
        help=f"replicates per point, 1..{MAX_REPLICATES}; replicate r uses seed S + r at every "
        f"point (common random numbers) (default: {replicates_default})",
    )
    p.add_argument("--seed", type=seed, metavar="S", help="root seed (default: the scenario's)")
    add_execution_options(
        p,
        "finish an interrupted run: give its folder (the hidden .<name>.partial folder printed "
        "at the start), or no DIR to continue the newest unfinished folder of the same "
        "command in --out",
    )


def add_execution_options(p: argparse.ArgumentParser, resume_help: str) -> None:
    """Where results go and what runs them, for every command that runs many simulations:
    --out, --workers, --scheduler, --resume (``resume_help``), --no-plots, --quiet."""
    p.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help="folder in which the results folder is created (default: results/)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
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
    p.add_argument("--resume", nargs="?", const="", metavar="DIR", help=resume_help)
    p.add_argument("--no-plots", action="store_true", help="do not draw plots/*.png")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress (a bar on a terminal, else a line every 30 s) and no table; print only "
        "the folder",
    )


def start_pool(args: argparse.Namespace) -> None:
    """Called by ``sim.cli.main.main`` right after parsing, before the heavy imports: start the
    fork server of a local pool (``sim.execution.pool.start_server``), so that it loads the model
    while this process imports its own modules and checks the input."""
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
    try:
        executor.open()
    except OSError as error:  # a scheduler that cannot be reached, or a malformed address
        raise BadInput(str(error)) from None
    return executor


def _start(
    args: argparse.Namespace, plan: Plan, command_line: list[str], files: dict[str, str]
) -> Path:
    """The folder to work in: a matching unfinished one for a bare --resume, else a new one."""
    from sim.analysis.sweep import create_folder, find_resumable

    out = prepare_out(Path(args.out))
    if args.resume == "":
        found = find_resumable(out, plan)
        if found is not None:
            return found
    return create_folder(out, plan, command_line, files)


class _Interrupted(Exception):
    pass


def _execute(
    args: argparse.Namespace, folder: Path, plan: Plan, fn: Any, executor: Executor
) -> None:
    """Run what is missing in ``folder``; on Ctrl-C say how to resume."""
    from sim.analysis.sweep import check_parts, done_runs, locked, pending_tasks

    with locked(folder):
        for text in check_parts(folder, plan):  # damaged part files are run again
            note(f"{folder}: {text}")
        tasks = pending_tasks(folder, plan)
        total = len(plan.points) * len(plan.seeds)
        header = (
            f"{plan.kind.capitalize()} {plan.name}: {len(plan.points)} point(s) x "
            f"{len(plan.seeds)} replicate(s) = {total} runs"
        )
        finished = run_pending(args.quiet, folder, tasks, fn, executor, total, header, plan.name)
        if not finished:
            err(
                f"interrupted; {len(done_runs(folder))} of {total} runs are saved in "
                f"{folder}; finish with: propsim {plan.kind} --resume {folder}"
            )
            raise _Interrupted


def run_pending(
    quiet: bool,
    folder: Path,
    tasks: list[Any],
    fn: Any,
    executor: Executor,
    total: int,
    header: str,
    desc: str,
) -> bool:
    """Say what will run (unless ``quiet``), run the ``tasks`` still missing in ``folder``
    (saved run by run, progress with the time left: ``sim.execution.progress``); False if Ctrl-C
    stopped it (the caller says how to resume). For every command that runs many simulations
    into a results folder."""
    from sim.analysis.sweep import execute

    if not quiet:
        done = total - len(tasks)
        print(
            header
            + (f", {done} already done" if done else "")
            + f", on {executor.describe()}\nIn progress in {folder}",
            file=sys.stderr,
        )
    try:
        execute(folder, tasks, fn, executor, total=total, progress=not quiet, desc=desc)
    except KeyboardInterrupt:
        return False
    return True


def drive(
    args: argparse.Namespace,
    command_line: list[str],
    kind: str,
    design_flags: list[tuple[str, Any]],
    make_plan: Callable[[argparse.Namespace], tuple[Plan, dict[str, str]]],
    finish: Callable[[Path, Plan, bool, float], tuple[Path, Any]],
    show: Callable[[Any, Plan], str],
) -> int:
    """The flow both commands share: plan (or reopen), run what is missing, finish, print."""
    from sim.analysis.plans import open_resumable
    from sim.analysis.sweep import simulate_task

    t0 = time.perf_counter()  # (a local pool's fork server is running already: start_pool)
    folder = _resume_dir(args, design_flags)
    files: dict[str, str] = {}
    if folder is not None:
        _, plan = open_resumable(folder, kind)
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
