"""``sim.analysis.design``: parsing --vary texts, grids and Latin hypercubes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis import design as d

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(finite, finite, st.integers(2, 50))
def test_range_has_count_evenly_spaced_values_with_both_ends(a: float, b: float, n: int) -> None:
    if math.isclose(a, b, abs_tol=1e-6):
        return
    values = d.parse_values(f"{a!r}:{b!r}:{n}")
    assert len(values) == n
    assert values[0] == pytest.approx(a, rel=1e-9, abs=1e-9)
    assert values[-1] == pytest.approx(b, rel=1e-9, abs=1e-9)
    steps = np.diff(np.array(values, dtype=float))
    assert np.allclose(steps, steps[0], rtol=1e-6, atol=1e-6 * max(abs(a), abs(b), 1))


def test_range_drops_floating_noise_and_keeps_whole_numbers() -> None:
    assert d.parse_values("0.1:0.5:5") == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert d.parse_values("10:50:5") == (10, 20, 30, 40, 50)
    assert all(isinstance(v, int) for v in d.parse_values("10:50:5"))


@given(
    st.lists(st.one_of(finite, st.integers(-(10**6), 10**6)), min_size=1, max_size=8, unique=True)
)
def test_list_round_trips_through_value_text(values: list[float]) -> None:
    text = ",".join(d.value_text(v) for v in values)
    parsed = d.parse_values(text)
    assert [float(v) for v in parsed] == [float(v) for v in values]
    # and each value reads back through YAML (as --set reads it) unchanged
    assert [yaml.safe_load(d.value_text(v)) for v in parsed] == list(parsed)


def test_list_items_keep_their_yaml_types() -> None:
    import datetime as dt

    assert d.parse_values("2015-06-30,2016-06-30") == (dt.date(2015, 6, 30), dt.date(2016, 6, 30))
    assert d.parse_values("1,2.5,true") == (1, 2.5, True)


@given(
    st.lists(
        st.lists(st.integers(0, 99), min_size=1, max_size=5, unique=True), min_size=1, max_size=4
    )
)
def test_grid_is_every_combination_once(value_lists: list[list[int]]) -> None:
    varies = [d.Vary(f"k{i}", tuple(v)) for i, v in enumerate(value_lists)]
    points = d.grid_points(varies)
    assert len(points) == math.prod(len(v) for v in value_lists)
    assert len({tuple(p.values()) for p in points}) == len(points)
    assert all(list(p) == [f"k{i}" for i in range(len(value_lists))] for p in points)
    # the last key varies fastest
    if len(points) > 1 and len(value_lists[-1]) > 1:
        assert points[0][f"k{len(value_lists) - 1}"] != points[1][f"k{len(value_lists) - 1}"]


@settings(deadline=None)  # the first example imports scipy.stats.qmc
@given(st.integers(1, 4), st.integers(1, 40), st.integers(0, 2**31))
def test_lhs_has_one_point_in_every_stratum_of_every_key(dims: int, n: int, seed: int) -> None:
    varies = [d.Vary(f"k{i}", bounds=(float(i), float(i) + 2.0)) for i in range(dims)]
    points = d.lhs_points(varies, n, seed)
    assert len(points) == n
    for i in range(dims):
        x = np.array([p[f"k{i}"] for p in points])
        assert np.all((x >= i) & (x < i + 2.0))
        strata = np.floor((x - i) / 2.0 * n).astype(int)
        assert sorted(strata) == list(range(n))
    assert d.lhs_points(varies, n, seed) == points  # reproducible from the seed


def test_lhs_depends_on_the_seed() -> None:
    varies = [d.Vary("a", bounds=(0.0, 1.0)), d.Vary("b", bounds=(0.0, 1.0))]
    assert d.lhs_points(varies, 8, 1) != d.lhs_points(varies, 8, 2)


@pytest.mark.parametrize(
    "text, design, fragment",
    [
        ("novalue", "grid", "expected key=VALUES"),
        ("a.b=", "grid", "expected key=VALUES"),
        ("a..b=1", "grid", "expected key=VALUES"),
        ("a=1:2", "grid", "start:stop:count"),
        ("a=1:x:3", "grid", "'x' is not a number"),
        ("a=1:2:0", "grid", "between 1"),
        ("a=1:2:2.5", "grid", "not a whole number"),
        ("a=1,,2", "grid", "empty item"),
        ("a=1,1", "grid", "listed twice"),
        ("a=1,.nan", "grid", "finite"),
        ("a=1,2", "lhs", "bounds lo:hi"),
        ("a=2:1", "lhs", "lower bound must be below"),
        ("a=0:inf", "lhs", "finite"),
    ],
)
def test_bad_vary_texts_say_what_is_wrong(text: str, design: d.Design, fragment: str) -> None:
    with pytest.raises(d.DesignError, match="--vary") as err:
        d.parse_vary(text, design)
    assert fragment in str(err.value)


@given(st.text(max_size=30), st.sampled_from(["grid", "lhs"]))
def test_any_text_parses_or_gives_a_design_error(text: str, design: d.Design) -> None:
    try:
        vary = d.parse_vary(text, design)
    except d.DesignError as err:
        assert str(err)
    else:
        assert vary.key and "=" in text


def test_a_key_varied_twice_is_refused() -> None:
    with pytest.raises(d.DesignError, match="varied twice"):
        d.parse_varies(["a=1,2", "a=3"], "grid")
    with pytest.raises(d.DesignError, match="at least one"):
        d.parse_varies([], "grid")


def test_huge_grids_are_refused() -> None:
    varies = [d.Vary(f"k{i}", tuple(range(100))) for i in range(3)]
    with pytest.raises(d.DesignError, match="more than"):
        d.grid_points(varies)
