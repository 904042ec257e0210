"""Calibration: targets and priors as data, the distance, the overlay, the CLI, resuming, and the
recovery of known parameters from targets the model made itself (tiny scale, few particles)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyabc
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from sim import cli
from sim.analysis import calibration as cal
from sim.analysis.problem import Target, load_priors, load_targets
from sim.config.schema import resolve_parent
from sim.core.model import simulate
from sim.errors import ScenarioError
from sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "scenarios" / "baseline.yaml"
SPEC5 = {
    "traffic_drop",
    "followers_2014",
    "followers_2016",
    "anti_pro_ratio_2016",
    "suspensions",
    "accounts_2014",
    "posts_2014",
}
# tiny and short: two months of 2014 at 1:500 (about 0.4 s a run)
TINY = ["end=2014-02-28", "warmup_days=10"]
TINY_SCALE = "500"
WINDOW = [dt.date(2014, 1, 1), dt.date(2014, 2, 28)]


def target(**kw) -> Target:
    base = {
        "id": "t",
        "label": "t",
        "metric": "active_accounts",
        "reduce": "mean",
        "windows": [WINDOW],
        "tolerance": 10.0,
        "source": "test",
    }
    return Target.model_validate(base | kw)


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --- targets and priors as data --------------------------------------------------------------


def test_shipped_targets_cover_spec5_and_load_into_plots() -> None:
    targets = load_targets(REPO / "calibration" / "targets.yaml")
    assert {t.id for t in targets} >= SPEC5
    from sim.io import plots

    assert {t.id for t in plots.plot_targets(load_targets())} == {t.id for t in targets}


def test_shipped_priors_are_valid_scenario_keys() -> None:
    priors = load_priors(REPO / "calibration" / "priors.yaml")
    base = load_scenario(BASELINE).model_dump()
    cal.check_priors(base, priors, "priors.yaml")  # raises if a key or an end is invalid
    assert all(p.why.strip() for p in priors.values())


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda t: t.update(metirc=t.pop("metric")), ["metirc", "targets.0"]),
        (lambda t: t.update(metric="no_such_metric"), ["no_such_metric"]),
        (lambda t: t.update(tolerance=-1), ["tolerance"]),
        (lambda t: t.update(value=None, low=5, high=1), ["below low"]),
        (lambda t: t.update(reduce="ratio"), ["two windows"]),
        (lambda t: t.update(windows=[["2014-02-01", "2014-01-01"]]), ["before it starts"]),
    ],
)
def test_bad_targets_name_file_line_and_key(tmp_path: Path, edit, fragments) -> None:
    t = {
        "id": "x",
        "label": "x",
        "metric": "active_accounts",
        "reduce": "mean",
        "windows": [["2014-01-01", "2014-02-28"]],
        "value": 1.0,
        "tolerance": 1.0,
        "source": "s",
    }
    edit(t)
    path = write_yaml(tmp_path / "targets.yaml", {"targets": [t]})
    with pytest.raises(ScenarioError) as err:
        load_targets(path)
    text = str(err.value)
    assert f"{path}:" in text and all(f in text for f in fragments), text


@pytest.mark.parametrize(
    ("prior", "fragment"),
    [
        ({"low": 2, "high": 1, "why": "w"}, "must be above low"),
        ({"low": 0, "high": 1, "scale": "log", "why": "w"}, "low > 0"),
        ({"low": 0, "high": 1}, "why"),
        ({"low": 0, "high": 1, "why": "w", "scale": "cubic"}, "scale"),
    ],
)
def test_bad_priors(tmp_path: Path, prior, fragment) -> None:
    path = write_yaml(tmp_path / "priors.yaml", {"parameters": {"population.relaxation": prior}})
    with pytest.raises(ScenarioError, match=fragment):
        load_priors(path)


def test_prior_keys_and_ranges_checked_against_the_scenario() -> None:
    base = load_scenario(BASELINE).model_dump()
    bad = {
        "population.relaxtion": {"low": 0.1, "high": 0.2, "why": "typo"},
        "population.relaxation": {"low": 0.5, "high": 2.0, "why": "above 1"},
    }
    priors = {k: cal.Prior.model_validate(v) for k, v in bad.items()}
    with pytest.raises(ScenarioError) as err:
        cal.check_priors(base, priors, "p.yaml")
    assert "population.relaxtion" in str(err.value) and "population.relaxation" in str(err.value)


@given(
    st.one_of(st.text(max_size=5), st.floats(allow_nan=True), st.none(), st.lists(st.integers()))
)
def test_any_bad_tolerance_is_a_clean_error(tmp_path_factory, value) -> None:
    tmp = tmp_path_factory.mktemp("t")
    t = {"id": "x", "label": "x", "metric": "suspensions", "reduce": "sum", "low": 1.0}
    t |= {"windows": [["2014-01-01", "2014-02-28"]], "tolerance": value, "source": "s"}
    path = write_yaml(tmp / "targets.yaml", {"targets": [t]})
    try:
        loaded = load_targets(path)
    except ScenarioError as err:
        assert "tolerance" in str(err)
    else:  # only a positive number may pass
        assert loaded[0].tolerance > 0


# --- distance --------------------------------------------------------------------------------


def test_excess_on_levels_ranges_and_bounds() -> None:
    level = target(value=100.0, tolerance=10.0)
    assert level.excess(100) == 0 and level.excess(115) == 1.5 and level.excess(80) == 2.0
    rng = target(low=50.0, high=70.0, tolerance=5.0)
    assert rng.excess(60) == 0 and rng.excess(75) == 1.0 and rng.excess(40) == 2.0
    bound = target(low=125.0, tolerance=10.0)
    assert bound.excess(1e9) == 0 and bound.excess(120) == 0.5
    assert math.isinf(level.excess(float("nan")))
    assert rng.met(74) and not rng.met(76)


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(0.01, 1e4), st.floats(-1e7, 1e7))
def test_excess_is_zero_inside_and_grows_outside(a: float, b: float, tol: float, x: float) -> None:
    lo, hi = min(a, b), max(a, b)
    t = target(low=lo, high=hi, tolerance=tol)
    e = t.excess(x)
    assert e >= 0
    assert (e == 0) == (lo <= x <= hi)
    assert t.excess(x + (1 if x > hi else -1 if x < lo else 0)) >= e


def test_distance_is_the_worst_target() -> None:
    ts = (target(id="a", value=0.0, tolerance=1.0), target(id="b", low=0.0, tolerance=2.0))
    d = cal.TargetDistance(ts)
    assert d({"a": 0.5, "b": -6.0}) == 3.0
    assert d({"a": -0.5, "b": 10.0}) == 0.5


def test_reductions_on_a_hand_made_table() -> None:
    idx = pd.date_range("2014-01-01", periods=4, freq="D")
    daily = pd.DataFrame(
        {
            "twitter.suspensions": [1.0, 3.0, 0.0, 4.0],
            "twitter.mean_followers_suspended": [100.0, 200.0, np.nan, 50.0],
            "supporters": [1.0, 2.0, 3.0, 4.0],
        },
        index=idx,
    )
    w = [dt.date(2014, 1, 1), dt.date(2014, 1, 4)]
    early, late = [w[0], dt.date(2014, 1, 2)], [dt.date(2014, 1, 3), w[1]]
    mean = target(metric="mean_followers_suspended", windows=[w], value=1.0)
    weighted = target(
        metric="mean_followers_suspended", weight="suspensions", windows=[w], value=1.0
    )
    total = target(metric="suspensions", reduce="sum", windows=[w], value=1.0)
    ratio = target(metric="supporters", reduce="ratio", windows=[early, late], value=1.0)
    assert mean.simulate(daily, "twitter") == pytest.approx(350 / 3)
    assert weighted.simulate(daily, "twitter") == pytest.approx((100 + 600 + 200) / 8)
    assert total.simulate(daily, "twitter") == 8.0
    assert ratio.simulate(daily, "twitter") == pytest.approx(3.5 / 1.5)


def test_weighted_quantile() -> None:
    x = np.array([3.0, 1.0, 2.0])
    assert cal.weighted_quantile(x, np.ones(3), 0.5) == 2.0
    assert cal.weighted_quantile(x, np.array([0.0, 0.0, 1.0]), 0.5) == 2.0


def test_overlay_round_trips_through_the_loader(tmp_path: Path) -> None:
    estimate = {
        "population.relaxation": 0.0123,
        "moderation.twitter.follower_weight": 0.45,
        "timeline.surge_fades.values.accounts.operators.inflow_per_day": 123.0,
    }
    (tmp_path / "calibrated.yaml").write_text(
        cal.overlay_text(estimate, "X", ["propsim calibrate"])
    )
    child = tmp_path / "child.yaml"
    child.write_text(
        f"extends: {BASELINE}\noverlay: calibrated.yaml\nname: child\n"
        "population:\n  relaxation: 0.9\n"  # (the overlay's value wins over the file's own)
    )
    sc, base = load_scenario(child), load_scenario(BASELINE)
    assert sc.population.relaxation == 0.0123
    assert sc.moderation["twitter"].follower_weight == 0.45
    fades = next(ev for ev in sc.timeline if ev.name == "surge_fades")
    assert fades.values["accounts.operators.inflow_per_day"] == 123.0  # type: ignore[union-attr]
    assert fades.values["accounts.posting.multiplier"] == 1.0  # (values merge key by key)
    assert sc.population.pro_effect == base.population.pro_effect  # the rest: the baseline's
    assert [ev.name for ev in sc.timeline] == [ev.name for ev in base.timeline]


def test_a_dated_free_parameter_is_named_by_its_timeline_entry() -> None:
    base = load_scenario(BASELINE).model_dump()
    for key in (
        "timeline.3.values.moderation.twitter.intensity",  # by position: the overlay cannot
        "timeline.no_such_entry.values.moderation.twitter.intensity",
    ):
        priors = {key: cal.Prior.model_validate({"low": 0.01, "high": 0.1, "why": "w"})}
        with pytest.raises(ScenarioError, match="by the name of its timeline entry"):
            cal.check_priors(base, priors, "p.yaml")
    ok = "timeline.suspension_ramp.values.moderation.twitter.intensity"
    cal.check_priors(
        base, {ok: cal.Prior.model_validate({"low": 0.01, "high": 0.1, "why": "w"})}, "p.yaml"
    )


def test_baseline_lays_the_calibrated_overlay_over_its_values() -> None:
    text = BASELINE.read_text()
    assert "overlay: ../calibration/calibrated.yaml" in text
    overlay = yaml.safe_load((REPO / "calibration" / "calibrated.yaml").read_text())
    sc = load_scenario(BASELINE)
    dumped = sc.model_dump()
    priors = load_priors(REPO / "calibration" / "priors.yaml")
    changes = {c["name"]: c for c in overlay.get("timeline_changes", {}).get("change", [])}
    for key in priors:
        if key.startswith("timeline."):
            name, _, value_key = key[len("timeline.") :].split(".", 2)
            entry = next(e for e in dumped["timeline"] if e["name"] == name)
            assert entry["values"][value_key] == changes[name]["values"][value_key]
            continue
        *path, last = key.split(".")
        node = overlay
        for p in path:
            node = node[p]
        parent, name = resolve_parent(sc, key)
        assert getattr(parent, name) == node[last]


# --- the command -----------------------------------------------------------------------------


def calibrate(tmp: Path, *extra: str, targets: Path | None = None, priors: Path | None = None):
    argv = ["calibrate", "--scenario", str(BASELINE), "--scale", TINY_SCALE, "--no-report"]
    argv += ["--candidates", "0"]  # (unless a test asks: the check runs at the scenario's scale)
    argv += ["--min-epsilon", "0"]  # every generation asked for (unless a test asks otherwise)
    argv += [a for s in TINY for a in ("--set", s)]
    argv += ["--out", str(tmp / "runs"), "--overlay", str(tmp / "calibrated.yaml")]
    argv += ["--targets", str(targets or tmp / "targets.yaml")]
    argv += ["--priors", str(priors or tmp / "priors.yaml")]
    return cli.main([*argv, *extra])


def resume(tmp: Path, calib_id: str, *extra: str) -> int:
    out = ["--out", str(tmp / "runs"), "--overlay", str(tmp / "calibrated.yaml")]
    return cli.main(
        ["calibrate", "--resume", calib_id, *out, "--no-report", "--workers", "1", *extra]
    )


TRUTH = {"accounts.initial": 25_000.0, "observation.anti_recall": 0.4}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """Targets made by the model itself at TRUTH (the median of 5 seeds: the truth's typical
    output, not one run's luck, which the posterior would follow), and priors around it."""
    tmp = tmp_path_factory.mktemp("synthetic")
    sc = load_scenario(BASELINE, [*TINY, f"scale={TINY_SCALE}"])
    sc = cal.with_parameters(sc.model_dump(), TRUTH)
    dailies = [simulate(sc.model_copy(deep=True), 12345 + k) for k in range(5)]
    rows = []
    for i, metric in enumerate(("active_accounts", "anti_posts_observed")):
        t = target(id=f"t{i}", metric=metric, value=1.0)
        x = float(np.median([t.simulate(daily, "twitter") for daily in dailies]))
        rows.append(t.model_dump(mode="json") | {"value": x, "tolerance": 0.12 * x})
    write_yaml(tmp / "targets.yaml", {"targets": rows})
    priors = {
        "accounts.initial": {"low": 10_000, "high": 40_000, "why": "around the truth"},
        "observation.anti_recall": {"low": 0.1, "high": 0.9, "scale": "log", "why": "idem"},
    }
    write_yaml(tmp / "priors.yaml", {"parameters": priors})
    return tmp


def history_of(runs: Path):
    (folder,) = [f for f in runs.iterdir() if f.is_dir()]
    return folder, pyabc.History("sqlite:///" + str(folder / "abc.db"))


def test_recovers_known_parameters(synthetic: Path, tmp_path: Path, capsys) -> None:
    for f in ("targets.yaml", "priors.yaml"):
        (tmp_path / f).write_text((synthetic / f).read_text())
    # one worker and a seed: the same posterior every time (no flaky interval checks); the
    # point chosen among the 3 best particles run at the scenario's scale (1:500 here)
    args = ["--particles", "20", "--generations", "4", "--workers", "1", "--seed", "7"]
    args += ["--candidates", "3", "--set", f"scale={TINY_SCALE}"]
    code = calibrate(tmp_path, *args)
    err = capsys.readouterr().err
    assert code == 0, err
    # a progress line per generation: epsilon, acceptance, generations done, the time left
    gens = [line for line in err.splitlines() if line.startswith("[propsim] generation ")]
    assert [line.split(":")[0] for line in gens] == [f"[propsim] generation {t}" for t in range(4)]
    assert "generation 3: epsilon" in gens[-1] and "4/4 generations" in gens[-1]
    assert all(f"{t + 1}/4 generations" in gens[t] for t in range(4))
    assert all(" left" in line for line in gens[:3]) and " left" not in gens[3]
    assert "[propsim] point check: 15/15 runs done" in err  # 3 candidates x 5 seeds, named
    folder, _ = history_of(tmp_path / "runs")
    post = pd.read_parquet(folder / "posterior.parquet")
    assert post["weight"].sum() == pytest.approx(1.0)
    priors = load_priors(tmp_path / "priors.yaml")
    for key, truth in TRUTH.items():
        lo, hi = (
            cal.weighted_quantile(post[key].to_numpy(), post["weight"].to_numpy(), q)
            for q in (0.05, 0.95)
        )
        assert lo <= truth <= hi, (key, lo, hi)
        # and the targets do identify it: the interval is clearly narrower than the prior's
        assert priors[key].to_unit(hi) - priors[key].to_unit(lo) < 0.85 * 0.9, (key, lo, hi)
    overlay = yaml.safe_load((tmp_path / "calibrated.yaml").read_text())
    assert 10_000 <= overlay["accounts"]["initial"] <= 40_000
    # the overlay is the accepted particle whose medians over 5 seeds at the scenario's scale
    # fit best among the 3 of smallest distance: not the medians of the posterior
    particles = pd.read_parquet(folder / cal.PARTICLES_NAME)
    check = pd.read_csv(folder / "point_check.csv")
    assert check["particle"].tolist() == cal.ranked_particles(particles)[:3]
    assert check["rank"].tolist() == [1, 2, 3]
    assert list(check[cal.DISTANCE]) == sorted(check[cal.DISTANCE])
    targets = load_targets(tmp_path / "targets.yaml")
    for _, row in check.iterrows():
        assert row["worst"] == pytest.approx(max(t.excess(row[t.id]) for t in targets))
        assert row["met"] == sum(t.excess(row[t.id]) <= 1 for t in targets)
    chosen = particles.iloc[int(check.loc[check["worst"].idxmin(), "particle"])]
    assert overlay["accounts"]["initial"] == pytest.approx(chosen["accounts.initial"], rel=1e-3)
    assert overlay["observation"]["anti_recall"] == pytest.approx(
        chosen["observation.anti_recall"], rel=1e-3
    )
    # every accepted particle's distance is its worst target's excess, from its own run
    for _, row in particles.iterrows():
        worst = max(t.excess(row[cal.TARGET_PREFIX + t.id]) for t in targets)
        assert row[cal.DISTANCE] == pytest.approx(worst)
    # the particles beside the overlay, for `propsim compare --posterior K`, which reads them
    beside = pd.read_csv(tmp_path / "posterior.csv")
    pd.testing.assert_frame_equal(beside, post, check_dtype=False)
    assert list(post.columns) == [*priors, "weight_raw", "weight"]
    from sim.analysis.paired import load_posterior

    assert set(load_posterior(tmp_path / "posterior.csv").columns) == {*priors, "weight"}
    # the fit report of the finished calibration says how the point was chosen
    report = tmp_path / "docs" / "calibration.md"
    code = cli.main(["calibrate", "--report-only", folder.name, "--out", str(tmp_path / "runs"),
                     "--overlay", str(tmp_path / "calibrated.yaml"), "--report", str(report),
                     "--draws", "3", "--candidates", "2", "--workers", "1", "--quiet"])  # fmt: skip
    assert code == 0
    text = report.read_text()
    assert "chosen among the 2 best-fitting ones by the check below" in text
    assert "| rank | distance (one run) | met by the medians | worst excess |  |" in text
    assert text.count("**chosen**") == 1


def test_resume_continues_the_generations(synthetic: Path, tmp_path: Path, capsys) -> None:
    args = ["--particles", "6", "--workers", "1", "--quiet", "--kernel", "per-parameter"]
    assert (
        calibrate(
            tmp_path,
            *args,
            "--generations",
            "1",
            targets=synthetic / "targets.yaml",
            priors=synthetic / "priors.yaml",
        )
        == 0
    )
    folder, history = history_of(tmp_path / "runs")
    assert history.max_t == 0
    quiet = capsys.readouterr()  # --quiet: no progress, only the folder
    assert quiet.err == "" and quiet.out == f"{folder}\n"
    first = pd.read_parquet(folder / "posterior.parquet")
    assert cal.Setup.load(folder).bandwidth == 0.5  # the default
    args = ["--generations", "3", "--particles", "8", "--bandwidth", "0.3"]
    assert resume(tmp_path, folder.name, *args) == 0
    history = pyabc.History("sqlite:///" + str(folder / "abc.db"))
    assert history.max_t == 2
    # more particles from the resumed generations on, and the setup says what was asked last
    pops = history.get_all_populations().set_index("t")
    assert pops.loc[[0, 1, 2], "particles"].tolist() == [6, 8, 8]
    saved = cal.Setup.load(folder)
    assert (saved.particles, saved.generations, saved.bandwidth) == (8, 3, 0.3)
    # the resume is kept: from which generation, with what command, and what it asked for
    (record,) = saved.resumes
    assert record["from_generation"] == 1 and "--bandwidth 0.3" in record["command"]
    assert (record["particles"], record["bandwidth"], record["bandwidth_before"]) == (8, 0.3, 0.5)
    assert saved.bandwidth_text() == "0.5 (0.3 from generation 1)"
    assert saved.commands() == [saved.command, record["command"]]
    overlay = (tmp_path / "calibrated.yaml").read_text()
    assert f"# Resumed: {record['command']}" in overlay
    from sim.analysis.fit_report import commands_text

    assert commands_text(saved) == (
        f"Command: `{saved.command}`; resumed from generation 1 with `{record['command']}`"
    )
    from sim.analysis.fit_report import particles_text

    assert particles_text(cal.generations_table(history)) == "6 particles (8 from generation 1)"
    assert len(pd.read_csv(folder / "generations.csv")) == 3
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "calibration" and manifest["generations"] == 3
    assert manifest["name"] == folder.name and "--particles 6" in manifest["command_line"]
    assert manifest["resumed"] == [record["command"]]
    assert cal.Setup.load(folder).kernel == "per-parameter"  # the resumed run keeps its kernel
    assert not pd.read_parquet(folder / "posterior.parquet").equals(first)
    assert "generation 1: epsilon" in capsys.readouterr().err
    # the resumed generation continues the median schedule (not the initial, infinite epsilon)
    pops = history.get_all_populations().set_index("t")
    expected = cal.resume_epsilon(pyabc.History("sqlite:///" + str(folder / "abc.db")), t=0)
    expected = max(expected, saved.min_epsilon)  # (the schedule's floor)
    assert math.isfinite(pops.loc[1, "epsilon"]) and pops.loc[1, "epsilon"] == expected


def test_by_default_stops_once_every_particle_meets_every_target(
    synthetic: Path, tmp_path: Path
) -> None:
    args = ["--particles", "8", "--workers", "1", "--seed", "5", "--quiet", "--min-epsilon", "1"]
    assert calibrate(tmp_path, *args, "--generations", "12", targets=synthetic / "targets.yaml",
                     priors=synthetic / "priors.yaml") == 0  # fmt: skip
    _, history = history_of(tmp_path / "runs")
    eps = history.get_all_populations().set_index("t")["epsilon"]
    assert history.max_t < 11, eps  # stopped before the last generation asked for
    assert eps.iloc[-1] <= 1 < eps.iloc[-2], eps
    post = history.get_weighted_distances()
    assert (post["distance"] <= 1).all()
    setup = cal.Setup.load(next((tmp_path / "runs").iterdir()))
    assert (setup.kernel, setup.min_epsilon) == ("per-parameter", 1.0)
    # once there, a resumed generation keeps epsilon at the floor (it moves and re-weights the
    # particles; it does not tighten past what was asked)
    folder, last = next((tmp_path / "runs").iterdir()), history.max_t
    assert resume(tmp_path, folder.name, "--generations", str(last + 2)) == 0
    again = pyabc.History("sqlite:///" + str(folder / "abc.db"))
    assert again.max_t == last + 1
    assert again.get_all_populations().set_index("t")["epsilon"].iloc[-1] == 1.0
    assert (again.get_weighted_distances()["distance"] <= 1).all()


@pytest.mark.parametrize(
    ("distances", "floor", "expected"),
    [([0.2, 0.5, 0.9], 1.0, 1.0), ([2.0, 3.0, 4.0], 1.0, 3.0), ([0.2, 0.5, 0.9], 0.0, 0.5)],
)
def test_epsilon_schedule_is_the_median_never_below_the_floor(
    distances: list[float], floor: float, expected: float
) -> None:
    eps = cal.epsilon_schedule(math.inf, floor)
    assert eps(0) == math.inf
    table = pd.DataFrame({"distance": distances, "w": [1.0] * len(distances)})
    eps.update(1, lambda: table, lambda: [], 1.0, {})
    assert eps(1) == pytest.approx(expected)
    assert cal.epsilon_schedule(0.5, floor)(0) == max(0.5, floor)  # (a resumed run's start)


def test_same_seed_same_posterior_on_one_worker(synthetic: Path, tmp_path: Path) -> None:
    posteriors = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        args = ["--particles", "6", "--generations", "2", "--workers", "1", "--seed", "3"]
        code = calibrate(
            folder, *args, targets=synthetic / "targets.yaml", priors=synthetic / "priors.yaml"
        )
        assert code == 0
        found, _ = history_of(folder / "runs")
        posteriors.append(pd.read_parquet(found / "posterior.parquet"))
    pd.testing.assert_frame_equal(posteriors[0], posteriors[1])


def test_resume_after_an_interrupt(synthetic: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    calls = {"n": 0}
    real = cal.SimulateTargets.__call__

    def flaky(self, sample):
        calls["n"] += 1
        if calls["n"] > 10:  # into the second generation
            raise KeyboardInterrupt
        return real(self, sample)

    monkeypatch.setattr(cal.SimulateTargets, "__call__", flaky)
    args = ["--particles", "6", "--workers", "1", "--generations", "2"]
    code = calibrate(
        tmp_path, *args, targets=synthetic / "targets.yaml", priors=synthetic / "priors.yaml"
    )
    assert code == cli.EXIT_INTERRUPTED
    folder, history = history_of(tmp_path / "runs")
    done = history.max_t
    assert done >= 0 and not (folder / "posterior.parquet").exists()
    assert not cal.is_finished(folder) and not (folder / "manifest.json").exists()
    # the simulations of the stopped generation are kept (module kept_sampler)
    from sim.analysis import kept_sampler

    kept = list((folder / kept_sampler.PARTIAL_DIR).glob("*.pkl"))
    assert done == 0 and kept, "the second generation's simulations were not kept"
    monkeypatch.setattr(cal.SimulateTargets, "__call__", real)
    assert resume(tmp_path, folder.name) == 0
    history = pyabc.History("sqlite:///" + str(folder / "abc.db"))
    assert history.max_t == 1 > done
    # the resumed generation counts the simulations taken back; nothing is left kept
    assert "simulations of the stopped run taken back" in capsys.readouterr().err
    assert not (folder / kept_sampler.PARTIAL_DIR).exists()


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--resume", "nope"], "no calibration 'nope'"),
        (["--report-only", "nope"], "no calibration 'nope'"),
        (["--scale", "0"], "must be at least 1"),
        (["--particles", "many"], "expected a number"),
        (["--set", "population.relaxation=7"], "relaxation"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(
    synthetic: Path, tmp_path: Path, capsys, extra, fragment
) -> None:
    code = calibrate(
        tmp_path, *extra, targets=synthetic / "targets.yaml", priors=synthetic / "priors.yaml"
    )
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT and fragment in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "calibrated.yaml").exists()


def test_bad_priors_file_exit_2(synthetic: Path, tmp_path: Path, capsys) -> None:
    priors = write_yaml(
        tmp_path / "p.yaml",
        {"parameters": {"population.relaxtion": {"low": 0.01, "high": 0.02, "why": "typo"}}},
    )
    code = calibrate(tmp_path, targets=synthetic / "targets.yaml", priors=priors)
    err = capsys.readouterr().err
    assert code == 2 and "population.relaxtion" in err and "p.yaml" in err
    assert not (tmp_path / "runs").exists()


def test_runs_on_a_dask_cluster(synthetic: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster:
        code = calibrate(
            tmp_path,
            "--particles",
            "4",
            "--generations",
            "1",
            "--scheduler",
            cluster.scheduler_address,
            targets=synthetic / "targets.yaml",
            priors=synthetic / "priors.yaml",
        )
    assert code == 0
    _, history = history_of(tmp_path / "runs")
    assert history.max_t == 0 and history.total_nr_simulations >= 4


# --- fit report tables -------------------------------------------------------------------------


def test_best_particle_is_the_smallest_distance_then_the_heaviest() -> None:
    post = pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, 4.0],
            cal.DISTANCE: [0.9, 0.4, 0.4, 1.2],
            "weight_raw": [0.1, 0.2, 0.5, 0.2],
            "weight": [0.1, 0.2, 0.5, 0.2],
        }
    )
    assert cal.best_particle(post) == 2
    priors = {"x": cal.Prior(low=0, high=10, why="w")}
    assert cal.point_estimate(post, priors) == {"x": 3.0}
    with pytest.raises(ValueError, match="no distances"):
        cal.best_particle(post.drop(columns=cal.DISTANCE))


