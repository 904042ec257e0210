"""No invalid number reaches the model (issue 17.2, 17.3, 17.4, 17.12).

- Every numeric field of the assembled scenario schema (``sim.scenario.Scenario``: the base and
  every component's section and timeline event kinds, whoever added them) has finite lower and
  upper bounds.
- NaN, infinities, overflowing and denormal numbers, ``true``/``false`` and YAML 1.1 base-60
  numbers are refused wherever a number is meant, with the key in the message.
- Seeds, dates and run lengths are bounded; a run that would not fit in memory is refused with
  the estimate and the finest scale that fits.
"""

from __future__ import annotations

import math
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sim.config import memory
from sim.config.schema import finite_bounds
from sim.errors import ScenarioError
from sim.scenario import Scenario, load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


def _models(tp: Any) -> Iterator[type[BaseModel]]:
    if get_origin(tp) is Annotated:
        yield from _models(get_args(tp)[0])
    elif get_origin(tp) in (Union, types.UnionType, list, dict, tuple):
        for arg in get_args(tp):
            yield from _models(arg)
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        yield tp


def _all_models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [Scenario]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.append(model)
        for info in model.model_fields.values():
            todo.extend(_models(info.annotation))
    return seen


def test_every_number_of_the_schema_has_finite_bounds() -> None:
    models = _all_models()
    assert len(models) > 10  # the walk reaches the components' sections and events
    missing = [
        f"{model.__name__}.{name}: [{lo}, {hi}]"
        for model in models
        for name, (lo, hi) in finite_bounds(model).items()
        if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi)))
    ]
    assert not missing, (
        "numbers without finite bounds (add ge=/le= to their P(...)):\n" + "\n".join(missing)
    )


def _numeric_keys() -> list[str]:
    """Dotted keys of every number in the resolved baseline (timeline values included)."""
    found: list[str] = []

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, [*path, str(k)])
        elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
            for i, v in enumerate(node):
                walk(v, [*path, str(i)])
        elif isinstance(node, int | float) and not isinstance(node, bool):
            found.append(".".join(path))

    walk(load_scenario(BASELINE).model_dump(mode="python"), [])
    return found


NUMERIC_KEYS = _numeric_keys()
BAD_NUMBERS = [".inf", "-.inf", ".nan", "1e400", "-1e400", "1e308", "-1e308", "true", "12:30:00"]


def _refused(overrides: list[str]) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, overrides)
    assert info.value.exit_code == 2
    return str(info.value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(NUMERIC_KEYS), value=st.sampled_from(BAD_NUMBERS))
def test_no_invalid_number_reaches_the_model(key: str, value: str) -> None:
    message = _refused([f"{key}={value}"])
    assert key in message or f"--set {key}={value}" in message


@pytest.mark.parametrize(
    "override",
    [
        "population.users=.inf",
        "accounts.operators.recreate_delay_days=.inf",
        "timeline.2.accounts=.inf",
        "population.follow_budget=1e-320",
        "timeline.0.values.accounts.operators.inflow_per_day=.inf",
        "counter.government_english.followers=1e308",
        "platforms.twitter.discovery=.inf",
        "population.share_reach=1e308",
        "accounts.posting.multiplier=1e308",
        "scale=.inf",
        "scale=1e400",
        "scale=1e308",
        "accounts.operators.accounts_per_operator=12:30:00",
        "population.follow_prob=false",
        "seed=1:30",
        "seed=1180591620717411303424",
        f"seed={'7' * 5000}",
        "start=0001-01-01",
        "end=9999-12-31",
        "accounts.posting.knots=[0.05, 1, 5, 50, .inf]",
        "accounts.posting.shares=[.nan, 0.29, 0.287, 0.023]",
        "timeline.0.values.population.share_prob=true",
    ],
)
def test_the_reported_bad_numbers_are_refused_with_their_key(override: str) -> None:
    key = override.partition("=")[0]
    message = _refused([override])
    assert key in message
    assert "Traceback" not in message


def test_minus_zero_is_zero() -> None:
    sc = load_scenario(BASELINE, ["accounts.operators.recreate_delay_days=-0.0", "scale=400"])
    assert math.copysign(1, sc.accounts.operators.recreate_delay_days) == 1


def test_yaml_numbers_follow_yaml_1_2(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        f"extends: {BASELINE}\nseed: 012\nscale: 4e2\naccounts:\n  operators:\n"
        "    accounts_per_operator: 12:30:00  # base 60 in YAML 1.1\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "s.yaml:6: accounts.operators.accounts_per_operator: expected a number" in str(
        info.value
    )
    path.write_text(f"extends: {BASELINE}\nseed: 012\nscale: 4e2\n")
    sc = load_scenario(path)
    assert (sc.seed, sc.scale) == (12, 400.0)


def test_seeds_dates_and_run_length_are_bounded() -> None:
    assert "must be <=" in _refused(["seed=4294967296"])
    assert "must be >=" in _refused(["start=1999-12-31"])
    assert "3653" in _refused(["start=2000-01-01", "end=2030-01-01"])
    assert "simulated users" in _refused(["scale=1000000"])


def test_a_run_that_does_not_fit_in_memory_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "available_bytes", lambda: 2 * 2**30)
    message = _refused(["population.users=1e9", "scale=1"])
    assert "--set scale=1" in message and "GiB of memory" in message
    assert "the finest scale that fits is" in message
    scale = float(message.rsplit("fits is ", 1)[1].rstrip(")"))
    load_scenario(BASELINE, ["population.users=1e9", f"scale={scale:g}"])  # and it does


def test_the_command_line_seed_is_bounded_like_the_schema() -> None:
    import argparse

    from sim.cli.common import MAX_SEED as CLI_MAX_SEED
    from sim.cli.common import seed
    from sim.config.schema import MAX_SEED

    assert CLI_MAX_SEED == MAX_SEED
    assert seed(str(MAX_SEED)) == MAX_SEED
    for text in [str(MAX_SEED + 1), "1180591620717411303424", "7" * 5000, "-1", "1:30"]:
        with pytest.raises(argparse.ArgumentTypeError):
            seed(text)
