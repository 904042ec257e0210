"""``sim.analysis.sensitivity``: the whole pipeline against functions with known indices.

The Ishigami function runs through the same code as a model sweep: SALib's sample, the plan, a
results folder, a local process pool, part files, the run table and SALib's analysis.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sweep_helpers import ISHIGAMI_S1, ISHIGAMI_ST, ishigami_task

from sim.analysis import sensitivity as sa
from sim.analysis import sweep as sw
from sim.analysis.outcomes import OutcomeSpec, outcome_value
from sim.errors import ScenarioError
from sim.execution.executors import PoolExecutor, SerialExecutor

PI = math.pi


def _analytic_plan(levers: list[sa.Lever], method: sa.Method, n: int, outcome: str) -> sw.Plan:
    prob = sa.problem(levers)
    x = sa.sample(prob, method, n, seed=11)
    points = [{name: float(v) for name, v in zip(prob["names"], row, strict=True)} for row in x]
    return sw.Plan(
        kind="sensitivity",
        name="analytic",
        base=None,
        points=points,
        overrides=[[] for _ in points],
        seeds=[0],
        design={
            "method": method,
            "n": n,
            "problem": prob,
            "params_file": "params.yaml",
            "analysis_seed": 11,
            "outcome_names": [outcome],
        },  # fmt: skip
    )


def test_ishigami_indices_through_the_pipeline_match_the_analytic_values(tmp_path: Path) -> None:
    levers = [sa.Lever(name=f"x{i}", keys=[f"x{i}"], bounds=(-PI, PI)) for i in (1, 2, 3)]
    plan = _analytic_plan(levers, "sobol", 1024, "ishigami")
    assert len(plan.points) == 1024 * 5
    folder = sw.create_folder(tmp_path, plan, ["test"])
    with PoolExecutor(2) as pool:
        sw.execute(folder, plan.tasks(), ishigami_task, pool, total=len(plan.points),
                   progress=False, desc="ishigami")  # fmt: skip
    final, indices = sa.finish(folder, plan, plots=True, seconds=0.0)
    got = indices.set_index("lever")
    assert got["S1"].to_numpy() == pytest.approx(ISHIGAMI_S1, abs=0.04)
    assert got["ST"].to_numpy() == pytest.approx(ISHIGAMI_ST, abs=0.04)
    assert (got["S1_conf"] > 0).all() and (got["ST_conf"] < 0.1).all()
    # the analytic values lie within (or close to) the reported 95% intervals
    assert (abs(got["ST"] - np.array(ISHIGAMI_ST)) <= 2 * got["ST_conf"] + 0.01).all()
    assert (final / "indices.csv").is_file() and (final / "plots" / "indices.png").is_file()
    assert pd.read_csv(final / "runs.csv").shape[0] == 1024 * 5


def linear_task(task: sw.Task) -> sw.RunResult:
    """y = 4a - 2b + 0c: Morris mu* is |coefficient| x range, sigma is 0."""
    v = task.values
    return sw.RunResult({"y": 4 * v["a"] - 2 * v["b"] + 0 * v["c"]})


def test_morris_recovers_the_effects_of_a_linear_function(tmp_path: Path) -> None:
    levers = [sa.Lever(name=n, keys=[n], bounds=(0.0, 1.0)) for n in "abc"]
    plan = _analytic_plan(levers, "morris", 10, "y")
    assert len(plan.points) == 10 * 4
    folder = sw.create_folder(tmp_path, plan, ["test"])
    sw.execute(folder, plan.tasks(), linear_task, SerialExecutor(), total=40, progress=False,
               desc="m")  # fmt: skip
    _, indices = sa.finish(folder, plan, plots=False, seconds=0.0)
    got = indices.set_index("lever")
    assert got["mu_star"].to_numpy() == pytest.approx([4, 2, 0], abs=1e-9)
    assert got["mu"].to_numpy() == pytest.approx([4, -2, 0], abs=1e-9)
    assert got["sigma"].to_numpy() == pytest.approx([0, 0, 0], abs=1e-9)
    assert "mu*" in sa.indices_text(indices, "morris")


def test_morris_mu_star_is_the_change_over_the_levers_whole_range(tmp_path: Path) -> None:
    """SALib's elementary effects are per normalised range: y = 4a - 2b with a in [0, 10] and
    b in [5, 6] moves by 40 across a's range and by 2 across b's, whatever the units of a and
    b; the stated unit says so, and Morris gets a mu*-sigma chart."""
    levers = [
        sa.Lever(name="a", keys=["a"], bounds=(0.0, 10.0)),
        sa.Lever(name="b", keys=["b"], bounds=(5.0, 6.0)),
        sa.Lever(name="c", keys=["c"], bounds=(-100.0, 100.0)),
    ]
    plan = _analytic_plan(levers, "morris", 6, "y")
    folder = sw.create_folder(tmp_path, plan, ["test"])
    sw.execute(folder, plan.tasks(), linear_task, SerialExecutor(), total=24, progress=False,
               desc="m")  # fmt: skip
    final, indices = sa.finish(folder, plan, plots=True, seconds=0.0)
    got = indices.set_index("lever")
    assert got["mu_star"].to_numpy() == pytest.approx([40, 2, 0], abs=1e-9)
    assert got["mu"].to_numpy() == pytest.approx([40, -2, 0], abs=1e-9)
    text = sa.indices_text(indices, "morris", {"y": "posts/day"})
    assert "y (mu*, sigma, mu in posts/day)" in text
    assert "change in the outcome when the lever moves across its whole range" in text
    assert sa.morris_label("posts/day") == "mu* (posts/day, change over the lever's whole range)"
    assert {p.name for p in (final / "plots").iterdir()} == {"indices.png", "mu_star_sigma.png"}


def test_mu_star_sigma_chart_draws_and_skips_a_constant_outcome(tmp_path: Path) -> None:
    indices = pd.DataFrame(
        {"outcome": ["y", "y", "z", "z"], "lever": ["a", "b", "a", "b"],
         "mu": [1.0, -0.5, np.nan, np.nan], "mu_star": [1.0, 0.8, np.nan, np.nan],
         "mu_star_conf": [0.1, 0.1, np.nan, np.nan], "sigma": [0.2, 1.2, np.nan, np.nan]}
    )  # fmt: skip
    path = sa.mu_star_sigma_chart(indices, tmp_path / "m.png", {"y": "users"})
    assert path.read_bytes().startswith(b"\x89PNG")
    assert sa.outcome_units([OutcomeSpec(name="p", metric="pro_posts_observed")])["p"] == (
        "posts/day"
    )


def test_a_failing_chart_keeps_the_indices_in_the_finished_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*a: object) -> None:
        raise RuntimeError("no backend")

    monkeypatch.setattr(sa, "bar_chart", boom)
    plan = _analytic_plan([sa.Lever(name=n, keys=[n], bounds=(0.0, 1.0)) for n in "abc"],
                          "morris", 4, "y")  # fmt: skip
    folder = sw.create_folder(tmp_path, plan, ["test"])
    sw.execute(folder, plan.tasks(), linear_task, SerialExecutor(), total=16, progress=False,
               desc="m")  # fmt: skip
    with pytest.raises(sw.PostProcessingFailed, match="no backend") as err:
        sa.finish(folder, plan, plots=True, seconds=0.0)
    final = err.value.folder
    assert not sw.is_partial(final) and len(pd.read_csv(final / sa.INDICES_CSV)) == 3
    assert sw.read_manifest(final)["post_processing"]["plots"].startswith("failed: RuntimeError")


def test_sample_sizes_and_n_rules() -> None:
    prob = sa.problem([sa.Lever(name=n, keys=[n], bounds=(0, 1)) for n in "ab"])
    assert (
        sa.sample(prob, "sobol", 8, 1).shape == (8 * 4, 2) == (sa.runs_per_design("sobol", 8, 2), 2)
    )
    assert sa.sample(prob, "morris", 3, 1).shape == (3 * 3, 2)
    np.testing.assert_array_equal(sa.sample(prob, "sobol", 8, 1), sa.sample(prob, "sobol", 8, 1))
    with pytest.raises(ValueError, match="power of two"):
        sa.check_n("sobol", 12)
    sa.check_n("morris", 12)


BASE = {
    "moderation": {"twitter": {"intensity": 0.03}},
    "counter": {"g": {"messengers": 40}, "c": {"messengers": 600}},
    "population": {"languages": {"arabic": 0.6, "english": 0.25, "other": 0.15}},
    "timeline": [{"values": {"moderation.twitter.intensity": 0.04}}],
}


def test_lever_modes() -> None:
    keys = ["moderation.twitter.intensity", "timeline.0.values.moderation.twitter.intensity"]
    scale = sa.Lever(name="s", mode="scale", bounds=(0, 3), keys=keys)
    assert sa.lever_values(scale, 2.0, BASE) == pytest.approx(
        {
            "moderation.twitter.intensity": 0.06,
            "timeline.0.values.moderation.twitter.intensity": 0.08,
        }
    )
    assert sa.lever_values(sa.Lever(name="x", key="a.b", bounds=(0, 1)), 0.5, None) == {"a.b": 0.5}
    assert sa.lever_overrides([scale], {"s": 0.5}, BASE) == [
        "moderation.twitter.intensity=0.015",
        "timeline.0.values.moderation.twitter.intensity=0.02",
    ]


@given(st.floats(0, 1))
def test_share_levers_keep_the_total(x: float) -> None:
    keys = [f"population.languages.{k}" for k in ("arabic", "english", "other")]
    langs = sa.Lever(name="ar", mode="share", bounds=(0, 1), keys=keys)
    v = sa.lever_values(langs, x, BASE)
    assert sum(v.values()) == pytest.approx(1.0, abs=1e-12)
    assert v["population.languages.arabic"] == pytest.approx(x)
    assert v["population.languages.english"] / 0.25 == pytest.approx(
        v["population.languages.other"] / 0.15, abs=1e-9
    )
    people = sa.Lever(
        name="c", mode="share", bounds=(0, 1), keys=["counter.c.messengers", "counter.g.messengers"]
    )
    m = sa.lever_values(people, x, BASE)
    assert all(isinstance(n, int) for n in m.values()) and sum(m.values()) == 640


def test_outcomes_by_metric_stat_and_window() -> None:
    idx = pd.date_range("2015-12-30", periods=5, freq="D")
    daily = pd.DataFrame({"twitter.pro_posts_observed": [1.0, 2, 3, np.nan, 5],
                          "cumulative_recruits": [0.0, 1, 2, 3, 4]}, index=idx)  # fmt: skip
    spec = OutcomeSpec(metric="pro_posts_observed", start="2016-01-01")
    assert spec.name == "pro_posts_observed_mean_20160101"
    assert outcome_value(daily, spec, ["twitter"], []) == pytest.approx(4.0)
    last = OutcomeSpec(metric="cumulative_recruits", stat="last")
    assert outcome_value(daily, last, ["twitter"], []) == 4.0
    total = OutcomeSpec(metric="twitter.pro_posts_observed", stat="sum", end="2015-12-31")
    assert outcome_value(daily, total, ["twitter"], []) == 3.0
    assert math.isnan(
        outcome_value(
            daily, OutcomeSpec(metric="cumulative_recruits", start="2017-01-01"), ["twitter"], []
        )
    )
    with pytest.raises(ValueError, match="did you mean 'pro_posts_observed'"):
        OutcomeSpec(metric="pro_post_observed")


GOOD = """\
levers:
  - name: intensity
    key: moderation.twitter.intensity
    bounds: [0.0001, 0.001]
