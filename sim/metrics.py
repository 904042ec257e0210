"""The one list of daily metrics and summary outcomes, their units and meanings.

Data flow: ``sim.core.model`` fills one row per reported day with the names below (already
multiplied
by ``scale`` into real-world units) -> a ``pandas.DataFrame`` indexed by date -> results folder
(Parquet) -> ``summarize`` turns one replicate's daily table into its summary outcomes.

Metrics that exist per platform are named ``<platform>.<metric>`` (e.g. ``twitter.suspensions``);
the others are global.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Scope = Literal["global", "open", "encrypted"]


@dataclass(frozen=True)
class Metric:
    name: str
    scope: Scope
    unit: str
    description: str


METRICS: tuple[Metric, ...] = (
    # --- open platforms -----------------------------------------------------------------
    Metric(
        "pro_posts_true",
        "open",
        "posts/day",
        "Pro-IS posts actually made: by pro accounts plus shares by users",
    ),
    Metric(
        "pro_posts_observed",
        "open",
        "posts/day",
        "Pro posts a keyword classifier finds (recall, evasion, false positives)",
    ),
    Metric("anti_posts_true", "open", "posts/day", "Anti-IS posts (all counter kinds)"),
    Metric("anti_posts_observed", "open", "posts/day", "Anti posts the classifier finds"),
    Metric(
        "anti_pro_ratio",
        "open",
        "ratio",
        "Observed anti : observed pro posts; NaN if nothing is observed as pro",
    ),
    Metric("active_accounts", "open", "accounts", "Pro accounts active at the end of the day"),
    Metric("new_accounts_fresh", "open", "accounts/day", "Accounts opened by new operators"),
    Metric(
        "new_accounts_recreated",
        "open",
        "accounts/day",
        "Accounts re-created by operators after a suspension",
    ),
    Metric("suspensions", "open", "accounts/day", "Accounts suspended (incl. purges)"),
    Metric(
        "cumulative_suspensions", "open", "accounts", "Suspensions since the first reported day"
    ),
    Metric(
        "mean_followers",
        "open",
        "followers",
        "Mean followers of active pro accounts; NaN if there are none",
    ),
    Metric(
        "mean_followers_suspended",
        "open",
        "followers",
        "Mean followers of accounts when suspended that day ('when discovered'); NaN if none",
    ),
    Metric(
        "mean_lifetime_suspended",
        "open",
        "days",
        "Mean age of accounts suspended that day; NaN if none",
    ),
    Metric(
        "mean_account_age", "open", "days", "Mean age of active pro accounts; NaN if there are none"
    ),
    Metric(
        "mean_evasion", "open", "0..1", "Mean evasion of active pro accounts; NaN if there are none"
    ),
    Metric(
        "impressions",
        "open",
        "impressions/day",
        "Pro impressions (feed views, shares, discovery) on users",
    ),
    # --- encrypted platforms ------------------------------------------------------------
    Metric("members", "encrypted", "users", "Users in pro channels"),
    Metric("channels", "encrypted", "channels", "Active pro channels"),
    Metric("channel_posts", "encrypted", "posts/day", "Pro posts in channels"),
    Metric("channel_takedowns", "encrypted", "channels/day", "Channels taken down"),
    # --- global -------------------------------------------------------------------------
    Metric("counter_posts_government", "global", "posts/day", "Counter posts by government voices"),
    Metric("counter_posts_credible", "global", "posts/day", "Counter posts by credible voices"),
    Metric("counter_posts_organic", "global", "posts/day", "Counter posts by opposed users"),
    Metric("users_reached", "global", "users", "Users who saw pro content that day"),
    Metric("users_reached_30d", "global", "users", "Users who saw pro content in the last 30 days"),
    Metric("opposed", "global", "users", "Users opposed to IS"),
    Metric("neutral", "global", "users", "Neutral users"),
    Metric("sympathizers", "global", "users", "Sympathizers (share and follow pro content)"),
    Metric("supporters", "global", "users", "Recruited supporters"),
    Metric("new_recruits", "global", "users/day", "Users recruited that day"),
    Metric("cumulative_recruits", "global", "users", "Recruits since the first reported day"),
    Metric("active_operators", "global", "operators", "Operators with an open account or channel"),
    Metric(
        "migrated_operators",
        "global",
        "operators",
        "Operators who moved to an encrypted platform since the first reported day",
    ),
)

METRIC_BY_NAME = {m.name: m for m in METRICS}


def column_names(open_platforms: list[str], encrypted_platforms: list[str]) -> list[str]:
    """Columns of the daily table for a scenario's platforms, in a stable order."""
    cols: list[str] = []
    for m in METRICS:
        if m.scope == "open":
            cols += [f"{p}.{m.name}" for p in open_platforms]
        elif m.scope == "encrypted":
            cols += [f"{p}.{m.name}" for p in encrypted_platforms]
        else:
            cols.append(m.name)
    return cols


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
    Outcome("total_recruits", "users", "Recruits over the whole run"),
    Outcome("sympathizers_end", "users", "Sympathizers on the last day"),
    Outcome("encrypted_members_end", "users", "Members of encrypted channels on the last day"),
)


def _weighted_followers(df: pd.DataFrame, p: str) -> float:
    n = df[f"{p}.suspensions"].to_numpy()
    f = df[f"{p}.mean_followers_suspended"].fillna(0.0).to_numpy()
    return float((n * f).sum() / n.sum()) if n.sum() > 0 else float("nan")


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
