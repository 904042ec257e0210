"""``propsim metrics``: the reference of daily metrics and summary outcomes, with units."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from sim.cli.common import EXIT_OK, FMT


def add_parser(sub: Any) -> None:
    met = sub.add_parser(
        "metrics",
        help="list the daily metrics and summary outcomes with units",
        formatter_class=FMT,
        description="List every daily metric (the columns of the daily Parquet files) and "
        "every summary outcome, with its unit and meaning.",
    )
    met.set_defaults(func=cmd_metrics)


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
