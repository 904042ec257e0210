"""Scenario discovery: the ranges of a sweep's keys under which an outcome stays below (or above)
a threshold, found by PRIM (the Patient Rule Induction Method) of EMA Workbench.

Data flow::

    finished sweep (or sensitivity) folder: manifest.json (its varied ``keys``) + runs.parquet
    (one row per run) ──load_sweep──> run table ──design_table──> one row per design point (the
    median outcome over its replicates; or one row per run with ``each_replicate``) and whether it
    meets the condition ──prim_boxes──> Discovery: the peeling trajectory (boxes with coverage,
    density, mass, the restricted ranges and their quasi-p values) and the chosen box
    ──write_folder──> <out>/<sweep name>-discover-<time>/ (manifest, limits.csv, trajectory.csv,
    points.csv, plots/)

Replicates: by default a design point meets the condition when the *median* of its replicates
does (the levers are what PRIM explains; the replicates only measure one point's outcome, and a
point counted once per replicate would weigh noisy points by their noise). ``each_replicate``
gives PRIM one row per run instead: then density also carries the run-to-run noise (a box of
points whose replicates straddle the threshold cannot be pure). ``points.csv`` holds, per point,
the share of its replicates that meet the condition either way.

Terms (Bryant and Lempert 2010): a *case of interest* is a row meeting the condition;
*coverage* is the share of all cases of interest inside a box; *density* is the share of the
rows inside a box that are cases of interest; *mass* is the share of all rows inside it. PRIM
peels the box (the sweep's full ranges) a little at a time (``peel_alpha`` of the rows) along
the key that raises density most, down to ``mass_min``, then pastes back what helps: each step
is one box of the *peeling trajectory*, from coverage 1 (the full box) to high density. The
*chosen* box is the densest whose coverage is at least ``min_coverage`` (or the one asked for).
A restriction of a key is *significant* when its quasi-p value (a one-sided binomial test of
the box against the box without that restriction) is below 0.05.

``prim_boxes`` is the pure analysis (a design table and a yes/no outcome in, boxes out); EMA
Workbench is imported inside it only (its imports take seconds), so other commands stay fast.
"""

from __future__ import annotations

import datetime as dt
import math
import shlex
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.errors import BadInput, FolderError
from sim.io import folders

KIND = "discover"
SOURCES = ("sweep", "sensitivity")  # the kinds of folder whose runs discover reads
MIN_POINTS = 10  # fewer design points give boxes that are artefacts of single points
SIGNIFICANCE = 0.05  # quasi-p below which a restriction is called significant
LIMITS_CSV = "limits.csv"
TRAJECTORY_CSV = "trajectory.csv"
POINTS_CSV = "points.csv"
TRADEOFF_PNG = "tradeoff.png"
BOX_PNG = "box.png"
MAX_SHOWN = 12  # rows of the peeling trajectory printed (all are in trajectory.csv)

Direction = Literal["below", "above"]


