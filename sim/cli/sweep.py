"""``propsim sweep``: run many variants of a scenario (grid or Latin hypercube).

Options here; the plan, the folder and the table in ``sim.analysis.plans`` and
``sim.analysis.sweep``; the flow shared with ``propsim sensitivity`` in ``sim.cli.batch``.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from sim.cli.batch import add_common_options, drive, start_pool
from sim.cli.common import FMT, named_sets, positive_int, scenario_path


def add_parser(sub: Any) -> None:
    sw = sub.add_parser(
        "sweep",
        help="run many variants of a scenario (grid or Latin hypercube)",
        formatter_class=FMT,
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
    add_common_options(sw, "the scenario's `replicates`")
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
    sw.add_argument("--samples", type=positive_int, metavar="N", help="points of a Latin hypercube")
    sw.set_defaults(func=cmd_sweep, start=start_pool)


def _plan(args: argparse.Namespace) -> tuple[Any, dict[str, str]]:
    from sim.analysis.plans import sweep_plan

    plan = sweep_plan(
        args.scenario,
        named_sets(args),
        args.vary,
        args.design,
        args.samples,
        args.seed,
        args.replicates,
        resolve=scenario_path,
    )
    return plan, {}


def cmd_sweep(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.analysis.sweep import finish_sweep
    from sim.analysis.tables import sweep_table

    return drive(
        args,
        command_line,
        "sweep",
        [
            ("--vary", args.vary),
            ("--set", args.set),
            ("--name", args.name),
            ("--samples", args.samples),
        ],
        _plan,
        finish_sweep,
        lambda runs, plan: sweep_table(runs, plan.keys),
    )
