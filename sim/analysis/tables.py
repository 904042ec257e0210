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


def point_stats(runs: Any, keys: Sequence[str]) -> Any:
    """Per point of a sweep and summary outcome: the point's varied values, then ``outcome``,
    ``median``, ``q05``, ``q95``, ``unit`` and ``replicates`` over its replicates, as a run's
    ``summary_stats.csv`` (``sim.io.results.summary_stats``). Written as the sweep's
    ``summary_stats.csv``; the printed table and the report show its medians."""
    import pandas as pd

    from sim.io.results import summary_stats

    parts = []
    for p, sub in runs.groupby("point", sort=True):
        stats = summary_stats(sub)
        for i, k in enumerate(keys):
            stats.insert(i, k, sub[k].iloc[0])
        stats.insert(0, "point", p)
        parts.append(stats)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def sweep_table(runs: Any, keys: list[str]) -> str:
    """The printed table: per point, the varied values and median outcomes over replicates
    (the medians of ``point_stats``, saved as ``summary_stats.csv``)."""
    stats = point_stats(runs, keys)
    shown = [c for c in SHOWN if c in set(stats["outcome"])]
    rows = [["point", *keys, *shown]]
    for p, sub in stats.groupby("point", sort=True):
        by = sub.set_index("outcome")
        first = sub.iloc[0]
        values = [f"{first[k]:g}" if isinstance(first[k], float) else str(first[k]) for k in keys]
        rows.append(
            [str(p), *values]
            + [format_value(float(by.loc[c, "median"]), str(by.loc[c, "unit"])) for c in shown]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    reps = runs["replicate"].nunique()
    return "\n".join(
        [
            f"Median over {reps} replicate(s) per point (with 5% and 95% in summary_stats.csv, "
            "every run in runs.csv):",
            *lines,
        ]
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
