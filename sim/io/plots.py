"""PNG plots of a run: time series over replicates, policy events and calibration targets.

Data flow: the daily tables of a run's replicates (one ``DataFrame`` per replicate, columns from
``sim.metrics.column_names``) + the resolved ``Scenario`` -> ``make_plots`` -> ``plots/*.png``
in a results folder (called by ``sim.io.results.write_results``).

Every figure shows, per series, the median over replicates as a line and the 5-95% range over
the replicates as a band (run-to-run noise, said in every legend and the footer); each scheduled
policy event of the scenario is a dashed vertical line with its label, labels moved apart so that
none overlaps another (``place_labels``).
Calibration targets (SPEC section 5) are drawn on the panels of the quantity they are about,
only when the scenario's dates cover the target's windows: a box for a range, a line for a
level, a note (with shaded windows) for targets that are not a level. They come in as data
(``targets=``): the caller loads them (``sim.analysis.problem.load_targets``, from
``calibration/targets.yaml``, which calibration fits) and passes them in; ``plot_targets``
turns them into what is drawn. No targets given, none drawn: ``propsim run`` passes them only
for the scenario they were fitted on (``sim.analysis.problem.targets_for``).

Uses matplotlib's object API with the Agg canvas only (no ``pyplot``): no global backend state,
safe in threads and on machines without a display.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Bbox, offset_copy

from sim.config.schema import TimelineEvent
from sim.core import component as declared
from sim.metrics import describe
from sim.scenario import Scenario

# --- calibration targets (SPEC 5) ----------------------------------------------------------

Window = tuple[dt.date, dt.date]


@dataclass(frozen=True)
class PlotTarget:
    """A target as drawn: about ``metric`` of the first open platform, over ``windows``.

    ``low`` and ``high`` both set: a range (box) over each window; equal: a level (line).
    Neither: a note only (``text``), with the windows lightly shaded.
    """

    id: str
    metric: str
    windows: tuple[Window, ...]
    text: str
    low: float | None = None
    high: float | None = None


class TargetLike(Protocol):
    """What a calibration target (``sim.analysis.problem.Target``) offers the plots."""

    @property
    def id(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def reduce(self) -> str: ...
    @property
    def windows(self) -> Sequence[Window]: ...
    @property
    def bounds(self) -> tuple[float, float]: ...


def _as_plot_target(t: TargetLike) -> PlotTarget:
    """A calibration target as drawn: levels and two-sided ranges in place, others as notes."""
    lo, hi = t.bounds
    # only a mean is a level on the daily panel (a sum, maximum, ratio or count of distinct
    # accounts is a note)
    drawn = t.reduce == "mean" and math.isfinite(lo) and math.isfinite(hi)
    return PlotTarget(
        t.id,
        t.metric,
        tuple(t.windows),
        t.label,
        low=lo if drawn else None,
        high=hi if drawn else None,
    )


def plot_targets(targets: Iterable[PlotTarget | TargetLike]) -> tuple[PlotTarget, ...]:
    """Calibration targets as drawn (``PlotTarget`` as given, others converted)."""
    return tuple(t if isinstance(t, PlotTarget) else _as_plot_target(t) for t in targets)


def targets_in_range(
    scenario: Scenario, targets: Iterable[PlotTarget | TargetLike]
) -> list[PlotTarget]:
    """Targets whose windows all lie within the scenario's reported dates."""
    return [
        t
        for t in plot_targets(targets)
        if all(scenario.start <= a and b <= scenario.end for a, b in t.windows)
    ]


# --- what is plotted -------------------------------------------------------------------------

Compute = Callable[[pd.DataFrame], pd.Series]


def _col(name: str) -> Compute:
    return lambda df: df[name]


def _rolling_mean(name: str, days: int) -> Compute:
    return lambda df: df[name].rolling(days, min_periods=1).mean()


def _rolling_ratio(num: str, den: str, days: int) -> Compute:
    def f(df: pd.DataFrame) -> pd.Series:
        d = df[den].rolling(days, min_periods=1).sum()
        return df[num].rolling(days, min_periods=1).sum() / d.where(d > 0)

    return f


