"""The calibration problem as plain data: targets (``calibration/targets.yaml``) and priors
(``calibration/priors.yaml``), validated with pydantic.

Data flow: YAML file -> ``sim.config.loader``'s line-recording YAML reader -> pydantic models here
(``TargetsFile``, ``PriorsFile``) -> ``load_targets`` / ``load_priors``. Any problem is one
``ScenarioError`` naming the file, line and key (the CLI turns it into exit code 2).

A ``Target`` reduces one daily metric of the first open platform over dated windows to a number
(``Target.simulate``) and scores it against the observation (``Target.excess``: how far outside
the level or range, in units of the tolerance). Plots, calibration and the fit report all read
targets from here.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.config.loader import load_yaml_model, read_yaml
from sim.config.problems import problem
from sim.config.resources import shipped
from sim.metrics import METRIC_BY_NAME, distinct_accounts

TARGETS_FILE = "calibration/targets.yaml"  # the defaults: the files shipped with propsim
PRIORS_FILE = "calibration/priors.yaml"

Window = tuple[dt.date, dt.date]


def fmt(x: float) -> str:
    """A figure as the report shows it: thousands separators, three digits below 100."""
    if not math.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    """One observed figure: a reduction of a daily metric over windows, and its tolerance."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    metric: str
    plus: list[str] = Field(default_factory=list)
    weight: str | None = None
    reduce: Literal["mean", "sum", "ratio", "max", "distinct"]
    platforms: Literal["first", "all"] = "first"
    windows: list[Window] = Field(min_length=1, max_length=2)
    value: float | None = None
    low: float | None = None
    high: float | None = None
    tolerance: float = Field(gt=0)
    source: str
    fit: bool = True  # false: simulated and reported, but not part of the calibration distance

    @model_validator(mode="after")
    def _check(self) -> Target:
        named: list[tuple[tuple[str | int, ...], str | None]] = [
            (("metric",), self.metric),
            (("weight",), self.weight),
        ]
        named += [(("plus", i), m) for i, m in enumerate(self.plus)]
        for field, name in named:
            if name is not None and name not in METRIC_BY_NAME:
                raise problem(
                    f"unknown metric {name!r} (see `propsim metrics`)",
                    at=field,
                    value=name,
                    choices=list(METRIC_BY_NAME),
                )
        scope = METRIC_BY_NAME[self.metric].scope
        for i, m in enumerate(self.plus):
            if METRIC_BY_NAME[m].scope != scope:
                raise problem(
                    f"{m!r} is a {METRIC_BY_NAME[m].scope} metric, {self.metric!r} a {scope} one: "
                    "only metrics of one scope add up",
                    at=("plus", i),
                )
        if self.reduce == "distinct" and (self.metric != "active_accounts" or self.plus):
            raise problem(
                "reduce: distinct counts the accounts used in the window: it needs "
                "metric: active_accounts and no plus",
                at=("metric",),
            )
        if self.weight is not None and self.reduce not in ("mean", "ratio"):
            raise problem(f"weight makes a weighted mean: not with reduce: {self.reduce}")
        if self.platforms == "all" and self.weight is not None:
            raise problem("platforms: all adds up the platforms' values: no weight with it")
        if (self.reduce == "ratio") != (len(self.windows) == 2):
            raise problem("reduce: ratio needs exactly two windows, the others one", ("windows",))
        for i, (a, b) in enumerate(self.windows):
            if b < a:
                raise problem(f"window ends ({b}) before it starts ({a})", at=("windows", i))
        if (self.value is None) == (self.low is None and self.high is None):
            raise problem("give either value (a level) or low and/or high (a range or bound)")
        if self.low is not None and self.high is not None and self.high < self.low:
            raise problem(f"high ({self.high:g}) is below low ({self.low:g})", at=("high",))
        return self

    # --- the observation ------------------------------------------------------------------
    @property
    def bounds(self) -> tuple[float, float]:
        """The observed level or range as [low, high] (infinite where unbounded)."""
        if self.value is not None:
            return self.value, self.value
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        return lo, hi

    @property
    def observed_text(self) -> str:
        lo, hi = self.bounds
        if self.value is not None:
            return fmt(self.value)
        if math.isinf(hi):
            return f"> {fmt(lo)}"
        if math.isinf(lo):
            return f"< {fmt(hi)}"
        return f"{fmt(lo)} - {fmt(hi)}"

    def excess(self, x: float) -> float:
        """Distance of a simulated value from the observation in tolerances (0 inside a range).

        NaN (nothing to measure, e.g. no suspensions in a window) is infinitely far.
        """
        if not math.isfinite(x):
            return math.inf
        lo, hi = self.bounds
        return max(lo - x, x - hi, 0.0) / self.tolerance

    def met(self, x: float) -> bool:
        return self.excess(x) <= 1.0

    # --- the simulated figure -------------------------------------------------------------
    @property
    def first_day(self) -> dt.date:
        return min(w[0] for w in self.windows)

    @property
    def last_day(self) -> dt.date:
        return max(w[1] for w in self.windows)

    def column(self, name: str, platform: str) -> str:
        return name if METRIC_BY_NAME[name].scope == "global" else f"{platform}.{name}"

    def platforms_of(self, daily: pd.DataFrame, platform: str) -> list[str]:
        """The platforms whose values the target adds up: ``platform`` (the first open one),
        or with ``platforms: all`` every platform of the metric's scope in the table. An
        encrypted metric always takes every encrypted platform."""
        scope = METRIC_BY_NAME[self.metric].scope
        if scope == "global":
            return [""]
        if self.platforms == "first" and scope == "open":
            return [platform]
        suffix = "." + self.metric
        return [c[: -len(suffix)] for c in daily.columns if c.endswith(suffix)]

    def _values(self, daily: pd.DataFrame, platform: str, sel: np.ndarray) -> np.ndarray:
        """The day's value of the metric (plus ``plus``) over the target's platforms: summed
        (NaN if any is), or for ``reduce: max`` the largest of them (NaN skipped)."""
        per_platform = []
        for p in self.platforms_of(daily, platform):
            x = np.zeros(int(sel.sum()))
            for name in (self.metric, *self.plus):
                x = x + daily.loc[sel, self.column(name, p)].to_numpy(dtype=float)
            per_platform.append(x)
        if not per_platform:
            return np.full(int(sel.sum()), np.nan)
        stack = pd.DataFrame(np.vstack(per_platform))
        if self.reduce == "max":  # the largest of the platforms that have a value that day
            return stack.max(axis=0, skipna=True).to_numpy(dtype=float)
        return stack.sum(axis=0, skipna=False).to_numpy(dtype=float)

    def _over(self, daily: pd.DataFrame, platform: str, window: Window) -> float:
        idx = pd.DatetimeIndex(daily.index)
        sel = (idx >= pd.Timestamp(window[0])) & (idx <= pd.Timestamp(window[1]))
        if self.reduce == "distinct":
            return sum(
                distinct_accounts(daily, p, window[0], window[1])
                for p in self.platforms_of(daily, platform)
            )
        x = self._values(daily, platform, sel)
        if self.reduce == "sum":
            return float(np.nansum(x)) if sel.any() else math.nan
        if self.reduce == "max":
            ok = ~np.isnan(x)
            return float(x[ok].max()) if ok.any() else math.nan
        if self.weight is None:
            ok = ~np.isnan(x)
            return float(x[ok].mean()) if ok.any() else math.nan
        w = daily.loc[sel, self.column(self.weight, platform)].to_numpy(dtype=float)
        ok = ~np.isnan(x) & ~np.isnan(w)
        total = w[ok].sum()
        return float((x[ok] * w[ok]).sum() / total) if total > 0 else math.nan

    def simulate(self, daily: pd.DataFrame, platform: str) -> float:
        """The target's quantity in one replicate's daily table (``platform``: first open one)."""
        values = [self._over(daily, platform, w) for w in self.windows]
        if self.reduce != "ratio":
            return values[0]
        return values[1] / values[0] if values[0] > 0 else math.nan


