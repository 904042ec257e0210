"""``sim.analysis.problem``: which scenario the calibration targets are drawn on, and the
reductions of issue 15 (distinct accounts, max, plus, all platforms).

(Loading and validating targets and priors: ``tests/analysis/test_calibration.py``.)
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.analysis.problem import SAME_FIT_KEYS, Target, fit_differences, load_targets, targets_for
from sim.analysis.report import baseline_data
from sim.config.resources import shipped
from sim.metrics import distinct_accounts
from sim.scenario import load_scenario


def dump(name: str, sets: list[str] | None = None) -> dict[str, object]:
    return dict(
        load_scenario(shipped(f"scenarios/{name}.yaml"), sets or []).model_dump(mode="json")
    )


def test_the_baseline_at_another_scale_seed_or_end_gets_the_targets() -> None:
    fitted = baseline_data()
    assert fitted is not None
    targets = load_targets()
    run = dump("baseline", ["scale=400", "seed=9", "replicates=2", "end=2015-06-30", "name=b2"])
    drawn, why = targets_for(run, fitted, targets)
    assert [t.id for t in drawn] == [t.id for t in targets] and why == []
    assert {"scale", "seed", "end", "name"} <= SAME_FIT_KEYS


def test_a_counterfactual_gets_no_targets_and_says_why() -> None:
    fitted = baseline_data()
    targets = load_targets()
    assert fitted is not None
    value = fitted["population"]["pro_effect"]  # type: ignore[index]
    sets = [f"population.pro_effect={value * 2}"]
    drawn, why = targets_for(dump("baseline", sets), fitted, targets)
    assert drawn == [] and why == [f"population.pro_effect: {value} -> {value * 2}"]
    drawn, why = targets_for(dump("hub_removal"), fitted, targets)
    assert drawn == [] and any(w.startswith("timeline:") for w in why)
    drawn, why = targets_for(dump("no_countermeasures"), fitted, targets)
    assert drawn == [] and why
    assert targets_for(dump("baseline"), None, targets)[0] == []


def test_fit_differences_of_a_scenario_with_itself_are_empty() -> None:
    data = dump("hub_removal")
    assert fit_differences(data, data) == []


# --- the reductions of issue 15 (distinct accounts, max, plus, all platforms) ----------------


DAYS = pd.date_range("2014-08-31", periods=5, freq="D")
WINDOW = [[dt.date(2014, 9, 1), dt.date(2014, 9, 4)]]


def target(**kw: object) -> Target:
    base = {"id": "t", "label": "t", "metric": "active_accounts", "reduce": "mean"}
    base |= {"windows": WINDOW, "value": 1.0, "tolerance": 1.0, "source": "test"}
    return Target.model_validate(base | kw)


def table() -> pd.DataFrame:
    """Two open platforms and two encrypted ones over five days (the first before the window)."""
    return pd.DataFrame(
        {
            "twitter.active_accounts": [100.0, 90.0, 95.0, 80.0, 85.0],
            "twitter.new_accounts_fresh": [9.0, 1.0, 2.0, 0.0, 3.0],
            "twitter.new_accounts_recreated": [9.0, 4.0, 0.0, 5.0, 1.0],
            "twitter.pro_posts_true": [1.0, 10.0, 20.0, 30.0, 40.0],
            "other.active_accounts": [10.0, 10.0, 10.0, 10.0, 10.0],
            "other.new_accounts_fresh": [0.0, 1.0, 0.0, 0.0, 0.0],
            "other.new_accounts_recreated": [0.0, 0.0, 0.0, 0.0, 0.0],
            "other.pro_posts_true": [0.0, 1.0, 1.0, 1.0, 1.0],
            "telegram.largest_channel": [0.0, 5.0, 70.0, 20.0, np.nan],
            "tg2.largest_channel": [0.0, 50.0, 10.0, 90.0, 99.0],
        },
        index=DAYS,
    )


def test_distinct_accounts_are_the_active_before_plus_every_account_opened() -> None:
    d = table()
    t = target(reduce="distinct")
    # active on 31 August (100) + opened 1-4 Sep: fresh 1+2+0+3, re-created 4+0+5+1
    assert t.simulate(d, "twitter") == 100 + 6 + 10
    assert t.simulate(d, "twitter") == distinct_accounts(d, "twitter", *WINDOW[0])
    # the mean active on a day is another, smaller quantity
    assert target().simulate(d, "twitter") == pytest.approx(87.5)
    both = target(reduce="distinct", platforms="all")
    assert both.simulate(d, "twitter") == 116 + 10 + 1


def test_distinct_without_the_day_before_the_window_is_nan() -> None:
    assert np.isnan(target(reduce="distinct").simulate(table().iloc[1:], "twitter"))


def test_plus_adds_metrics_day_by_day() -> None:
    t = target(metric="new_accounts_fresh", plus=["new_accounts_recreated"], reduce="sum")
    assert t.simulate(table(), "twitter") == 6 + 10


def test_all_platforms_add_up_and_max_takes_the_largest() -> None:
    d = table()
    assert target(metric="pro_posts_true").simulate(d, "twitter") == 25.0
    assert target(metric="pro_posts_true", platforms="all").simulate(d, "twitter") == 26.0
    # an encrypted metric takes every encrypted platform; max: the largest channel anywhere
    assert target(metric="largest_channel", reduce="max").simulate(d, "twitter") == 99.0
    only_tg = d.drop(columns="tg2.largest_channel")
    assert target(metric="largest_channel", reduce="max").simulate(only_tg, "twitter") == 70.0


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"reduce": "distinct", "metric": "suspensions"}, "metric: active_accounts"),
        ({"plus": ["largest_channel"]}, "only metrics of one scope"),
        ({"plus": ["no_such_metric"]}, "unknown metric"),
        ({"reduce": "max", "weight": "suspensions"}, "weighted mean"),
        ({"platforms": "all", "weight": "suspensions"}, "no weight"),
        ({"platforms": "some"}, "platforms"),
    ],
)
def test_bad_reductions_are_refused(kw: dict, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        target(**kw)


@given(st.lists(st.floats(0, 1e6), min_size=5, max_size=5), st.floats(0, 1e6))
def test_max_is_never_below_the_mean(values: list[float], before: float) -> None:
    d = pd.DataFrame({"twitter.pro_posts_true": [before, *values[1:]]}, index=DAYS)
    top = target(metric="pro_posts_true", reduce="max").simulate(d, "twitter")
    mean = target(metric="pro_posts_true").simulate(d, "twitter")
    assert top >= mean - 1e-9 * max(1.0, top)
