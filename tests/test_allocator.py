"""The allocator settings (``sim.core.allocator``): applied once, where glibc is, and by the
model."""

from __future__ import annotations

import ctypes
import sys

import pytest

from sim.core import allocator
from sim.core.model import PropagandaModel
from sim.scenario import Scenario


def test_tune_is_idempotent() -> None:
    first = allocator.tune()
    assert allocator.tune() is first


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL(None), "mallopt"),
    reason="glibc only",
)
def test_tune_takes_on_glibc() -> None:
    assert allocator.tune() is True


def test_model_applies_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(allocator, "tune", lambda: calls.append(True) or True)
    PropagandaModel(Scenario(scale=1000), seed=0)
    assert calls == [True]
