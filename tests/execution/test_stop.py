"""``sim.execution.stop``: a SIGTERM (or Ctrl-C) is never lost, even when Python swallows the
``KeyboardInterrupt`` because the handler ran inside a finaliser."""

from __future__ import annotations

import gc
import signal
import sys
from collections.abc import Iterator

import pytest

from sim.execution import stop
from sim.execution.executors import PoolExecutor, SerialExecutor, _CallTicks


@pytest.fixture
def installed() -> Iterator[None]:
    """``stop.install`` for one test; the handlers, hook and request forgotten afterwards."""
    saved = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), sys.unraisablehook
    stop.install()
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved[0])
        signal.signal(signal.SIGINT, saved[1])
        sys.unraisablehook = saved[2]
        stop._requested.clear()


class _Finaliser:
    """Receives SIGTERM while Python runs its ``__del__``: the handler's exception is lost."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGTERM)


def _lose_a_sigterm() -> None:
    obj = _Finaliser()
    del obj
    gc.collect()


def _double(x: int) -> int:
    return 2 * x


def test_sigterm_raises_keyboard_interrupt_and_is_remembered(installed: None) -> None:
    assert not stop.requested()
    stop.check()  # nothing asked: a no-op
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGTERM)
    assert stop.requested()
    with pytest.raises(KeyboardInterrupt):
        stop.check()


def test_install_forgets_an_earlier_request(installed: None) -> None:
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGTERM)
    stop.install()
    assert not stop.requested()
    assert SerialExecutor().map(_double, [1, 2]) == [2, 4]


def test_a_sigterm_lost_in_a_finaliser_stops_the_next_task(
    installed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[int] = []

    def task(x: int) -> int:
        calls.append(x)
        if x == 1:
            _lose_a_sigterm()  # Python swallows the interrupt here; the task goes on
        return x

    with pytest.raises(KeyboardInterrupt):
        list(SerialExecutor().run(task, [0, 1, 2, 3]))
    assert calls == [0, 1]  # stopped before the next task, not at the end
    assert "KeyboardInterrupt" not in capsys.readouterr().err  # the lost one is not shown


def test_a_lost_sigterm_stops_a_run_at_its_next_progress_tick(installed: None) -> None:
    seen: list[int] = []
    ticks = _CallTicks(seen.append)
    ticks.put(10)
    _lose_a_sigterm()
    with pytest.raises(KeyboardInterrupt):
        ticks.put(10)
    assert seen == [10]


def test_a_lost_sigterm_stops_a_pool_after_its_next_result(installed: None) -> None:
    with PoolExecutor(2) as ex:
        results = ex.run(_double, range(20))
        assert next(results)[1] % 2 == 0
        _lose_a_sigterm()
        with pytest.raises(KeyboardInterrupt):
            list(results)


def test_other_unraisable_exceptions_still_reach_the_previous_hook(
    installed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[BaseException] = []
    monkeypatch.setattr(stop, "_previous_hook", lambda info: seen.append(info.exc_value))
    hook = stop._unraisable

    class Info:
        exc_value: BaseException = ValueError("from a finaliser")

    hook(Info())
    Info.exc_value = KeyboardInterrupt()
    hook(Info())  # no request remembered: passed on
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGTERM)
    hook(Info())  # a remembered request: dropped (check raises it again)
    assert [type(e) for e in seen] == [ValueError, KeyboardInterrupt]


def test_a_lost_sigterm_stops_a_calibration_before_its_next_simulation(installed: None) -> None:
    from sim.analysis.calibration import SimulateTargets

    _lose_a_sigterm()
    with pytest.raises(KeyboardInterrupt):  # (before the empty scenario could fail)
        SimulateTargets(base={}, priors={}, targets=())({})


def test_a_background_job_ignoring_sigint_keeps_ignoring_it(installed: None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop.install()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is stop._on_signal