def test_unfitted_targets_stay_out_of_the_distance(tmp_path: Path) -> None:
    fitted = target(id="a", value=10.0, tolerance=1.0)
    shown = target(id="b", value=10.0, tolerance=1.0, fit=False)
    d = cal.TargetDistance((fitted, shown))
    assert d({"a": 11.5, "b": 100.0}) == 1.5
    t = fitted.model_dump(mode="json")
    rows = [t | {"fit": False}, t | {"id": "c", "fit": False}]
    path = write_yaml(tmp_path / "targets.yaml", {"targets": rows})
    with pytest.raises(ScenarioError, match="nothing to calibrate to"):
        load_targets(path)


def test_fit_table_medians_intervals_and_verdicts() -> None:
    from sim.analysis.fit_report import fit_table

    ts = [target(id="a", value=10.0, tolerance=1.0), target(id="b", low=5.0, tolerance=1.0)]
    predictive = pd.DataFrame({"a": np.linspace(9, 13, 21), "b": np.linspace(0, 4, 21)})
    table = fit_table(ts, predictive, predictive).set_index("target")
    assert table.loc["a", "median"] == 11 and bool(table.loc["a", "met"])
    assert table.loc["b", "median"] == 2 and not bool(table.loc["b", "met"])
    assert table.loc["a", "q05"] == pytest.approx(9.2) and table.loc["a", "q95"] == pytest.approx(
        12.8
    )
    assert table.loc["a", "inside_90"] == pytest.approx(11 / 21)
    point = pd.DataFrame({"a": [10.0] * 5, "b": [5.0] * 5})
    table = fit_table(ts, predictive, point).set_index("target")
    assert bool(table.loc["b", "point_met"]) and not bool(table.loc["b", "met"])
    assert table["fit"].all()


