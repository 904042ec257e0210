"""``propsim compare``: paired differences are exact, independent of the executor, and carry
the posterior's uncertainty when asked to.

The scenarios are ``sweep_helpers``' tiny one (30 days at 1:1000) and variants of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sweep_helpers import TINY, progress_lines, slow_runs
from test_sweep_executors import dask_scheduler  # noqa: F401 - a fixture used below

from sim import cli
from sim.analysis import compare_plots, observed, paired
from sim.analysis.compare import question_of


def write(folder: Path, name: str, **changes: object) -> Path:
    data = json.loads(json.dumps(TINY)) | {"name": name}
    for key, value in changes.items():
        node = data
        *path, last = key.split("__")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    path = folder / f"{name}.yaml"
    path.write_text("# Question: what if " + name + "?\n" + yaml.safe_dump(data), "utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    base = write(tmp_path, "base", moderation__twitter__intensity=0.05)
    variant = write(tmp_path, "nomod", moderation__twitter__intensity=0.0)
    return base, variant


def compare(tmp_path: Path, *args: str, out: str = "out", plots: bool = False) -> Path:
    extra = [] if plots else ["--no-plots"]
    code = cli.main(["compare", *args, "--out", str(tmp_path / out), "--quiet", *extra])
    assert code == 0
    (folder,) = (tmp_path / out).iterdir()
    return folder


def test_a_scenario_compared_with_itself_differs_by_exactly_zero(tmp_path: Path, files) -> None:
    base, _ = files
    folder = compare(tmp_path, str(base), str(base), "--replicates", "3", "--workers", "1")
    table = pd.read_csv(folder / "comparison.csv")
    assert list(table["arm"].unique()) == ["base-2"]
    diffs = table[["diff_median", "diff_q05", "diff_q95"]].to_numpy()
    assert np.all((diffs == 0) | np.isnan(diffs))
    assert (table["p_lower"].fillna(0) == 0).all() and table["within_noise"].all()
    bands = pd.read_parquet(folder / "daily_bands.parquet")
    d = bands[(bands["stat"] == "difference")][["median", "q05", "q95"]].to_numpy()
    assert np.all((d == 0) | np.isnan(d))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "compare" and manifest["seeds"] == [1, 2, 3]
    assert manifest["reproduce"].startswith("propsim compare ")
    assert manifest["arms"][0]["question"] == "what if base?"


def test_variants_differ_and_the_pairing_is_by_seed(tmp_path: Path, files) -> None:
    base, variant = files
    folder = compare(
        tmp_path, str(base), str(variant), "--replicates", "3", "--workers", "1", plots=True
    )
    names = {p.name for p in (folder / "plots").iterdir()}
    assert "forest.png" in names and "difference_twitter_pro_posts_observed.png" in names
    runs = pd.read_csv(folder / "runs.csv")
    assert sorted(runs["seed"].unique()) == [1, 2, 3]
    row = pd.read_csv(folder / "comparison.csv").set_index("outcome").loc["total_suspensions"]
    assert row["diff_median"] < 0 and row["p_lower"] == 1.0 and not row["within_noise"]
    per_unit = pd.read_csv(folder / "paired.csv")
    wide = runs.pivot(index="replicate", columns="point", values="total_suspensions")
    assert list(per_unit["nomod:total_suspensions"]) == list(wide[1] - wide[0])
    # each observed outcome has its true counterpart in the next row, flagged when they part
    table = pd.read_csv(folder / "comparison.csv")
    order = list(table["outcome"])
    for obs, true in observed.TRUE_OF.items():
        assert order.index(true) == order.index(obs) + 1
        row = table.set_index("outcome").loc[obs]
        assert row["true_outcome"] == true
        t = table.set_index("outcome").loc[true]
        assert row["opposite_to_true"] == observed.opposite(row["diff_median"], t["diff_median"])
    assert table.set_index("outcome").loc["anti_pro_ratio_true_last_180", "unit"] == "ratio"
    # the noise marks: the interval, and half the base's spread over its runs
    spread = (table["base_q95"] - table["base_q05"]) / 2
    ok = table["diff_median"].notna()
    assert (
        table.loc[ok, "within_spread"] == (table.loc[ok, "diff_median"].abs() < spread[ok])
    ).all()
    assert {"true_outcome", "opposite_to_true", "within_spread"} <= set(table.columns)
    # the observed metric's figure also draws the true one
    both = ["twitter.pro_posts_observed", "twitter.pro_posts_true"]
    assert compare_plots.true_metric(both[0], both) == "twitter.pro_posts_true"
    assert compare_plots.true_metric("twitter.pro_posts_observed", ["x"]) is None
    assert compare_plots.true_metric("active_accounts", ["active_accounts"]) is None


def test_one_two_workers_and_dask_give_identical_tables(
    tmp_path: Path,
    files,
    dask_scheduler: str,  # noqa: F811
) -> None:
    base, variant = files
    common = [str(base), str(variant), "--replicates", "2"]
    one = compare(tmp_path, *common, "--workers", "1", out="one")
    two = compare(tmp_path, *common, "--workers", "2", out="two")
    dask = compare(tmp_path, *common, "--scheduler", dask_scheduler, out="dask")
    for name in ("comparison.csv", "paired.csv", "runs.csv", "summary_stats.csv"):
        first = pd.read_csv(one / name)
        pd.testing.assert_frame_equal(pd.read_csv(two / name), first)
        pd.testing.assert_frame_equal(pd.read_csv(dask / name), first)


def _posterior(path: Path, values: list[float], key: str = "population.pro_effect") -> Path:
    pd.DataFrame({key: values, "weight": [1.0] * len(values)}).to_csv(path, index=False)
    return path


def test_posterior_intervals_are_wider_than_seed_only_ones(tmp_path: Path, files) -> None:
    base, variant = files
    # a posterior of the suspension hazard (the variant sets it to 0 itself, and keeps that)
    post = _posterior(tmp_path / "post.csv", [0.005, 0.3], "moderation.twitter.intensity")
    seeds = compare(tmp_path, str(base), str(variant), "--replicates", "8", "--workers", "1",
                    out="seeds")  # fmt: skip
    both = compare(tmp_path, str(base), str(variant), "--replicates", "2", "--posterior", "4",
                   "--posterior-file", str(post), "--workers", "1", out="post")  # fmt: skip
    a = pd.read_csv(seeds / "summary_stats.csv").set_index(["arm", "outcome"])
    b = pd.read_csv(both / "summary_stats.csv").set_index(["arm", "outcome"])
    key = ("base", "total_suspensions")
    assert b.loc[key, "q95"] - b.loc[key, "q05"] > 2 * (a.loc[key, "q95"] - a.loc[key, "q05"])
    da = pd.read_csv(seeds / "comparison.csv").set_index("outcome").loc["total_suspensions"]
    db = pd.read_csv(both / "comparison.csv").set_index("outcome").loc["total_suspensions"]
    assert db["diff_q95"] - db["diff_q05"] > 2 * (da["diff_q95"] - da["diff_q05"])
    manifest = json.loads((both / "manifest.json").read_text())
    assert manifest["posterior_draws"] == 4 and manifest["units"] == 8
    draws = pd.read_csv(both / "runs.csv")["draw"]
    assert set(draws) <= {0, 1, 2, 3} and len(set(draws)) == 4


def test_a_point_posterior_gives_the_seed_only_result_exactly(tmp_path: Path, files) -> None:
    base, variant = files
    post = _posterior(tmp_path / "post.csv", [TINY["population"]["pro_effect"]] * 3)
    seeds = compare(tmp_path, str(base), str(variant), "--replicates", "4", "--workers", "1",
                    out="seeds")  # fmt: skip
    point = compare(tmp_path, str(base), str(variant), "--replicates", "2", "--posterior", "2",
                    "--posterior-file", str(post), "--workers", "1", out="point")  # fmt: skip
    cols = ["diff_median", "diff_q05", "diff_q95", "ratio_median", "p_lower"]
    pd.testing.assert_frame_equal(
        pd.read_csv(point / "comparison.csv")[cols], pd.read_csv(seeds / "comparison.csv")[cols]
    )


def test_a_variant_keeps_its_own_value_of_a_calibrated_parameter(tmp_path: Path) -> None:
    base = write(tmp_path, "base")
    variant = write(tmp_path, "strong", population__pro_effect=0.009)
    post = paired.load_posterior(_posterior(tmp_path / "post.csv", [0.001, 0.002]))
    from sim.analysis.compare import compare_plan

    plan = compare_plan([str(base), str(variant)], [], None, 1, 2, str(tmp_path / "post.csv"),
                        [], Path)  # fmt: skip
    assert plan.posterior is not None and len(post) == 2
    for k, draw in enumerate(plan.draws):
        assert plan.scenario(0, k).population.pro_effect == draw["population.pro_effect"]
        assert plan.scenario(1, k).population.pro_effect == 0.009


def test_a_variant_without_a_timeline_entry_goes_without_its_dated_value(tmp_path: Path) -> None:
    from sim.analysis.compare import compare_plan

    ramp = {"name": "ramp", "action": "set", "date": "2015-01-10",
            "values": {"moderation.twitter.intensity": 0.01}}  # fmt: skip
    base = write(tmp_path, "base", timeline=[ramp])
    variant = write(tmp_path, "noramp", timeline=[])
    key = "timeline.ramp.values.moderation.twitter.intensity"
    _posterior(tmp_path / "post.csv", [0.02, 0.03], key)
    plan = compare_plan([str(base), str(variant)], [], None, 1, 2, str(tmp_path / "post.csv"),
                        [], Path)  # fmt: skip
    for k, draw in enumerate(plan.draws):
        assert plan.scenario(0, k).timeline[0].values == {"moderation.twitter.intensity": draw[key]}
        assert plan.scenario(1, k).timeline == []


def test_resume_finishes_an_interrupted_comparison(tmp_path: Path, files) -> None:
    from sim.analysis.compare import compare_plan
    from sim.analysis.sweep import simulate_task, write_part

    base, variant = files
    full = compare(tmp_path, str(base), str(variant), "--replicates", "2", "--workers", "1")
    plan = compare_plan([str(base), str(variant)], [], None, 2, None, None, [], Path)
    folder = paired.create_folder(tmp_path / "part", plan, ["propsim", "compare"])
    first = plan.tasks()[0]
    write_part(folder, first, simulate_task(first))
    assert len(paired.pending_tasks(folder, plan)) == 3
    code = cli.main(["compare", "--resume", str(folder), "--quiet", "--no-plots", "--workers", "1"])
    assert code == 0
    (done,) = (tmp_path / "part").iterdir()
    pd.testing.assert_frame_equal(
        pd.read_csv(done / "comparison.csv"), pd.read_csv(full / "comparison.csv")
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "at least one VARIANT"),
        (["OTHER"], "differ in end"),
        (["VARIANT", "--posterior-file", "x.csv"], "needs --posterior"),
        (["VARIANT", "--metric", "nonsense"], "no such daily metric"),
        (["VARIANT", "--posterior", "2", "--posterior-file", "missing.csv"], "cannot read"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, files, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    base, variant = files
    other = write(tmp_path, "other", end="2015-01-20")
    args = [str(variant) if a == "VARIANT" else str(other) if a == "OTHER" else a for a in extra]
    code = cli.main(["compare", str(base), *args, "--out", str(tmp_path / "out")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_question_of_reads_the_leading_comment(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text("# Question: what if we had\n# done it earlier?\nname: q\n# not this\n")
    assert question_of(path) == "what if we had done it earlier?"
    path.write_text("name: q\n")
    assert question_of(path) == ""


def test_names_label_the_scenarios_and_progress_goes_to_a_log(
    tmp_path: Path, files, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--name labels the SCENARIO in its position (the folder is called after the base's
    label); without --quiet, progress lines with the time left on a stderr that is not a
    terminal."""
    base, variant = files
    slow_runs(monkeypatch)
    code = cli.main(["compare", str(base), str(variant), "--name", "history", "--name",
                     "no_moderation", "--replicates", "2", "--workers", "1", "--no-plots",
                     "--out", str(tmp_path / "out")])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = progress_lines(captured.err)
    assert lines and lines[0]["name"] == "history" and lines[0]["total"] == "4"
    assert any(line["left"] for line in lines)
    (folder,) = (tmp_path / "out").iterdir()
    assert folder.name.startswith("history-compare-")
    assert set(pd.read_csv(folder / "comparison.csv")["arm"]) == {"no_moderation"}
    stats = pd.read_csv(folder / "summary_stats.csv")
    assert set(stats["arm"]) == {"history", "no_moderation"}
    assert "no_moderation vs history:" in captured.out


def test_more_names_than_scenarios_exit_2(tmp_path: Path, files, capsys) -> None:
    base, variant = files
    code = cli.main(["compare", str(base), str(variant), "--name", "a", "--name", "b",
                     "--name", "c", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2 and "3 names for 2 scenarios" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    code = cli.main(["compare", str(base), str(variant), "--name", "a b"])
    assert code == 2 and "cannot name a results folder" in capsys.readouterr().err


def test_clear_days_are_those_whose_band_excludes_zero() -> None:
    diff = pd.DataFrame({"q05": [-1.0, 0.5, -3.0, 0.0, -2.0], "q95": [1.0, 2.0, -0.5, 1.0, 0.0]})
    assert compare_plots.clear_days(diff).tolist() == [False, True, True, False, False]
