"""Replicate runner (``sim.execution.runner``): seeds, the process pool, the daily-table
contract."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import make_scenario

from sim.execution.runner import replicate_seeds, run_replicates


def test_replicate_seeds_are_consecutive() -> None:
    assert replicate_seeds(7, 3) == [7, 8, 9]


def test_a_pool_of_workers_gives_the_same_replicates_as_one_process() -> None:
    scenario = make_scenario(end="2015-02-28")
    alone = run_replicates(scenario, 3, seed=11, progress=False, workers=1)
    pooled = run_replicates(scenario, 3, seed=11, progress=False, workers=2)
    assert len(pooled) == 3
    for a, b in zip(alone, pooled, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    # and the replicates differ from each other (different seeds)
    assert not alone[0].equals(alone[1])


@pytest.mark.parametrize("bad", [{"replicates": 0}, {"workers": 0}])
def test_bad_counts_are_refused(bad: dict[str, int]) -> None:
    args = {"replicates": 1, "workers": 1} | bad
    with pytest.raises(ValueError, match="at least 1"):
        run_replicates(make_scenario(), args["replicates"], 1, False, args["workers"])