outcomes:
  - {metric: pro_posts_observed, stat: mean}
"""


@pytest.mark.parametrize(
    "text, where",
    [
        (
            GOOD.replace("bounds: [0.0001, 0.001]", "bounds: [0.001, 0.0001]"),
            ":4: levers.0.bounds: bounds must be finite",
        ),
        (
            GOOD.replace(
                "outcomes:",
                "  - name: intensity\n    key: moderation.twitter.flagging\n"
                "    bounds: [0, 0.1]\noutcomes:",
            ),
            ":5: levers.1.name: names must be unique; intensity appears twice",
        ),
        (
            GOOD.replace(
                "outcomes:",
                "  - name: again\n    key: moderation.twitter.intensity\n"
                "    bounds: [0, 0.1]\noutcomes:",
            ),
            ":5: levers.1: a key may belong to one lever only: moderation.twitter.intensity",
        ),
        (
            GOOD.replace("    key:", "    kee:"),
            ":3: levers.0.kee: unknown key — did you mean 'key'?",
        ),
        (GOOD.replace("stat: mean", "stat: median"), ":6: outcomes.0.stat: expected one of"),
        (
            GOOD.replace("pro_posts_observed", "pro_post_observed"),
            ":6: outcomes.0.metric: unknown metric",
        ),
        (
            GOOD.replace("outcomes:", "outcome:"),
            ":5: outcome: unknown key — did you mean 'outcomes'?",
        ),
        ("levers: [\n", ":2: YAML syntax error"),
    ],
)
def test_bad_parameter_files_name_file_line_and_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        sa.load_params(path)
    assert str(err.value).startswith(str(path))
    assert where in str(err.value), str(err.value)


def test_a_good_parameter_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(GOOD)
    params = sa.load_params(path)
    assert params.levers[0].keys == ["moderation.twitter.intensity"]
    assert params.outcomes[0].name == "pro_posts_observed_mean"


def test_the_shipped_parameter_file_is_valid() -> None:
    params = sa.load_params(
        Path(__file__).resolve().parents[2] / "scenarios/sensitivity/levers.yaml"
    )
    assert len(params.levers) == 5 and len(params.outcomes) == 2


# --- issue 17.6: outcome names that clash, windows outside the run, inert share levers -------


@pytest.mark.parametrize(
    "text, where",
    [
        (
            GOOD + "  - {metric: pro_posts_observed, stat: sum, name: point}\n",
            ":7: outcomes.1.name",
        ),
        (GOOD + "  - {metric: pro_posts_observed, stat: sum, name: seed}\n", ":7: outcomes.1.name"),
        (
            GOOD + "  - {metric: pro_posts_observed, stat: sum, name: intensity}\n",
            ":7: outcomes.1.name: the outcome name 'intensity' is a lever's name",
        ),
        (GOOD.replace("name: intensity", "name: replicate"), ":2: levers.0.name"),
    ],
)
def test_sensitivity_outcome_names_that_clash_are_refused(
    tmp_path: Path, text: str, where: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        sa.load_params(path)
    assert where in str(err.value), str(err.value)


@pytest.mark.parametrize(
    "params, message",
    [
        (
            GOOD.replace("stat: mean}", "stat: mean, start: 2019-01-01}"),
            "the window 2019-01-01..2015-01-30 is not within the run's reported days",
        ),
        (
            GOOD.replace("stat: mean}", "stat: mean, end: 2014-01-01}"),
            "is not within the run's reported days 2015-01-01..2015-01-30",
        ),
        (
            "levers:\n  - name: zero\n"
            "    keys: [platforms.telegram.pull, platforms.telegram.join_prob]\n"
            "    mode: share\n    bounds: [0.1, 0.9]\n"
            "outcomes:\n  - {metric: pro_posts_observed, stat: mean}\n",
            "levers: zero: mode share of keys that are all 0",
        ),
    ],
)
def test_sensitivity_empty_windows_and_inert_levers_are_refused_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], params: str, message: str
) -> None:
    from sweep_helpers import write_tiny

    from sim.cli.main import main

    scenario = write_tiny(
        tmp_path, platforms={"twitter": {"kind": "open"}, "telegram": {"kind": "encrypted",
        "pull": 0.0, "join_prob": 0.0}},
    )  # fmt: skip
    path = tmp_path / "p.yaml"
    path.write_text(params)
    out = tmp_path / "out"
    code = main(
        ["sensitivity", str(scenario), "--params", str(path), "--n", "2", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert not out.exists()
