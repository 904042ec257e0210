"""Plots of a comparison folder (matplotlib, imported only when drawing).

- ``difference_<metric>.png``: the metric over time in every arm (median, 90% band over the
  paired units) above its paired difference from the base (median, 90% band); an observed
  metric's figure also draws its true counterpart (dashed), so that a classifier artefact
  shows (``sim.analysis.observed``);
- ``forest.png``: each outcome's paired change from the base in percent (median and 90%
  interval), one row per outcome (an observed outcome's true counterpart right below it), a
  marker per variant: hollow where the interval contains 0 (within the noise), half-filled
  where the change is smaller than half the base's 5-95% spread over runs, filled otherwise;
  the grey span of each row is that half spread (run-to-run noise of the base) in percent.
  Observed outcomes that moved against their true counterpart are named in a note.

Every legend says what its bands are: 5-95% over the paired units (seeds, and posterior draws
if any).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.analysis.compare import COMPARISON_CSV, DAILY_BANDS  # noqa: E402
from sim.analysis.observed import ARTEFACT, TRUE_METRIC_OF  # noqa: E402
from sim.io import folders  # noqa: E402

COLORS = ("#333333", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _band_note(manifest: dict) -> str:
    units, draws = manifest["units"], manifest.get("posterior_draws", 0)
    src = f"{manifest['replicates']} seeds x {draws} posterior draws" if draws else "seeds only"
    return f"bands: 5-95% over {units} paired runs ({src})"


def true_metric(metric: str, metrics: list[str]) -> str | None:
    """The true counterpart of an observed daily column (``twitter.pro_posts_observed`` ->
    ``twitter.pro_posts_true``) if it is among ``metrics``, else None."""
    prefix, _, bare = metric.rpartition(".")
    true = TRUE_METRIC_OF.get(bare)
    if true is None:
        return None
    column = f"{prefix}.{true}" if prefix else true
    return column if column in metrics else None


def make_compare_plots(folder: Path, out: Path) -> list[Path]:
    """Draw the comparison's plots into ``out``; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = folders.read_manifest(folder)
    arms = [a["name"] for a in manifest["arms"]]
    bands = pd.read_parquet(folder / DAILY_BANDS)
    note = _band_note(manifest)
    paths = []
    metrics = list(bands["metric"].unique())
    for metric in metrics:
        true = true_metric(metric, metrics)
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
        for a, name in enumerate(arms):
            color = COLORS[a % len(COLORS)]
            for col, style, tag in ((metric, "-", ""), (true, "--", " (true)")):
                if col is None:
                    continue
                rows = bands[(bands["metric"] == col) & (bands["arm"] == name)]
                lv = rows[rows["stat"] == "level"]
                top.plot(lv["date"], lv["median"], color=color, lw=1.2, ls=style, label=name + tag)
                top.fill_between(lv["date"], lv["q05"], lv["q95"], color=color, alpha=0.15, lw=0)
                if a == 0:
                    continue
                df = rows[rows["stat"] == "difference"]
                bottom.plot(df["date"], df["median"], color=color, lw=1.2, ls=style,
                            label=f"{name} - {arms[0]}{tag}")  # fmt: skip
                bottom.fill_between(df["date"], df["q05"], df["q95"], color=color, alpha=0.2, lw=0)
                if not tag:  # a strip along the bottom: the days the difference is clear of 0
                    low = STRIP * (a - 1)
                    bottom.fill_between(df["date"], low, low + STRIP, where=clear_days(df),
                                        transform=bottom.get_xaxis_transform(), color=color,
                                        alpha=0.6, lw=0, step="mid",
                                        label=f"days the band excludes 0 ({name})")  # fmt: skip
        bottom.axhline(0, color="k", lw=0.7)
        shown = f"{metric} (solid) and {true} (dashed)" if true else metric
        top.set_title(f"{shown}: level (median and 5-95% band)", fontsize=10)
        bottom.set_title(f"{shown}: paired difference from {arms[0]}", fontsize=10)
        top.legend(fontsize=8, title=note, title_fontsize=7)
        bottom.legend(fontsize=8, title=note, title_fontsize=7)
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out / f"difference_{metric.replace('.', '_')}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    paths.append(forest_plot(pd.read_csv(folder / COMPARISON_CSV), arms, note, out))
    return paths


STRIP = 0.025  # height of a clear-days strip, as a share of the difference panel


def clear_days(diff: pd.DataFrame) -> np.ndarray:
    """Days whose 5-95% band of the paired difference excludes 0 (both ends on one side)."""
    return ((diff["q05"] > 0) | (diff["q95"] < 0)).to_numpy()


