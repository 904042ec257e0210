"""``propsim report``: one self-contained HTML page of a results folder (sim.analysis.report)."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

from sim.cli.common import EXIT_OK, FMT


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="write one self-contained HTML report of a results folder",
        formatter_class=FMT,
        description=textwrap.dedent(
            """\
            Write one HTML file for a finished results folder of run, compare, attribute,
            sweep, sensitivity, calibrate or discover: the question, the scenario's differences
            from the baseline, the headline table (for discover: the box, then the peeling
            trajectory), the plots (embedded: the file needs no network and
            no other file), the caveats (what the bands are, the parameters the calibration
            leaves loose and the outcomes they move) and the command that reproduces it.
            """
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              propsim report results/baseline-compare-20260101-120000
              propsim report results/baseline-20260101-120000 --out brief.html --open
            """
        ),
    )
    p.add_argument("folder", metavar="FOLDER", help="a finished results folder")
    p.add_argument("--out", metavar="FILE", help="the HTML file (default: FOLDER/report.html)")
    p.add_argument("--open", action="store_true", help="open it in a web browser")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.analysis.report import write_report

    path = write_report(Path(args.folder), Path(args.out) if args.out else None)
    print(path)
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return EXIT_OK
