"""``propsim schema``: the JSON Schema of scenario files, for editors."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from sim.cli.common import EXIT_OK, FMT
from sim.errors import BadInput


def add_parser(sub: Any) -> None:
    sch = sub.add_parser(
        "schema",
        help="print the JSON Schema of scenario files",
        formatter_class=FMT,
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


def cmd_schema(args: argparse.Namespace, command_line: list[str]) -> int:
    from sim.scenario import Scenario

    text = json.dumps(Scenario.model_json_schema(), indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        out = Path(args.out)
        if out.is_dir():
            raise BadInput(f"--out {out}: is a folder; give a file name")
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as error:  # a missing or read-only folder: the argument is wrong
            raise BadInput(f"--out {out}: cannot write the file ({error.strerror})") from None
        print(f"Wrote the scenario JSON Schema to {out}", file=sys.stderr)
    return EXIT_OK