def forest_plot(table: pd.DataFrame, arms: list[str], note: str, out: Path) -> Path:
    """Each outcome's change from the base, in percent (paired ratio - 1), against the noise."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    outcomes = list(dict.fromkeys(table["outcome"]))
    variants = arms[1:]
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(outcomes) * max(1, len(variants)) + 2.2))
    y = 0.0
    ticks, labels = [], []
    step = 1.0 / (len(variants) + 1)
    for o in outcomes:
        for v, name in enumerate(variants):
            r = table[(table["outcome"] == o) & (table["arm"] == name)]
            if r.empty:
                continue
            r = r.iloc[0]
            pos = y + v * step
            med, lo, hi = (100 * (r[c] - 1) for c in ("ratio_median", "ratio_q05", "ratio_q95"))
            color = COLORS[(v + 1) % len(COLORS)]
            half = spread_percent(r)
            if np.isfinite(half):
                ax.fill_betweenx([pos - step / 2.5, pos + step / 2.5], -half, half,
                                 color="0.85", lw=0, zorder=0)  # fmt: skip
            if np.isfinite(med):
                ax.plot([lo, hi], [pos, pos], color=color, lw=2)
                ax.plot([med], [pos], "o", ms=7, mec=color, **marker_style(r, color))
        ticks.append(y + (len(variants) - 1) * step / 2)
        labels.append(o)
        y += 1
    ax.axvline(0, color="k", lw=0.7)
    ax.set_yticks(ticks, labels, fontsize=8)
    for tick in ax.get_yticklabels():
        if tick.get_text().endswith("_true") or "_true_" in tick.get_text():
            tick.set_fontstyle("italic")
    ax.invert_yaxis()
    ax.set_xlabel(f"change from {arms[0]} (%), paired; median and 90% interval over the units")
    ax.set_title("Outcomes: paired change from the base, against the noise", fontsize=10)
    handles = [
        Line2D([], [], color=COLORS[(v + 1) % len(COLORS)], marker="o", lw=2, label=name)
        for v, name in enumerate(variants)
    ] + [
        _marker("clear change", mfc="0.3"),
        _marker("< half the base's 5-95% spread", mfc="0.3", fillstyle="left"),
        _marker("90% interval contains 0 (within the noise)", mfc="white"),
        Patch(color="0.85", label="base's run-to-run noise (half its 5-95% spread)"),
    ]
    ax.legend(handles=handles, fontsize=7, title=note, title_fontsize=7, loc="best")
    ax.grid(alpha=0.3, axis="x")
    flagged = table[table["opposite_to_true"]] if "opposite_to_true" in table else table.iloc[:0]
    if len(flagged):
        names = ", ".join(sorted(set(f"{r.arm}: {r.outcome}" for r in flagged.itertuples())))
        fig.text(0.01, 0.005, f"{names}: {ARTEFACT}.", fontsize=6.5, wrap=True, va="bottom")
    fig.tight_layout(rect=(0, 0.06 if len(flagged) else 0, 1, 1))
    path = out / "forest.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def spread_percent(row: pd.Series) -> float:
    """Half the base's 5-95% spread over its runs, in percent of the base's median (NaN if the
    base's median is 0)."""
    base = float(row["base_median"])
    if base == 0 or not np.isfinite(base):
        return float("nan")
    return float(100 * (row["base_q95"] - row["base_q05"]) / 2 / abs(base))


def marker_style(row: pd.Series, color: str) -> dict[str, Any]:
    """Hollow: the interval contains 0; half-filled: smaller than the base's spread; filled:
    clear."""
    if row["within_noise"]:
        return {"mfc": "white", "fillstyle": "full"}
    if row.get("within_spread", False):
        return {"mfc": color, "fillstyle": "left"}
    return {"mfc": color, "fillstyle": "full"}


def make_waterfalls(folder: Path, out: Path, shown: tuple[str, ...]) -> list[Path]:
    """An attribution folder's waterfalls: from the outcome with no countermeasures (mean over
    the paired units) through each family's Shapley value (mean, 5-95% whisker) to the
    scenario; the means add up exactly."""
    from sim.analysis.attribution import ALL, NONE, SHAPLEY_CSV

    out.mkdir(parents=True, exist_ok=True)
    manifest = folders.read_manifest(folder)
    chosen = manifest["design"]["families"]
    table = pd.read_csv(folder / SHAPLEY_CSV)
    note = _band_note(manifest).replace("bands", "whiskers")
    paths = []
    for o in shown:
        sub = table[table["outcome"] == o].set_index("family")
        if sub.empty or not np.isfinite(sub.loc[NONE, "mean"]):
            continue
        fig, ax = plt.subplots(figsize=(1.4 * (len(chosen) + 2) + 2, 4.5))
        level = float(sub.loc[NONE, "mean"])
        ax.bar(0, level, color="#777777")
        labels = ["no counter-\nmeasures"]
        for i, f in enumerate(chosen, start=1):
            r = sub.loc[f]
            phi = float(r["mean"])
            color = "#2ca02c" if phi < 0 else "#d62728"
            ax.bar(i, phi, bottom=level, color=color)
            ax.errorbar(i, level + phi, yerr=[[phi - r["q05"]], [r["q95"] - phi]], fmt="none",
                        ecolor="k", capsize=4, lw=1)  # fmt: skip
            ax.plot([i - 1.4, i + 0.4], [level, level], color="k", lw=0.5, ls=":")
            level += phi
            labels.append(f.replace("-", "-\n", 1) if len(f) > 12 else f)
        ax.bar(len(chosen) + 1, float(sub.loc[ALL, "mean"]), color="#1f77b4")
        labels.append(manifest["name"])
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_ylabel(str(sub["unit"].iloc[0]))
        ax.set_title(f"{o}: what each family of countermeasures changed (Shapley, means)")
        ax.text(0.01, 0.98, note, transform=ax.transAxes, fontsize=7, va="top")
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        path = out / f"waterfall_{o}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def _marker(label: str, **style: Any) -> Any:
    """A legend entry for one of the forest plot's markers (a grey-edged circle)."""
    from matplotlib.lines import Line2D

    return Line2D([], [], ls="", marker="o", mec="0.3", label=label, **style)
