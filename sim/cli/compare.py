"""``propsim compare``: scenarios on the same seeds, paired differences with intervals.

Options here; the plan, tables and plots in ``sim.analysis.compare``; the flow shared with
``propsim attribute`` in ``sim.cli.paired``.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from sim.cli.batch import start_pool
from sim.cli.common import FMT, SCENARIO_HELP, folder_name, scenario_path
from sim.cli.paired import add_paired_options, drive_paired


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="compare scenarios on the same seeds: paired differences with intervals",
        formatter_class=FMT,
        description=textwrap.dedent(
            """\
            Run a BASE scenario and one or more VARIANTs on the same seeds (common random
            numbers: unit j uses seed S + j in every scenario) and report, for every summary
            outcome and chosen daily metric, the paired difference and ratio to the base with
            the median and 90% interval, and the probability that the variant is lower.

            With --posterior K, K parameter sets are drawn from the calibration posterior (by
            weight) and every scenario runs under each on the same seeds: the intervals then
            carry what the calibration leaves unknown as well as run-to-run noise. A variant
            that sets a calibrated parameter itself keeps its own value.

            Writes <out>/<base>-compare-<YYYYmmdd-HHMMSS>/: manifest.json, arms/*.yaml,
            comparison.csv, summary_stats.csv, paired.csv, daily_bands.parquet, runs.csv,
            runs/*.parquet (every run's daily table) and plots/ (difference over time per
            metric, forest plot). Each run is saved as it finishes: --resume finishes an
            interrupted comparison.
            """
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              propsim compare baseline suspensions_only --set scale=100
              propsim compare baseline no_countermeasures --replicates 5 --posterior 10
              propsim compare baseline redirect_method --metric pro_posts_true --quiet
              propsim compare baseline my_variant.yaml --name history --name earlier_ramp
              propsim compare --resume results/.baseline-compare-20260101-120000.partial
            """
        ),
    )
    p.add_argument(
        "scenarios",
        metavar="SCENARIO",
        nargs="*",
        help=f"BASE, then VARIANT [MORE ...]: {SCENARIO_HELP}",
    )
    p.add_argument(
        "--name",
        type=folder_name,
        action="append",
        metavar="NAME",
        default=[],
        help="label the SCENARIO in the same position (the first --name the base, the next the "
        "first variant, ...) instead of its file's `name:`, in the tables, plots, report and "
        "the folder's name (<base>-compare-<time>); letters, digits, '_', '-' and '.'",
    )
    add_paired_options(p, "the base scenario's `replicates`")
    p.set_defaults(func=cmd_compare, start=start_pool)


def _plan(args: argparse.Namespace) -> Any:
    from sim.analysis.compare import compare_plan

    return compare_plan(
        args.scenarios,
        args.set,
        args.seed,
        args.replicates,
        args.posterior,
        args.posterior_file,
        args.metric,
        scenario_path,
        args.name,
    )


def cmd_compare(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.analysis.compare import comparison_text, finish
    from sim.errors import BadInput

    if args.resume and (args.scenarios or args.set or args.posterior or args.name):
        raise BadInput(f"--resume {args.resume}: the folder holds the whole design; drop the rest")
    return drive_paired(args, command_line, "compare", _plan, finish, comparison_text)
