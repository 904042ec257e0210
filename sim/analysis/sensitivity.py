"""Global sensitivity (Sobol or Morris, with SALib) of chosen outcomes to chosen levers.

Data flow::

    parameter file (YAML) ──load_params──> Params (levers: dotted keys, mode, bounds;
    outcomes: metric, stat, window)  ──problem──> SALib problem (plain dict)
    ──sample (SALib.sample.sobol / .morris)──> X: one row per point, one column per lever
    ──lever_overrides──> --set texts per point ──> sim.analysis.sweep (the same folders and
    executors as a sweep; a run's outcomes are computed in the worker) ──> runs table
    ──analyze (SALib.analyze.sobol / .morris on the replicate mean per point)──> indices table

A lever sets one or more scenario keys from one number ``x``: ``mode: set`` sets each key to
``x``; ``mode: scale`` multiplies each key's value in the base scenario by ``x`` (so a dated
ramp of several timeline values keeps its shape); ``mode: share`` gives the first key the share
``x`` of the keys' total in the base scenario and splits the rest among the others in proportion
to their base values (shares that must sum to one, or a fixed number of messengers split
between groups). Whole-number fields are rounded.

The evaluation function is pluggable: ``sim.analysis.sweep.simulate_task`` runs the model; the
tests pass the Ishigami function, whose indices are known, through the same sampling,
executors, folders and analysis (``tests/analysis/sweep_helpers.py``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.analysis.design import value_text
from sim.analysis.outcomes import OutcomeSpec
from sim.analysis.sweep import Plan
from sim.config import keys
from sim.config.problems import problem as invalid

Method = Literal["sobol", "morris"]
INDICES_CSV, INDICES_PARQUET, INDICES_PNG = "indices.csv", "indices.parquet", "indices.png"
MU_STAR_SIGMA_PNG = "mu_star_sigma.png"
MORRIS_LEVELS = 4
# SALib's elementary effect of lever i at a point x of the unit hypercube (each lever's bounds
# mapped to [0, 1]) is EE_i = (y(x + delta e_i) - y(x)) / delta, with the step delta =
# levels / (2 (levels - 1)) = 2/3 of the range for 4 levels (SALib.util._compute_delta). Divided
# by a step in normalised units, it is the change in the outcome per whole range of the lever:
# the change when the lever moves from its lower to its upper bound (linearly extrapolated from
# the 2/3 step). mu* is the mean of |EE|, mu the mean of EE, sigma their standard deviation, all
# in the outcome's unit.
MORRIS_UNIT = "change in the outcome when the lever moves across its whole range (bounds)"
RESERVED = ("point", "replicate", "seed", "run_seconds", "date")  # columns of the run tables
INDEX_COLUMNS: dict[str, list[str]] = {
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu", "mu_star", "mu_star_conf", "sigma"],
}


class Lever(BaseModel):
    """A policy lever: one number within bounds that sets one or more scenario keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., min_length=1, description="Name in tables and plots")
    key: str | None = Field(None, description="The one dotted scenario key it sets")
    keys: list[str] = Field([], description="Dotted scenario keys it sets (instead of key)")
    mode: Literal["set", "scale", "share"] = Field("set", description="How x sets the keys")
    bounds: tuple[float, float] = Field(..., description="Lower and upper bound of x")
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> Lever:
        if self.key is not None:
            if self.keys:
                raise invalid("give either key or keys, not both", at=("keys",))
            object.__setattr__(self, "keys", [self.key])
        if not self.keys:
            raise invalid("give the scenario key it sets: key: KEY or keys: [KEY, ...]")
        lo, hi = self.bounds
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise invalid(
                f"bounds must be finite with lower < upper, got [{lo}, {hi}]", at=("bounds",)
            )
        if self.mode == "share" and (lo < 0 or hi > 1 or len(self.keys) < 2):
            raise invalid(
                "mode share needs bounds within [0, 1] and at least two keys", at=("mode",)
            )
        for i, key in enumerate(self.keys):
            if key in self.keys[:i]:
                where = ("keys", i) if self.key is None else ("key",)
                raise invalid(f"the key {key!r} is listed twice", at=where)
        return self


