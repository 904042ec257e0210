"""``propsim discover``: the ranges of a sweep's keys under which an outcome stays below (or
above) a threshold, by PRIM (``sim.analysis.discover``)."""

from __future__ import annotations

import argparse
import math
import textwrap
from pathlib import Path
from typing import Any

from sim.cli.common import EXIT_OK, FMT


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _share(text: str) -> float:
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1, got {text}")
    return value


def _alpha(text: str) -> float:
    value = _number(text)
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"must be above 0 and below 0.5, got {text}")
    return value


def _index(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "discover",
        help="find the ranges of a sweep's keys where an outcome stays below/above a threshold",
        formatter_class=FMT,
        description=textwrap.dedent(
            """\
            Scenario discovery on a finished sweep (or sensitivity) folder: under which ranges
            of the varied levers and parameters does an outcome stay below (or above) a
            threshold? PRIM (EMA Workbench) peels the sweep's ranges step by step towards the
            points that meet the condition; each step is a box with a coverage (the share of
            the points meeting the condition that lie inside it) and a density (the share of
            its points that meet it). The chosen box is the densest with coverage at least
            --min-coverage (or --box I); each restriction comes with its quasi-p value
            (significant below 0.05).

            Replicates: a design point meets the condition when the median over its
            replicates does; --each-replicate gives PRIM every run instead (the density then
            also shows the run-to-run noise).

            Writes <out>/<sweep name>-discover-<YYYYmmdd-HHMMSS>/ (default <out>: the folder
            that holds the sweep): manifest.json (with the reproduce command), limits.csv (the
            chosen box), trajectory.csv (every box), points.csv (the rows PRIM saw: the
            outcome, whether each meets the condition and lies in the box) and plots/
            (tradeoff.png: coverage against density; box.png: the box's ranges).
            """
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              propsim discover results/baseline-sweep-20260101-120000 \\
                  --outcome posts_observed_last90 --below 40000
              propsim discover results/baseline-sweep-20260101-120000 \\
                  --outcome total_recruits --above 30000 --each-replicate --min-coverage 0.6
              propsim report results/baseline-discover-20260101-121500
            """
        ),
    )
    p.add_argument("folder", metavar="SWEEP_FOLDER", help="a finished sweep or sensitivity folder")
    p.add_argument(
        "--outcome",
        required=True,
        metavar="NAME",
        help="a summary outcome of the sweep's run table (runs.csv), e.g. posts_observed_last90",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--below", type=_number, metavar="X", help="cases of interest: the outcome is below X"
    )
    which.add_argument(
        "--above", type=_number, metavar="X", help="cases of interest: the outcome is above X"
    )
    p.add_argument(
        "--each-replicate",
        action="store_true",
        help="one row per run for PRIM (default: the median over a point's replicates)",
    )
    p.add_argument(
        "--min-coverage",
        type=_share,
        default=0.8,
        metavar="C",
        help="choose the densest box with at least this coverage (default: 0.8)",
    )
    p.add_argument(
        "--box", type=_index, metavar="I", help="choose box I of the peeling trajectory instead"
    )
    p.add_argument(
        "--mass-min",
        type=_share,
        default=0.05,
        metavar="M",
        help="PRIM stops peeling at boxes holding this share of the rows (default: 0.05)",
    )
    p.add_argument(
        "--peel-alpha",
        type=_alpha,
        default=0.05,
        metavar="A",
        help="share of the box's rows each peel removes (default: 0.05)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder in which the results folder is created (default: the sweep folder's)",
    )
    p.add_argument("--no-plots", action="store_true", help="do not draw plots/*.png")
    p.add_argument("--quiet", action="store_true", help="no table; print only the folder")
    p.set_defaults(func=cmd_discover)


def cmd_discover(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.analysis.discover import (
        Options,
        condition_of,
        run_discovery,
        summary_text,
        write_folder,
    )
    from sim.cli.common import prepare_out

    condition = condition_of(args.outcome, args.below, args.above)
    options = Options(
        each_replicate=args.each_replicate,
        min_coverage=args.min_coverage,
        box=args.box,
        mass_min=args.mass_min,
        peel_alpha=args.peel_alpha,
    )
    sweep = Path(args.folder)
    manifest, table, found = run_discovery(sweep, condition, options)
    out = prepare_out(Path(args.out) if args.out else sweep.resolve().parent)
    final = write_folder(
        out, sweep, manifest, table, found, condition, options, command_line, not args.no_plots
    )
    print(final if args.quiet else f"{summary_text(found, condition, table)}\n\nResults: {final}")
    return EXIT_OK
