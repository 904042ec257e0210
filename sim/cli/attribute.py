"""``propsim attribute``: Shapley decomposition of outcomes over families of countermeasures.

Options here; the plan, tables and plots in ``sim.analysis.attribution``; the flow shared with
``propsim compare`` in ``sim.cli.paired``.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from sim.cli.batch import start_pool
from sim.cli.common import (
    FMT,
    NAME_HELP,
    SCENARIO_HELP,
    folder_name,
    named_sets,
    note,
    scenario_path,
)
from sim.cli.paired import add_paired_options, drive_paired


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "attribute",
        help="how much of each outcome each family of countermeasures caused (Shapley)",
        formatter_class=FMT,
        description=textwrap.dedent(
            """\
            Answer "how much of the drop did each countermeasure cause?": run SCENARIO with its
            families of countermeasures (as the components declare them: suspensions,
            takedowns, counter-messaging, measurement, ...) switched off in every combination,
            all on the same seeds (and, with --posterior K, under K posterior draws), and
            decompose each outcome's total effect (scenario minus no countermeasures) into one
            Shapley value per family, with 90% intervals over the paired units. The values of
            each unit add up to its total effect.

            2^n scenarios for n families: --families picks some (the others stay as in the
            scenario). Writes <out>/<name>-attribute-<YYYYmmdd-HHMMSS>/: manifest.json,
            arms/*.yaml, shapley.csv, shapley_units.csv, summary_stats.csv, runs.csv, runs/
            and plots/waterfall_<outcome>.png; --resume finishes an interrupted one.
            """
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              propsim attribute baseline --set scale=100 --replicates 3
              propsim attribute baseline --families suspensions,counter-messaging --posterior 5
            """
        ),
    )
    p.add_argument("scenario", metavar="SCENARIO", nargs="?", help=SCENARIO_HELP)
    p.add_argument(
        "--families",
        metavar="A,B,...",
        default="",
        help="the families to attribute to (default: every family the components declare)",
    )
    p.add_argument("--name", type=folder_name, metavar="NAME", help=NAME_HELP)
    add_paired_options(p, "the scenario's `replicates`")
    p.set_defaults(func=cmd_attribute, start=start_pool)


def _plan(args: argparse.Namespace) -> Any:
    from sim.analysis.attribution import attribution_plan

    chosen = [f.strip() for f in args.families.split(",") if f.strip()]
    plan, notes = attribution_plan(
        args.scenario,
        named_sets(args),
        chosen,
        args.seed,
        args.replicates,
        args.posterior,
        args.posterior_file,
        scenario_path,
    )
    for text in notes:
        note(text)
    return plan


def cmd_attribute(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.analysis.attribution import attribution_text, finish
    from sim.errors import BadInput

    if args.resume and (args.scenario or args.set or args.posterior or args.families or args.name):
        raise BadInput(f"--resume {args.resume}: the folder holds the whole design; drop the rest")
    return drive_paired(args, command_line, "attribute", _plan, finish, attribution_text)