def test_identification_tells_pinned_from_loose() -> None:
    from sim.analysis.fit_report import identification

    rng = np.random.default_rng(1)
    priors = {
        "x": cal.Prior(low=0, high=1, why="w"),
        "y": cal.Prior(low=0.01, high=1, scale="log", why="w"),
    }
    post = pd.DataFrame(
        {
            "x": rng.uniform(0, 1, 2000),  # as wide as the prior
            "y": 10 ** rng.uniform(-1.05, -0.95, 2000),  # a twentieth of the log range
            "weight": np.full(2000, 1 / 2000),
        }
    )
    ident = identification(post, priors).set_index("parameter")
    assert ident.loc["x", "verdict"] == "loose" and ident.loc["y", "verdict"] == "pinned"
    assert ident.loc["y", "q05"] < 0.1 < ident.loc["y", "q95"]


def test_truncated_weights_cap_a_dominant_particle() -> None:
    w = np.array([0.9, *[0.1 / 99] * 99])
    t = cal.truncate_weights(w)
    assert t.sum() == pytest.approx(1.0) and t.max() < 0.9
    assert cal.ess(t) > cal.ess(w)
    flat = np.full(50, 1 / 50)
    assert np.allclose(cal.truncate_weights(flat), flat)  # nothing to cap


