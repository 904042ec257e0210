"""PNG plots of a sweep: outcomes against the varied keys.

Data flow: the run table of a finished sweep (``sim.analysis.sweep.read_runs``: one row per run,
the varied keys and the outcomes) -> ``make_sweep_plots`` -> ``plots/*.png``.

- one key of a grid: each outcome against it, median over replicates as a line, 5-95% as a band;
- two keys of a grid: a heat map per outcome of the median over replicates. Colours are scaled
  per panel (each outcome its own range), so the colour bar carries the outcome's unit and the
  panel's title states the noise: the median over cells of the 5-95% spread over replicates,
  and as a share of the colour range. Cells whose median is within half that spread of the
  panel's median of medians are hatched: their colour differs from the middle by less than the
  run-to-run noise (``heatmap_noise``);
- otherwise (Latin hypercube, three or more keys): each outcome against each key as a scatter.

Numeric keys only; a sweep over text or dates gets no plots. Uses matplotlib's object API with
the Agg canvas, as ``sim.io.plots`` does.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sim.metrics import OUTCOMES

UNITS = {o.name: o.unit for o in OUTCOMES}


def heatmap_noise(
    runs: pd.DataFrame, a: str, b: str, outcome: str
) -> tuple[pd.DataFrame, float, pd.DataFrame]:
    """The heat map of ``outcome`` over keys ``a`` (rows) and ``b`` (columns): the median over
    replicates per cell; the noise, the median over cells of the 5-95% spread over replicates
    (NaN with one replicate); and which cells are within the noise (their median is within half
    the noise of the panel's median of medians)."""
    cells = runs.groupby([a, b])[outcome]
    table = cells.median().unstack(b)
    spread = (cells.quantile(0.95) - cells.quantile(0.05)).to_numpy(dtype=float)
    reps = int(cells.count().max()) if len(runs) else 0
    noise = float(np.nanmedian(spread)) if reps > 1 and np.isfinite(spread).any() else math.nan
    centre = float(np.nanmedian(table.to_numpy(dtype=float)))
    if not math.isfinite(noise):
        return table, noise, pd.DataFrame(False, index=table.index, columns=table.columns)
    within = (table - centre).abs() <= noise / 2
    return table, noise, within


def _numeric(runs: pd.DataFrame, keys: list[str]) -> bool:
    return all(pd.api.types.is_numeric_dtype(runs[k]) for k in keys)


def _outcomes(runs: pd.DataFrame) -> list[str]:
    return [o.name for o in OUTCOMES if o.name in runs and runs[o.name].notna().any()]


def _grid_axes(n: int, width: float = 4.2) -> tuple[Figure, list]:
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width * cols, 3.2 * rows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def noise_text(noise: float, values: np.ndarray) -> str:
    """The noise line of a heat map panel: the spread, and its share of the colour range."""
    if not math.isfinite(noise):
        return "noise unknown (one replicate per cell)"
    span = float(np.nanmax(values) - np.nanmin(values)) if np.isfinite(values).any() else 0.0
    share = f" = {noise / span:.0%} of colour range" if span > 0 else ""
    return f"noise (median 5-95% over replicates): {noise:.3g}{share}"


def make_sweep_plots(runs: pd.DataFrame, keys: list[str], grid: bool, out_dir: Path) -> list[Path]:
    """Draw the sweep's plots into ``out_dir``; returns their paths (none for non-numeric keys)."""
    outcomes = _outcomes(runs)
    if runs.empty or not outcomes or not _numeric(runs, keys):
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    reps = runs["replicate"].nunique()
    note = f"{runs['point'].nunique()} points x {reps} replicate{'s' if reps > 1 else ''}"
    if len(keys) == 1 and grid:
        key = keys[0]
        q = runs.groupby(key)[outcomes].quantile([0.05, 0.5, 0.95]).unstack()
        fig, axes = _grid_axes(len(outcomes))
        for ax, o in zip(axes, outcomes, strict=True):
            x = q.index.to_numpy(dtype=float)
            ax.fill_between(x, q[(o, 0.05)], q[(o, 0.95)], alpha=0.25, linewidth=0,
                            label=f"5-95% over {reps} replicates")  # fmt: skip
            ax.plot(x, q[(o, 0.5)], marker="o", markersize=3, label="median")
            ax.set_title(o, fontsize=9, loc="left")
            ax.set_xlabel(key, fontsize=8)
            ax.set_ylabel(UNITS.get(o, ""), fontsize=8)
            ax.grid(True, alpha=0.3)
        axes[0].legend(fontsize=7, title="band: run-to-run noise", title_fontsize=7)
        fig.suptitle(f"Outcomes against {key}: median and 5-95% over replicates ({note})")
        paths = [out_dir / "outcomes.png"]
        fig.savefig(paths[0], dpi=100)
        return paths
    if len(keys) == 2 and grid:
        a, b = keys
        fig, axes = _grid_axes(len(outcomes), width=4.6)
        for ax, o in zip(axes, outcomes, strict=True):
            table, noise, within = heatmap_noise(runs, a, b, o)
            values = table.to_numpy(dtype=float)
            im = ax.imshow(values, origin="lower", aspect="auto")
            for (i, j), hit in np.ndenumerate(within.to_numpy(dtype=bool)):
                if hit:
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///",
                                           edgecolor="white", linewidth=0))  # fmt: skip
            ax.set_xticks(np.arange(table.shape[1]), [f"{v:g}" for v in table.columns], fontsize=7)
            ax.set_yticks(np.arange(table.shape[0]), [f"{v:g}" for v in table.index], fontsize=7)
            ax.set_xlabel(b, fontsize=8)
            ax.set_ylabel(a, fontsize=8)
            ax.set_title(f"{o}\n{noise_text(noise, values)}", fontsize=8, loc="left")
            bar = fig.colorbar(im, ax=ax, shrink=0.8)
            bar.set_label(
                f"median ({UNITS.get(o, 'outcome units')}); colours per panel", fontsize=7
            )
        fig.suptitle(
            f"Median over replicates ({note}); hatched: within the noise of the panel's middle"
        )
        paths = [out_dir / "heatmaps.png"]
        fig.savefig(paths[0], dpi=100)
        return paths
    paths = []
    for key in keys:
        fig, axes = _grid_axes(len(outcomes))
        for ax, o in zip(axes, outcomes, strict=True):
            ax.scatter(runs[key], runs[o], s=6, alpha=0.5)
            ax.set_title(o, fontsize=9, loc="left")
            ax.set_xlabel(key, fontsize=8)
            ax.grid(True, alpha=0.3)
        fig.suptitle(f"Outcomes against {key}, every run ({note})")
        path = out_dir / f"scatter_{key.replace('.', '_')}.png"
        fig.savefig(path, dpi=100)
        paths.append(path)
    return paths
