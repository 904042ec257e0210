"""``sim.analysis.observed``: true counterparts of observed outcomes and the artefact note."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_results import fake_simulate, tiny_scenario

from sim.analysis import compare_plots, observed
from sim.metrics import summarize


@pytest.mark.parametrize("seed", [1, 2])
def test_ratio_outcomes_use_the_formulas_of_summarize(seed: int) -> None:
    """On the observed columns they give summarize's observed outcomes exactly."""
    scenario = tiny_scenario()
    daily = fake_simulate(scenario.model_copy(deep=True), seed)
    expected = summarize(daily, ["twitter"], ["telegram"])
    got = observed.ratio_outcomes(
        pd.DatetimeIndex(daily.index),
        daily["twitter.pro_posts_observed"].to_numpy(dtype=float),
        daily["twitter.anti_posts_observed"].to_numpy(dtype=float),
    )
    for name, value in got.items():
        assert value == expected[name] or (math.isnan(value) and math.isnan(expected[name]))


def test_with_true_puts_each_true_outcome_after_its_observed_one() -> None:
    outcomes = ["traffic_ratio", "total_recruits", "posts_observed_last90", "pro_posts_true_last90"]
    available = [*outcomes, "traffic_ratio_true"]
    assert observed.with_true(outcomes, available) == [
        "traffic_ratio",
        "traffic_ratio_true",
        "total_recruits",
        "posts_observed_last90",
        "pro_posts_true_last90",
    ]


def table(obs: float, true: float) -> pd.DataFrame:
    rows = []
    for outcome, d in (("traffic_ratio", obs), ("traffic_ratio_true", true), ("x", 1.0)):
        rows.append({"arm": "counter", "outcome": outcome, "diff_median": d,
                     "base_median": 1.0, "base_q05": 0.9, "base_q95": 1.1,
                     "ratio_median": 1 + d, "ratio_q05": 1 + d - 0.01, "ratio_q95": 1 + d + 0.01,
                     "within_noise": False, "within_spread": True})  # fmt: skip
    return pd.DataFrame(rows)


def test_opposite_moves_get_a_note_that_explains_the_classifier() -> None:
    t = observed.annotate(table(0.02, -0.05))
    row = t.set_index("outcome").loc["traffic_ratio"]
    assert row["true_outcome"] == "traffic_ratio_true" and row["opposite_to_true"]
    assert not t.set_index("outcome").loc["x", "opposite_to_true"]
    (note,) = observed.artefact_notes(t, "counter")
    assert note.startswith("Note: traffic_ratio rises while traffic_ratio_true falls: ")
    assert "observation.pro_false_positive" in note
    assert observed.artefact_notes(observed.annotate(table(0.02, 0.05)), "counter") == []


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_opposite_is_a_strict_sign_disagreement(a: float, b: float) -> None:
    assert observed.opposite(a, b) == ((a > 0 and b < 0) or (a < 0 and b > 0))


def test_the_forest_plot_draws_the_noise_and_the_artefact(tmp_path) -> None:
    t = observed.annotate(table(0.02, -0.05))
    path = compare_plots.forest_plot(t, ["base", "counter"], "bands: 5-95% over 3", tmp_path)
    assert path.read_bytes().startswith(b"\x89PNG")
    assert compare_plots.spread_percent(t.iloc[0]) == pytest.approx(10.0)
    assert compare_plots.marker_style(t.iloc[0], "C1") == {"mfc": "C1", "fillstyle": "left"}
    noisy = t.iloc[0].copy()
    noisy["within_noise"] = True
    assert compare_plots.marker_style(noisy, "C1")["mfc"] == "white"
    assert np.isnan(compare_plots.spread_percent(t.iloc[0].replace({1.0: 0.0})))
