"""Fixed-seed regression guard: the baseline at 1:100, seed 1, against stored figures.

The expected figures are in ``tests/regression/baseline_summary.json``, written by
``tests/regression/make_baseline.py`` (read its docstring before regenerating: only for an
intended and explained change of model results). Same machine, same libraries: bit-identical
results are expected, hence the relative tolerance of 1e-9.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "regression" / "make_baseline.py"
EXPECTED = HERE / "regression" / "baseline_summary.json"


def _load_script():
    spec = importlib.util.spec_from_file_location("make_baseline", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return _load_script()


@pytest.fixture(scope="module")
def expected(script) -> dict[str, float]:
    doc = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert doc["seed"] == script.SEED and doc["overrides"] == script.OVERRIDES
    return {k: script.from_json(v) for k, v in doc["values"].items()}


def test_baseline_results_are_unchanged(script, expected: dict[str, float]) -> None:
    got = script.compute()
    assert sorted(got) == sorted(expected), "the guarded figures changed; regenerate on purpose"
    changed = {
        k: (expected[k], got[k])
        for k in expected
        if not (
            (math.isnan(expected[k]) and math.isnan(got[k]))
            or math.isclose(got[k], expected[k], rel_tol=1e-9, abs_tol=0.0)
        )
    }
    assert not changed, (
        "baseline results changed (expected, got); if intended, regenerate with "
        f"`python tests/regression/make_baseline.py` and explain why: {changed}"
    )


def test_guard_is_meaningful(expected: dict[str, float]) -> None:
    """The stored figures describe a run where things happen (not an all-zero table)."""
    assert expected["summary.peak_active_accounts"] > 0
    assert expected["summary.total_suspensions"] > 0
    assert expected["mean.twitter.pro_posts_observed.2014-04-01..2014-06-30"] > 0
    assert sum(not math.isnan(v) for v in expected.values()) >= len(expected) - 1
