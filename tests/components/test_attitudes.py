"""Attitudes' metrics under audience churn (``sim.components.attitudes``): reach counts the
current audience only, recruits stay a flow of users passing ``supporter_above``, and the
metric descriptions say what a recruit is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario

from sim.components.attitudes import Attitudes
from sim.core.model import simulate

STATES = ["opposed", "neutral", "sympathizers", "supporters"]


@pytest.fixture(scope="module")
def churned() -> pd.DataFrame:
    return simulate(make_scenario(end="2015-02-28", audience__churn_per_day=0.02), 4)


def test_reach_and_states_count_the_current_audience(churned: pd.DataFrame) -> None:
    users = make_scenario().population.users
    np.testing.assert_allclose(churned[STATES].sum(axis=1), users)
    assert (churned["users_reached"] <= churned["users_reached_30d"]).all()
    assert (churned["users_reached_30d"] <= users).all()


def test_recruits_are_a_flow_that_leavers_do_not_undo(churned: pd.DataFrame) -> None:
    np.testing.assert_array_equal(churned["cumulative_recruits"], churned["new_recruits"].cumsum())
    assert (churned["new_recruits"] >= 0).all()
    # supporters leave with the audience: the stock grows by less than the recruits
    grown = churned["supporters"].iloc[-1] - churned["supporters"].iloc[0]
    assert grown < churned["new_recruits"].iloc[1:].sum()


def test_descriptions_say_what_a_recruit_is() -> None:
    text = {m.name: m.description for m in Attitudes.metrics}
    for name in ("new_recruits", "supporters", "cumulative_recruits"):
        assert "online supporter" in text[name]
    assert "not fighters" in text["new_recruits"] or "not fighters" in text["supporters"]
    assert "current at-risk audience" in text["users_reached_30d"]
