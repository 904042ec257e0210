"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

One abstraction for every command (on the model of EMA Workbench's ``BaseEvaluator`` with its
sequential, multiprocessing and Dask evaluators): ``propsim run``'s replicates
(``sim.execution.runner``), sweeps and sensitivity (``sim.analysis.sweep``), the calibration's
fit report (``sim.analysis.fit_report``) and, through ``Executor.abc_sampler``, pyabc's ABC-SMC
(``sim.analysis.calibration``).

Data flow: picklable tasks and a module-level function ``fn(task) -> result`` -> ``Executor.run``
-> ``(task, result)`` pairs in the order the runs *finish* (the caller saves each as it arrives),
or ``Executor.map`` -> the results in task order. A result depends only on its task, never on
the executor or the number of workers, so every executor gives the same results.

- ``SerialExecutor``: this process, one task after another.
- ``PoolExecutor(workers)``: a local ``ProcessPoolExecutor`` with the start method of
  ``sim.execution.pool.pool_context`` (a fork server with the model preloaded). The pool starts
  with the first run and its processes end when the executor closes, or at once when this
  process ends in any other way (``sim.execution.pool.watch_parent``: no orphaned workers).
- ``DaskExecutor(address)``: a ``distributed.Client`` connected to a running scheduler (or a
  client given to it); tasks are submitted and collected with ``as_completed``. The workers must
  be able to import ``sim``.

Every executor is a context manager (``with make_executor(workers, scheduler) as ex:``), closed
on leaving. Light on purpose: standard library only at import (``tests/analysis/test_pool.py``).
"""

from __future__ import annotations

import abc
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from sim.execution import stop
from sim.execution.pool import pool_context, watch_parent, watched_manager

CONNECT_TIMEOUT = 10.0  # seconds to wait for a scheduler to answer
QUEUED_PER_WORKER = 2  # tasks in flight per worker: an interrupted sweep wastes little work
T = TypeVar("T")
R = TypeVar("R")


class Ticks(Protocol):
    """Where a task reports progress: ``put(n)`` with a count (days simulated, ...)."""

    def put(self, n: int) -> None: ...


@dataclass(frozen=True)
class _Indexed[T, R]:
    """``fn`` on an (index, task) pair, returning (index, result): picklable if ``fn`` is."""

    fn: Callable[[T], R]

    def __call__(self, item: tuple[int, T]) -> tuple[int, R]:
        return item[0], self.fn(item[1])


class Executor(abc.ABC):
    """Runs ``fn`` on every task; subclasses say where (``_run_indexed``)."""

    workers: int = 1

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:  # noqa: B027 - optional hook: most executors start lazily
        """Acquire what the executor needs up front (a Dask connection); idempotent."""

    def close(self) -> None:  # noqa: B027 - optional hook: a serial executor holds nothing
        """Release workers and connections; the executor can be opened again afterwards."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the runs execute, for the progress message."""

    @abc.abstractmethod
    def _run_indexed(
        self, fn: Callable[[tuple[int, T]], tuple[int, R]], items: list[tuple[int, T]]
    ) -> Iterator[tuple[int, R]]:
        """Run ``fn`` on every item, yielding its results as they finish."""

    def run(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]:
        """``(task, result)`` for every task, in the order the runs finish."""
        tasks = list(tasks)
        for i, result in self._run_indexed(_Indexed(fn), list(enumerate(tasks))):
            yield tasks[i], result

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> list[R]:
        """The results of every task, in task order."""
        items = list(enumerate(tasks))
        out: dict[int, R] = dict(self._run_indexed(_Indexed(fn), items))
        return [out[i] for i in range(len(items))]

    @contextmanager
    def ticks(self, update: Callable[[int], None]) -> Iterator[Ticks | None]:
        """A progress channel for the tasks: what they ``put`` reaches ``update`` here.

        None where progress cannot come back while tasks run (Dask): callers then count
        finished tasks instead.
        """
        yield _CallTicks(update)

    @abc.abstractmethod
    def abc_sampler(self) -> Any:
        """A pyabc sampler that runs ABC-SMC's simulations where this executor runs tasks."""


