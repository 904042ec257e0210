"""Fuzzing the scenario loader (issue 17): mutations of the resolved baseline (wrong types,
non-finite and extreme numbers, renamed and deleted keys, odd YAML) are either refused with one
located message (file:line: key, exit code 2) or accepted, and then run at a coarse scale with
finite outputs.

In CI (``HYPOTHESIS_PROFILE=ci``) the examples are fixed; by hand every run tries new ones, as
many as ``PROPSIM_FUZZ_EXAMPLES`` says (a failure found that way is pinned with ``@example``).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.metrics import METRICS
from sim.scenario import load_scenario

# a metric that may be NaN says so in its description (and the means over no suspensions)
NAN_ALLOWED = tuple(m.name for m in METRICS if "NaN" in m.description) + (
    "mean_followers_suspended",
    "mean_lifetime_suspended",
)
BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"
COARSE = ["scale=5000", "end=2014-01-31", "warmup_days=5"]
BASE: dict[str, Any] = load_scenario(BASELINE, COARSE).model_dump(mode="python")


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*path, i))
    return out


PATHS = _paths(BASE)
ODD_VALUES = [
    float("inf"), float("-inf"), float("nan"), 1e308, -1e308, 5e-324, -1, 0, -0.0, 10**30,
    True, False, None, "text", "12:30:00", [], {}, [1, 2], "2015-13-01",
]  # fmt: skip
ODD_YAML = [
    "seed: 1:30\n",
    "scale: !!binary aGVsbG8=\n",
    "name: [\n",
    "\tname: x\n",
    "name: x\nname: y\n",
    "population: {users: 1e400}\n",
    "accounts: {operators: {accounts_per_operator: 12:30:00}}\n",
    "start: 0001-01-01\n",
    "seed: " + "9" * 5000 + "\n",
]


def _set(tree: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        tree = tree[part]
    tree[path[-1]] = value


def _delete(tree: Any, path: tuple[Any, ...]) -> None:
    for part in path[:-1]:
        tree = tree[part]
    del tree[path[-1]]


def _rename(tree: Any, path: tuple[Any, ...]) -> None:
    for part in path[:-1]:
        tree = tree[part]
    if isinstance(tree, dict):
        tree[f"{path[-1]}x"] = tree.pop(path[-1])
    else:
        tree[path[-1]] = {"renamed": tree[path[-1]]}


mutation = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(PATHS), st.sampled_from(ODD_VALUES)),
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("rename"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("yaml"), st.none(), st.sampled_from(ODD_YAML)),
)


def _text(kind: str, path: tuple[Any, ...] | None, value: Any) -> str:
    import copy

    tree = copy.deepcopy(BASE)
    if kind == "set":
        assert path is not None
        _set(tree, path, value)
    elif kind == "delete":
        assert path is not None
        _delete(tree, path)
    elif kind == "rename":
        assert path is not None
        _rename(tree, path)
    text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    return text + value if kind == "yaml" else text


def _small(sc: Any) -> bool:
    """Cheap enough to run here."""
    return sc.population.users / sc.scale <= 5_000 and sc.days <= 62 and sc.warmup_days <= 30


EXAMPLES = int(os.environ.get("PROPSIM_FUZZ_EXAMPLES", "15"))  # more by hand


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=mutation)
@example(m=("set", ("accounts", "operators", "recreate_delay_days"), -0.0))
@example(m=("set", ("population", "follow_prob"), False))
@example(m=("yaml", None, ODD_YAML[6]))
def test_a_mutated_baseline_is_refused_clearly_or_runs_finite(
    m: tuple[str, tuple[Any, ...] | None, Any],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_text(_text(*m), encoding="utf-8")
        try:
            sc = load_scenario(path)
        except ScenarioError as err:
            assert err.exit_code == 2
            first = str(err).splitlines()[0]
            assert re.match(rf"{re.escape(str(path))}:\d+: ", first), first
            assert "Traceback" not in str(err)
            return
    if not _small(sc):
        return
    from sim.core.model import simulate

    daily = simulate(sc, 1).select_dtypes("number")
    values = daily.to_numpy(dtype=float)
    assert not np.isinf(values).any()
    nan_columns = [c for c in daily.columns if daily[c].isna().any()]
    assert all(c.rsplit(".", 1)[-1] in NAN_ALLOWED for c in nan_columns), nan_columns
