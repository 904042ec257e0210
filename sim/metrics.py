"""The one list of daily metrics and summary outcomes, their units and meanings.

The daily metrics are declared by the components that record them (``sim.components``); this
module gathers them. Data flow: the model's components fill one row per reported day by name
(already multiplied by ``scale`` into real-world units) -> a ``pandas.DataFrame`` indexed by
date -> results folder (Parquet) -> ``summarize`` turns one replicate's daily table into its
summary outcomes.

Metrics that exist per platform are named ``<platform>.<metric>`` (e.g. ``twitter.suspensions``);
the others are global.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.components import COMPONENTS
from sim.core.component import MetricSpec
from sim.core.model import metric_columns

Metric = MetricSpec  # (the name the analysis code and the docs use)

# Every daily metric, declared by the components (``Component.metrics``), in component order.
METRICS: tuple[MetricSpec, ...] = tuple(m for c in COMPONENTS for m in c.metrics)
METRIC_BY_NAME = {m.name: m for m in METRICS}


def column_names(open_platforms: list[str], encrypted_platforms: list[str]) -> list[str]:
    """Columns of the daily table for a scenario's platforms, in a stable order (the model's)."""
    return metric_columns(list(METRICS), open_platforms, encrypted_platforms)


def describe(column: str) -> Metric:
    """The Metric behind a column name such as ``twitter.suspensions``."""
    return METRIC_BY_NAME[column.rsplit(".", 1)[-1]]


# --- summary outcomes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    name: str
    unit: str
    description: str


OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "traffic_ratio",
        "ratio",
        "Observed pro posts, mean of the last 91 days / mean of the same days two years "
        "earlier (Apr-Jun 2016 / Apr-Jun 2014 in the baseline); NaN if the run is shorter",
    ),
    Outcome("peak_active_accounts", "accounts", "Highest number of active pro accounts"),
    Outcome("posts_observed_last90", "posts/day", "Mean observed pro posts, last 90 days"),
    Outcome(
        "followers_suspended_first_year",
        "followers",
        "Mean followers when suspended, first 365 days (suspension-weighted)",
    ),
    Outcome(
        "followers_suspended_last_180",
        "followers",
        "Mean followers when suspended, last 180 days (suspension-weighted)",
    ),
    Outcome("anti_pro_ratio_last_180", "ratio", "Observed anti:pro ratio over the last 180 days"),
    Outcome("total_suspensions", "accounts", "Suspensions over the whole run"),
    Outcome(
        "share_suspended_under_2d",
        "share",
        "Share of the run's suspensions at an age under 2 days (from the daily counts); NaN if "
        "none",
    ),
    Outcome(
        "share_suspended_under_7d",
        "share",
        "Share of the run's suspensions at an age under 7 days (from the daily counts); NaN if "
        "none",
    ),
    Outcome(
        "median_age_suspended",
        "days",
        "Median age at suspension over the whole run (last value of the cumulative median); "
        "NaN if none",
    ),
    Outcome("total_recruits", "users", "Recruits over the whole run"),
    Outcome("sympathizers_end", "users", "Sympathizers on the last day"),
    Outcome("encrypted_members_end", "users", "Members of encrypted channels on the last day"),
)


def _weighted_followers(df: pd.DataFrame, p: str) -> float:
    n = df[f"{p}.suspensions"].to_numpy()
    f = df[f"{p}.mean_followers_suspended"].fillna(0.0).to_numpy()
    return float((n * f).sum() / n.sum()) if n.sum() > 0 else float("nan")


def _share_of_suspensions(df: pd.DataFrame, p: str, column: str) -> float:
    if f"{p}.{column}" not in df:  # (a table from before these metrics)
        return float("nan")
    n = float(df[f"{p}.suspensions"].sum())
    return float(df[f"{p}.{column}"].sum()) / n if n > 0 else float("nan")


def _last_value(df: pd.DataFrame, column: str) -> float:
    if column not in df:
        return float("nan")
    values = df[column].dropna()
    return float(values.iloc[-1]) if len(values) else float("nan")


def summarize(daily: pd.DataFrame, open_platforms: list[str], encrypted: list[str]) -> dict:
    """Summary outcomes of one replicate's daily table (first open platform for per-platform)."""
    p = open_platforms[0]
    dates = pd.DatetimeIndex(daily.index)
    last = dates[-1]
    obs = daily[f"{p}.pro_posts_observed"]
    late = obs[dates > last - pd.Timedelta(days=91)]
    early_mask = (dates > last - pd.DateOffset(years=2) - pd.Timedelta(days=91)) & (
        dates <= last - pd.DateOffset(years=2)
    )
    early = obs[early_mask]
    first_year = daily[dates < dates[0] + pd.Timedelta(days=365)]
    last180 = daily[dates > last - pd.Timedelta(days=180)]
    anti = last180[f"{p}.anti_posts_observed"].sum()
    pro = last180[f"{p}.pro_posts_observed"].sum()
    return {
        "traffic_ratio": float(late.mean() / early.mean())
        if early_mask.sum() >= 60 and early.mean() > 0
        else float("nan"),
        "peak_active_accounts": float(daily[f"{p}.active_accounts"].max()),
        "posts_observed_last90": float(obs[dates > last - pd.Timedelta(days=90)].mean()),
        "followers_suspended_first_year": _weighted_followers(first_year, p),
        "followers_suspended_last_180": _weighted_followers(last180, p),
        "anti_pro_ratio_last_180": float(anti / pro) if pro > 0 else float("nan"),
        "total_suspensions": float(daily[f"{p}.suspensions"].sum()),
        "share_suspended_under_2d": _share_of_suspensions(daily, p, "suspended_under_2d"),
        "share_suspended_under_7d": _share_of_suspensions(daily, p, "suspended_under_7d"),
        "median_age_suspended": _last_value(daily, f"{p}.median_age_suspended_cumulative"),
        "total_recruits": float(daily["new_recruits"].sum()),
        "sympathizers_end": float(daily["sympathizers"].iloc[-1]),
        "encrypted_members_end": float(
            sum(daily[f"{e}.members"].iloc[-1] for e in encrypted) if encrypted else 0.0
        ),
    }


def window_mean(daily: pd.DataFrame, column: str, start: dt.date, end: dt.date) -> float:
    """Mean of a column over an inclusive date window (NaN days skipped)."""
    idx = pd.DatetimeIndex(daily.index)
    sel = (idx >= pd.Timestamp(start)) & (idx <= pd.Timestamp(end))
    return float(np.nanmean(daily.loc[sel, column].to_numpy())) if sel.any() else float("nan")


def distinct_accounts(daily: pd.DataFrame, platform: str, start: dt.date, end: dt.date) -> float:
    """Distinct pro accounts used on ``platform`` between two dates (inclusive): those active
    at the end of the day before ``start`` plus every account opened in the window (fresh and
    re-created), whether or not they were still active at its end. This is what the ISIS
    Twitter Census counts ("accounts used by supporters during" Sep-Dec 2014, not all active at
    the same time). NaN if the table does not hold the day before ``start``."""
    idx = pd.DatetimeIndex(daily.index)
    before = pd.Timestamp(start) - pd.Timedelta(days=1)
    if before not in idx:
        return float("nan")
    sel = (idx >= pd.Timestamp(start)) & (idx <= pd.Timestamp(end))
    opened = daily.loc[
        sel, [f"{platform}.new_accounts_fresh", f"{platform}.new_accounts_recreated"]
    ]
    return float(daily.loc[before, f"{platform}.active_accounts"] + opened.to_numpy().sum())
