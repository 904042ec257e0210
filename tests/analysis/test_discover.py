"""Scenario discovery (``sim.analysis.discover``): PRIM recovers a known box, its statistics are
shares, replicates are reduced as documented, and bad input is refused before anything is
written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.analysis import discover as d
from sim.errors import BadInput, FolderError

# The analytic ground truth: outcome = max(x1 - 0.3, 0.6 - x2) is below 0 exactly where
# x1 < 0.3 and x2 > 0.6; x3 plays no part.
X1_HIGH, X2_LOW = 0.3, 0.6
TOLERANCE = 0.03


def _uniform_design(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({k: rng.uniform(0, 1, n) for k in ("x1", "x2", "x3")})


def _outcome(x: pd.DataFrame) -> np.ndarray:
    return np.maximum(x["x1"] - X1_HIGH, X2_LOW - x["x2"]).to_numpy()


def test_prim_recovers_the_known_box() -> None:
    x = _uniform_design()
    found = d.prim_boxes(x, _outcome(x) < 0)
    box = found.box
    lim = {lim.key: lim for lim in box.limits}
    assert box.coverage >= 0.95 and box.density >= 0.95
    assert abs(lim["x1"].high - X1_HIGH) < TOLERANCE and lim["x1"].low == lim["x1"].full_low
    assert abs(lim["x2"].low - X2_LOW) < TOLERANCE and lim["x2"].high == lim["x2"].full_high
    assert box.restricted == ["x1", "x2"] and not lim["x3"].restricted
    assert lim["x1"].significant and lim["x2"].significant and not lim["x3"].significant
    assert lim["x1"].qp < 1e-6 and np.isnan(lim["x3"].qp)
    # the box's own membership agrees with PRIM's counts
    inside = d.in_box(x, box)
    assert inside.sum() == box.n and (inside & (_outcome(x) < 0)).sum() == box.k


def test_above_is_the_complement_and_the_table_says_so() -> None:
    x = _uniform_design(400, seed=5)
    runs = x.assign(point=range(len(x)), replicate=0, seed=1, y=_outcome(x))
    cond = d.Condition("y", "above", 0.0)
    table = d.design_table(runs, ["x1", "x2", "x3"], cond)
    assert table["meets"].sum() == (_outcome(x) > 0).sum()
    found = d.prim_boxes(table[["x1", "x2", "x3"]], table["meets"].to_numpy())
    assert found.box.density > 0.9 and found.box.coverage >= 0.8
    text = d.summary_text(found, cond, table)
    assert "y above 0" in text and "<- chosen" in text and "x1" in text


def test_a_text_key_is_peeled_by_value() -> None:
    rng = np.random.default_rng(8)
    n = 300
    x = pd.DataFrame({"platform": rng.choice(["a", "b", "c"], n), "x1": rng.uniform(0, 1, n)})
    y = (x["platform"] == "a") & (x["x1"] < 0.5)
    found = d.prim_boxes(x, y.to_numpy())
    lim = {lim.key: lim for lim in found.box.limits}
    assert lim["platform"].values == ("a",) and lim["platform"].full_values == ("a", "b", "c")
    assert lim["platform"].restricted and lim["platform"].text() == "{a}"
    assert abs(lim["x1"].high - 0.5) < 0.05
    assert found.box.density > 0.95


def test_the_chosen_box_is_the_densest_with_enough_coverage() -> None:
    assert d.choose_box([1.0, 0.9, 0.7], [0.2, 0.5, 0.9], 0.8) == 1
    assert d.choose_box([1.0, 0.9, 0.7], [0.2, 0.5, 0.9], 0.6) == 2
    assert d.choose_box([1.0, 0.9, 0.85], [0.2, 0.5, 0.5], 0.8) == 1  # ties: the first
    x = _uniform_design(200)
    y = _outcome(x) < 0
    found = d.prim_boxes(x, y, box=0)
    assert found.chosen == 0 and found.box.restricted == []
    with pytest.raises(BadInput, match="--box 9999: the peeling trajectory has boxes 0 to"):
        d.prim_boxes(x, y, box=9999)
    main = d.prim_boxes(x, y).main_points(limit=5)
    assert main[0] == 0 and len(main) <= 5


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(10, 60),
    keys=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    share=st.floats(0.05, 1.0),
)
def test_coverage_and_density_are_shares_and_the_full_box_covers_everything(
    n: int, keys: int, seed: int, share: float
) -> None:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({f"k{i}": rng.uniform(0, 1, n) for i in range(keys)})
    y = rng.uniform(0, 1, n) < share
    y[rng.integers(n)] = True  # at least one case of interest
    found = d.prim_boxes(x, y)
    for box in found.trajectory:
        assert 0 <= box.coverage <= 1 and 0 <= box.density <= 1 and 0 < box.mass <= 1
        assert box.k <= box.n and box.k <= found.interest
    full = found.trajectory[0]
    assert full.coverage == 1 and full.mass == 1 and full.restricted == []
    assert full.density == pytest.approx(y.mean())
    assert 0 <= found.chosen < len(found.trajectory)
    assert found.box.coverage >= 0.8 - 1e-12
    assert d.in_box(x, found.box).sum() == found.box.n


def test_every_row_of_interest_gives_the_full_box() -> None:
    x = _uniform_design(50)
    found = d.prim_boxes(x, np.ones(50, dtype=bool))
    assert found.box.coverage == 1 and found.box.density == 1 and found.box.restricted == []


def test_nothing_of_interest_is_refused() -> None:
    with pytest.raises(BadInput, match="no row meets the condition"):
        d.prim_boxes(_uniform_design(20), np.zeros(20, dtype=bool))


# --- replicates and the design table -----------------------------------------------------------


def _runs(points: int = 12, replicates: int = 3) -> pd.DataFrame:
    rows = []
    for p in range(points):
        for r in range(replicates):
            rows.append({"point": p, "a": p / 10, "b": "x" if p % 2 else "y", "replicate": r,
                         "seed": 1 + r, "out": p * 10 + r * 4})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_point_meets_the_condition_by_its_median_over_replicates() -> None:
    runs = _runs()  # point p: outcomes 10p, 10p + 4, 10p + 8 -> median 10p + 4
    cond = d.Condition("out", "below", 35.0)
    table = d.design_table(runs, ["a", "b"], cond)
    assert list(table["out"]) == [10 * p + 4 for p in range(12)]
    assert list(table["meets"]) == [p <= 3 for p in range(12)]
    share = dict(zip(table["point"], table["share_meeting"], strict=True))
    assert share[3] == pytest.approx(2 / 3)  # 30 < 35, 34 < 35, 38 is not
    assert (table["replicates"] == 3).all()
    each = d.design_table(runs, ["a", "b"], cond, each_replicate=True)
    assert len(each) == 36 and each["meets"].sum() == 3 * 3 + 2
    assert list(each.columns[:4]) == ["point", "replicate", "a", "b"]


def test_missing_outcomes_are_left_out_and_counted() -> None:
    runs = _runs()
    runs.loc[runs["point"] >= 5, "out"] = np.nan
    cond = d.Condition("out", "below", 35.0)
    table = d.design_table(runs, ["a", "b"], cond)
    assert len(table) == 5
    with pytest.raises(BadInput, match=r"5 design point\(s\).*\(7 have no value of it\).*at least"):
        d.check_table(table, cond, 12)


def test_too_few_points_and_none_meeting_are_refused() -> None:
    cond = d.Condition("out", "below", 35.0)
    small = d.design_table(_runs(points=d.MIN_POINTS - 1), ["a", "b"], cond)
    with pytest.raises(BadInput, match=f"needs at least {d.MIN_POINTS}"):
        d.check_table(small, cond, d.MIN_POINTS - 1)
    none = d.Condition("out", "below", 1.0)
    table = d.design_table(_runs(), ["a", "b"], none)
    with pytest.raises(BadInput, match="no design point has out below 1 .*from 4 to 114"):
        d.check_table(table, none, 12)


@pytest.mark.parametrize(
    ("below", "above", "message"),
    [(None, None, "exactly one"), (1.0, 2.0, "exactly one"), (float("nan"), None, "finite")],
)
def test_the_condition_needs_one_finite_threshold(below, above, message) -> None:
    with pytest.raises(BadInput, match=message):
        d.condition_of("out", below, above)


def test_an_unknown_outcome_gets_a_suggestion() -> None:
    names = d.outcome_names(_runs(), ["a", "b"])
    assert names == ["out"]
    with pytest.raises(BadInput, match="--outcome otu: not an outcome.*did you mean 'out'"):
        d.check_outcome("otu", names)


# --- the folders -------------------------------------------------------------------------------


def _folder(tmp_path: Path, kind: str, name: str = "s-sweep-20260101-000000") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "manifest.json").write_text(
        json.dumps({"kind": kind, "name": "s", "keys": ["a", "b"]})
    )
    _runs().to_csv(folder / "runs.csv", index=False)
    return folder


def test_only_finished_sweep_folders_are_read(tmp_path: Path) -> None:
    manifest, runs = d.load_sweep(_folder(tmp_path, "sweep"))
    assert manifest["keys"] == ["a", "b"] and len(runs) == 36
    manifest, _ = d.load_sweep(_folder(tmp_path, "sensitivity", "s-sensitivity-1"))
    assert manifest["kind"] == "sensitivity"  # its levers are varied keys too
    with pytest.raises(BadInput, match="a 'run' folder; propsim discover reads"):
        d.load_sweep(_folder(tmp_path, "run", "r"))
    with pytest.raises(FolderError, match="unfinished sweep"):
        d.load_sweep(_folder(tmp_path, "sweep", ".s-sweep-1.partial"))
    with pytest.raises(FolderError, match="not a results folder"):
        d.load_sweep(tmp_path)
    with pytest.raises(BadInput, match="no such folder"):
        d.load_sweep(tmp_path / "nope")


def test_the_results_folder_is_complete_and_reproducible(tmp_path: Path) -> None:
    sweep = _folder(tmp_path, "sweep")
    cond = d.Condition("out", "below", 55.0)
    options = d.Options(min_coverage=0.9)
    manifest, table, found = d.run_discovery(sweep, cond, options)
    final = d.write_folder(tmp_path / "out", sweep, manifest, table, found, cond, options,
                           ["propsim", "discover"])  # fmt: skip
    assert final.name.startswith("s-discover-") and not d.folders.is_partial(final)
    written = json.loads((final / "manifest.json").read_text())
    assert written["kind"] == "discover" and written["outcome"] == "out"
    assert written["chosen"]["index"] == found.chosen
    assert written["post_processing"] == {"plots": "done"}
    assert written["plots"] == ["plots/tradeoff.png", "plots/box.png"]
    assert written["reproduce"].startswith(f"propsim discover {sweep.resolve()} --outcome out "
                                           "--below 55 --min-coverage 0.9 --out ")  # fmt: skip
    for name in ("limits.csv", "trajectory.csv", "points.csv", "plots/tradeoff.png"):
        assert (final / name).stat().st_size > 0
    limits = pd.read_csv(final / "limits.csv")
    assert list(limits["key"]) == ["a", "b"]
    points = pd.read_csv(final / "points.csv")
    assert points["in_box"].sum() == found.box.n and points["meets"].sum() == found.interest
    assert (pd.read_csv(final / "trajectory.csv")["chosen"]).sum() == 1
