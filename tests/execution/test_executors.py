"""``sim.execution.executors``: serial, local pool and Dask give the same results; the pool's
processes end when the executor closes; ``make_executor`` picks one; pyabc samplers on them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial

import pandas as pd
import pytest
from conftest import make_scenario

from sim.config import resources
from sim.execution.executors import (
    DaskExecutor,
    Executor,
    PoolExecutor,
    SerialExecutor,
    make_executor,
)
from sim.execution.runner import run_one
from sim.scenario import Scenario, load_scenario


def slow_square(x: int) -> int:
    """Later tasks finish first: results arrive out of task order."""
    time.sleep(0.05 * (5 - x % 5))
    return x * x


def count_days(ticks: object, n: int) -> int:
    for _ in range(n):
        ticks.put(1)  # type: ignore[attr-defined]
    return n


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    """An in-process Dask cluster (threads): the workers import ``sim`` from this process."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


def _executors(client: object) -> list[Executor]:
    return [SerialExecutor(), PoolExecutor(2), DaskExecutor(client=client)]


def _all_mechanisms() -> Scenario:
    """Every mechanism on (the shipped all_mechanisms scenario), small: roles and the network,
    churn, campaigns, outside events, detection, public channels and their takedown."""
    return load_scenario(
        resources.shipped("scenarios/all_mechanisms.yaml"),
        ["scale=1000", "warmup_days=20"],
    )


@pytest.mark.parametrize("which", ["small", "all mechanisms"])
def test_every_executor_gives_the_same_model_runs(dask_client: object, which: str) -> None:
    scenario = make_scenario(end="2015-01-20") if which == "small" else _all_mechanisms()
    seeds = [3, 4, 5]
    results = []
    for executor in _executors(dask_client):
        with executor:
            results.append(executor.map(partial(run_one, scenario), seeds))
    first = results[0]
    assert not first[0].equals(first[1])  # different seeds, different runs
    for other in results[1:]:
        for a, b in zip(first, other, strict=True):
            pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_run_yields_every_task_with_its_result_and_map_keeps_order(dask_client: object) -> None:
    tasks = list(range(10))
    for executor in _executors(dask_client):
        with executor:
            pairs = list(executor.run(slow_square, tasks))
            assert sorted(pairs) == [(t, t * t) for t in tasks], executor.describe()
            assert executor.map(slow_square, tasks) == [t * t for t in tasks]
    with PoolExecutor(2) as pool:  # as they finish: the slow first tasks do not come first
        assert [t for t, _ in pool.run(slow_square, tasks)] != tasks


def test_the_pool_processes_end_when_the_executor_closes() -> None:
    executor = PoolExecutor(2)
    with executor:
        assert executor.map(slow_square, [1, 2, 3]) == [1, 4, 9]
        assert executor.pool is not None
        processes = list(executor.pool._processes.values())
        assert len(processes) == 2 and all(p.is_alive() for p in processes)
    assert executor.pool is None
    for p in processes:
        p.join(timeout=10)
    assert not any(p.is_alive() for p in processes)


def test_ticks_reach_this_process(dask_client: object) -> None:
    for executor in (SerialExecutor(), PoolExecutor(2)):
        seen: list[int] = []
        with executor, executor.ticks(seen.append) as ticks:
            assert executor.map(partial(count_days, ticks), [3, 4]) == [3, 4]
        assert sum(seen) == 7, executor.describe()
    with DaskExecutor(client=dask_client) as dask, dask.ticks(print) as ticks:
        assert ticks is None  # no channel back: callers count finished tasks


def test_make_executor_picks_one() -> None:
    assert isinstance(make_executor(1, None), SerialExecutor)
    pool = make_executor(3, None)
    assert isinstance(pool, PoolExecutor) and pool.workers == 3
    assert isinstance(make_executor(3, "tcp://x:1"), DaskExecutor)
    with pytest.raises(ValueError, match="at least 1"):
        make_executor(0, None)


def test_pyabc_samplers_run_where_the_executor_runs(dask_client: object) -> None:
    import pyabc

    assert isinstance(SerialExecutor().abc_sampler(), pyabc.sampler.SingleCoreSampler)
    sampler = PoolExecutor(3).abc_sampler()
    assert isinstance(sampler, pyabc.sampler.MulticoreEvalParallelSampler)
    assert sampler.n_procs == 3
    with DaskExecutor(client=dask_client) as dask:
        sampler = dask.abc_sampler()
        assert isinstance(sampler, pyabc.sampler.DaskDistributedSampler)
        assert sampler.client is dask_client  # the executor's client, no second one