def test_a_failing_fit_report_keeps_the_calibration_and_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.analysis import fit_report
    from sim.io import folders

    folder = tmp_path / "20261128-193000"
    folder.mkdir()
    (folder / "posterior.parquet").write_bytes(b"data")
    folders.write_json(folder / "manifest.json", {"kind": "calibration"})

    def boom(*a: object) -> None:
        raise MemoryError("out of memory in the predictive runs")

    monkeypatch.setattr(fit_report, "_write_report", boom)
    with pytest.raises(folders.PostProcessingFailed, match="out of memory") as err:
        fit_report.write_report(tmp_path / "report.md", folder, "id", None, None, None, {}, None)  # type: ignore[arg-type]
    assert err.value.folder == folder and (folder / "posterior.parquet").read_bytes() == b"data"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["post_processing"]["fit report"].startswith("failed: MemoryError")


def test_a_calibration_folder_is_worked_on_by_one_process(tmp_path: Path) -> None:
    from sim.io import folders

    folder = cal.create_folder(tmp_path, "20261128-193000", cal.Setup(command="propsim calibrate"))
    assert cal.Setup.load(folder).command == "propsim calibrate"
    with pytest.raises(FileExistsError):
        cal.create_folder(tmp_path, "20261128-193000", cal.Setup())
    with folders.locked(folder), pytest.raises(folders.FolderError, match="another propsim"):
        cal.run_abc(folder, cal.Setup(), None, None, resume=True)  # type: ignore[arg-type]