# --- the analysis ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """One key in one box: its range there, the sweep's full range, and whether it is restricted.

    Numeric keys have ``low``/``high`` (and ``full_low``/``full_high``); other keys (text,
    yes/no) the ``values`` the box keeps of ``full_values``. ``qp_low``/``qp_high`` are the
    quasi-p values of the lower and upper restriction (NaN where that side is not restricted;
    a text key has one, in ``qp_low``)."""

    key: str
    low: float = math.nan
    high: float = math.nan
    full_low: float = math.nan
    full_high: float = math.nan
    values: tuple[str, ...] = ()
    full_values: tuple[str, ...] = ()
    qp_low: float = math.nan
    qp_high: float = math.nan

    @property
    def numeric(self) -> bool:
        return not self.full_values

    @property
    def restricted(self) -> bool:
        if self.numeric:
            return bool(self.low > self.full_low or self.high < self.full_high)
        return set(self.values) != set(self.full_values)

    @property
    def qp(self) -> float:
        """The smaller quasi-p of its restricted sides (NaN if unrestricted), as EMA Workbench
        judges a restriction (``prim_util.is_significant``)."""
        qps = [q for q in (self.qp_low, self.qp_high) if not math.isnan(q)]
        return min(qps) if qps else math.nan

    @property
    def significant(self) -> bool:
        return self.restricted and not math.isnan(self.qp) and self.qp < SIGNIFICANCE

    def text(self) -> str:
        """The range as a planner reads it: ``0.0012 .. 0.002`` or ``{a, b}``."""
        if not self.numeric:
            return "{" + ", ".join(sorted(self.values)) + "}"
        return f"{self.low:.4g} .. {self.high:.4g}"

    def full_text(self) -> str:
        if not self.numeric:
            return "{" + ", ".join(sorted(self.full_values)) + "}"
        return f"{self.full_low:.4g} .. {self.full_high:.4g}"


@dataclass(frozen=True)
class Box:
    """One box of the peeling trajectory."""

    index: int
    coverage: float
    density: float
    mass: float
    n: int  # rows inside the box
    k: int  # cases of interest inside the box
    limits: tuple[Limit, ...]

    @property
    def restricted(self) -> list[str]:
        return [lim.key for lim in self.limits if lim.restricted]


@dataclass(frozen=True)
class Discovery:
    """What PRIM found: the peeling trajectory and the chosen box."""

    keys: tuple[str, ...]
    rows: int  # rows PRIM saw (design points, or runs with each_replicate)
    interest: int  # rows meeting the condition
    trajectory: tuple[Box, ...]
    chosen: int

    @property
    def box(self) -> Box:
        return self.trajectory[self.chosen]

    def main_points(self, limit: int = MAX_SHOWN) -> list[int]:
        """The boxes worth printing (``main_points``)."""
        return main_points([b.restricted for b in self.trajectory], self.chosen, limit)

    def step(self, i: int) -> str:
        """What box ``i`` changed from box ``i - 1``: the new limits, e.g. ``k >= 0.03``."""
        if i == 0:
            return "(the sweep's full ranges)"
        parts = []
        for old, new in zip(self.trajectory[i - 1].limits, self.trajectory[i].limits, strict=True):
            if not new.numeric:
                if new.values != old.values:
                    parts.append(f"{new.key} in {new.text()}")
                continue
            if new.low != old.low:
                parts.append(f"{new.key} >= {new.low:.4g}")
            if new.high != old.high:
                parts.append(f"{new.key} <= {new.high:.4g}")
        return "; ".join(parts)

    def trajectory_table(self) -> pd.DataFrame:
        """One row per box: its statistics and each key's range (``<key> low``/``high``)."""
        rows = []
        for b in self.trajectory:
            row: dict[str, Any] = {
                "box": b.index,
                "coverage": b.coverage,
                "density": b.density,
                "mass": b.mass,
                "rows": b.n,
                "cases": b.k,
                "restricted": ", ".join(b.restricted),
                "step": self.step(b.index),
                "chosen": b.index == self.chosen,
            }
            for lim in b.limits:
                if lim.numeric:
                    row[f"{lim.key} low"], row[f"{lim.key} high"] = lim.low, lim.high
                else:
                    row[f"{lim.key} values"] = "|".join(sorted(lim.values))
            rows.append(row)
        return pd.DataFrame(rows)

    def limits_table(self) -> pd.DataFrame:
        """The chosen box, one row per key: its range, the sweep's, quasi-p, significance."""
        return pd.DataFrame(
            [
                {
                    "key": lim.key,
                    "box_range": lim.text(),
                    "sweep_range": lim.full_text(),
                    "low": lim.low,
                    "high": lim.high,
                    "restricted": lim.restricted,
                    "qp_low": lim.qp_low,
                    "qp_high": lim.qp_high,
                    "significant": lim.significant,
                }
                for lim in self.box.limits
            ]
        )


def main_points(
    restricted: Sequence[Sequence[str]], chosen: int, limit: int = MAX_SHOWN
) -> list[int]:
    """The boxes of a trajectory worth showing, given each box's restricted keys: all of them
    up to ``limit``; else the full box, each box where the set of restricted keys changes, the
    chosen one and the last, thinned evenly to ``limit``."""
    if len(restricted) <= limit:
        return list(range(len(restricted)))
    picks = {0, chosen, len(restricted) - 1}
    for i in range(1, len(restricted)):
        if list(restricted[i]) != list(restricted[i - 1]):
            picks.add(i)
    ordered = sorted(picks)
    if len(ordered) > limit:
        keep = {0, chosen, ordered[-1]}
        rest = [i for i in ordered if i not in keep]
        step = len(rest) / max(limit - len(keep), 1)
        keep |= {rest[int(j * step)] for j in range(max(limit - len(keep), 0))}
        ordered = sorted(keep)
    return ordered


