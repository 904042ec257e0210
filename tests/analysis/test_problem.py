"""``sim.analysis.problem``: which scenario the calibration targets are drawn on.

(Loading and validating targets and priors: ``tests/analysis/test_calibration.py``.)
"""

from __future__ import annotations

from sim.analysis.problem import SAME_FIT_KEYS, fit_differences, load_targets, targets_for
from sim.analysis.report import baseline_data
from sim.config.resources import shipped
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