def test_predictive_runs_come_back_in_input_order_on_any_executor() -> None:
    from conftest import make_scenario

    from sim.analysis.fit_report import run_many
    from sim.execution.executors import SerialExecutor
    from sim.execution.runner import run_one

    a, b = make_scenario(end="2015-01-15"), make_scenario(end="2015-01-20")
    scenarios, seeds = [a, b, a], [1, 2, 3]
    with SerialExecutor() as serial:
        alone = run_many(scenarios, seeds, serial)
    pooled = run_many(scenarios, seeds, 2)
    assert [len(d) for d in alone] == [15, 20, 15]
    for got, s, seed, other in zip(alone, scenarios, seeds, pooled, strict=True):
        pd.testing.assert_frame_equal(got, run_one(s, seed), check_exact=True)
        pd.testing.assert_frame_equal(got, other, check_exact=True)


# --- issue 17.9: damaged setup.json, empty --resume ----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "",
        "[1, 2]",
        '{"particles": "many"}',
        '{"nope": 1}',
        '{"seed": -1}',
        '{"kernel": "gaussian"}',
        '{"resumes": {"command": "x"}}',
        '{"resumes": [{"command": "x", "particles": 0, "bandwidth": 1, "bandwidth_before": 1}]}',
        '{"resumes": [{"command": "x", "particles": 5, "bandwidth": 1}]}',
    ],  # fmt: skip
)
def test_calibration_damaged_setup_exits_2(tmp_path: Path, capsys, text: str) -> None:
    folder = tmp_path / "runs" / "20260101-000000"
    folder.mkdir(parents=True)
    (folder / cal.SETUP_NAME).write_text(text)
    for flag in ("--resume", "--report-only"):
        code = cli.main(["calibrate", "--out", str(tmp_path / "runs"), flag, folder.name])
        err = capsys.readouterr().err
        assert code == 2 and "the calibration's setup is damaged" in err, err
        assert "Traceback" not in err


