"""PNG plots of a scenario discovery (``sim.analysis.discover``).

- ``tradeoff.png``: coverage against density along PRIM's peeling trajectory, each box coloured
  by how many keys it restricts, the chosen box marked;
- ``box.png``: the chosen box's range of every key as a bar over the sweep's range (scaled to
  0..1 per key), restricted keys labelled with their limits and quasi-p.

Drawn with matplotlib's object API and the Agg canvas, as ``sim.io.plots`` does, rather than
with EMA Workbench's own ``show_tradeoff`` and ``inspect(style="graph")``: those draw on pyplot's
global figures with seaborn's styles and cannot mark the chosen box or say what the axes mean.
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.analysis.discover import Condition, Discovery


def tradeoff_plot(found: Discovery, condition: Condition, path: Path) -> Path:
    """Coverage (x) against density (y) for every box of the peeling trajectory."""
    fig = Figure(figsize=(6.4, 5.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    cov = [b.coverage for b in found.trajectory]
    den = [b.density for b in found.trajectory]
    dims = [len(b.restricted) for b in found.trajectory]
    ax.plot(cov, den, color="0.75", linewidth=0.8, zorder=1)
    points = ax.scatter(cov, den, c=dims, cmap="viridis", s=22, zorder=2)
    bar = fig.colorbar(points, ax=ax, shrink=0.85)
    bar.set_label("keys restricted")
    bar.set_ticks(sorted(set(dims)))
    b = found.box
    ax.scatter([b.coverage], [b.density], s=220, marker="*", color="#d62728", zorder=3,
               label=f"chosen: box {b.index} (coverage {b.coverage:.2f}, density "
               f"{b.density:.2f})")  # fmt: skip
    ax.annotate(f"box {b.index}", (b.coverage, b.density), textcoords="offset points",
                xytext=(8, -14), fontsize=8, color="#d62728")  # fmt: skip
    ax.set_xlim(-0.02, 1.05)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("coverage (share of the cases of interest inside the box)")
    ax.set_ylabel("density (share of the box's rows that are cases of interest)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(
        f"PRIM peeling trajectory: {condition.text()}\n{found.interest} of {found.rows} rows "
        "meet the condition",
        fontsize=10,
        loc="left",
    )
    fig.savefig(path, dpi=100)
    return path


def box_plot(found: Discovery, condition: Condition, path: Path) -> Path:
    """The chosen box's range of each key within the sweep's range (each scaled to 0..1)."""
    limits = list(reversed(found.box.limits))  # the first key on top
    fig = Figure(figsize=(8.0, 1.3 + 0.75 * len(limits)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    labels = []
    for row, lim in enumerate(limits):
        ax.barh(row, 1.0, left=0.0, height=0.5, color="0.92", edgecolor="0.6")
        if lim.numeric:
            span = lim.full_high - lim.full_low
            lo = (lim.low - lim.full_low) / span if span else 0.0
            hi = (lim.high - lim.full_low) / span if span else 1.0
        else:
            lo, hi = 0.0, len(lim.values) / max(len(lim.full_values), 1)
        ax.barh(row, hi - lo, left=lo, height=0.5, color="#1f77b4" if lim.restricted else "0.7")
        note = f"box {lim.text()} of {lim.full_text()}" if lim.restricted else "unrestricted"
        if lim.restricted and not math.isnan(lim.qp):
            note += f", quasi-p {lim.qp:.2g}{' (significant)' if lim.significant else ''}"
        labels.append(f"{lim.key}\n{note}")
    ax.set_yticks(range(len(limits)), labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, len(limits) - 0.4)
    ax.set_xticks([0, 0.5, 1], ["sweep's lowest", "", "sweep's highest"], fontsize=8)
    ax.set_xlabel("blue: the box's range within the sweep's; grey: unrestricted", fontsize=8)
    b = found.box
    fig.suptitle(
        f"Box {b.index} for {condition.text()}: coverage {b.coverage:.2f}, density {b.density:.2f}",
        fontsize=9,
        x=0.01,
        ha="left",
    )
    fig.savefig(path, dpi=100)
    return path
