"""A sweep's rows are the same in this process, in a local pool and on a Dask cluster.

(The executors themselves: ``tests/execution/test_executors.py``.)

The Dask test starts a real ``dask scheduler`` and ``dask worker`` (the venv's executables, so
the worker imports ``sim``) on 127.0.0.1 at a free port, and stops them when it ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sweep_helpers import tiny_plan, write_tiny

from sim.analysis import sweep as sw
from sim.execution.executors import DaskExecutor, Executor, PoolExecutor, SerialExecutor

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a running scheduler with one single-threaded worker."""
    dask = BIN / "dask"
    if not dask.exists():
        dask = Path(shutil.which("dask") or "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    procs: list[subprocess.Popen] = []
    try:
        for name, args in (
            ("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(port),
                           "--no-dashboard"]),
            ("worker", ["worker", address, "--nworkers", "1", "--nthreads", "1",
                        "--no-dashboard", "--host", "127.0.0.1"]),
        ):  # fmt: skip
            log = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
            procs.append(subprocess.Popen([str(dask), *args], stdout=log, stderr=log,
                                          start_new_session=True, cwd=logs))  # fmt: skip
        from distributed import Client

        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=90)
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _rows(plan: sw.Plan, executor: Executor) -> pd.DataFrame:
    rows = [sw.run_row(t, r) for t, r in executor.run(sw.simulate_task, plan.tasks())]
    return pd.DataFrame(rows).sort_values(["point", "replicate"]).reset_index(drop=True)


def test_one_worker_two_workers_and_dask_give_identical_rows(
    tmp_path: Path, dask_scheduler: str
) -> None:
    plan = tiny_plan(write_tiny(tmp_path), values=(0.001, 0.05), replicates=2)
    one = _rows(plan, SerialExecutor())
    assert len(one) == 4 and one["total_suspensions"].nunique() > 1
    with PoolExecutor(2) as pool:
        pd.testing.assert_frame_equal(_rows(plan, pool), one)
    with DaskExecutor(dask_scheduler) as dask:
        pd.testing.assert_frame_equal(_rows(plan, dask), one)


def test_an_unreachable_scheduler_is_named() -> None:
    executor = DaskExecutor(f"tcp://127.0.0.1:{_free_port()}", timeout=1)
    with pytest.raises(OSError, match="cannot reach a Dask scheduler"):
        executor.connect()
