"""Running a scenario's replicates on an executor, with progress and the time left.

Data flow: validated ``Scenario`` -> ``run_replicates`` calls ``sim.core.model.simulate`` once per
replicate (replicate ``r`` uses seed ``seed + r``) on a private deep copy of the scenario ->
a list of daily tables (one ``pandas.DataFrame`` per replicate, in replicate order) ->
``sim.io.results.write_results``.

The replicates run on ``sim.execution.executors.make_executor(workers, None)`` (this process or
a local pool); days simulated come back through ``Executor.ticks`` to
``sim.execution.progress.Progress`` (a bar on a terminal, plain lines in a log). Also holds
``run_one`` and ``check_columns``, which sweeps and the fit report (``sim.analysis``) share, and
``open_platforms``/``encrypted_platforms``, thin names for ``Scenario.platform_names`` kept for
their callers (new code calls ``platform_names`` directly).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pandas as pd

from sim.execution.executors import Ticks, make_executor
from sim.execution.progress import Progress
from sim.metrics import column_names
from sim.scenario import Scenario

Simulate = Callable[..., pd.DataFrame]


def open_platforms(scenario: Scenario) -> list[str]:
    """Names of the scenario's open platforms, in scenario order (``platform_names("open")``)."""
    return scenario.platform_names("open")


def encrypted_platforms(scenario: Scenario) -> list[str]:
    """Names of the scenario's encrypted platforms, in scenario order."""
    return scenario.platform_names("encrypted")


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Seeds of replicates 0..replicates-1: ``seed + r``."""
    return [seed + r for r in range(replicates)]


def check_columns(daily: pd.DataFrame, scenario: Scenario) -> None:
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
    """``sim.core.model.simulate``, imported when first needed (the model is the heavy part)."""
    from sim.core.model import simulate

    return simulate


def run_one(scenario: Scenario, seed: int, ticks: Ticks | None = None) -> pd.DataFrame:
    """One replicate (in a worker process or in this one); ``ticks`` receives day counts
    (``Executor.ticks``)."""
    simulate = _simulate_function()
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if ticks is not None and done >= 10:  # a message per ten days keeps the queue light
            ticks.put(done)
            done = 0

    daily = simulate(scenario.model_copy(deep=True), seed, tick)
    if ticks is not None and done:
        ticks.put(done)
    return daily


def run_replicates(
    scenario: Scenario, replicates: int, seed: int, progress: bool, workers: int = 1
) -> list[pd.DataFrame]:
    """Run ``replicates`` independent runs; replicate ``r`` uses seed ``seed + r``.

    With ``workers`` > 1 the replicates run in a pool of that many processes; the results are
    the same as with one (each replicate depends only on the scenario and its seed). Progress
    on stderr (``sim.execution.progress.Progress``: a bar on a terminal, a plain line every 30 s
    otherwise) counts every simulated day (warm-up included) of every replicate and shows the
    time left; nothing when ``progress`` is false. Each
    replicate gets its own deep copy of the scenario, so a model that applies timeline ``set``
    events in place cannot leak them into the next replicate (or the manifest).
    """
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    seeds = replicate_seeds(seed, replicates)
    days_per_run = scenario.warmup_days + scenario.days
    with (
        Progress(
            replicates,
            days=replicates * days_per_run,
            desc=scenario.name,
            unit="replicate",
            enabled=progress,
        ) as bar,
        make_executor(min(workers, replicates), None) as executor,
        executor.ticks(bar.ticked) as ticks,
    ):
        bar.uses_ticks = ticks is not None
        by_seed: dict[int, pd.DataFrame] = {}
        for s, daily in executor.run(partial(run_one, scenario, ticks=ticks), seeds):
            by_seed[s] = daily
            bar.run_done(days_per_run)
        dailies = [by_seed[s] for s in seeds]
    for daily in dailies:
        check_columns(daily, scenario)
    return dailies
