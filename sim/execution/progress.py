"""Progress of a long command with the time left: a bar on a terminal, plain lines in a log.

One reporter for every command that runs simulations (``propsim run``, ``compare``,
``attribute``, ``sweep``, ``sensitivity``, ``calibrate`` and its fit report): ``Progress``
counts finished runs and, where they are known, simulated days (what the runs put on
``sim.execution.executors.Executor.ticks``; days are the finer measure: a run of two years
reports every ten days, while a run count moves only when a run ends). Then:

- stderr is a terminal: one tqdm bar (on the days where known, else on the runs), with the
  runs in its postfix; tqdm's own estimate of the time left, from the average rate so far
  (``smoothing=0``, as the lines below).
- stderr is not a terminal (a log file, a pipe, a batch system): every ``interval`` seconds
  (``INTERVAL``; from a thread, so a line comes even while no run finishes) one line such as
  ``[propsim] 12/40 runs, 35% of simulated days, 1 min 20 s elapsed, about 2 min 30 s left``,
  and one last line when the work is done. A terminal bar would fill a log with carriage
  returns; tqdm has no line mode, hence these few lines here.
- ``enabled`` false (``--quiet``): nothing at all.

The time left is ``time_left``: the work still to do at the average rate of the work done in
this session so far (runs saved by an earlier, interrupted session count as done but not in
the rate). ``tests/execution/test_progress.py`` checks it never goes negative.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any, Self

PREFIX = "[propsim]"
INTERVAL = 30.0  # seconds between two plain lines (tests pass a shorter one)


def time_left(done: float, total: float, elapsed: float, initial: float = 0.0) -> float | None:
    """Seconds left to finish ``total`` units of work at the average rate so far.

    ``done`` units are finished, ``initial`` of them before this session began (they count as
    done, not in the rate), in ``elapsed`` seconds of this session. None while nothing has been
    done in this session (no rate yet); never negative; 0 once ``done`` reaches ``total``.
    """
    remaining = max(0.0, total - done)
    if remaining == 0:
        return 0.0
    worked = done - initial
    if worked <= 0 or elapsed <= 0:
        return None
    return remaining * elapsed / worked


def duration_text(seconds: float) -> str:
    """``35 s``, ``1 min 20 s``, ``2 h 5 min``: the largest two units, rounded down."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    h, m = s // 3600, s % 3600 // 60
    return f"{h} h {m} min" if m else f"{h} h"