def _prim_frame(x: pd.DataFrame) -> pd.DataFrame:
    """The design as PRIM takes it: numbers as floats (peeled by quantiles), anything else
    (text, yes/no) as categories (peeled value by value)."""
    out = pd.DataFrame(index=range(len(x)))
    for key in x.columns:
        col = x[key].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[key] = col.astype(float)
        else:
            out[key] = col.astype(str)
    return out


def _limits(
    lims: pd.DataFrame, full: pd.DataFrame, qp: dict[str, list[float]], x: pd.DataFrame
) -> tuple[Limit, ...]:
    """One box's limits from EMA Workbench's box table (rows 0/1: lower/upper; a set of kept
    values for a text key) and its quasi-p values (-1 where a side is not restricted)."""
    out = []
    for key in x.columns:
        q = [math.nan if v is None or v < 0 else float(v) for v in qp.get(key, [-1, -1])]
        if key not in lims.columns:  # a key PRIM did not use (a single value): unrestricted
            lo, hi = x[key].iloc[0], x[key].iloc[0]
            if isinstance(lo, str):
                out.append(Limit(key, values=(lo,), full_values=(lo,)))
            else:
                out.append(Limit(key, float(lo), float(hi), float(lo), float(hi)))
            continue
        if pd.api.types.is_float_dtype(x[key]):
            out.append(
                Limit(
                    key,
                    float(lims.at[0, key]),
                    float(lims.at[1, key]),
                    float(full.at[0, key]),
                    float(full.at[1, key]),
                    qp_low=q[0],
                    qp_high=q[1],
                )
            )
        else:
            kept = tuple(sorted(str(v) for v in lims.at[0, key]))
            every = tuple(sorted(str(v) for v in full.at[0, key]))
            out.append(Limit(key, values=kept, full_values=every, qp_low=q[0]))
    return tuple(out)


def choose_box(coverage: Sequence[float], density: Sequence[float], min_coverage: float) -> int:
    """The densest box whose coverage is at least ``min_coverage`` (the full box, coverage 1,
    always is); of equally dense ones the first (the larger coverage, fewer restrictions)."""
    best = 0
    for i, (c, d) in enumerate(zip(coverage, density, strict=True)):
        if c >= min_coverage - 1e-12 and d > density[best] + 1e-12:
            best = i
    return best


