"""Results folders, plots and the replicate runner, tested against a fake model.

The fakes here (a ``simulate`` with the model's signature and a minimal scenario loader, used
only while ``sim.config.loader`` does not exist) are shared with ``tests/test_cli.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.analysis.problem import load_targets
from sim.components.moderation import PurgeEvent
from sim.components.policy import SetEvent
from sim.config.schema import Platform, apply_set
from sim.execution import runner
from sim.io import plots, results
from sim.metrics import METRICS, OUTCOMES, column_names
from sim.scenario import Scenario

STARTED = dt.datetime(2016, 7, 1, 12, 30, 45)

# --- fakes ---------------------------------------------------------------------------------

SIMULATE_CALLS: list[int] = []


def fake_simulate(scenario: Scenario, seed: int, progress=None) -> pd.DataFrame:
    """Plausible random daily metrics with the model's contract (deterministic in the seed)."""
    SIMULATE_CALLS.append(seed)
    rng = np.random.default_rng(seed)
    total = scenario.warmup_days + scenario.days
    done = 0
    while done < total and progress is not None:
        step = min(30, total - done)
        progress(step)
        done += step
    # the real model applies timeline `set` events in place: do the same to test isolation
    for ev in scenario.timeline:
        if isinstance(ev, SetEvent):
            for k, v in ev.values.items():
                apply_set(scenario, k, v)
    n = scenario.days
    t = np.arange(n)
    dates = pd.date_range(scenario.start, scenario.end, freq="D", name="date")
    opens = scenario.platform_names("open")
    encs = scenario.platform_names("encrypted")
    cols = column_names(opens, encs)
    wave = 1 + 0.5 * np.sin(2 * np.pi * t / 365 + rng.uniform(0, 6))
    data: dict[str, np.ndarray] = {}
    for c in cols:
        data[c] = rng.lognormal(np.log(1000), 0.1, n) * wave
    for p in opens:
        true = 60_000 * wave * rng.lognormal(0, 0.1, n)
        data[f"{p}.pro_posts_true"] = true
        data[f"{p}.pro_posts_observed"] = 0.3 * true
        data[f"{p}.anti_posts_observed"] = 0.3 * true * np.linspace(2, 6, n)
        data[f"{p}.anti_pro_ratio"] = data[f"{p}.anti_posts_observed"] / (0.3 * true)
        data[f"{p}.active_accounts"] = 40_000 * wave
        sus = rng.poisson(300 * wave).astype(float)
        sus[rng.random(n) < 0.1] = 0
        data[f"{p}.suspensions"] = sus
        data[f"{p}.cumulative_suspensions"] = np.cumsum(sus)
        data[f"{p}.mean_followers_suspended"] = np.where(
            sus > 0, rng.lognormal(np.log(800), 0.3, n), np.nan
        )
    rec = rng.poisson(5, n).astype(float)
    data["new_recruits"] = rec
    data["cumulative_recruits"] = np.cumsum(rec)
    return pd.DataFrame(data, index=dates, columns=cols)


class FakeScenarioError(Exception):
    pass


def _fake_load_scenario(path, overrides=None) -> Scenario:
    path = Path(path)
    if not path.is_file():
        raise FakeScenarioError(f"{path}: file not found")
    data = yaml.safe_load(path.read_text()) or {}
    for item in overrides or []:
        key, _, value = item.partition("=")
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = yaml.safe_load(value)
    try:
        return Scenario.model_validate(data)
    except Exception as err:
        raise FakeScenarioError(f"{path}: {err}") from None


def _fake_scenario_to_yaml(scenario: Scenario) -> str:
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)


def fake_model_module() -> types.ModuleType:
    mod = types.ModuleType("sim.core.model")
    mod.simulate = fake_simulate  # type: ignore[attr-defined]
    return mod


def fake_loader_module() -> types.ModuleType:
    mod = types.ModuleType("sim.config.loader")
    mod.ScenarioError = FakeScenarioError  # type: ignore[attr-defined]
    mod.load_scenario = _fake_load_scenario  # type: ignore[attr-defined]
    mod.scenario_to_yaml = _fake_scenario_to_yaml  # type: ignore[attr-defined]
    return mod


def real_loader_available() -> bool:
    try:
        import sim.config.loader  # noqa: F401
    except ImportError:
        return False
    return True


def install_fakes(setitem=None) -> None:
    """Fake ``sim.core.model`` always; fake ``sim.config.loader`` only while the real one does not
    exist."""
    setitem = setitem or sys.modules.__setitem__
    setitem("sim.core.model", fake_model_module())
    if not real_loader_available():
        setitem("sim.config.loader", fake_loader_module())


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    SIMULATE_CALLS.clear()
    install_fakes(lambda k, v: monkeypatch.setitem(sys.modules, k, v))