class Params(BaseModel):
    """A sensitivity parameter file: the levers and the outcomes."""

    model_config = ConfigDict(extra="forbid")

    levers: list[Lever] = Field(..., min_length=1)
    outcomes: list[OutcomeSpec] = Field(..., min_length=1)

    @field_validator("levers", "outcomes")
    @classmethod
    def _unique(cls, v: list[Any]) -> list[Any]:
        names = [x.name for x in v]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise invalid(f"names must be unique; {name} appears twice", at=(i, "name"))
        return v

    @model_validator(mode="after")
    def _names_apart(self) -> Params:
        """Outcome and lever names are columns of runs.csv: none may take a column of the run
        table (``RESERVED``), nor an outcome a lever's."""
        levers = [lever.name for lever in self.levers]
        for i, name in enumerate(levers):
            if name in RESERVED:
                raise invalid(
                    f"the name {name!r} is reserved (columns {', '.join(RESERVED)})",
                    at=("levers", i, "name"),
                )
        for i, spec in enumerate(self.outcomes):
            if spec.name in RESERVED or spec.name in levers:
                what = "a lever's name" if spec.name in levers else "reserved"
                raise invalid(
                    f"the outcome name {spec.name!r} is {what}: it would overwrite that column "
                    f"of runs.csv (reserved: {', '.join(RESERVED)}, and the lever names); "
                    "give the outcome a name: ...",
                    at=("outcomes", i, "name"),
                )
        return self

    @model_validator(mode="after")
    def _keys_once(self) -> Params:
        seen: set[str] = set()
        for i, lever in enumerate(self.levers):
            for key in lever.keys:
                if key in seen:
                    raise invalid(f"a key may belong to one lever only: {key}", at=("levers", i))
            seen.update(lever.keys)
        return self


def load_params(path: Path) -> Params:
    """Read and validate a parameter file; problems raise ``ScenarioError`` (file:line: key)."""
    from sim.config.loader import load_yaml_model

    return load_yaml_model(Params, path, "levers and outcomes ('levers:', 'outcomes:')")


def problem(levers: list[Lever]) -> dict[str, Any]:
    """The SALib problem definition: plain data."""
    return {
        "num_vars": len(levers),
        "names": [lv.name for lv in levers],
        "bounds": [list(lv.bounds) for lv in levers],
    }


def check_n(method: Method, n: int) -> None:
    """Sobol (Saltelli) sampling needs a power of two; both need at least two."""
    if n < 2:
        raise ValueError(f"--n must be at least 2, got {n}")
    if method == "sobol" and n & (n - 1):
        raise ValueError(f"--n must be a power of two for Sobol sampling (e.g. 32, 64), got {n}")


def sample(prob: dict[str, Any], method: Method, n: int, seed: int) -> np.ndarray:
    """SALib's sample: Sobol N*(D+2) rows (first and total order), Morris N*(D+1) rows."""
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(prob, n, calc_second_order=False, seed=seed)
    from SALib.sample import morris

    return morris.sample(prob, n, num_levels=MORRIS_LEVELS, seed=seed)


def runs_per_design(method: Method, n: int, levers: int) -> int:
    return n * (levers + 2) if method == "sobol" else n * (levers + 1)


def lever_values(lever: Lever, x: float, base: dict[str, Any] | None) -> dict[str, Any]:
    """The value of each of the lever's keys for ``x`` (``base``: the dumped base scenario)."""
    if lever.mode == "set":
        return {k: x for k in lever.keys}
    if base is None:
        raise ValueError(f"lever {lever.name}: mode {lever.mode} needs a base scenario")
    olds = [keys.get(base, k) for k in lever.keys]
    if lever.mode == "scale":
        new = [old * x for old in olds]
    else:
        total = sum(olds)
        rest = sum(olds[1:])
        new = [total * x] + [
            total * (1 - x) * (old / rest if rest else 1 / (len(olds) - 1)) for old in olds[1:]
        ]
    new = [round(v) if _whole(old) else v for old, v in zip(olds, new, strict=True)]
    if lever.mode == "share":
        new[-1] = total - sum(new[:-1])  # the total stays exact
    return dict(zip(lever.keys, new, strict=True))


def _whole(value: Any) -> bool:
    """Whole-number fields (messengers, ...) get whole values."""
    return isinstance(value, int) and not isinstance(value, bool)


def lever_overrides(
    levers: list[Lever], point: dict[str, float], base: dict[str, Any] | None
) -> list[str]:
    """The ``--set`` texts of one design point (lever name -> x)."""
    return [
        f"{k}={value_text(v)}"
        for lever in levers
        for k, v in lever_values(lever, point[lever.name], base).items()
    ]


