"""Stopping a command on SIGTERM or Ctrl-C without ever losing the request.

``install`` (``sim.cli.main.entry``) makes SIGTERM (``kill``, a job scheduler) raise
``KeyboardInterrupt`` in the main thread as Ctrl-C does, so that both take the same clean-up
path, and remembers that a stop was asked for (Ctrl-C too, where Python's own handler is in
place: not in a shell script's background job, which ignores SIGINT and keeps ignoring it).

Why remember: a signal handler runs wherever the main thread happens to be, and if that is a
finaliser (a ``__del__``, a weakref callback run by the garbage collector, as compiled kernels
and their LLVM objects have) Python prints the exception as "ignored" and carries on; the command
would then run to its end. So ``install`` also keeps such a lost interrupt off stderr (a
``sys.unraisablehook`` that passes everything else on), and ``check`` raises
``KeyboardInterrupt`` again where a command can stop cleanly (``sim.execution.executors``: before
every task of an executor, after every wait for a pool, and at every progress tick of a run in
this process, every few simulated days; before every simulation of a calibration, whose runs
pyabc's samplers hand out): a request is never lost.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

_requested: list[int] = []  # the signals received since ``install``


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _requested.append(signum)
    raise KeyboardInterrupt


_previous_hook: Callable[[Any], object] = sys.unraisablehook  # (the one ``install`` replaced)


def _unraisable(info: Any) -> None:
    """``sys.unraisablehook`` once installed: drops the ``KeyboardInterrupt`` of a remembered
    request (``check`` raises it again at the next place to stop), passes on everything else."""
    if not (_requested and isinstance(info.exc_value, KeyboardInterrupt)):
        _previous_hook(info)


def install() -> None:
    """SIGTERM, and SIGINT where Python's own handler is in place, raise ``KeyboardInterrupt``
    and are remembered; forgets earlier requests. Main thread only (as ``signal.signal``)."""
    global _previous_hook
    _requested.clear()
    if sys.unraisablehook is not _unraisable:
        _previous_hook, sys.unraisablehook = sys.unraisablehook, _unraisable
    signal.signal(signal.SIGTERM, _on_signal)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_signal)


def requested() -> bool:
    """Whether a stop was asked for since ``install``."""
    return bool(_requested)


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was asked for (a no-op otherwise)."""
    if _requested:
        raise KeyboardInterrupt