def _rolling_weighted(value: str, weight: str, days: int) -> Compute:
    """Rolling mean of ``value`` weighted by ``weight`` (NaN where the weights sum to 0)."""

    def f(df: pd.DataFrame) -> pd.Series:
        w = df[weight].fillna(0.0)
        num = (df[value].fillna(0.0) * w).rolling(days, min_periods=1).sum()
        den = w.rolling(days, min_periods=1).sum()
        return num / den.where(den > 0)

    return f


@dataclass
class Series:
    label: str
    compute: Compute


@dataclass
class Panel:
    title: str
    ylabel: str
    series: list[Series]
    target_metrics: tuple[str, ...] = ()  # targets about these metrics are drawn here
    ratio: bool = False  # y-axis with decimals instead of thousands


@dataclass
class FigureSpec:
    file: str
    title: str
    panels: list[Panel] = field(default_factory=list)


def _unit(metric: str) -> str:
    return describe(metric).unit


def figure_specs(scenario: Scenario) -> list[FigureSpec]:
    """The figures the scenario's components declare (``Component.figures``), in component
    order, each line expanded to the platforms of its metric's scope (targets attach to the
    first open platform). A figure with no platform to draw is left out."""
    opens = scenario.platform_names("open")
    encs = scenario.platform_names("encrypted")
    figs = []
    for component in type(scenario).components:
        for fig in component.figures:
            panels = [_panel(panel, opens, encs) for panel in fig.panels]
            if all(panel.series for panel in panels):
                figs.append(FigureSpec(fig.file, fig.title, panels))
    return figs


def _panel(panel: declared.Panel, opens: list[str], encs: list[str]) -> Panel:
    """A declared panel with its lines expanded into series (one per platform of the scope)."""
    series = []
    for line in panel.lines:
        scope = describe(line.metric).scope
        names = opens if scope == "open" else encs if scope == "encrypted" else [""]
        for p in names:
            column = f"{p}.{line.metric}" if p else line.metric
            over = f"{p}.{line.over}" if p and line.over else line.over
            series.append(Series(f"{p} {line.label}".strip(), _compute(line, column, over)))
    unit = panel.unit or _unit(panel.lines[0].metric)
    return Panel(panel.title, unit, series, panel.targets, panel.ratio)


def _compute(line: declared.Line, column: str, over: str | None) -> Compute:
    if line.stat == "value":
        return _col(column)
    if line.stat == "mean":
        return _rolling_mean(column, line.days)
    if over is None:
        raise ValueError(f"a {line.stat!r} line of {line.metric} needs the metric it is 'over'")
    if line.stat == "ratio":
        return _rolling_ratio(column, over, line.days)
    return _rolling_weighted(column, over, line.days)


# --- drawing -----------------------------------------------------------------------------------


def _nothing_to_draw(spec: FigureSpec, dailies: Sequence[pd.DataFrame]) -> bool:
    """True if every line of the figure is zero or missing on every day of every replicate."""
    for panel in spec.panels:
        for series in panel.series:
            for daily in dailies:
                values = series.compute(daily).to_numpy(dtype=float)
                if np.any(np.nan_to_num(values) != 0.0):
                    return False
    return True