def test_calibration_empty_resume_id_exits_2(tmp_path: Path, capsys) -> None:
    for flag in ("--resume", "--report-only"):
        code = cli.main(["calibrate", "--out", str(tmp_path / "runs"), flag, ""])
        assert code == 2 and "give the ID of a calibration" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--minutes", "inf"], "--minutes: expected a finite number"),
        (["--scale", "nan"], "--scale: expected a finite number"),
        (["--scale", "0.5"], "--scale: must be at least 1"),
        (["--seed", "1180591620717411303424"], "--seed: must be between 0 and"),
        (["--min-epsilon", "-1"], "--min-epsilon: must be at least 0"),
        (["--particles", "1000000000"], "--particles: must be at most"),
    ],
)
def test_calibration_numbers_are_bounded(tmp_path: Path, capsys, args: list[str], message: str):
    code = cli.main(["calibrate", "--out", str(tmp_path / "runs"), *args])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


# --- the proposal kernel ---------------------------------------------------------------------


def test_bandwidth_scales_each_kernels_variance() -> None:
    rng = np.random.default_rng(3)
    population = pd.DataFrame(rng.normal(0, 1, (200, 3)), columns=["a", "b", "c"])
    w = np.full(200, 1 / 200)
    for kernel in cal.KERNELS:
        wide, narrow = (cal.transition(kernel, ["a", "b", "c"], f) for f in (1.0, 0.25))
        wide.fit(population, w)
        narrow.fit(population, w)
        covs = [
            t.cov if kernel == "joint" else np.diag([t.mapping[(n,)].cov[0, 0] for n in "abc"])
            for t in (wide, narrow)
        ]
        np.testing.assert_allclose(covs[1], 0.25 * covs[0])
    assert cal.Setup().bandwidth == 0.5