def tiny_scenario(**kw) -> Scenario:
    """The baseline's dates (so every target applies) at a coarse test scale."""
    base = {
        "name": "tiny",
        "warmup_days": 5,
        "scale": 1000,
        "replicates": 2,
        "timeline": [
            PurgeEvent(date=dt.date(2015, 4, 2), platform="twitter", accounts=10_000),
            SetEvent(
                date=dt.date(2016, 1, 1),
                label="automated flagging",
                values={"population.share_prob": 0.01},
            ),
        ],
    }
    base.update(kw)
    return Scenario(**base)


def write(tmp_path: Path, scenario: Scenario | None = None, **kw) -> Path:
    """``results.write_results`` of the fake model's runs; without plots unless ``plots=True``
    (drawing them is most of the time; the tests about plots ask for them)."""
    scenario = scenario or tiny_scenario()
    seeds = runner.replicate_seeds(scenario.seed, scenario.replicates)
    dailies = [fake_simulate(scenario.model_copy(deep=True), s) for s in seeds]
    args = {
        "command_line": ["propsim", "run", "x.yaml"],
        "started": STARTED,
        "duration": 1.5,
        "plots": False,
    }
    args.update(kw)
    return results.write_results(tmp_path, scenario, dailies, seeds, **args)


# --- results folders -----------------------------------------------------------------------


def test_round_trip(tmp_path: Path, fakes: None) -> None:
    scenario = tiny_scenario()
    folder = write(tmp_path, scenario)
    assert folder == tmp_path / "tiny-20160701-123045"
    assert sorted(os.listdir(tmp_path)) == ["tiny-20160701-123045"]
    manifest, dailies, summary = results.read_results(folder)

    cols = column_names(["twitter"], ["telegram"])
    assert len(dailies) == 2
    for r, daily in enumerate(dailies):
        assert list(daily.columns) == cols
        assert daily.index.name == "date"
        assert isinstance(daily.index, pd.DatetimeIndex)
        assert daily.index[0] == pd.Timestamp("2014-01-01")
        assert daily.index[-1] == pd.Timestamp("2016-06-30")
        expected = fake_simulate(scenario.model_copy(deep=True), scenario.seed + r)
        pd.testing.assert_frame_equal(daily, expected, check_freq=False, check_index_type=False)

    assert list(summary.columns) == ["replicate", "seed", *(o.name for o in OUTCOMES)]
    assert list(summary["replicate"]) == [0, 1]
    assert list(summary["seed"]) == [1, 2]
    csv = pd.read_csv(folder / "summary.csv")
    pd.testing.assert_frame_equal(csv, summary, check_dtype=False)