def quantile_bands(dailies: Sequence[pd.DataFrame], compute: Compute) -> pd.DataFrame:
    """Columns ``q05``, ``median``, ``q95`` of a computed series across replicates, per day."""
    frame = pd.concat([compute(d) for d in dailies], axis=1, keys=range(len(dailies)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q = frame.quantile([0.05, 0.5, 0.95], axis=1).T
    q.columns = ["q05", "median", "q95"]
    return q


def event_label(event: TimelineEvent) -> str:
    """The label of a timeline event: its own, or a description of what it does (each event
    kind describes itself: ``TimelineEvent.describe``)."""
    return event.plot_label()


def _ts(d: dt.date) -> pd.Timestamp:
    return pd.Timestamp(d)


def events_in_view(scenario: Scenario) -> list[TimelineEvent]:
    """The timeline events dated within the reported days (the plots' x-range): events of the
    warm-up or after the end are not drawn, so their labels never spill outside a panel."""
    return [ev for ev in scenario.timeline if scenario.start <= ev.date <= scenario.end]


def _draw_events(ax: Axes, scenario: Scenario, labels: bool) -> list[Text]:
    """Each event in view as a dashed line; with ``labels``, its label (rotated, hanging from
    the top of the panel, left of the line). Returns the labels (placed by ``place_labels``)."""
    texts = []
    for ev in events_in_view(scenario):
        ax.axvline(_ts(ev.date), color="0.45", linestyle="--", linewidth=0.8, zorder=1)
        if labels:
            text = ax.text(
                _ts(ev.date),
                0.98,
                " " + event_label(ev),
                transform=ax.get_xaxis_transform(),
                rotation=90,
                va="top",
                ha="right",
                fontsize=6.5,
                color="0.3",
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 0.5},
            )
            text.set_in_layout(False)  # the layout must not move when labels move
            texts.append(text)
    return texts


def place_labels(fig: Figure, texts: Sequence[Text], gap: float = 2.0) -> None:
    """Move event labels so that no two overlap (``gap``: pixels kept between them).

    In date order, each label takes the first free place of: where it is (left of its line);
    right of its line; stacked below the labels it hits (if it still fits in the panel); else
    shifted right past them. Offsets are in pixels of the final layout (the figure is laid out
    first; labels are out of the layout, so it does not change afterwards).

    Hand-written because the labels must stay on their lines and must provably not overlap:
    ``adjustText`` (the usual library) moves labels by an iterative force model in both
    directions and does not guarantee an overlap-free result.
    """
    if not texts:
        return
    fig.draw_without_rendering()  # runs the layout: pixel positions are final
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    placed: list[Bbox] = []

    def hits(box: Bbox) -> list[Bbox]:
        return [p for p in placed if _grown(p, gap).overlaps(box)]

    def moved(box: Bbox, dx: float, dy: float) -> Bbox:
        return Bbox.from_extents(box.x0 + dx, box.y0 + dy, box.x1 + dx, box.y1 + dy)

    for text in sorted(texts, key=lambda t: t.get_window_extent(renderer).x1):
        box = text.get_window_extent(renderer)
        axes_box = text.axes.get_window_extent(renderer) if text.axes else box
        dx, dy = 0.0, 0.0
        if hits(box):
            candidates = [(box.width + gap, 0.0)]  # right of its line
            for cx, _ in [(0.0, 0.0), (box.width + gap, 0.0)]:
                conflicts = hits(moved(box, cx, 0.0))
                low = min(p.y0 for p in conflicts) if conflicts else box.y1
                cy = low - 2 * gap - box.y1
                if box.y0 + cy >= axes_box.y0:  # stacked below, still within the panel
                    candidates.append((cx, cy))
            free = [c for c in candidates if not hits(moved(box, *c))]
            if free:
                dx, dy = free[0]
            else:  # shift right past everything it hits
                while conflicts := hits(moved(box, dx, 0.0)):
                    dx = max(p.x1 for p in conflicts) + gap + 1.0 - box.x0
        if dx or dy:
            text.set_transform(offset_copy(text.get_transform(), fig=fig, x=dx, y=dy, units="dots"))
        placed.append(moved(box, dx, dy))


def _grown(box: Bbox, by: float) -> Bbox:
    return Bbox.from_extents(box.x0 - by, box.y0 - by, box.x1 + by, box.y1 + by)


def label_boxes(fig: Figure, texts: Sequence[Text]) -> list[Bbox]:
    """The drawn extents (pixels) of ``texts`` in ``fig`` as rendered now."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    return [t.get_window_extent(renderer) for t in texts]


def _draw_targets(ax: Axes, targets: Sequence[PlotTarget]) -> None:
    """Ranges as hatched boxes, levels as thick lines, notes in the panel's right title."""
    notes: list[str] = []
    top = 0.0
    for t in targets:
        if t.low is None or t.high is None:
            for a, b in t.windows:
                ax.axvspan(_ts(a), _ts(b), color="tab:red", alpha=0.06, zorder=0)
            notes.append(t.text)
            continue
        top = max(top, t.high)
        for a, b in t.windows:
            x0, x1 = _ts(a), _ts(b)
            if t.low == t.high:
                ax.plot([x0, x1], [t.low, t.low], color="tab:red", linewidth=2.5, zorder=4)
                ax.plot([x0 + (x1 - x0) / 2], [t.low], "D", color="tab:red", ms=5, zorder=4)
            else:
                ax.fill_between(
                    [x0, x1],
                    t.low,
                    t.high,
                    facecolor="none",
                    edgecolor="tab:red",
                    hatch="//",
                    linewidth=1.2,
                    zorder=4,
                )
            ax.annotate(
                t.text,
                (x0, t.high),
                xytext=(0, 3),
                textcoords="offset points",
                fontsize=7,
                color="tab:red",
                va="bottom",
            )
    if top > 0:  # room for the target and its label
        ax.set_ylim(top=max(ax.get_ylim()[1], top * 1.15))
    if notes:
        ax.set_title("\n".join(notes), loc="right", fontsize=7.5, color="tab:red")


def _thousands(x: float, _pos: int) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 or x == 0 else f"{x:g}"


def _draw_panel(
    ax: Axes,
    panel: Panel,
    dailies: Sequence[pd.DataFrame],
    targets: Sequence[PlotTarget],
    note: str = "",
) -> None:
    """The panel's series (median line, 5-95% band); ``note`` titles the legend (what the band
    is)."""
    low = 0.0  # the y-axis starts at 0 unless a series goes below (e.g. a change in force)
    for i, s in enumerate(panel.series):
        color = f"C{i}"
        q = quantile_bands(dailies, s.compute)
        ax.fill_between(q.index, q["q05"], q["q95"], color=color, alpha=0.2, linewidth=0)
        ax.plot(q.index, q["median"], color=color, linewidth=1.3, label=s.label or "median")
        low = float(np.fmin(low, q["q05"].min()))
    ax.set_title(panel.title, fontsize=10, loc="left")
    ax.set_ylabel(panel.ylabel)
    ax.set_ylim(low * 1.05 if low < 0 else 0, ax.get_ylim()[1])
    _draw_targets(ax, [t for t in targets if t.metric in panel.target_metrics])
    if not panel.ratio:
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.legend(fontsize=8, loc="upper right", title=note or None, title_fontsize=7)
    ax.grid(True, alpha=0.3)


def band_note(replicates: int) -> str:
    """What the lines and bands of a run's plots are (in every figure's legend and footer)."""
    return f"line: median; band: 5-95% over {replicates} replicate{'s' if replicates > 1 else ''}"


def draw_figure(
    spec: FigureSpec,
    dailies: Sequence[pd.DataFrame],
    scenario: Scenario,
    targets: Sequence[PlotTarget],
    footer: str,
) -> tuple[Figure, list[Text]]:
    """One figure (panels, events, targets), its event labels placed apart; returns the figure
    and the labels."""
    n = len(spec.panels)
    fig = Figure(figsize=(11, 1.2 + 3.0 * n), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    labels: list[Text] = []
    note = band_note(len(dailies))
    for k, (ax, panel) in enumerate(zip(axes, spec.panels, strict=True)):
        _draw_panel(ax, panel, dailies, targets, note)
        labels += _draw_events(ax, scenario, labels=k == 0)
    locator = mdates.AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes[-1].set_xlim(_ts(scenario.start), _ts(scenario.end))
    fig.suptitle(spec.title, fontsize=12)
    fig.supxlabel(footer, fontsize=7, color="0.4")
    place_labels(fig, labels)
    return fig, labels


def make_plots(
    dailies: Sequence[pd.DataFrame],
    scenario: Scenario,
    out_dir: Path,
    targets: Iterable[PlotTarget | TargetLike] = (),
) -> list[Path]:
    """Write one PNG per figure of ``figure_specs`` into ``out_dir``; returns their paths.

    ``targets``: the calibration targets to draw where the scenario's dates cover them (the
    caller decides whether the scenario is the one they were fitted on:
    ``sim.analysis.problem.targets_for``).
    """
    if not dailies:
        raise ValueError("no replicates to plot")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = targets_in_range(scenario, targets)
    footer = (
        f"{scenario.name}, scale 1:{scenario.scale:g}. Line: median over replicates; "
        f"band: 5-95% over {len(dailies)} replicate{'s' if len(dailies) > 1 else ''} "
        "(run-to-run noise). Dashed: policy events."
        + (
            " Red: calibration targets (SPEC 5)."
            if drawn
            else " No calibration targets: drawn only on the scenario they were fitted on."
        )
    )
    paths: list[Path] = []
    for spec in figure_specs(scenario):
        if _nothing_to_draw(spec, dailies):  # a mechanism switched off (e.g. no redirect)
            continue
        fig, _ = draw_figure(spec, dailies, scenario, drawn, footer)
        path = out_dir / f"{spec.file}.png"
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths
