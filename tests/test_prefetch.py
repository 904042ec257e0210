"""The prefetch hint (``sim.core.prefetch``): changes no value, never faults, takes 1-d arrays
only."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from sim.core.prefetch import AHEAD, prefetch


@njit
def _sum_with_hints(values, order):  # pragma: no cover - compiled
    total = 0.0
    n = len(order)
    for i in range(n):
        # hints beyond the end of the array, and far outside it, on purpose: never a fault
        prefetch(values, order[i] + AHEAD)
        prefetch(values, -(1 << 40))
        total += values[order[i]]
    return total


@njit
def _hint_2d(values):  # pragma: no cover - compiled
    prefetch(values, 0)


def test_hints_change_nothing() -> None:
    rng = np.random.default_rng(3)
    values = rng.random(1000)
    before = values.copy()
    order = rng.integers(0, values.size, 5000)
    assert _sum_with_hints(values, order) == pytest.approx(values[order].sum(), rel=1e-12)
    np.testing.assert_array_equal(values, before)


def test_two_dimensional_arrays_are_refused() -> None:
    with pytest.raises(TypingError):
        _hint_2d(np.zeros((3, 2)))