class TargetsFile(_Strict):
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> TargetsFile:
        ids = [t.id for t in self.targets]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            second = next(n for n, i in enumerate(ids) if i in ids[:n])
            raise problem(f"duplicate target ids: {', '.join(dup)}", at=("targets", second, "id"))
        if not any(t.fit for t in self.targets):
            raise problem("every target has fit: false: nothing to calibrate to")
        return self


class Prior(_Strict):
    """A free parameter: a dotted scenario key, its range and the reason for it."""

    low: float
    high: float
    scale: Literal["uniform", "log"] = "uniform"
    why: str

    @model_validator(mode="after")
    def _check(self) -> Prior:
        if not self.high > self.low:
            raise problem(f"high ({self.high:g}) must be above low ({self.low:g})", at=("high",))
        if self.scale == "log" and self.low <= 0:
            raise problem("a log-uniform range needs low > 0", at=("low",))
        return self

    def to_unit(self, x: float) -> float:
        """Position of ``x`` in the range, 0..1 (on the log scale for log priors)."""
        if self.scale == "log":
            return (math.log(x) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (x - self.low) / (self.high - self.low)


class PriorsFile(_Strict):
    parameters: dict[str, Prior] = Field(min_length=1)


# --- loading -------------------------------------------------------------------------------


def load_targets(file: str | Path | None = None) -> list[Target]:
    """The calibration targets of ``file`` (default: the shipped ``calibration/targets.yaml``)."""
    path = shipped(TARGETS_FILE) if file is None else file
    return load_yaml_model(TargetsFile, path, "calibration targets ('targets:')").targets


def load_priors(file: str | Path | None = None) -> dict[str, Prior]:
    """The free parameters of ``file`` (default: the shipped ``calibration/priors.yaml``), by
    dotted key."""
    path = shipped(PRIORS_FILE) if file is None else file
    return load_yaml_model(PriorsFile, path, "free parameters ('parameters:')").parameters


def prior_lines(file: str | Path) -> dict[str, int | None]:
    """The line of each parameter in a priors file (for messages about a loaded prior)."""
    data = read_yaml(str(file))
    section = data.get("parameters", {})
    return {k: src.line for k, src in getattr(section, "locs", {}).items()}


# --- which scenario the targets belong to ------------------------------------------------------

# What a run may change and still be the scenario the targets were fitted on: its labels, seeds,
# number of replicates, scale (calibration itself runs at a reduced scale) and end (targets
# after the end are not drawn anyway). Any other difference (a lever, a calibrated parameter,
# an event) makes it a counterfactual: the record it was fitted to does not describe it.
SAME_FIT_KEYS = frozenset({"name", "description", "seed", "replicates", "scale", "end"})


def fit_differences(scenario: dict[str, object], fitted: dict[str, object]) -> list[str]:
    """The differences (``key: fitted -> scenario``) between a scenario and the scenario the
    calibration was fitted on (both as ``model_dump(mode="json")``), ignoring ``SAME_FIT_KEYS``."""
    from sim.analysis.report import scenario_diff

    return [
        f"{key}: {a} -> {b}"
        for key, a, b in scenario_diff(scenario, fitted)
        if key not in SAME_FIT_KEYS
    ]


def targets_for(
    scenario: dict[str, object], fitted: dict[str, object] | None, targets: list[Target]
) -> tuple[list[Target], list[str]]:
    """The calibration targets to draw on a scenario's plots, and why not if none: the targets
    only when the scenario's effective values equal those of the scenario they were fitted on
    (``fitted``: the baseline, ``scenarios/baseline.yaml``, over which the calibrated
    overlay ``calibration/calibrated.yaml`` is laid) up to ``SAME_FIT_KEYS``; else none, with
    the differences.
    No fitted scenario found: none."""
    if fitted is None:
        return [], ["no baseline scenario found to compare with"]
    diff = fit_differences(scenario, fitted)
    return ([], diff) if diff else (list(targets), [])