@dataclass(frozen=True)
class _CallTicks:
    update: Callable[[int], None]

    def put(self, n: int) -> None:  # in this process: a place to stop (``sim.execution.stop``)
        stop.check()
        self.update(n)


class SerialExecutor(Executor):
    """This process, one task after another."""

    def describe(self) -> str:
        return "this process"

    def _run_indexed(
        self, fn: Callable[[tuple[int, T]], tuple[int, R]], items: list[tuple[int, T]]
    ) -> Iterator[tuple[int, R]]:
        for item in items:
            stop.check()
            yield fn(item)

    def abc_sampler(self) -> Any:
        import pyabc

        return pyabc.sampler.SingleCoreSampler()


class PoolExecutor(Executor):
    """A local pool of ``workers`` processes (forkserver, model preloaded)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self._size = 0
        self._manager: Any = None

    def describe(self) -> str:
        return f"{self.workers} local processes"

    def _pool(self, tasks: int) -> ProcessPoolExecutor:
        """The pool, started (or grown) for ``tasks`` tasks: never more processes than tasks."""
        size = min(self.workers, tasks)
        if self.pool is None or self._size < size:
            if self.pool is not None:
                self.pool.shutdown(wait=True)
            self.pool = ProcessPoolExecutor(
                size,
                mp_context=pool_context(),
                initializer=watch_parent,  # workers end when this process does, however
                initargs=(os.getpid(),),
            )
            self._size = size
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
            self._size = 0
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None

    def _run_indexed(
        self, fn: Callable[[tuple[int, T]], tuple[int, R]], items: list[tuple[int, T]]
    ) -> Iterator[tuple[int, R]]:
        if len(items) <= 1:  # one task: no pool to start
            for item in items:
                yield fn(item)
            return
        pool = self._pool(len(items))
        pending: set[Future[tuple[int, R]]] = set()
        queued = 0
        try:
            while True:
                while len(pending) < QUEUED_PER_WORKER * self._size and queued < len(items):
                    pending.add(pool.submit(fn, items[queued]))
                    queued += 1
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                stop.check()
                for fut in done:
                    yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()

    @contextmanager
    def ticks(self, update: Callable[[int], None]) -> Iterator[Ticks | None]:
        """A managed queue the workers put to, drained into ``update`` by a thread here."""
        if self._manager is None:
            self._manager = watched_manager()
        channel = self._manager.Queue()
        stop = threading.Event()

        def drain() -> None:
            while True:
                try:
                    update(channel.get(timeout=0.1))
                except queue.Empty:
                    if stop.is_set():
                        return
                except (EOFError, OSError):  # the manager has gone
                    return

        thread = threading.Thread(target=drain, name="propsim-ticks", daemon=True)
        thread.start()
        try:
            yield channel
        finally:
            stop.set()
            thread.join()

    def abc_sampler(self) -> Any:
        """pyabc's own multicore sampler with ``workers`` processes.

        pyabc's samplers own their evaluation loop, and its multicore samplers reseed numpy's
        global generator in each of their processes, from which the calibration model draws its
        seeds; processes forked from our pool's fork server would all share the server's numpy
        state (duplicate seeds). So the local calibration uses pyabc's pool, sized like ours.
        """
        import pyabc

        return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=self.workers)


class DaskExecutor(Executor):
    """A Dask distributed cluster reached through its scheduler's address (or a given client)."""

    def __init__(
        self, address: str | None = None, timeout: float | None = None, client: Any = None
    ) -> None:
        if address is None and client is None:
            raise ValueError("DaskExecutor needs a scheduler address or a client")
        self.address = address or str(client.scheduler.address)
        self.timeout = CONNECT_TIMEOUT if timeout is None else timeout
        self.client: Any = client
        self._owns_client = client is None

    @property
    def workers(self) -> int:  # type: ignore[override]
        """Worker threads the cluster has now (at least one)."""
        if self.client is None:
            return 1
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def describe(self) -> str:
        return f"Dask scheduler {self.address}"

    def open(self) -> None:
        self.connect()

    def connect(self) -> Any:
        """Connect (once); raises ``OSError`` naming the address, within ``timeout`` seconds,
        if no Dask scheduler answers there (nothing listening, or something else: an HTTP or
        SSH server is recognised by ``probe_scheduler`` before Dask reads its bytes)."""
        if self.client is None:
            import time

            started = time.monotonic()
            probe_scheduler(self.address, self.timeout / 2)
            from distributed import Client

            left = max(1.0, self.timeout - (time.monotonic() - started))
            try:
                self.client = Client(self.address, timeout=left, set_as_default=False)
            except Exception as err:  # noqa: BLE001 - whatever it is, it is not a scheduler
                raise OSError(
                    f"--scheduler {self.address}: cannot reach a Dask scheduler there "
                    f"({type(err).__name__}: {err})"
                ) from None
            self._owns_client = True
        return self.client

    def close(self) -> None:
        """Disconnect (a client given to the executor stays open; the cluster keeps running)."""
        if self.client is not None and self._owns_client:
            self.client.close()
            self.client = None

    def _run_indexed(
        self, fn: Callable[[tuple[int, T]], tuple[int, R]], items: list[tuple[int, T]]
    ) -> Iterator[tuple[int, R]]:
        from distributed import as_completed

        client = self.connect()
        # pure=False: two tasks that pickle alike are still two runs (never deduplicated)
        futures = {client.submit(fn, item, pure=False) for item in items}
        try:
            for fut in as_completed(list(futures), loop=client.loop):
                result = fut.result()
                futures.discard(fut)
                fut.release()
                yield result
        finally:
            for fut in futures:
                fut.cancel()

    @contextmanager
    def ticks(self, update: Callable[[int], None]) -> Iterator[Ticks | None]:
        yield None

    def abc_sampler(self) -> Any:
        """pyabc's Dask sampler on this executor's own client (no second connection)."""
        import pyabc

        return pyabc.sampler.DaskDistributedSampler(dask_client=self.connect())


