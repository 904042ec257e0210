"""Observed outcomes and their true counterparts, side by side in comparisons.

What analysts measured is not what happened: the keyword classifier (``observation``) finds a
share of the pro posts (``pro_recall``, less for evasive accounts) and counts a share of the
*anti* posts as pro (``pro_false_positive``). A policy that adds anti posts (counter-messaging)
therefore raises *observed* pro traffic a little even when true pro traffic falls. Wherever a
comparison shows an observed outcome, its true counterpart is shown beside it, and a note
explains the artefact when the two move in opposite directions.

Data flow: a comparison folder's daily tables (``runs/``, the true columns of the first open
platform) -> ``true_outcomes`` (the observed summary formulas of ``sim.metrics.summarize``
applied to the true posts) -> extra columns of the run table -> ``with_true`` orders each true
outcome after its observed one -> ``annotate`` marks, per row of ``comparison.csv``, the true
counterpart and whether the two moved in opposite directions -> ``artefact_notes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# observed outcome -> its true counterpart (pro_posts_true_last90 is a default compare outcome)
TRUE_OF: dict[str, str] = {
    "traffic_ratio": "traffic_ratio_true",
    "posts_observed_last90": "pro_posts_true_last90",
    "anti_pro_ratio_last_180": "anti_pro_ratio_true_last_180",
}
# outcomes computed here (``true_outcomes``) and their units
TRUE_UNITS: dict[str, str] = {
    "traffic_ratio_true": "ratio",
    "anti_pro_ratio_true_last_180": "ratio",
}
# observed daily metric -> true daily metric
TRUE_METRIC_OF: dict[str, str] = {
    "pro_posts_observed": "pro_posts_true",
    "anti_posts_observed": "anti_posts_true",
}


def ratio_outcomes(dates: pd.DatetimeIndex, pro: np.ndarray, anti: np.ndarray) -> dict[str, float]:
    """``traffic_ratio`` and ``anti_pro_ratio_last_180`` of daily pro and anti posts, with the
    formulas of ``sim.metrics.summarize`` (tested equal on the observed columns)."""
    last = dates[-1]
    late = pro[dates > last - pd.Timedelta(days=91)]
    early_mask = (dates > last - pd.DateOffset(years=2) - pd.Timedelta(days=91)) & (
        dates <= last - pd.DateOffset(years=2)
    )
    early = pro[early_mask]
    recent = dates > last - pd.Timedelta(days=180)
    p, a = pro[recent].sum(), anti[recent].sum()
    return {
        "traffic_ratio": float(late.mean() / early.mean())
        if early_mask.sum() >= 60 and early.mean() > 0
        else float("nan"),
        "anti_pro_ratio_last_180": float(a / p) if p > 0 else float("nan"),
    }


def true_outcomes(runs_dir: Path, scenario: Any) -> pd.DataFrame:
    """Per run (``point``, ``replicate``): the true counterparts of the observed ratio outcomes,
    from the true daily posts of the first open platform stored in ``runs_dir``."""
    import pyarrow.parquet as pq

    p = scenario.platform_names("open")[0]
    pro, anti = f"{p}.{TRUE_METRIC_OF['pro_posts_observed']}", f"{p}.anti_posts_true"
    daily = pq.read_table(runs_dir, columns=["point", "replicate", "date", pro, anti]).to_pandas()
    rows = []
    for (point, replicate), d in daily.groupby(["point", "replicate"], sort=True):
        d = d.sort_values("date")
        dates = pd.DatetimeIndex(d["date"])
        r = ratio_outcomes(dates, d[pro].to_numpy(dtype=float), d[anti].to_numpy(dtype=float))
        rows.append(
            {
                "point": point,
                "replicate": replicate,
                "traffic_ratio_true": r["traffic_ratio"],
                "anti_pro_ratio_true_last_180": r["anti_pro_ratio_last_180"],
            }
        )
    return pd.DataFrame(rows, columns=["point", "replicate", *TRUE_UNITS])


def with_true(outcomes: Sequence[str], available: Sequence[str]) -> list[str]:
    """``outcomes`` with each observed outcome's true counterpart right after it (if in
    ``available``), every name once."""
    out: list[str] = []
    for o in outcomes:
        if o in out:
            continue
        out.append(o)
        t = TRUE_OF.get(o)
        if t and t in available and t not in out:
            out.append(t)
    return out


def opposite(observed: float, true: float) -> bool:
    """Observed and true differences of opposite signs (both non-zero)."""
    return bool(np.sign(observed) * np.sign(true) < 0)


def annotate(table: pd.DataFrame) -> pd.DataFrame:
    """``comparison.csv`` with ``true_outcome`` (an observed row's true counterpart, else '')
    and ``opposite_to_true`` (the medians of the paired differences of the observed outcome and
    its true counterpart have opposite signs: a measurement artefact)."""
    table = table.copy()
    key = table.set_index(["arm", "outcome"])["diff_median"]
    true_of, flags = [], []
    for _, r in table.iterrows():
        t = TRUE_OF.get(r["outcome"], "")
        if t and (r["arm"], t) in key.index:
            true_of.append(t)
            flags.append(opposite(float(r["diff_median"]), float(key[(r["arm"], t)])))
        else:
            true_of.append("")
            flags.append(False)
    table["true_outcome"] = true_of
    table["opposite_to_true"] = flags
    return table


ARTEFACT = (
    "observed and true move in opposite directions: the keyword classifier counts a share of "
    "anti posts as pro (observation.pro_false_positive) and finds only a share of pro posts "
    "(observation.pro_recall, less for evasive accounts), so a policy that adds anti posts or "
    "changes evasion moves observed pro traffic apart from true pro traffic; read the true row"
)


def artefact_notes(table: pd.DataFrame, arm: str) -> list[str]:
    """One line per observed outcome of ``arm`` that moved against its true counterpart."""
    sub = table[(table["arm"] == arm) & table["opposite_to_true"]]
    return [
        f"Note: {r['outcome']} {_way(r['diff_median'])} while {r['true_outcome']} "
        f"{_way(_true_diff(table, arm, r['true_outcome']))}: {ARTEFACT}."
        for _, r in sub.iterrows()
    ]


def _true_diff(table: pd.DataFrame, arm: str, outcome: str) -> float:
    row = table[(table["arm"] == arm) & (table["outcome"] == outcome)]
    return float(row["diff_median"].iloc[0])


def _way(diff: float) -> str:
    return "rises" if diff > 0 else "falls"
