"""Printed tables of runs: numbers as analysts read them, the per-point table of a sweep."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

SHOWN = ("posts_observed_last90", "total_suspensions", "total_recruits", "encrypted_members_end")


def format_value(x: float, unit: str) -> str:
    """A number for the summary table: thousands separators, decimals only where they matter."""
    if x is None or math.isnan(x):
        return "n/a"
    if unit in ("ratio", "0..1", ""):
        return f"{x:,.2f}"
    if x == round(x) or abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) < 10 else f"{x:,.1f}"


def sweep_table(runs: Any, keys: list[str]) -> str:
    """The printed table: per point, the varied values and median outcomes over replicates."""
    from sim.metrics import OUTCOMES

    units = {o.name: o.unit for o in OUTCOMES}
    shown = [c for c in SHOWN if c in runs]
    med = runs.groupby("point", sort=True).agg(
        {**{k: "first" for k in keys}, **{c: "median" for c in shown}}
    )
    rows = [["point", *keys, *shown]]
    for p, r in med.iterrows():
        rows.append(
            [str(p), *(f"{r[k]:g}" if isinstance(r[k], float) else str(r[k]) for k in keys)]
            + [format_value(float(r[c]), units[c]) for c in shown]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    reps = runs["replicate"].nunique()
    return "\n".join(
        [f"Median over {reps} replicate(s) per point (all outcomes in runs.csv):", *lines]
    )


def align(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of text cells as lines: the first column left-aligned, the others right-aligned,
    a rule under the header row."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells))
    lines.insert(1, "-" * len(lines[0]))
    return lines