def test_an_old_setup_reads_as_the_kernel_it_ran_with(tmp_path: Path) -> None:
    (tmp_path / cal.SETUP_NAME).write_text('{"particles": 160}')
    old = cal.Setup.load(tmp_path)
    assert (old.kernel, old.bandwidth) == ("joint", 1.0)


def test_the_cli_offers_every_kernel() -> None:
    from sim.cli.calibrate import KERNELS

    assert tuple(cal.KERNELS) == KERNELS
    from sim.analysis.fit_report import KERNEL_WORDS  # the report names each kernel

    assert set(KERNEL_WORDS) == set(cal.KERNELS)
    with pytest.raises(ValueError, match="unknown kernel 'nope'"):
        cal.transition("nope", ["a"])


def test_per_parameter_kernel_keeps_importance_weights_even() -> None:
    """Proposals from a population spread over a 12-dimensional uniform prior, weighted by
    prior over proposal density as ABC-SMC weighs them: one-dimensional kernels give an
    effective sample size near the number of proposals; the joint kernel loses most of it
    (its density varies over orders of magnitude in many dimensions)."""
    rng = np.random.default_rng(0)
    names = [f"p{i}" for i in range(12)]
    population = pd.DataFrame(rng.uniform(0, 1, (160, 12)), columns=names)
    share = {}
    for kernel in cal.KERNELS:
        np.random.seed(1)  # pyabc draws from numpy's global generator
        proposal = cal.transition(kernel, names)  # Silverman's rule as it is
        proposal.fit(population, np.full(160, 1 / 160))
        draws = proposal.rvs(400)
        draws = draws[((draws >= 0) & (draws <= 1)).all(axis=1)]  # the prior's support
        weights = 1 / np.asarray(proposal.pdf(draws))
        share[kernel] = cal.ess(weights) / len(draws)
        if kernel == "per-parameter":  # the product of each parameter's own kernel density
            one = [proposal.mapping[(n,)] for n in names]
            product = np.prod([t.pdf(draws[[n]]) for t, n in zip(one, names, strict=True)], 0)
            np.testing.assert_allclose(proposal.pdf(draws), product, rtol=1e-10)
    assert share["per-parameter"] > 0.5 and share["per-parameter"] > 2 * share["joint"], share