def analyze(
    runs: pd.DataFrame,
    prob: dict[str, Any],
    method: Method,
    outcomes: list[str],
    seed: int,
) -> pd.DataFrame:
    """Indices per outcome and lever (SALib), on the mean over replicates at each point."""
    names = prob["names"]
    means = runs.groupby("point", sort=True)[[*names, *outcomes]].mean()
    x = means[names].to_numpy(dtype=float)
    rows = []
    for outcome in outcomes:
        y = means[outcome].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            res: dict[str, Any] = {c: [math.nan] * len(names) for c in INDEX_COLUMNS[method]}
        elif method == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(prob, y, calc_second_order=False, seed=seed)
        else:
            from SALib.analyze import morris

            res = morris.analyze(prob, x, y, num_levels=MORRIS_LEVELS, seed=seed)
        for i, name in enumerate(names):
            rows.append(
                {"outcome": outcome, "lever": name}
                | {c: float(res[c][i]) for c in INDEX_COLUMNS[method]}
            )
    return pd.DataFrame(rows, columns=["outcome", "lever", *INDEX_COLUMNS[method]])


def indices_text(indices: pd.DataFrame, method: Method, units: dict[str, str] | None = None) -> str:
    """The printed table of indices, with 95% confidence half-widths (``units``: each outcome's
    unit, for Morris, whose indices are in it)."""
    units = units or {}
    lines = []
    if method == "sobol":
        head = f"{'lever':<26} {'S1':>16} {'ST':>16}"
        fmt = lambda r: f"{r.S1:6.3f} ± {r.S1_conf:5.3f}   {r.ST:6.3f} ± {r.ST_conf:5.3f}"  # noqa: E731
    else:
        head = f"{'lever':<26} {'mu*':>20} {'sigma':>10} {'mu':>10}"
        fmt = lambda r: f"{r.mu_star:10.4g} ± {r.mu_star_conf:<7.3g} {r.sigma:10.4g} {r.mu:10.4g}"  # noqa: E731
    for outcome, block in indices.groupby("outcome", sort=False):
        unit = units.get(str(outcome), "")
        title = f"{outcome}" + (
            f" (mu*, sigma, mu in {unit})" if method == "morris" and unit else ""
        )
        lines += [title, head, "-" * len(head)]
        lines += [f"{r.lever:<26} {fmt(r)}" for r in block.itertuples()]
        lines.append("")
    lines.append("(± is the 95% confidence half-width from bootstrap resampling)")
    if method == "morris":
        lines.append(
            f"(mu*: mean absolute elementary effect, the {MORRIS_UNIT}, from SALib's steps of "
            f"{MORRIS_LEVELS / (2 * (MORRIS_LEVELS - 1)):.2g} of the range; mu: its signed mean; "
            "sigma: its spread, from non-linearity or interactions)"
        )
    return "\n".join(lines)


def morris_label(unit: str = "") -> str:
    """The axis label of mu* (and sigma): what the number is, in which unit."""
    return f"mu* ({unit + ', ' if unit else ''}change over the lever's whole range)"


