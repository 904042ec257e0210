"""Running a scenario's replicates one after another, with one progress bar.

Data flow: validated ``Scenario`` -> ``run_replicates`` calls ``sim.model.simulate`` once per
replicate (replicate ``r`` uses seed ``seed + r``) on a private deep copy of the scenario ->
a list of daily tables (one ``pandas.DataFrame`` per replicate, in replicate order) ->
``sim.results.write_results``.

Also holds the two helpers that list a scenario's platforms by kind, in scenario order; they
give the platform arguments of ``sim.metrics.column_names`` and ``sim.metrics.summarize``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pandas as pd
from tqdm import tqdm

from sim.metrics import column_names
from sim.scenario import Scenario

Simulate = Callable[..., pd.DataFrame]


def open_platforms(scenario: Scenario) -> list[str]:
    """Names of the scenario's open platforms, in scenario order."""
    return [name for name, p in scenario.platforms.items() if p.kind == "open"]


def encrypted_platforms(scenario: Scenario) -> list[str]:
    """Names of the scenario's encrypted platforms, in scenario order."""
    return [name for name, p in scenario.platforms.items() if p.kind == "encrypted"]


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Seeds of replicates 0..replicates-1: ``seed + r``."""
    return [seed + r for r in range(replicates)]


def _check_columns(daily: pd.DataFrame, scenario: Scenario) -> None:
    """Fail fast (after the first replicate) if the model breaks the daily-table contract."""
    expected = column_names(open_platforms(scenario), encrypted_platforms(scenario))
    got = list(daily.columns)
    if got != expected:
        missing = [c for c in expected if c not in got]
        extra = [c for c in got if c not in expected]
        raise RuntimeError(
            "the model's daily table does not match sim.metrics.column_names: "
            f"missing {missing}, unexpected {extra}"
            + ("" if missing or extra else ", order differs")
        )
    if not isinstance(daily.index, pd.DatetimeIndex) or len(daily) != scenario.days:
        raise RuntimeError(
            f"the model's daily table must have a DatetimeIndex of {scenario.days} reported days, "
            f"got {type(daily.index).__name__} of length {len(daily)}"
        )


def _simulate_function() -> Simulate:
    """``sim.model.simulate``, imported when first needed (the model is the heavy part)."""
    from sim.model import simulate

    return simulate


def run_replicates(
    scenario: Scenario, replicates: int, seed: int, progress: bool
) -> list[pd.DataFrame]:
    """Run ``replicates`` independent runs sequentially; replicate ``r`` uses ``seed + r``.

    One tqdm bar on stderr counts every simulated day (warm-up included) of every replicate and
    shows the time left; it is off when ``progress`` is false or stderr is not a terminal.
    Each replicate gets its own deep copy of the scenario, so a model that applies timeline
    ``set`` events in place cannot leak them into the next replicate (or the manifest).
    """
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    simulate = _simulate_function()
    days_per_run = scenario.warmup_days + scenario.days
    show = progress and sys.stderr.isatty()
    dailies: list[pd.DataFrame] = []
    with tqdm(
        total=replicates * days_per_run,
        unit="day",
        desc=scenario.name,
        file=sys.stderr,
        disable=not show,
        dynamic_ncols=True,
    ) as bar:
        for r, s in enumerate(replicate_seeds(seed, replicates)):
            bar.set_postfix_str(f"replicate {r + 1}/{replicates}", refresh=False)
            daily = simulate(scenario.model_copy(deep=True), s, bar.update)
            _check_columns(daily, scenario)
            dailies.append(daily)
            # keep the bar exact even if a model reports fewer days than it ran
            bar.update(max(0, (r + 1) * days_per_run - bar.n))
    return dailies