def test_a_resume_without_a_finished_generation_is_not_in_what_the_report_says() -> None:
    def record(start: int | None, particles: int, bandwidth: float, before: float) -> dict:
        return {
            "from_generation": start,
            "command": f"propsim calibrate --resume X --particles {particles}",
            "particles": particles,
            "bandwidth": bandwidth,
            "bandwidth_before": before,
        }

    setup = cal.Setup(command="propsim calibrate", particles=400, bandwidth=1.0)
    setup.resumes = [record(6, 200, 0.5, 1.0), record(8, 400, 1.0, 0.5)]
    # generation 8 is under way in another process: the history ends at 7
    shown = setup.as_of(7)
    assert shown.commands() == ["propsim calibrate", setup.resumes[0]["command"]]
    assert (shown.particles, shown.bandwidth) == (200, 0.5)
    assert shown.bandwidth_text() == "1 (0.5 from generation 6)"
    assert setup.resumes[1] in setup.resumes and len(setup.resumes) == 2  # (a copy; kept as is)
    assert setup.as_of(8) is setup  # once generation 8 is stored, every resume counts
    setup.resumes[1]["from_generation"] = None  # (a resume that never loaded the history)
    assert setup.as_of(8).commands() == shown.commands()
    none = cal.Setup(command="c", bandwidth=0.3)
    none.resumes = [record(3, 50, 0.3, 1.0)]
    assert none.as_of(2).bandwidth == 1.0 and none.as_of(2).commands() == ["c"]
