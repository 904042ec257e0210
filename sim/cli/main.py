"""The ``propsim`` command line: the parser, the dispatch to one module per command, exit codes.

Commands (one module each in ``sim.cli``): ``run``, ``validate``, ``schema``, ``metrics``,
``init``, ``calibrate``, ``sweep`` and ``sensitivity`` (their shared flow in ``sim.cli.batch``),
``compare`` and ``attribute`` (paired designs: ``sim.cli.paired``), ``discover`` (PRIM on a
sweep's runs), ``report`` (HTML; shared argument helpers in ``sim.cli.common``). Each module's
``add_parser`` adds its options and sets ``func`` (and optionally ``start``); the work itself
is done by the layers below (``sim.config``, ``sim.execution``, ``sim.io``, ``sim.analysis``),
which raise ``sim.errors`` exceptions for bad input.

Exit codes: 0 done, 2 bad input (``sim.errors.PropsimError.exit_code``: scenario errors, bad
arguments), 1 failure, 130 interrupted. Bad input never prints a traceback, and nothing is
written before the input has been checked. Heavy modules (the model, pandas, matplotlib) are
imported only inside the command functions that need them; a command's ``start`` default, if
set, is called right after parsing, before them (sweeps start their worker pool's fork server
there). ``entry`` is the program: ``main``, then a quick exit.
"""

from __future__ import annotations

import argparse
import gc
import sys
import textwrap
import traceback
from collections.abc import Sequence

from sim.cli import (
    attribute,
    calibrate,
    compare,
    discover,
    init,
    metrics,
    report,
    run,
    schema,
    sensitivity,
    sweep,
    validate,
)
from sim.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    FMT,
    PROG,
    err,
)
from sim.errors import PropsimError
from sim.execution import stop

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "build_parser",
    "entry",
    "main",
]

COMMANDS = (
    run,
    validate,
    schema,
    metrics,
    init,
    calibrate,
    sweep,
    sensitivity,
    compare,
    attribute,
    discover,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``propsim`` parser with every command's subparser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=FMT,
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
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("propsim")
    except PackageNotFoundError:
        return "(not installed)"


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
        start(args)  # before the command's heavy imports so that the two overlap
    try:
        return int(args.func(args, command_line))
    except PropsimError as error:
        err(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        kept = "; nothing unfinished was kept (a results folder is kept once its data is complete)"
        err("interrupted" + (kept if args.command == "run" else ""))
        return EXIT_INTERRUPTED
    except OSError as error:
        err(str(error))
        return EXIT_FAILURE
    except Exception as error:  # a bug: show where, for the report
        traceback.print_exc()
        err(
            f"unexpected failure ({type(error).__name__}: {error}); please report it with the "
            "traceback above"
        )
        return EXIT_FAILURE


def entry() -> int:
    """The ``propsim`` program (console script, ``python -m sim.cli``): ``main``, then exit.

    Everything is written and closed when ``main`` returns; ``gc.freeze`` then spares the
    interpreter's exit its garbage-collector passes over every object the imports made (pandas,
    numba, the model: about 0.3 s per command). Not in ``main``, which tests call in-process.
    """
    stop.install()  # SIGTERM as Ctrl-C; neither lost in a finaliser (sim.execution.stop)
    code = main()
    gc.freeze()
    return code
