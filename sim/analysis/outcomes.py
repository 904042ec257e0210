"""Outcomes chosen by metric and window, e.g. "mean observed pro posts in 2016".

Data flow: a sensitivity parameter file's ``outcomes`` entries -> ``OutcomeSpec`` (validated) ->
``outcome_value(daily, spec, ...)`` on each run's daily table (in the worker) -> one number per
run, next to the summary outcomes of ``sim.metrics.summarize``.

``metric`` is a daily metric: either a column name (``twitter.pro_posts_observed``) or a bare
per-platform name (``pro_posts_observed``), which means the scenario's first platform of that
kind, as in ``summarize``. ``stat`` reduces the days of the window ``start``..``end`` (inclusive;
either may be left out): ``mean`` (``sim.metrics.window_mean``), ``sum``, ``last``, ``max``,
``min``; NaN days are skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.config.problems import problem
from sim.metrics import METRIC_BY_NAME, window_mean

Stat = Literal["mean", "sum", "last", "max", "min"]


class OutcomeSpec(BaseModel):
    """One outcome: a statistic of a daily metric over a date window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("", description="Column name of the outcome (default: made from the rest)")
    metric: str = Field(..., description="Daily metric, e.g. pro_posts_observed")
    stat: Stat = Field("mean", description="mean, sum, last, max or min over the window")
    start: dt.date | None = Field(None, description="First day of the window (default: first)")
    end: dt.date | None = Field(None, description="Last day of the window (default: last)")

    @field_validator("metric")
    @classmethod
    def _known(cls, v: str) -> str:
        if v.rsplit(".", 1)[-1] not in METRIC_BY_NAME:
            from sim.config.loader import _suggest

            hint = _suggest(v.rsplit(".", 1)[-1], list(METRIC_BY_NAME))
            raise ValueError(f"unknown metric {v!r}{hint} (`propsim metrics` lists them)")
        return v

    @model_validator(mode="after")
    def _window(self) -> OutcomeSpec:
        if self.start and self.end and self.end < self.start:
            raise problem(f"end {self.end} is before start {self.start}", at=("end",))
        if not self.name:
            window = "".join(f"_{w}" for w in (self.start, self.end) if w is not None).replace(
                "-", ""
            )
            object.__setattr__(self, "name", f"{self.metric}_{self.stat}{window}")
        return self


def column_for(metric: str, open_platforms: list[str], encrypted_platforms: list[str]) -> str:
    """The daily column of a metric: bare per-platform names mean the first platform of a kind."""
    if "." in metric:
        return metric
    scope = METRIC_BY_NAME[metric].scope
    if scope == "global":
        return metric
    platforms = open_platforms if scope == "open" else encrypted_platforms
    if not platforms:
        raise ValueError(f"metric {metric!r} needs an {scope} platform; the scenario has none")
    return f"{platforms[0]}.{metric}"


def outcome_value(
    daily: pd.DataFrame, spec: OutcomeSpec, open_platforms: list[str], encrypted: list[str]
) -> float:
    """The outcome of one run's daily table (NaN if its window holds no day)."""
    column = column_for(spec.metric, open_platforms, encrypted)
    idx = pd.DatetimeIndex(daily.index)
    start = spec.start or idx[0].date()
    end = spec.end or idx[-1].date()
    if spec.stat == "mean":
        return window_mean(daily, column, start, end)
    sel = (idx >= pd.Timestamp(start)) & (idx <= pd.Timestamp(end))
    values = daily.loc[sel, column].to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan")
    reduce: dict[str, Callable[[np.ndarray], Any]] = {
        "sum": np.sum,
        "last": lambda v: v[-1],
        "max": np.max,
        "min": np.min,
    }
    return float(reduce[spec.stat](values))
