"""``sim.execution.progress``: the time left, the plain lines of a log, the bar on a terminal."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import termios
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.execution.progress import PREFIX, Progress, duration_text, time_left

LINE = re.compile(
    rf"^{re.escape(PREFIX)} (?:\w+: )?(\d+)/(\d+) runs?, (?:(\d+)% of simulated days, )?"
    r"(.+) elapsed(?:, about (.+) left)?$"
)


# --- the time left ---------------------------------------------------------------------------


@given(
    total=st.integers(1, 10**7),
    initial=st.integers(0, 10**7),
    steps=st.lists(st.integers(0, 10**6), max_size=30),
    seconds=st.lists(st.floats(0, 1e5), min_size=30, max_size=30),
)
def test_time_left_never_negative_and_zero_when_done(
    total: int, initial: int, steps: list[int], seconds: list[float]
) -> None:
    initial = min(initial, total)
    done, elapsed = initial, 0.0
    for step, dt in zip(steps, seconds, strict=False):
        done += step  # a monotone count, possibly past the total (a last tick rounding up)
        elapsed += dt
        left = time_left(done, total, elapsed, initial)
        if done >= total:
            assert left == 0.0
        elif done == initial or elapsed == 0:
            assert left is None  # no rate yet: no estimate, rather than a wrong one
        else:
            assert left is not None and left >= 0.0
            # the rate so far: left / elapsed is the work left per work done in this session
            assert left == pytest.approx((total - done) * elapsed / (done - initial))


@given(
    total=st.integers(1, 10**6),
    steps=st.lists(st.integers(1, 10**4), min_size=2, max_size=20),
)
def test_time_left_falls_as_work_is_done_at_a_steady_rate(total: int, steps: list[int]) -> None:
    """At a constant rate (one unit per second) the estimate is exact and falls with the work."""
    done, lefts = 0, []
    for step in steps:
        done = min(total, done + step)
        left = time_left(done, total, float(done))
        assert left == pytest.approx(total - done)
        lefts.append(left)
    assert lefts == sorted(lefts, reverse=True)


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0 s"), (35.9, "35 s"), (80, "1 min 20 s"), (120, "2 min"), (7500, "2 h 5 min"),
     (7200, "2 h"), (-3, "0 s")],
)  # fmt: skip
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


# --- the reporter ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_status_line_counts_runs_days_elapsed_and_time_left() -> None:
    clock, out = Clock(), io.StringIO()
    with Progress(40, days=4000, desc="base", stream=out, interval=3600, clock=clock) as p:
        assert p.status() == f"{PREFIX} base: 0/40 runs, 0% of simulated days, 0 s elapsed"
        clock.now = 80.0
        for _ in range(12):
            p.run_done(100)
        assert p.fraction() == pytest.approx(0.3)
        # 30% of the days in 80 s: 70% left takes about 186 s
        assert p.status() == (
            f"{PREFIX} base: 12/40 runs, 30% of simulated days, 1 min 20 s elapsed, "
            "about 3 min 6 s left"
        )
    assert out.getvalue().splitlines()[-1] == f"{PREFIX} base: 12/40 runs done in 1 min 20 s"


def test_ticks_count_days_and_runs_do_not_count_them_twice() -> None:
    with Progress(2, days=200, stream=io.StringIO(), interval=3600) as p:
        p.uses_ticks = True
        p.ticked(100)
        p.run_done(100)
        assert (p.runs_done, p.days_done) == (1, 100)


def test_resumed_work_counts_as_done_but_not_in_the_rate() -> None:
    clock = Clock()
    with Progress(10, initial_runs=5, stream=io.StringIO(), interval=3600, clock=clock) as p:
        clock.now = 60.0
        assert p.left() is None  # nothing done in this session yet
        p.run_done()
        assert p.left() == pytest.approx(4 * 60.0)  # 1 run a minute, 4 to go


def test_a_wall_time_limit_caps_the_time_left() -> None:
    clock = Clock()
    with Progress(10, stream=io.StringIO(), interval=3600, clock=clock, limit=100) as p:
        clock.now = 60.0
        p.run_done()  # 9 generations at a minute each, but the budget ends in 40 s
        assert p.left() == pytest.approx(40.0)


def test_plain_lines_come_every_interval_in_a_log() -> None:
    out = io.StringIO()  # not a terminal, as a log file
    with Progress(3, days=30, desc="x", stream=out, interval=0.02) as p:
        time.sleep(0.1)
        p.run_done(10)
        time.sleep(0.1)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 4 and all(line.startswith(f"{PREFIX} x: ") for line in lines)
    counts = [int(m.group(1)) for m in map(LINE.match, lines[:-1]) if m]
    assert len(counts) == len(lines) - 1 and counts == sorted(counts) and counts[-1] == 1
    assert any(LINE.match(line).group(5) for line in lines[:-1])  # type: ignore[union-attr]
    assert "\r" not in out.getvalue()


def test_disabled_writes_nothing() -> None:
    out = io.StringIO()
    with Progress(3, days=30, stream=out, interval=0.01, enabled=False) as p:
        time.sleep(0.05)
        p.ticked(10)
        p.run_done(10)
        p.line("a line of the command's own")
    assert out.getvalue() == ""


def test_a_bar_on_a_terminal() -> None:
    """On a pseudo-terminal: a tqdm bar (carriage returns, a percentage), no plain lines."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns
    try:
        with os.fdopen(slave, "w", closefd=False) as tty:
            assert tty.isatty()
            with Progress(2, days=20, desc="bar", stream=tty, interval=0.01) as p:
                p.uses_ticks = True
                time.sleep(0.05)
                p.ticked(10)
                p.run_done(10)
                p.ticked(10)
                p.run_done(10)
            tty.flush()
        chunks = []
        while select.select([master], [], [], 0.2)[0]:
            chunks.append(os.read(master, 65536))
        text = b"".join(chunks).decode()
    finally:
        os.close(master)
        os.close(slave)
    assert "\r" in text and "100%" in text and "20/20" in text and "2/2 runs" in text
    assert PREFIX not in text
