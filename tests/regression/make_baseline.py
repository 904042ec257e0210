"""Regenerate ``baseline_summary.json``, the fixed-seed regression guard of ``test_regression.py``.

Run from the repository root::

    .venv/bin/python tests/regression/make_baseline.py

It runs ``scenarios/baseline.yaml`` at 1:100 (same dates, one replicate, seed 1), computes the
summary outcomes of ``sim.metrics.summarize`` plus a few daily-metric window means, and writes
them next to this file. ``tests/test_regression.py`` recomputes the same figures and expects them
to agree to a relative 1e-9 (bit-identical on the same machine).

When to regenerate: only when a change of model results is intended and explained, e.g. a
deliberate change of the model's behaviour, of the baseline scenario or of the order or number
of random draws. Say in the commit message what changed and why the new numbers are right.
Never regenerate just to make a failing test pass: a failure of the regression test means that
results changed, and an optimisation or refactoring is supposed to leave them bit-identical.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from sim.core.model import simulate  # noqa: E402
from sim.metrics import summarize, window_mean  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SCENARIO = REPO / "scenarios" / "baseline.yaml"
OVERRIDES = ["scale=100"]
SEED = 1
OUT = HERE / "baseline_summary.json"

# (column, first day, last day): means over windows that cover the baseline's history
WINDOWS = [
    ("twitter.pro_posts_observed", dt.date(2014, 4, 1), dt.date(2014, 6, 30)),
    ("twitter.pro_posts_observed", dt.date(2015, 4, 1), dt.date(2015, 6, 30)),
    ("twitter.pro_posts_observed", dt.date(2016, 4, 1), dt.date(2016, 6, 30)),
    ("twitter.pro_posts_true", dt.date(2014, 7, 1), dt.date(2014, 12, 31)),
    ("twitter.active_accounts", dt.date(2014, 10, 1), dt.date(2014, 12, 31)),
    ("twitter.active_accounts", dt.date(2016, 1, 1), dt.date(2016, 6, 30)),
    ("twitter.mean_followers", dt.date(2014, 9, 1), dt.date(2015, 1, 31)),
    ("twitter.suspensions", dt.date(2015, 7, 1), dt.date(2016, 6, 30)),
    ("twitter.impressions", dt.date(2015, 1, 1), dt.date(2015, 12, 31)),
    ("twitter.anti_posts_observed", dt.date(2016, 1, 1), dt.date(2016, 6, 30)),
    ("telegram.members", dt.date(2016, 1, 1), dt.date(2016, 6, 30)),
    ("sympathizers", dt.date(2015, 1, 1), dt.date(2015, 12, 31)),
    ("users_reached_30d", dt.date(2015, 1, 1), dt.date(2015, 12, 31)),
]


def compute() -> dict[str, float]:
    """The guarded figures: summary outcomes and window means (NaN stays NaN)."""
    sc = load_scenario(SCENARIO, overrides=OVERRIDES)
    daily = simulate(sc, SEED)
    opens = sc.platform_names("open")
    encs = sc.platform_names("encrypted")
    values = {f"summary.{k}": float(v) for k, v in summarize(daily, opens, encs).items()}
    for col, start, end in WINDOWS:
        values[f"mean.{col}.{start}..{end}"] = window_mean(daily, col, start, end)
    for col in ("twitter.cumulative_suspensions", "cumulative_recruits", "migrated_operators"):
        values[f"last.{col}"] = float(daily[col].iloc[-1])
    return values


def to_json(value: float) -> float | None:
    return None if math.isnan(value) else value


def from_json(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def main() -> None:
    values = compute()
    doc = {
        "about": "Fixed-seed regression guard; see tests/regression/make_baseline.py",
        "scenario": str(SCENARIO.relative_to(REPO)),
        "overrides": OVERRIDES,
        "seed": SEED,
        "generated": dt.datetime.now().isoformat(timespec="seconds"),
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "machine": platform.machine(),
            "system": platform.system(),
        },
        "values": {k: to_json(v) for k, v in values.items()},
    }
    OUT.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    print(f"wrote {len(values)} values to {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