class Progress:
    """Runs (and simulated days) done out of a total; a bar or plain lines on ``stream``.

    ``runs``: runs in all (``initial_runs`` of them done before this session). ``days``: the
    simulated days of all the runs (warm-up included) if they are known, else None. Call
    ``ticked(n)`` with days as they come from the runs and ``run_done(days)`` when a run ends
    (its days count then, unless ``uses_ticks`` says that the runs' ticks bring them: set it
    when ``Executor.ticks`` gives a channel). ``line(text)`` writes a line
    of the command's own (a generation of the calibration) through the same channel. A context
    manager; ``close`` writes the last line. ``limit``: seconds after which the command stops
    anyway (the time left is never more than what remains of it); ``clock``: for tests.
    """

    def __init__(
        self,
        runs: int,
        *,
        days: int | None = None,
        initial_runs: int = 0,
        initial_days: int = 0,
        desc: str = "",
        unit: str = "run",
        enabled: bool = True,
        stream: IO[str] | None = None,
        interval: float | None = None,
        limit: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.runs, self.days = runs, days
        self.initial_runs, self.initial_days = initial_runs, initial_days if days else 0
        self.runs_done, self.days_done = initial_runs, self.initial_days
        self.desc, self.unit, self.clock = desc, unit, clock
        self.interval = INTERVAL if interval is None else interval  # (read now: tests set it)
        self.limit = limit
        self.uses_ticks = False
        self.enabled = enabled
        self.is_terminal = enabled and _isatty(self.stream)
        self.started = clock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._bar: Any = None
        self._thread: threading.Thread | None = None
        self._closed = False
        if self.is_terminal:
            from tqdm import tqdm

            by_days = bool(days)
            self._bar = tqdm(
                total=days if by_days else runs,
                initial=self.initial_days if by_days else initial_runs,
                unit="day" if by_days else unit,
                desc=desc or None,
                file=self.stream,
                dynamic_ncols=True,
                smoothing=0,  # the average rate so far, as time_left
            )
            self._bar.set_postfix_str(self._runs_text(), refresh=False)
        elif enabled:
            self._thread = threading.Thread(
                target=self._every, name="propsim-progress", daemon=True
            )
            self._thread.start()

    # --- counting ---------------------------------------------------------------------------

    def ticked(self, days: int) -> None:
        """``days`` more simulated days (from the runs' ticks; any thread)."""
        with self._lock:
            self.days_done += days
            if self._bar is not None and self.days:
                self._bar.update(days)

    def run_done(self, days: int = 0) -> None:
        """One more run finished; its ``days`` count now unless ticks brought them already."""
        with self._lock:
            self.runs_done += 1
            if self._bar is not None:
                if not self.days:
                    self._bar.update(1)
                self._bar.set_postfix_str(self._runs_text(), refresh=False)
            if not self.uses_ticks and days:
                self.days_done += days
                if self._bar is not None and self.days:
                    self._bar.update(days)

    def fraction(self) -> float:
        """The share of the work done: of the simulated days if known, else of the runs."""
        if self.days:
            return min(1.0, self.days_done / self.days)
        return min(1.0, self.runs_done / self.runs) if self.runs else 1.0

    def left(self) -> float | None:
        """Seconds left at the average rate so far (``time_left``), None if no rate yet; at
        most what is left of ``limit`` (a wall-time budget: the calibration's ``--minutes``)."""
        elapsed = self.clock() - self.started
        if self.days:
            left = time_left(self.days_done, self.days, elapsed, self.initial_days)
        else:
            left = time_left(self.runs_done, self.runs, elapsed, self.initial_runs)
        if left is not None and self.limit is not None:
            left = min(left, max(0.0, self.limit - elapsed))
        return left

    # --- output -----------------------------------------------------------------------------

    def _runs_text(self) -> str:
        unit = self.unit if self.runs == 1 else f"{self.unit}s"
        return f"{self.runs_done}/{self.runs} {unit}"

    def status(self, named: bool = True) -> str:
        """The plain line: runs, share of days, elapsed, time left (after ``PREFIX`` and the
        ``desc``, unless not ``named``)."""
        with self._lock:
            parts = [self._runs_text()]
            if self.days:
                parts.append(f"{self.fraction():.0%} of simulated days")
            parts.append(f"{duration_text(self.clock() - self.started)} elapsed")
            left = self.left()
            if left is not None and self.runs_done < self.runs:
                parts.append(f"about {duration_text(left)} left")
        if not named:
            return ", ".join(parts)
        return f"{PREFIX} {self.desc + ': ' if self.desc else ''}{', '.join(parts)}"

    def line(self, text: str) -> None:
        """A line of the command's own, above the bar on a terminal (nothing if disabled)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def _every(self) -> None:
        while not self._stop.wait(self.interval):
            print(self.status(), file=self.stream, flush=True)

    def close(self, finished: bool = True) -> None:
        """Stop the bar or the lines; a last line (plain mode) if the work is ``finished``."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            if finished and self.days:
                self._bar.update(max(0, self.days - self._bar.n))
            self._bar.close()
        elif self.enabled and finished:
            took = duration_text(self.clock() - self.started)
            print(
                f"{PREFIX} {self.desc + ': ' if self.desc else ''}{self._runs_text()} done "
                f"in {took}",
                file=self.stream,
                flush=True,
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(finished=exc_type is None)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