def test_manifest(tmp_path: Path, fakes: None) -> None:
    scenario = tiny_scenario(seed=7, replicates=3)
    folder = write(tmp_path, scenario, command_line=["propsim", "run", "my file.yaml"], plots=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in (
        "scenario",
        "seeds",
        "package_version",
        "git_commit",
        "started",
        "duration_seconds",
        "command_line",
        "python_version",
        "numpy_version",
        "reproduce",
    ):
        assert key in manifest, key
    assert manifest["scenario"] == scenario.model_dump(mode="json")
    assert manifest["seeds"] == [7, 8, 9]
    assert manifest["started"] == "2016-07-01T12:30:45"
    assert manifest["duration_seconds"] == 1.5
    assert manifest["command_line"] == "propsim run 'my file.yaml'"
    assert manifest["numpy_version"] == np.__version__
    assert isinstance(manifest["package_version"], str) and manifest["package_version"]
    assert manifest["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", manifest["git_commit"])
    assert manifest["reproduce"] == (
        f"propsim run {folder.resolve() / 'scenario.yaml'} --seed 7 --replicates 3"
    )
    assert manifest["files"]["daily"] == [f"daily/replicate_{r}.parquet" for r in range(3)]
    assert manifest["files"]["plots"] and manifest["post_processing"] == {"plots": "done"}
    for f in manifest["files"]["plots"]:
        assert (folder / f).is_file()


def test_scenario_yaml_loads_back_identical(tmp_path: Path, fakes: None) -> None:
    from sim.scenario import load_scenario

    scenario = tiny_scenario()
    folder = write(tmp_path, scenario)
    again = load_scenario(folder / "scenario.yaml", None)
    assert again.model_dump(mode="json") == scenario.model_dump(mode="json")


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failure_while_writing_the_data_leaves_nothing(
    tmp_path: Path, fakes: None, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    def boom(*a, **k):
        raise exc

    monkeypatch.setattr(results, "summary_table", boom)
    with pytest.raises(type(exc)):
        write(tmp_path)
    assert os.listdir(tmp_path) == []


def test_a_plot_failure_keeps_the_complete_folder_and_records_it(
    tmp_path: Path, fakes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*a, **k):
        raise RuntimeError("matplotlib on fire")

    monkeypatch.setattr(results, "make_plots", boom)
    with pytest.raises(results.PostProcessingFailed, match="matplotlib on fire") as err:
        write(tmp_path, plots=True)
    folder = err.value.folder
    assert sorted(os.listdir(tmp_path)) == [folder.name] == ["tiny-20160701-123045"]
    assert str(folder) in str(err.value)
    manifest, dailies, summary = results.read_results(folder)
    assert len(dailies) == 2 and len(summary) == 2
    assert all((folder / f).is_file() for f in manifest["files"]["daily"])
    assert manifest["post_processing"] == {"plots": "failed: RuntimeError: matplotlib on fire"}
    assert manifest["files"]["plots"] == [] and manifest["reproduce"].startswith("propsim run")


def test_an_interrupt_while_drawing_keeps_the_data(
    tmp_path: Path, fakes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "make_plots", stop)
    with pytest.raises(KeyboardInterrupt):
        write(tmp_path, plots=True)
    (folder,) = tmp_path.iterdir()
    manifest, dailies, _ = results.read_results(folder)
    assert len(dailies) == 2 and manifest["post_processing"] == {"plots": "failed: interrupted"}


def test_folder_being_written_has_partial_name(
    tmp_path: Path, fakes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []
    real = results.summary_table

    def spy(*a, **k):
        seen.append(sorted(os.listdir(tmp_path)))
        return real(*a, **k)

    monkeypatch.setattr(results, "summary_table", spy)
    folder = write(tmp_path)
    assert seen == [[".tiny-20160701-123045.partial"]]
    assert sorted(os.listdir(tmp_path)) == [folder.name]
    assert results.is_partial(tmp_path / seen[0][0])
    with pytest.raises(ValueError, match="unfinished"):
        results.read_results(tmp_path / seen[0][0])


def test_a_killed_write_leaves_only_a_folder_no_reader_takes_for_finished(
    tmp_path: Path, fakes: None
) -> None:
    # what a kill -9 in the middle of writing leaves: a partial folder with part of the data
    left = tmp_path / ".tiny-20160701-123045.partial"
    (left / "daily").mkdir(parents=True)
    (left / "scenario.yaml").write_text("name: tiny\n")
    assert results.is_partial(left)
    with pytest.raises(ValueError, match="unfinished"):
        results.read_results(left)
    folder = write(tmp_path)  # a new run in the same second does not reuse or finish it
    assert folder.name == "tiny-20160701-123045-2" and left.is_dir()
    assert results.read_results(folder)[0]["reproduce"].startswith("propsim run")


def test_same_second_gets_a_new_name(tmp_path: Path, fakes: None) -> None:
    a = write(tmp_path)
    b = write(tmp_path)
    assert a.name == "tiny-20160701-123045"
    assert b.name == "tiny-20160701-123045-2"
    assert json.loads((b / "manifest.json").read_text())["reproduce"].startswith(
        f"propsim run {b.resolve()}"
    )


@pytest.mark.parametrize("name", ["..", "a..b", "../escape", "a/b", ".hidden", "", "x y"])
def test_name_escape_rejected(tmp_path: Path, fakes: None, name: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    scenario = tiny_scenario().model_copy(update={"name": name})  # bypasses the schema pattern
    with pytest.raises(ValueError, match="results folder name"):
        write(out, scenario)
    assert os.listdir(out) == []
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_valid_names_accepted() -> None:
    for name in ("baseline", "gec_2016.v2", "A-b_c.1"):
        results.validate_name(name)


def test_no_plots(tmp_path: Path, fakes: None) -> None:
    folder = write(tmp_path, plots=False)
    assert not (folder / "plots").exists()
    assert json.loads((folder / "manifest.json").read_text())["files"]["plots"] == []


def test_read_results_needs_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a results folder"):
        results.read_results(tmp_path)


def test_summary_table_matches_summarize(fakes: None) -> None:
    from sim.metrics import summarize

    scenario = tiny_scenario()
    dailies = [fake_simulate(scenario, s) for s in (1, 2)]
    table = results.summary_table(scenario, dailies, [1, 2])
    assert table.shape == (2, 2 + len(OUTCOMES))
    want = summarize(dailies[1], ["twitter"], ["telegram"])
    for k, v in want.items():
        assert table.loc[1, k] == pytest.approx(v, nan_ok=True)


# --- runner ----------------------------------------------------------------------------------


def test_platform_helpers() -> None:
    s = tiny_scenario(
        platforms={
            "tg": Platform(kind="encrypted"),
            "twitter": Platform(kind="open"),
            "fb": Platform(kind="open"),
            "wa": Platform(kind="encrypted"),
        }
    )
    assert runner.open_platforms(s) == ["twitter", "fb"]
    assert runner.encrypted_platforms(s) == ["tg", "wa"]


def test_run_replicates_seeds_progress_and_isolation(fakes: None) -> None:
    scenario = tiny_scenario()
    before = scenario.model_dump(mode="json")
    dailies = runner.run_replicates(scenario, replicates=3, seed=10, progress=False)
    assert SIMULATE_CALLS == [10, 11, 12]
    assert len(dailies) == 3
    assert not dailies[0].equals(dailies[1])
    # the fake applies the timeline in place; the caller's scenario must not change
    assert scenario.model_dump(mode="json") == before


def test_run_replicates_rejects_a_broken_model(
    fakes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bad(scenario, seed, progress=None):
        return fake_simulate(scenario, seed, progress).drop(columns=["supporters"])

    monkeypatch.setattr(sys.modules["sim.core.model"], "simulate", bad)
    with pytest.raises(RuntimeError, match="missing \\['supporters'\\]"):
        runner.run_replicates(tiny_scenario(), replicates=1, seed=1, progress=False)


def test_run_replicates_rejects_zero(fakes: None) -> None:
    with pytest.raises(ValueError):
        runner.run_replicates(tiny_scenario(), replicates=0, seed=1, progress=False)


# --- plots -----------------------------------------------------------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plots_are_nonempty_pngs(tmp_path: Path, fakes: None) -> None:
    scenario = tiny_scenario()
    dailies = [fake_simulate(scenario, s) for s in (1, 2, 3)]
    paths = plots.make_plots(dailies, scenario, tmp_path / "plots", targets=load_targets())
    names = {p.name for p in paths}
    assert {
        "pro_posts.png",
        "accounts.png",
        "followers.png",
        "anti_pro_ratio.png",
        "reach.png",
        "audience.png",
        "encrypted.png",
    } <= names
    for p in paths:
        data = p.read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 10_000


def test_plots_without_encrypted_platform_and_one_replicate(tmp_path: Path, fakes: None) -> None:
    scenario = tiny_scenario(
        platforms={"twitter": Platform(kind="open")}, timeline=[], start=dt.date(2015, 1, 1)
    )
    paths = plots.make_plots([fake_simulate(scenario, 1)], scenario, tmp_path)
    assert "encrypted.png" not in {p.name for p in paths}
    assert all(p.stat().st_size > 0 for p in paths)


def test_targets_drawn_only_when_covered() -> None:
    ids = {t.id for t in plots.targets_in_range(tiny_scenario(), load_targets())}
    assert ids == {t.id for t in plots.plot_targets(load_targets())}
    only_2014 = tiny_scenario(end=dt.date(2014, 12, 31), timeline=[])
    assert {t.id for t in plots.targets_in_range(only_2014, load_targets())} == {
        "posts_2014",
        "accounts_2014",
        "followers_2014",
        "suspended_2014",
    }
    only_2015 = tiny_scenario(start=dt.date(2015, 1, 1), end=dt.date(2015, 12, 31), timeline=[])
    assert {t.id for t in plots.targets_in_range(only_2015, load_targets())} == {
        "purge_response_2015",
        "telegram_hub_2015",
    }


def test_targets_name_known_metrics() -> None:
    names = {m.name for m in METRICS}
    for t in plots.plot_targets(load_targets()):
        assert t.metric in names
        assert all(a <= b for a, b in t.windows)
        assert (t.low is None) == (t.high is None)


def test_every_target_metric_has_a_panel() -> None:
    panels = [p for f in plots.figure_specs(tiny_scenario()) for p in f.panels]
    shown = {m for p in panels for m in p.target_metrics}
    assert {t.metric for t in plots.plot_targets(load_targets())} <= shown


def test_event_labels() -> None:
    s = tiny_scenario()
    assert plots.event_label(s.timeline[0]) == "purge 10,000 accounts (twitter)"
    assert plots.event_label(s.timeline[1]) == "automated flagging"


def test_only_events_of_the_reported_days_are_drawn() -> None:
    """Events after the end (or in the warm-up) get no line or label outside the panels."""
    s = tiny_scenario()
    assert plots.events_in_view(s) == list(s.timeline)
    short = tiny_scenario(end=dt.date(2015, 12, 31))
    assert [ev.date for ev in plots.events_in_view(short)] == [dt.date(2015, 4, 2)]
    late = tiny_scenario(start=dt.date(2015, 4, 5))  # the purge falls in the warm-up
    assert [ev.date for ev in plots.events_in_view(late)] == [dt.date(2016, 1, 1)]
