"""``propsim run``: run a scenario's replicates, print a summary table, write a results folder.

Data flow: scenario YAML + ``--set`` overrides -> ``sim.config.loader.load_scenario``
(validation; errors are ``ScenarioError``) -> ``sim.execution.runner.run_replicates``
(``sim.core.model``) -> daily tables -> ``sim.io.results.write_results`` (results folder; its
plots get the calibration targets loaded here) -> summary table printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.cli.common import (
    EXIT_OK,
    FMT,
    MAX_REPLICATES,
    NAME_HELP,
    SCENARIO_HELP,
    SET_HELP,
    folder_name,
    load,
    note,
    positive_int,
    prepare_out,
    seed,
)
from sim.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario import Scenario

TARGETS = "calibration/targets.yaml"


def add_parser(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="run a scenario and write a results folder",
        formatter_class=FMT,
        description=textwrap.dedent(
            """\
            Run a scenario's replicates (replicate r uses seed S + r), print a summary table
            (median and 5-95% range over replicates) and write a results folder
            <out>/<name>-<YYYYmmdd-HHMMSS>/ holding manifest.json, scenario.yaml, daily
            metrics per replicate (Parquet), summary.csv/.parquet, summary_stats.csv (the
            printed table) and plots/*.png. --name NAME names a variant made with --set.

            The folder appears only when complete; an interrupted run leaves none.
            manifest.json records the command that reproduces it.

            SCENARIO is a file; where no such file exists, a shipped scenario's name
            (baseline, scenarios/baseline.yaml, ...) runs the shipped one. The plots show the
            calibration targets of calibration/targets.yaml in the working folder, else the
            shipped ones.
            """
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              propsim run scenarios/baseline.yaml
              propsim run scenarios/baseline.yaml --replicates 10 --seed 100
              propsim run scenarios/baseline.yaml --set scale=50 --set end=2015-06-30 --quiet
              propsim run baseline --set moderation.twitter.intensity=0.002 --name strict
            """
        ),
    )
    run.add_argument("scenario", metavar="SCENARIO", help=SCENARIO_HELP)
    run.add_argument("--set", action="append", metavar="KEY=VALUE", default=[], help=SET_HELP)
    run.add_argument("--name", type=folder_name, metavar="NAME", help=NAME_HELP)
    run.add_argument(
        "--replicates",
        type=positive_int,
        metavar="N",
        help=f"number of replicates, 1..{MAX_REPLICATES} (default: the scenario's `replicates`)",
    )
    run.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        default=os.cpu_count() or 1,
        help="replicates run in N processes at once (default: all cores, here "
        f"{os.cpu_count() or 1}); results do not depend on N",
    )
    run.add_argument(
        "--seed",
        type=seed,
        metavar="S",
        help="root seed; replicate r uses S + r (default: the scenario's `seed`)",
    )
    run.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help="folder in which the results folder is created (default: results/)",
    )
    run.add_argument("--no-plots", action="store_true", help="do not draw plots/*.png")
    run.add_argument(
        "--quiet",
        action="store_true",
        help="no progress (a bar on a terminal, else a line every 30 s) and no summary table; "
        "print only the results folder's path",
    )
    run.set_defaults(func=cmd_run)


def plot_targets(scenario: Scenario) -> tuple[list[Any], str]:
    """The calibration targets drawn on the plots: ``calibration/targets.yaml`` of the working
    folder if there is one (an analyst's edited copy), else the shipped file; only if the
    scenario is the one they were fitted on (``sim.analysis.problem.targets_for``: the baseline,
    up to name, seed, replicates, scale and end), else none and a note saying why ('' if
    drawn)."""
    from sim.analysis.problem import load_targets, targets_for
    from sim.analysis.report import baseline_data
    from sim.config.resources import shipped

    local = Path(TARGETS)
    targets = load_targets(local if local.is_file() else shipped(TARGETS))
    drawn, why = targets_for(scenario.model_dump(mode="json"), baseline_data(), targets)
    if not why:
        return drawn, ""
    shown = "; ".join(why[:3]) + (f"; and {len(why) - 3} more" if len(why) > 3 else "")
    return drawn, f"calibration targets not drawn: not the calibrated baseline ({shown})"


def cmd_run(args: argparse.Namespace, command_line: list[str]) -> int:
    from pydantic import ValidationError

    from sim.execution.runner import replicate_seeds, run_replicates
    from sim.io.results import summary_table, validate_name, write_results

    scenario = load(args)
    try:
        if args.seed is not None:
            scenario.seed = args.seed
        if args.replicates is not None:
            scenario.replicates = args.replicates
    except ValidationError as error:
        raise BadInput(f"--seed/--replicates: {error.errors()[0]['msg']}") from None
    try:
        validate_name(scenario.name)
    except ValueError as error:
        raise BadInput(f"{args.scenario}: {error}") from None
    targets, why = ([], "") if args.no_plots else plot_targets(scenario)
    out = prepare_out(Path(args.out))
    if why and not args.quiet:
        note(why)

    seeds = replicate_seeds(scenario.seed, scenario.replicates)
    if not args.quiet:
        print(
            f"Running {scenario.name}: {scenario.replicates} replicate(s), "
            f"{scenario.start}..{scenario.end} (+{scenario.warmup_days} warm-up days), "
            f"scale 1:{scenario.scale:g}",
            file=sys.stderr,
        )
    started = dt.datetime.now().astimezone()
    t0 = time.perf_counter()
    dailies = run_replicates(
        scenario,
        scenario.replicates,
        scenario.seed,
        progress=not args.quiet,
        workers=args.workers,
    )
    duration = time.perf_counter() - t0
    folder = write_results(
        out,
        scenario,
        dailies,
        seeds,
        command_line,
        started,
        duration,
        plots=not args.no_plots,
        targets=targets,
    )
    if args.quiet:
        print(folder)
    else:
        print(summary_text(scenario, summary_table(scenario, dailies, seeds), duration))
        print(f"\nResults: {folder}")
    return EXIT_OK


def summary_text(scenario: Scenario, summary: pd.DataFrame, duration: float) -> str:
    """The table printed after a run: one row per outcome, median and 5-95% over replicates
    (``sim.io.results.summary_stats``, saved as ``summary_stats.csv``)."""
    from sim.analysis.tables import format_value
    from sim.io.results import QUANTILES, summary_stats

    seeds = list(summary["seed"])
    n = len(seeds)
    head = (
        f"{scenario.name}: {n} replicate{'s' if n > 1 else ''} "
        f"(seed{'s' if n > 1 else ''} {seeds[0]}{f'..{seeds[-1]}' if n > 1 else ''}), "
        f"{scenario.start}..{scenario.end}, scale 1:{scenario.scale:g}, {duration:,.1f} s"
    )
    rows: list[tuple[str, ...]] = [("outcome", "median", "5%", "95%", "unit")]
    for r in summary_stats(summary).itertuples(index=False):  # as summary_stats.csv
        rows.append(
            (str(r.outcome), *(format_value(getattr(r, c), str(r.unit)) for c in QUANTILES))
            + (str(r.unit),)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [head, ""]
    for r in rows:
        lines.append(
            f"{r[0]:<{widths[0]}}  "
            + "  ".join(f"{r[i]:>{widths[i]}}" for i in (1, 2, 3))
            + f"  {r[4]}"
        )
    lines.insert(3, "-" * len(lines[2]))
    if n < 3:
        lines.append("(5% and 95% need several replicates to mean much; see --replicates)")
    return "\n".join(lines)
