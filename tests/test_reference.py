"""The real model against its plain Mesa reference (``benchmarks/reference_mesa.py``): an oracle.

Both implementations run the same shared configuration (``build_shared_scenario``: 5,000 users,
60 accounts, 60 days, no warm-up; shares, discovery, shout-outs, counter-messaging, encrypted
platforms, abandonment and new operators off; posting, feed views, attitudes, suspension by
hazard and flagging, re-creation and re-follows on) over 20 seeds each, with independent seeds.
Per run, four summaries of the daily outcomes are taken (total suspensions, mean followers of
active accounts over the run, mean users reached per day, sympathizers on the last day) and
compared with a two-sample Mann-Whitney U test: the two implementations agree if p > 0.01 for
each (the Kolmogorov-Smirnov p-value is shown alongside on failure). The seeds are fixed, so the
outcome is deterministic for a given version of the model.

A power check: the reference with three times the moderation intensity must be told apart from
the real model (p < 0.01 on total suspensions), so that agreement is not a matter of too few
runs. About 25 s in all, most of it in the reference.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.core.model import simulate
from sim.scenario import Scenario

REFERENCE = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_mesa.py"
CONFIG = {"users": 5_000, "accounts": 60, "days": 60}
SEEDS = 20
REFERENCE_SEED0 = 10_000  # the reference's seeds are independent of the real model's
ALPHA = 0.01


def _load_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference_mesa", REFERENCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("reference_mesa", module)
    spec.loader.exec_module(module)
    return module


ref = _load_reference()

OUTCOMES: dict[str, Callable[[pd.DataFrame], float]] = {
    "total suspensions": lambda d: float(d["twitter.suspensions"].sum()),
    "mean followers over the run": lambda d: float(d["twitter.mean_followers"].mean()),
    "mean users reached": lambda d: float(d["users_reached"].mean()),
    "final sympathizers": lambda d: float(d["sympathizers"].iloc[-1]),
}


def _summaries(runs: list[pd.DataFrame]) -> dict[str, np.ndarray]:
    return {name: np.array([f(d) for d in runs]) for name, f in OUTCOMES.items()}


@pytest.fixture(scope="module")
def shared() -> Scenario:
    return ref.build_shared_scenario(**CONFIG)


@pytest.fixture(scope="module")
def real_runs(shared: Scenario) -> dict[str, np.ndarray]:
    return _summaries([simulate(shared, seed) for seed in range(SEEDS)])


@pytest.fixture(scope="module")
def reference_runs(shared: Scenario) -> dict[str, np.ndarray]:
    return _summaries([ref.run_reference(shared, REFERENCE_SEED0 + s) for s in range(SEEDS)])


def test_shared_scenario_is_what_the_reference_runs(shared: Scenario) -> None:
    assert ref.check_supported(shared) == "twitter"
    assert shared.population.users / shared.scale == CONFIG["users"]
    with pytest.raises(ValueError, match="discovery"):
        bad = shared.model_copy(deep=True)
        bad.platforms["twitter"].discovery = 1.0
        ref.check_supported(bad)


def test_same_columns_and_dates(shared: Scenario) -> None:
    short = shared.model_copy(update={"end": shared.start})
    mine = ref.run_reference(short, 1)
    real = simulate(short, 1)
    assert list(mine.index) == list(real.index)
    assert set(mine.columns) <= set(real.columns)


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_reference_agrees_in_distribution(
    outcome: str, real_runs: dict[str, np.ndarray], reference_runs: dict[str, np.ndarray]
) -> None:
    a, b = reference_runs[outcome], real_runs[outcome]
    p = stats.mannwhitneyu(a, b).pvalue
    p_ks = stats.ks_2samp(a, b).pvalue
    assert p > ALPHA, (
        f"{outcome}: reference {a.mean():.2f} (sd {a.std():.2f}) vs real {b.mean():.2f} "
        f"(sd {b.std():.2f}); Mann-Whitney p={p:.3g}, KS p={p_ks:.3g}"
    )


def test_power_three_times_moderation_is_detected(
    shared: Scenario, real_runs: dict[str, np.ndarray]
) -> None:
    stronger = shared.model_copy(deep=True)
    stronger.moderation["twitter"].intensity *= 3
    runs = _summaries([ref.run_reference(stronger, REFERENCE_SEED0 + s) for s in range(SEEDS)])
    p = stats.mannwhitneyu(runs["total suspensions"], real_runs["total suspensions"]).pvalue
    assert p < ALPHA
