"""``sim.analysis.sweep_plots``: heat maps state their scale and the noise."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis import sweep_plots as sp


def grid_runs(slope: float, noise: float, reps: int = 5, seed: int = 0) -> pd.DataFrame:
    """A 3x3 grid of keys a, b; traffic_ratio = 1 + slope * a + noise per replicate."""
    rng = np.random.default_rng(seed)
    rows = []
    for point, (a, b) in enumerate(itertools.product([0.0, 1.0, 2.0], [10.0, 20.0, 30.0])):
        for r in range(reps):
            rows.append({"point": point, "replicate": r, "a": a, "b": b,
                         "traffic_ratio": 1 + slope * a + noise * rng.standard_normal(),
                         "total_recruits": 100.0 * (a + 1) + b})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_spread_smaller_than_the_noise_is_hatched_everywhere() -> None:
    """0.3% differences between cells under 1% noise: every cell is within the noise."""
    table, noise, within = sp.heatmap_noise(
        grid_runs(0.0015, 0.01, reps=20), "a", "b", "traffic_ratio"
    )
    assert table.shape == (3, 3)
    assert 0.01 < noise < 0.05
    assert within.to_numpy().all()
    text = sp.noise_text(noise, table.to_numpy())
    assert text.startswith("noise (median 5-95% over replicates): ")
    share = float(text.rsplit("= ", 1)[1].split("%")[0])
    assert share > 100  # the noise is wider than the whole colour range


def test_clear_differences_are_not_hatched() -> None:
    table, noise, within = sp.heatmap_noise(grid_runs(0.5, 0.01), "a", "b", "traffic_ratio")
    assert not within.loc[0.0].any() and not within.loc[2.0].any()
    assert within.loc[1.0].all()  # the middle row is the panel's middle


def test_one_replicate_has_no_noise_and_no_hatching() -> None:
    table, noise, within = sp.heatmap_noise(grid_runs(0.1, 0.01, reps=1), "a", "b", "traffic_ratio")
    assert math.isnan(noise) and not within.to_numpy().any()
    assert sp.noise_text(noise, table.to_numpy()) == "noise unknown (one replicate per cell)"


@settings(max_examples=25, deadline=None)
@given(st.floats(0, 2), st.floats(0.001, 1), st.integers(2, 6))
def test_hatched_cells_are_exactly_those_within_half_the_noise(
    slope: float, noise: float, reps: int
) -> None:
    table, spread, within = sp.heatmap_noise(
        grid_runs(slope, noise, reps), "a", "b", "traffic_ratio"
    )
    centre = np.median(table.to_numpy())
    expected = np.abs(table.to_numpy() - centre) <= spread / 2
    assert (within.to_numpy() == expected).all()


def test_heat_maps_are_drawn(tmp_path: Path) -> None:
    paths = sp.make_sweep_plots(grid_runs(0.01, 0.01), ["a", "b"], True, tmp_path)
    assert [p.name for p in paths] == ["heatmaps.png"]
    assert paths[0].read_bytes().startswith(b"\x89PNG")
    assert sp.UNITS["total_recruits"] == "users"


@pytest.mark.parametrize("keys", [["a"]])
def test_one_key_lines_are_drawn(tmp_path: Path, keys: list[str]) -> None:
    runs = grid_runs(0.01, 0.01)
    runs = runs[runs["b"] == 10.0]
    assert [p.name for p in sp.make_sweep_plots(runs, keys, True, tmp_path)] == ["outcomes.png"]
