"""The ``propsim`` command line: a thin layer over loading, running and writing results.

Data flow of ``propsim run``: scenario YAML + ``--set`` overrides ->
``sim.config.loader.load_scenario``
(validation; errors are ``ScenarioError``) -> ``sim.execution.runner.run_replicates``
(``sim.core.model``) ->
daily tables -> ``sim.io.results.write_results`` (results folder, plots) -> summary table printed.

Subcommands: ``run``, ``validate``, ``schema``, ``metrics``; ``calibrate`` (its arguments and
steps in ``sim.analysis.calibrate_cli``); ``sweep`` and ``sensitivity`` (added by
``sim.analysis.commands``). Exit codes: 0 done, 2 bad input
(scenario errors, bad arguments), 1 failure, 130 interrupted. Bad input never prints a
traceback, and nothing is written before the input has been checked. Heavy modules (the model,
pandas, matplotlib) are imported only by the subcommands that need them; a subcommand's
``start`` default, if set, is called right after parsing, before them (sweeps start their
worker pool's fork server there). ``entry`` is the program: ``main``, then a quick exit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import sys
import textwrap
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario import Scenario

PROG = "propsim"
EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
MAX_REPLICATES = 1000


class BadInput(Exception):
    """A problem with the user's input found by the CLI itself (exit code 2)."""


# --- helpers -------------------------------------------------------------------------------


def _err(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_REPLICATES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_REPLICATES}, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def format_value(x: float, unit: str) -> str:
    """A number for the summary table: thousands separators, decimals only where they matter."""
    if x is None or math.isnan(x):
        return "n/a"
    if unit in ("ratio", "0..1", ""):
        return f"{x:,.2f}"
    if x == round(x) or abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) < 10 else f"{x:,.1f}"


def summary_text(scenario: Scenario, summary: pd.DataFrame, duration: float) -> str:
    """The table printed after a run: one row per outcome, median and 5-95% over replicates."""
    from sim.metrics import OUTCOMES

    seeds = list(summary["seed"])
    n = len(seeds)
    head = (
        f"{scenario.name}: {n} replicate{'s' if n > 1 else ''} "
        f"(seed{'s' if n > 1 else ''} {seeds[0]}{f'..{seeds[-1]}' if n > 1 else ''}), "
        f"{scenario.start}..{scenario.end}, scale 1:{scenario.scale:g}, {duration:,.1f} s"
    )
    rows: list[tuple[str, ...]] = [("outcome", "median", "5%", "95%", "unit")]
    for o in OUTCOMES:
        col = summary[o.name].astype(float)
        vals = col.dropna()
        if vals.empty:
            stats = ["n/a"] * 3
        else:
            stats = [format_value(float(vals.quantile(q)), o.unit) for q in (0.5, 0.05, 0.95)]
        rows.append((o.name, *stats, o.unit))
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


# --- subcommands ---------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> Scenario:
    from sim.scenario import load_scenario

    path = Path(args.scenario)
    if not path.exists():
        raise BadInput(f"{path}: no such scenario file")
    if not path.is_file():
        raise BadInput(f"{path}: is not a file; give a scenario YAML file")
    return load_scenario(path, list(args.set or []))