def bar_chart(
    indices: pd.DataFrame, method: Method, path: Path, units: dict[str, str] | None = None
) -> Path:
    """One panel per outcome: S1 and ST (Sobol) or mu* (Morris) per lever, with 95% intervals."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    units = units or {}
    outcomes = list(dict.fromkeys(indices["outcome"]))
    fig = Figure(figsize=(8, 1.0 + 2.6 * len(outcomes)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(outcomes), 1, squeeze=False)[:, 0]
    for ax, outcome in zip(axes, outcomes, strict=True):
        block = indices[indices["outcome"] == outcome]
        y = np.arange(len(block))
        if method == "sobol":
            for off, (col, label) in enumerate((("S1", "first order S1"), ("ST", "total ST"))):
                ax.barh(
                    y + (off - 0.5) * 0.38,
                    block[col],
                    height=0.38,
                    xerr=block[f"{col}_conf"],
                    capsize=3,
                    label=label,
                    color=f"C{off}",
                )
            ax.set_xlim(min(0.0, ax.get_xlim()[0]), max(1.0, ax.get_xlim()[1]))
            ax.legend(fontsize=8, loc="lower right")
        else:
            ax.barh(y, block["mu_star"], xerr=block["mu_star_conf"], capsize=3, color="C0")
            ax.set_xlabel(morris_label(units.get(outcome, "")), fontsize=8)
        ax.set_yticks(y, block["lever"])
        ax.invert_yaxis()
        ax.set_title(outcome, loc="left", fontsize=10)
        ax.grid(True, axis="x", alpha=0.3)
    what = "Sobol indices" if method == "sobol" else "Morris mu* (mean absolute elementary effect)"
    fig.suptitle(f"{what}, 95% intervals")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def mu_star_sigma_chart(
    indices: pd.DataFrame, path: Path, units: dict[str, str] | None = None
) -> Path:
    """Morris: sigma against mu* per lever, one panel per outcome, with the lines sigma/mu* =
    1, 0.5, 0.1 (SALib's ``covariance_plot``): far right = influential; above the 1.0 line =
    non-linear or interacting (Garcia Sanchez et al. 2014). Levers are labelled."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from SALib.plotting.morris import covariance_plot

    units = units or {}
    outcomes = list(dict.fromkeys(indices["outcome"]))
    cols = min(len(outcomes), 2)
    rows = math.ceil(len(outcomes) / cols)
    fig = Figure(figsize=(5.2 * cols, 0.8 + 4.0 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[len(outcomes) :]:
        ax.set_visible(False)
    for ax, outcome in zip(axes, outcomes, strict=False):
        block = indices[indices["outcome"] == outcome]
        ax.set_title(outcome, loc="left", fontsize=10)
        if not np.isfinite(block["mu_star"]).any():
            ax.text(0.5, 0.5, "no effect to show (constant or missing outcome)",
                    ha="center", va="center", transform=ax.transAxes, fontsize=8)  # fmt: skip
            continue
        si = {c: block[c].to_numpy(dtype=float) for c in ("mu_star", "sigma", "mu_star_conf")}
        covariance_plot(ax, si)
        for name, x, y in zip(block["lever"], si["mu_star"], si["sigma"], strict=True):
            ax.annotate(str(name), (x, y), xytext=(3, 3), textcoords="offset points", fontsize=7)
        unit = units.get(outcome, "")
        ax.set_xlabel(morris_label(unit), fontsize=8)
        ax.set_ylabel(f"sigma ({unit + ', ' if unit else ''}same scale)", fontsize=8)
        ax.grid(True, alpha=0.3)
    fig.suptitle("Morris: mu* (influence) against sigma (non-linearity, interactions)", fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def outcome_units(outcomes: list[Any]) -> dict[str, str]:
    """The unit of each outcome (an ``OutcomeSpec``: its metric's; a summary outcome's own)."""
    from sim.metrics import METRIC_BY_NAME, OUTCOMES

    units = {o.name: o.unit for o in OUTCOMES}
    for spec in outcomes:
        metric = METRIC_BY_NAME.get(str(spec.metric).rsplit(".", 1)[-1])
        if metric is not None:
            units[spec.name] = metric.unit
    return units


def finish(folder: Path, plan: Plan, plots: bool, seconds: float) -> tuple[Path, pd.DataFrame]:
    """Analyse the runs (SALib), write the indices, finish the folder (``sweep.finish_folder``:
    final name), then draw the chart in the finished folder. Returns the folder and the indices;
    a chart failure raises ``PostProcessingFailed`` after the folder is finished."""
    from sim.analysis.sweep import finish_folder, plots_step, read_runs

    design = plan.design
    method: Method = design["method"]
    outcomes = [o.name for o in plan.outcomes] or design.get("outcome_names", [])
    indices = analyze(
        read_runs(folder), design["problem"], method, outcomes, design["analysis_seed"]
    )
    indices.to_csv(folder / INDICES_CSV, index=False)
    indices.to_parquet(folder / INDICES_PARQUET, engine="pyarrow", index=False)
    units = outcome_units(list(plan.outcomes))

    def draw(plots_dir: Path) -> list[Path]:
        paths = [bar_chart(indices, method, plots_dir / INDICES_PNG, units)]
        if method == "morris":
            paths.append(mu_star_sigma_chart(indices, plots_dir / MU_STAR_SIGMA_PNG, units))
        return paths

    post = {"plots": plots_step(draw)} if plots else None
    final = finish_folder(folder, {"duration_seconds": round(seconds, 3), "plots": []}, post)
    return final, indices
