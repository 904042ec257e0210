"""``propsim sensitivity``: rank levers by Sobol or Morris indices (SALib).

Options here; the plan and the indices in ``sim.analysis.plans`` and ``sim.analysis.sensitivity``;
the flow shared with ``propsim sweep`` in ``sim.cli.batch``.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

from sim.cli.batch import add_common_options, drive, start_pool
from sim.cli.common import FMT, named_sets, note, positive_int, scenario_path
from sim.errors import BadInput

PARAMS_FOLDER = "scenarios/sensitivity"


def add_parser(sub: Any) -> None:
    se = sub.add_parser(
        "sensitivity",
        help="rank levers by Sobol or Morris indices (SALib)",
        formatter_class=FMT,
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
    add_common_options(se, "1")
    se.add_argument(
        "--params",
        metavar="FILE",
        help="parameter file (YAML): levers, outcomes; where no such file exists, a shipped "
        "one by name (levers, scenarios/sensitivity/levers.yaml)",
    )
    se.add_argument(
        "--method", choices=["sobol", "morris"], default="sobol", help="(default: sobol)"
    )
    se.add_argument(
        "--n",
        type=positive_int,
        metavar="N",
        default=32,
        help="base sample size: a power of two for Sobol (default: 32)",
    )
    se.set_defaults(func=cmd_sensitivity, start=start_pool)


def params_path(text: str) -> Path:
    """The parameter file of ``--params``: the file if it exists, else a shipped one it names."""
    from sim.config.resources import find_shipped

    path = Path(text)
    if path.is_file():
        return path
    if path.exists():
        raise BadInput(f"--params {path}: is not a file; give a parameter YAML file")
    found = find_shipped(text, PARAMS_FOLDER)
    if found is None:
        raise BadInput(f"--params {path}: no such file")
    note(f"no file {text} here: using the shipped {found} (`propsim init` copies it out)")
    return found


def _plan(args: argparse.Namespace) -> tuple[Any, dict[str, str]]:
    from sim.analysis.plans import sensitivity_plan

    return sensitivity_plan(
        args.scenario,
        named_sets(args),
        args.params,
        args.method,
        args.n,
        args.seed,
        args.replicates,
        resolve=scenario_path,
        resolve_params=params_path,
    )


def cmd_sensitivity(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.analysis.sensitivity import finish as finish_sensitivity
    from sim.analysis.sensitivity import indices_text, outcome_units

    return drive(
        args,
        command_line,
        "sensitivity",
        [("--params", args.params), ("--set", args.set), ("--name", args.name)],
        _plan,
        finish_sensitivity,
        lambda indices, plan: indices_text(
            indices, plan.design["method"], outcome_units(list(plan.outcomes))
        ),
    )