MAX_HANDSHAKE_HEADER = 2**20  # bytes: a Dask handshake's first 8 bytes say far less


def probe_scheduler(address: str, timeout: float) -> None:
    """Check that a Dask scheduler listens at a ``tcp://`` address; ``OSError`` if not.

    A Dask scheduler speaks first: on a new connection it writes its handshake, whose first 8
    bytes are the (small) length of a header. Something else either says nothing (an HTTP
    server waits for a request) or something whose first 8 bytes read as an absurd length (an
    SSH banner: Dask itself would then try to allocate exabytes). Other schemes (tls://, ...)
    are left to Dask's own connection, with its timeout.
    """
    import socket
    import struct

    from distributed.comm.addressing import parse_address, parse_host_port

    def refuse(why: str) -> OSError:
        return OSError(f"--scheduler {address}: cannot reach a Dask scheduler there ({why})")

    try:
        scheme, loc = parse_address(address)
        if scheme != "tcp":
            return
        host, port = parse_host_port(loc, 8786)
    except (ValueError, TypeError) as err:
        raise refuse(f"not a scheduler address ({err})") from None
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            first = b""
            while len(first) < 8:
                chunk = sock.recv(8 - len(first))
                if not chunk:
                    raise refuse("the connection was closed at once")
                first += chunk
    except TimeoutError:
        raise refuse(
            f"nothing answered like a Dask scheduler within {timeout:g} s (an HTTP server, or "
            "a host that does not answer?)"
        ) from None
    except OSError as err:
        if str(err).startswith(f"--scheduler {address}"):
            raise
        raise refuse(f"cannot connect ({err.strerror or err})") from None
    (length,) = struct.unpack("Q", first)  # as distributed.comm.tcp
    if length > MAX_HANDSHAKE_HEADER:
        raise refuse(f"something else answers, beginning {first!r}")


def LocalExecutor(workers: int = 1) -> Executor:  # noqa: N802 - the former class's name
    """This process for one worker, else a local pool (the name sweeps used before)."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return SerialExecutor() if workers == 1 else PoolExecutor(workers)


def make_executor(workers: int, scheduler: str | None) -> Executor:
    """The executor the command line asks for: Dask if given a scheduler, else local."""
    return DaskExecutor(scheduler) if scheduler else LocalExecutor(workers)
