"""``propsim validate``: load and check a scenario without running it."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from sim.cli.common import EXIT_OK, FMT, SCENARIO_HELP, SET_HELP, load
from sim.errors import BadInput


def add_parser(sub: Any) -> None:
    val = sub.add_parser(
        "validate",
        help="check a scenario file without running it",
        formatter_class=FMT,
        description=textwrap.dedent(
            """\
            Load and validate a scenario (with its `extends` chain and any --set overrides)
            without running it. Prints a one-line description, or the problems found with the
            file, line and key path of each; exit code 2 if there are any.
            """
        ),
        epilog="example:\n  propsim validate scenarios/baseline.yaml --set scale=50",
    )
    val.add_argument("scenario", metavar="SCENARIO", help=SCENARIO_HELP)
    val.add_argument("--set", action="append", metavar="KEY=VALUE", default=[], help=SET_HELP)
    val.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.io.results import validate_name

    scenario = load(args)
    try:
        validate_name(scenario.name)
    except ValueError as error:
        raise BadInput(f"{args.scenario}: {error}") from None
    n = len(scenario.timeline)
    print(
        f"OK: {scenario.name}, {scenario.start}..{scenario.end}, scale 1:{scenario.scale:g}, "
        f"{n} timeline event{'' if n == 1 else 's'}"
    )
    return EXIT_OK