def prim_boxes(
    x: pd.DataFrame,
    y: Sequence[bool] | np.ndarray,
    *,
    min_coverage: float = 0.8,
    box: int | None = None,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> Discovery:
    """PRIM (EMA Workbench) on a design table ``x`` (one column per key, one row per point)
    and whether each row is a case of interest ``y``: the peeling trajectory and the chosen box
    (``box``, an index of the trajectory, else ``choose_box(..., min_coverage)``).

    Keys with a single value take no part (they stay unrestricted). ``y`` needs at least one
    case of interest (``BadInput`` otherwise); if every row is one, the full box is the answer.
    """
    y = np.asarray(y, dtype=bool)
    if len(y) != len(x):
        raise ValueError(f"{len(x)} design rows but {len(y)} outcomes")
    if not y.any():
        raise BadInput("no row meets the condition: there is nothing for PRIM to find")
    design = _prim_frame(x)
    varied = [k for k in design.columns if design[k].nunique() > 1]
    if not varied:
        raise BadInput("every key has a single value in this design: nothing to restrict")
    with warnings.catch_warnings():  # its optional extras (ipyparallel, altair) are absent
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        found = prim.Prim(
            design[varied],
            y,
            peel_alpha=peel_alpha,
            paste_alpha=paste_alpha,
            mass_min=mass_min,
        ).find_box()
    assert found is not None  # there are rows, so PRIM makes a box
    traj = found.peeling_trajectory
    boxes = tuple(
        Box(
            index=i,
            coverage=float(traj.at[i, "coverage"]),
            density=float(traj.at[i, "density"]),
            mass=float(traj.at[i, "mass"]),
            n=int(traj.at[i, "n"]),
            k=int(traj.at[i, "k"]),
            limits=_limits(found.box_lims[i], found.box_lims[0], found.p_values[i], design),
        )
        for i in range(len(traj))
    )
    if box is None:
        chosen = choose_box([b.coverage for b in boxes], [b.density for b in boxes], min_coverage)
    elif not 0 <= box < len(boxes):
        raise BadInput(f"--box {box}: the peeling trajectory has boxes 0 to {len(boxes) - 1}")
    else:
        chosen = box
    return Discovery(tuple(x.columns), len(y), int(y.sum()), boxes, chosen)


# --- the sweep folder --------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """``outcome`` below (or above) ``threshold``: what a case of interest is."""

    outcome: str
    direction: Direction
    threshold: float

    def holds(self, values: pd.Series) -> pd.Series:
        return values < self.threshold if self.direction == "below" else values > self.threshold

    def text(self) -> str:
        return f"{self.outcome} {self.direction} {self.threshold:g}"


def load_sweep(folder: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """A finished sweep or sensitivity folder's manifest and run table (``BadInput`` /
    ``FolderError`` naming the folder for anything else)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(f"{folder}: no such folder")
    if folders.is_partial(folder):
        raise FolderError(
            f"{folder}: an unfinished sweep; finish it first (propsim sweep --resume {folder})"
        )
    manifest = folders.read_manifest(folder)
    kind = manifest.get("kind")
    if kind not in SOURCES:
        raise BadInput(
            f"{folder}: a {kind!r} folder; propsim discover reads the runs of a sweep (or "
            "sensitivity) folder: run `propsim sweep` first"
        )
    keys = manifest.get("keys")
    if not keys:
        raise FolderError(f"{folder}: its manifest lists no varied keys")
    parquet, csv = folder / "runs.parquet", folder / "runs.csv"
    if parquet.is_file():
        runs = pd.read_parquet(parquet)
    elif csv.is_file():
        runs = pd.read_csv(csv)
    else:
        raise FolderError(f"{folder}: no runs.parquet or runs.csv (not a finished {kind})")
    missing = [k for k in keys if k not in runs]
    if missing:
        raise FolderError(f"{folder}: its run table lacks the varied key(s) {', '.join(missing)}")
    return manifest, runs


def outcome_names(runs: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """The run table's numeric outcome columns (not the point, keys, replicate or seed)."""
    skip = {"point", "replicate", "seed", *keys}
    return [c for c in runs.columns if c not in skip and pd.api.types.is_numeric_dtype(runs[c])]


def check_outcome(name: str, names: Sequence[str]) -> None:
    """``BadInput`` with a did-you-mean and the list if ``name`` is not an outcome."""
    if name in names:
        return
    from sim.config.loader import _listing, _suggest

    raise BadInput(
        f"--outcome {name}: not an outcome of this sweep{_suggest(name, names)}; it has "
        f"{_listing(names)}"
    )


def design_table(
    runs: pd.DataFrame, keys: Sequence[str], condition: Condition, each_replicate: bool = False
) -> pd.DataFrame:
    """The rows PRIM sees: per design point (``point``, the keys) the outcome (the median over
    its replicates), ``replicates``, ``share_meeting`` (of its replicates meeting the
    condition) and ``meets``; with ``each_replicate`` one row per run (``replicate`` added).
    Runs whose outcome is missing (NaN: an empty window) are left out."""
    o = condition.outcome
    ok = runs[runs[o].notna()].copy()
    ok["_meets"] = condition.holds(ok[o])
    by = ok.groupby("point", sort=True)
    table = by.agg(
        **{k: (k, "first") for k in keys},
        **{o: (o, "median")},
        replicates=(o, "size"),
        share_meeting=("_meets", "mean"),
    ).reset_index()
    if each_replicate:
        table = ok.merge(table[["point", "replicates", "share_meeting"]], on="point")
        table = table[["point", "replicate", *keys, o, "replicates", "share_meeting"]]
    table["meets"] = condition.holds(table[o])
    return table.reset_index(drop=True)


def check_table(table: pd.DataFrame, condition: Condition, total_points: int) -> None:
    """``BadInput`` when PRIM cannot say anything: too few points, or none meeting."""
    points = table["point"].nunique()
    if points < MIN_POINTS:
        left = f" ({total_points - points} have no value of it)" if points < total_points else ""
        raise BadInput(
            f"{points} design point(s) with a value of {condition.outcome}{left}: scenario "
            f"discovery needs at least {MIN_POINTS}; sweep more points (a finer --vary grid "
            "or --design lhs --samples N)"
        )
    if not table["meets"].any():
        o = table[condition.outcome]
        what = "median over replicates" if "replicate" not in table else "runs"
        raise BadInput(
            f"no design point has {condition.text()} ({what} range from {_num(o.min())} to "
            f"{_num(o.max())}): nothing for PRIM to find; choose a threshold in that range"
        )


def _num(x: float) -> str:
    """A threshold-like number: ``66,401`` or ``0.0123``."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def condition_of(outcome: str, below: float | None, above: float | None) -> Condition:
    if (below is None) == (above is None):
        raise BadInput("give exactly one of --below X and --above X")
    threshold = below if below is not None else above
    assert threshold is not None
    if not math.isfinite(threshold):
        raise BadInput(f"the threshold must be a finite number, got {threshold}")
    return Condition(outcome, "below" if below is not None else "above", float(threshold))


# --- the results folder ------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """How the analysis was run (recorded in the manifest and the reproduce command)."""

    each_replicate: bool = False
    min_coverage: float = 0.8
    box: int | None = None
    mass_min: float = 0.05
    peel_alpha: float = 0.05
    paste_alpha: float = 0.05

    def flags(self) -> list[str]:
        out = ["--each-replicate"] if self.each_replicate else []
        defaults = Options()
        for name in ("min_coverage", "mass_min", "peel_alpha"):
            if getattr(self, name) != getattr(defaults, name):
                out += [f"--{name.replace('_', '-')}", f"{getattr(self, name):g}"]
        if self.box is not None:
            out += ["--box", str(self.box)]
        return out


def run_discovery(
    sweep_folder: Path, condition: Condition, options: Options
) -> tuple[dict[str, Any], pd.DataFrame, Discovery]:
    """Everything but the writing: the sweep's manifest, the design table (with ``in_box``,
    whether each row is in the chosen box) and what PRIM found. Raises ``BadInput`` for bad
    input before anything is written."""
    manifest, runs = load_sweep(sweep_folder)
    keys = list(manifest["keys"])
    check_outcome(condition.outcome, outcome_names(runs, keys))
    table = design_table(runs, keys, condition, options.each_replicate)
    check_table(table, condition, runs["point"].nunique())
    found = prim_boxes(
        table[keys],
        table["meets"].to_numpy(),
        min_coverage=options.min_coverage,
        box=options.box,
        peel_alpha=options.peel_alpha,
        paste_alpha=options.paste_alpha,
        mass_min=options.mass_min,
    )
    table["in_box"] = in_box(table[keys], found.box)
    return manifest, table, found


def in_box(x: pd.DataFrame, box: Box) -> np.ndarray:
    """Whether each row of a design lies inside the box (limits included)."""
    inside = np.ones(len(x), dtype=bool)
    for lim in box.limits:
        col = x[lim.key]
        if lim.numeric:
            v = col.to_numpy(dtype=float)
            inside &= (v >= lim.low) & (v <= lim.high)
        else:
            inside &= col.astype(str).isin(lim.values).to_numpy()
    return inside


def reproduce_command(
    sweep_folder: Path, condition: Condition, options: Options, out: Path | None = None
) -> str:
    cmd = ["propsim", "discover", str(Path(sweep_folder).resolve()), "--outcome"]
    cmd += [condition.outcome, f"--{condition.direction}", f"{condition.threshold:g}"]
    cmd += options.flags()
    if out is not None:
        cmd += ["--out", str(out)]
    return shlex.join(cmd)


def _box_summary(found: Discovery) -> dict[str, Any]:
    b = found.box
    return {
        "index": b.index,
        "coverage": b.coverage,
        "density": b.density,
        "mass": b.mass,
        "rows": b.n,
        "cases": b.k,
        "restricted": b.restricted,
        "significant": [lim.key for lim in b.limits if lim.significant],
        "limits": {
            lim.key: ([lim.low, lim.high] if lim.numeric else sorted(lim.values))
            for lim in b.limits
            if lim.restricted
        },
    }


def write_folder(
    out_dir: Path,
    sweep_folder: Path,
    sweep_manifest: dict[str, Any],
    table: pd.DataFrame,
    found: Discovery,
    condition: Condition,
    options: Options,
    command_line: Sequence[str],
    plots: bool = True,
) -> Path:
    """Write ``<out_dir>/<sweep name>-discover-<time>/`` by the results-folder protocol
    (``sim.io.folders``: hidden until complete, the plots drawn after the rename)."""
    started = dt.datetime.now().astimezone()
    name = str(sweep_manifest.get("name", "sweep"))
    folder = folders.reserve(out_dir, folders.stamped(f"{name}-{KIND}", started))
    try:
        manifest = folders.base_manifest(KIND, name, command_line, started)
        manifest.update(
            {
                "sweep": str(Path(sweep_folder).resolve()),
                "sweep_kind": sweep_manifest.get("kind"),
                "scenario": sweep_manifest.get("scenario"),
                "sweep_command_line": sweep_manifest.get("command_line", ""),
                "keys": list(found.keys),
                "outcome": condition.outcome,
                "direction": condition.direction,
                "threshold": condition.threshold,
                "replicates": (
                    "each replicate is a row" if options.each_replicate else "median per point"
                ),
                "options": {
                    "min_coverage": options.min_coverage,
                    "box": options.box,
                    "mass_min": options.mass_min,
                    "peel_alpha": options.peel_alpha,
                    "paste_alpha": options.paste_alpha,
                },
                "rows": found.rows,
                "points": int(table["point"].nunique()),
                "cases_of_interest": found.interest,
                "trajectory_length": len(found.trajectory),
                "chosen": _box_summary(found),
                "plots": [],
            }
        )
        folders.write_json(folder / folders.MANIFEST, manifest)
        found.limits_table().to_csv(folder / LIMITS_CSV, index=False)
        found.trajectory_table().to_csv(folder / TRAJECTORY_CSV, index=False)
        table.to_csv(folder / POINTS_CSV, index=False)
    except BaseException:
        folders.discard(folder)
        raise

    def draw(final: Path, manifest: dict[str, Any]) -> None:
        from sim.analysis.discover_plots import box_plot, tradeoff_plot

        plots_dir = final / folders.PLOTS_DIR
        plots_dir.mkdir(exist_ok=True)
        made = [
            tradeoff_plot(found, condition, plots_dir / TRADEOFF_PNG),
            box_plot(found, condition, plots_dir / BOX_PNG),
        ]
        manifest["plots"] = [f"{folders.PLOTS_DIR}/{p.name}" for p in made]

    return folders.complete(
        folder,
        reproduce=lambda final: reproduce_command(sweep_folder, condition, options, final.parent),
        post={"plots": draw} if plots else None,
        seconds=(dt.datetime.now().astimezone() - started).total_seconds(),
    )


# --- the printed table -------------------------------------------------------------------------


def summary_text(found: Discovery, condition: Condition, table: pd.DataFrame) -> str:
    """The printed table: the chosen box's range per key, then the trajectory's main points."""
    from sim.analysis.tables import align

    b = found.box
    per = (
        "one row per run"
        if "replicate" in table
        else f"the median over {_replicates_text(table)} per point"
    )
    lines = [
        f"Scenario discovery (PRIM): {condition.text()}",
        f"{found.rows} rows ({per}); {found.interest} meet the condition "
        f"({found.interest / found.rows:.0%}).",
        "",
        f"Chosen box {b.index} of {len(found.trajectory) - 1}: coverage {b.coverage:.2f} "
        f"(it holds {b.k} of the {found.interest} rows that meet the condition), density "
        f"{b.density:.2f} ({b.k} of its {b.n} rows meet it), mass {b.mass:.2f}.",
    ]
    rows = [["key", "box range", "sweep range", "restricted", "quasi-p"]]
    for lim in b.limits:
        qp = "" if math.isnan(lim.qp) else f"{lim.qp:.2g}" + (" *" if lim.significant else "")
        rows.append([lim.key, lim.text(), lim.full_text(), "yes" if lim.restricted else "-", qp])
    lines += align(rows)
    lines += [f"(* significant: quasi-p < {SIGNIFICANCE:g})", "", "Peeling trajectory:"]
    rows = [["box", "coverage", "density", "mass", "keys restricted", "step (the new limits)"]]
    for i in found.main_points():
        t = found.trajectory[i]
        mark = " <- chosen" if i == found.chosen else ""
        rows.append(
            [
                f"{i}",
                f"{t.coverage:.2f}",
                f"{t.density:.2f}",
                f"{t.mass:.2f}",
                f"{len(t.restricted)}",
                found.step(i) + mark,
            ]
        )
    lines += align(rows)
    return "\n".join(lines)


def _replicates_text(table: pd.DataFrame) -> str:
    lo, hi = int(table["replicates"].min()), int(table["replicates"].max())
    n = f"{lo}" if lo == hi else f"{lo}-{hi}"
    return f"{n} replicate{'s' if hi > 1 else ''}"