def cmd_validate(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.io.results import validate_name

    scenario = _load(args)
    try:
        validate_name(scenario.name)
    except ValueError as err:
        raise BadInput(f"{args.scenario}: {err}") from None
    n = len(scenario.timeline)
    print(
        f"OK: {scenario.name}, {scenario.start}..{scenario.end}, scale 1:{scenario.scale:g}, "
        f"{n} timeline event{'' if n == 1 else 's'}"
    )
    return EXIT_OK


def _prepare_out(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadInput(f"--out {out}: cannot create the folder ({err.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BadInput(f"--out {out}: the folder is not writable")
    return out


def cmd_run(args: argparse.Namespace, command_line: list[str]) -> int:
    from pydantic import ValidationError

    from sim.execution.runner import replicate_seeds, run_replicates
    from sim.io.results import summary_table, validate_name, write_results

    scenario = _load(args)
    try:
        if args.seed is not None:
            scenario.seed = args.seed
        if args.replicates is not None:
            scenario.replicates = args.replicates
    except ValidationError as err:
        raise BadInput(f"--seed/--replicates: {err.errors()[0]['msg']}") from None
    try:
        validate_name(scenario.name)
    except ValueError as err:
        raise BadInput(f"{args.scenario}: {err}") from None
    out = _prepare_out(Path(args.out))

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
        out, scenario, dailies, seeds, command_line, started, duration, plots=not args.no_plots
    )
    if args.quiet:
        print(folder)
    else:
        print(summary_text(scenario, summary_table(scenario, dailies, seeds), duration))
        print(f"\nResults: {folder}")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.scenario import Scenario

    text = json.dumps(Scenario.model_json_schema(), indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        out = Path(args.out)
        if out.is_dir():
            raise BadInput(f"--out {out}: is a folder; give a file name")
        out.write_text(text, encoding="utf-8")
        print(f"Wrote the scenario JSON Schema to {out}", file=sys.stderr)
    return EXIT_OK


def metrics_text() -> str:
    """The metric reference: every daily metric and summary outcome with unit and meaning."""
    from sim.metrics import METRICS, OUTCOMES

    sections: list[tuple[str, list[tuple[str, str, str]]]] = [
        (
            "Per open platform (column <platform>.<name>, e.g. twitter.suspensions):",
            [(m.name, m.unit, m.description) for m in METRICS if m.scope == "open"],
        ),
        (
            "Per encrypted platform (column <platform>.<name>, e.g. telegram.members):",
            [(m.name, m.unit, m.description) for m in METRICS if m.scope == "encrypted"],
        ),
        (
            "Global (column <name>):",
            [(m.name, m.unit, m.description) for m in METRICS if m.scope == "global"],
        ),
    ]
    outcomes = [(o.name, o.unit, o.description) for o in OUTCOMES]
    w_name = max(len(r[0]) for _, rows in sections for r in rows)
    w_name = max(w_name, *(len(r[0]) for r in outcomes))
    w_unit = max(len(r[1]) for _, rows in sections for r in rows)
    w_unit = max(w_unit, *(len(r[1]) for r in outcomes))
    indent = " " * (2 + w_name + 2 + w_unit + 2)

    def fmt(rows: list[tuple[str, str, str]]) -> list[str]:
        out = []
        for name, unit, desc in rows:
            first = f"  {name:<{w_name}}  {unit:<{w_unit}}  "
            wrapped = textwrap.wrap(desc, width=max(40, 100 - len(indent))) or [""]
            out.append(first + wrapped[0])
            out += [indent + line for line in wrapped[1:]]
        return out

    lines = [
        "Daily metrics: columns of daily/replicate_<r>.parquet in a results folder, one row per",
        "reported day, in real-world units (whatever the scenario's scale).",
        "",
    ]
    for title, rows in sections:
        lines += [title, *fmt(rows), ""]
    lines += [
        "Summary outcomes: columns of summary.csv / summary.parquet, one row per replicate",
        "(per-platform outcomes use the first open platform):",
        *fmt(outcomes),
    ]
    return "\n".join(lines)


def cmd_metrics(args: argparse.Namespace, command_line: list[str]) -> int:
    print(metrics_text())
    return EXIT_OK


# --- parser --------------------------------------------------------------------------------

_FMT = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=_FMT,
        description=textwrap.dedent(
            """\
            Agent-based simulation of pro-IS propaganda on social media (2014-2016) and of the
            countermeasures against it. Scenarios are YAML files; see `propsim schema`.

            Exit codes: 0 done, 2 bad input, 1 failure, 130 interrupted.
            """
        ),
        epilog="Run `propsim COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    set_help = (
        "override a scenario value by its dotted key path, e.g. "
        "--set moderation.twitter.intensity=0.002 (repeatable; applied in order)"
    )

    run = sub.add_parser(
        "run",
        help="run a scenario and write a results folder",
        formatter_class=_FMT,
        description=textwrap.dedent(
            """\
            Run a scenario's replicates (replicate r uses seed S + r), print a summary table
            (median and 5-95% range over replicates) and write a results folder
            <out>/<name>-<YYYYmmdd-HHMMSS>/ holding manifest.json, scenario.yaml, daily
            metrics per replicate (Parquet), summary.csv/.parquet and plots/*.png.

            The folder appears only when complete; an interrupted run leaves none.
            manifest.json records the command that reproduces it.
            """
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              propsim run scenarios/baseline.yaml
              propsim run scenarios/baseline.yaml --replicates 10 --seed 100
              propsim run scenarios/baseline.yaml --set scale=50 --set end=2015-06-30 --quiet
            """
        ),
    )
    run.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", default=[], help=set_help)
    run.add_argument(
        "--replicates",
        type=_positive_int,
        metavar="N",
        help=f"number of replicates, 1..{MAX_REPLICATES} (default: the scenario's `replicates`)",
    )
    run.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        default=os.cpu_count() or 1,
        help="replicates run in N processes at once (default: all cores, here "
        f"{os.cpu_count() or 1}); results do not depend on N",
    )
    run.add_argument(
        "--seed",
        type=_seed,
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
        help="no progress bar and no summary table; print only the results folder's path",
    )
    run.set_defaults(func=cmd_run)

    val = sub.add_parser(
        "validate",
        help="check a scenario file without running it",
        formatter_class=_FMT,
        description=textwrap.dedent(
            """\
            Load and validate a scenario (with its `extends` chain and any --set overrides)
            without running it. Prints a one-line description, or the problems found with the
            file, line and key path of each; exit code 2 if there are any.
            """
        ),
        epilog="example:\n  propsim validate scenarios/baseline.yaml --set scale=50",
    )
    val.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    val.add_argument("--set", action="append", metavar="KEY=VALUE", default=[], help=set_help)
    val.set_defaults(func=cmd_validate)

    sch = sub.add_parser(
        "schema",
        help="print the JSON Schema of scenario files",
        formatter_class=_FMT,
        description=textwrap.dedent(
            """\
            Print the JSON Schema of scenario files (every key, its type, range, default,
            description and unit), for editors that complete and check YAML.
            """
        ),
        epilog=textwrap.dedent(
            """\
            example (VS Code YAML extension): propsim schema --out scenario.schema.json,
            then start a scenario file with
              # yaml-language-server: $schema=scenario.schema.json
            """
        ),
    )
    sch.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    sch.set_defaults(func=cmd_schema)

    met = sub.add_parser(
        "metrics",
        help="list the daily metrics and summary outcomes with units",
        formatter_class=_FMT,
        description="List every daily metric (the columns of the daily Parquet files) and "
        "every summary outcome, with its unit and meaning.",
    )
    met.set_defaults(func=cmd_metrics)

    from sim.analysis.calibrate_cli import add_parser as add_calibrate

    add_calibrate(sub, _FMT)
    # sweep and sensitivity: options and flow live in sim.analysis.commands
    from sim.analysis.commands import add_parsers as add_analysis_parsers

    add_analysis_parsers(sub, _FMT)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("propsim")
    except PackageNotFoundError:
        return "(not installed)"


# --- entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``propsim`` command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    command_line = [PROG, *args_list]
    start = getattr(args, "start", None)
    if start is not None:  # background work of the subcommand (a pool's fork server), begun
        start(args)  # before the imports below so that the two overlap
    try:
        from sim.config.loader import ScenarioError
    except ImportError as err:
        _err(f"cannot import the scenario loader: {err}")
        return EXIT_FAILURE
    try:
        return int(args.func(args, command_line))
    except (ScenarioError, BadInput) as err:
        _err(str(err))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _err("interrupted" + ("; no results folder was written" if args.command == "run" else ""))
        return EXIT_INTERRUPTED
    except OSError as err:
        _err(str(err))
        return EXIT_FAILURE
    except Exception as err:  # a bug: show where, for the report
        traceback.print_exc()
        _err(
            f"unexpected failure ({type(err).__name__}: {err}); please report it with the "
            "traceback above"
        )
        return EXIT_FAILURE


def entry() -> int:
    """The ``propsim`` program (console script, ``python -m sim.cli``): ``main``, then exit.

    Everything is written and closed when ``main`` returns; ``gc.freeze`` then spares the
    interpreter's exit its garbage-collector passes over every object the imports made (pandas,
    numba, the model: about 0.3 s per command). Not in ``main``, which tests call in-process.
    """
    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":
    # ``python -m sim.cli``: this file runs as ``__main__`` while the subcommand modules import
    # ``sim.cli``, a second copy whose ``BadInput`` this copy's ``main`` would not catch; so
    # run that copy's ``entry``.
    from sim.cli import entry as _entry

    sys.exit(_entry())
