"""Where the runs of a sweep execute: in this process, in a local process pool, or on Dask.

Data flow: a list of picklable tasks and a module-level function ``fn(task) -> result`` ->
``Executor.run`` -> ``(task, result)`` pairs in the order the runs *finish* -> the caller writes
each result as it arrives (``sim.analysis.sweep``). Results depend only on the task, never on the
executor or the number of workers, so every executor gives the same rows.

- ``LocalExecutor(workers)``: ``workers == 1`` runs in this process; otherwise a
  ``ProcessPoolExecutor`` with the start method of ``sim.execution.pool.pool_context`` (forkserver).
- ``DaskExecutor(address)``: a ``distributed.Client`` connected to a running scheduler; tasks are
  submitted and collected with ``as_completed``. The workers must be able to import ``sim``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

from sim.execution.pool import pool_context

CONNECT_TIMEOUT = 10.0  # seconds to wait for a scheduler to answer
T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``fn`` on every task and yields ``(task, result)`` as each finishes."""

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


class LocalExecutor:
    """This process (one worker) or a local process pool of ``workers`` processes."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def describe(self) -> str:
        return "this process" if self.workers == 1 else f"{self.workers} local processes"

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]:
        if self.workers == 1 or len(tasks) <= 1:
            for task in tasks:
                yield task, fn(task)
            return
        self.pool = ProcessPoolExecutor(min(self.workers, len(tasks)), mp_context=pool_context())
        try:
            # At most 2 tasks queued per worker: an interrupted sweep then wastes little work,
            # and results are written while later tasks are still being submitted.
            pending: dict[Future[R], T] = {}
            queued = 0
            while True:
                while len(pending) < 2 * self.workers and queued < len(tasks):
                    pending[self.pool.submit(fn, tasks[queued])] = tasks[queued]
                    queued += 1
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield pending.pop(fut), fut.result()
        finally:
            self.close()


class DaskExecutor:
    """A Dask distributed cluster reached through its scheduler's address."""

    def __init__(self, address: str, timeout: float | None = None) -> None:
        self.address = address
        self.timeout = CONNECT_TIMEOUT if timeout is None else timeout
        self.client: Any = None

    def describe(self) -> str:
        return f"Dask scheduler {self.address}"

    def connect(self) -> Any:
        """Connect (once); raises ``OSError`` naming the address if no scheduler answers."""
        if self.client is None:
            from distributed import Client

            try:
                self.client = Client(self.address, timeout=self.timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as err:
                raise OSError(
                    f"--scheduler {self.address}: cannot reach a Dask scheduler there ({err})"
                ) from None
        return self.client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]:
        from distributed import as_completed

        client = self.connect()
        # pure=False: two tasks that pickle alike are still two runs (never deduplicated)
        futures = {client.submit(fn, task, pure=False): task for task in tasks}
        try:
            for fut in as_completed(list(futures), loop=client.loop):
                result = fut.result()
                task = futures.pop(fut)
                fut.release()
                yield task, result
        finally:
            for fut in futures:
                fut.cancel()


def make_executor(workers: int, scheduler: str | None) -> Executor:
    """The executor the command line asks for: Dask if given a scheduler, else local."""
    return DaskExecutor(scheduler) if scheduler else LocalExecutor(workers)
