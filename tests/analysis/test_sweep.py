"""``sim.analysis.sweep``: folders written run by run, resumable, and the CLI's kill safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_helpers import KEY, tiny_plan, write_tiny

from sim.analysis import sweep as sw
from sim.execution.executors import SerialExecutor

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tiny(tmp_path)


def _run(folder: Path, plan: sw.Plan, tasks: list[sw.Task]) -> None:
    sw.execute(
        folder,
        tasks,
        sw.simulate_task,
        SerialExecutor(),
        total=len(plan.tasks()),
        progress=False,
        desc="t",
    )


def test_a_sweep_writes_one_part_per_run_and_a_complete_folder(tiny: Path, tmp_path: Path) -> None:
    plan = tiny_plan(tiny)
    folder = sw.create_folder(tmp_path / "out", plan, ["propsim", "sweep", "x"])
    assert sw.is_partial(folder) and folder.name.startswith(".tiny-sweep-")
    manifest = json.loads((folder / sw.MANIFEST).read_text())
    assert manifest["seeds"] == [7, 8] and manifest["points"] == plan.points
    assert manifest["overrides"] == [[f"{KEY}={v}"] for v in (0.001, 0.02, 0.1)]
    _run(folder, plan, sw.pending_tasks(folder, plan))
    assert len(os.listdir(folder / sw.RUNS_DIR)) == 6
    final = sw.finish_folder(folder, {"duration_seconds": 1.0})
    assert not folder.exists() and final.name == folder.name[1:].removesuffix(".partial")
    runs = pd.read_csv(final / sw.RUNS_CSV)
    assert list(runs.columns[:4]) == ["point", KEY, "replicate", "seed"]
    assert list(zip(runs.point, runs.replicate, runs.seed, strict=True)) == [
        (p, r, 7 + r) for p in range(3) for r in range(2)
    ]
    # common random numbers: replicate r has the same seed at every point; outcomes differ
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()
    assert runs["total_suspensions"].nunique() > 1
    daily = sw.read_daily(final)
    assert len(daily) == 6 * 30 and {"point", "replicate", "seed", "date"} <= set(daily.columns)
    manifest = json.loads((final / sw.MANIFEST).read_text())
    assert manifest["reproduce"].startswith(f"propsim sweep {final / 'scenario.yaml'} --vary ")
    assert not (final / sw.LOCK).exists()


def test_resume_runs_only_what_is_missing_and_gives_the_same_rows(
    tiny: Path, tmp_path: Path
) -> None:
    plan = tiny_plan(tiny)
    whole = sw.create_folder(tmp_path / "a", plan, ["x"])
    _run(whole, plan, plan.tasks())
    expected = sw.read_runs(whole)

    folder = sw.create_folder(tmp_path / "b", plan, ["x"])
    _run(folder, plan, plan.tasks()[:4])
    (folder / sw.RUNS_DIR / ".point_000002-rep_0001.parquet.tmp-99").write_bytes(b"half")
    manifest, again = sw.open_folder(folder)  # rebuilt from the folder alone
    assert [s.model_dump() for s in again.scenarios] == [s.model_dump() for s in plan.scenarios]
    todo = sw.pending_tasks(folder, again)
    assert [(t.point, t.replicate) for t in todo] == [(2, 0), (2, 1)]
    assert not any(n.startswith(".") for n in os.listdir(folder / sw.RUNS_DIR))
    _run(folder, again, todo)
    assert sw.pending_tasks(folder, again) == []
    pd.testing.assert_frame_equal(sw.read_runs(folder), expected)


def test_a_folder_is_worked_on_by_one_process_at_a_time(tiny: Path, tmp_path: Path) -> None:
    folder = sw.create_folder(tmp_path, tiny_plan(tiny), ["x"])
    with (
        sw.locked(folder),
        pytest.raises(sw.FolderError, match="another propsim"),
        sw.locked(folder),
    ):
        pass
    with sw.locked(folder):  # released
        pass


def test_a_bare_resume_finds_the_unfinished_folder_of_the_same_sweep(
    tiny: Path, tmp_path: Path
) -> None:
    plan = tiny_plan(tiny)
    folder = sw.create_folder(tmp_path, plan, ["x"])
    assert sw.find_resumable(tmp_path, plan) == folder
    assert sw.find_resumable(tmp_path, tiny_plan(tiny, values=(0.5,))) is None
    assert sw.find_resumable(tmp_path, tiny_plan(tiny, seed=8)) is None


def _sweep_cmd(tiny: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "sim.cli", "sweep", str(tiny),
        "--vary", f"{KEY}=0.001:0.1:6", "--replicates", "2", "--workers", "1",
        "--out", str(out), "--no-plots", "--quiet", *extra,
    ]  # fmt: skip


def test_kill_9_then_resume_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    # a slower tiny scenario (90 days), so that the kill lands in the middle of the sweep
    tiny = write_tiny(tmp_path, end="2015-03-31")
    out = tmp_path / "out"
    proc = subprocess.Popen(_sweep_cmd(tiny, out), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    parts: list[str] = []
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(out.glob(".*.partial/runs/point_*.parquet"))
        if len(found) >= 2:
            parts = [p.name for p in found]
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    assert 2 <= len(parts) < 12
    (partial,) = out.glob(".*.partial")
    saved = {p.name: p.stat().st_mtime_ns for p in (partial / "runs").glob("point_*.parquet")}

    done = subprocess.run(_sweep_cmd(tiny, out, "--resume"), cwd=REPO, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    final = Path(done.stdout.strip())
    assert final.parent == out and not partial.exists()
    runs = pd.read_csv(final / "runs.csv")
    assert len(runs) == 12 and not runs.duplicated(["point", "replicate"]).any()
    for name, mtime in saved.items():  # runs saved before the kill were not redone
        assert (final / "runs" / name).stat().st_mtime_ns == mtime
    daily = sw.read_daily(final)
    assert len(daily) == 12 * 90 and not daily.duplicated(["point", "replicate", "date"]).any()
    # the same rows as an uninterrupted sweep (run here, in this process)
    plan = tiny_plan(tiny, values=(0.001, 0.0208, 0.0406, 0.0604, 0.0802, 0.1), replicates=2,
                     seed=1)  # fmt: skip
    fresh = sw.create_folder(tmp_path / "fresh", plan, ["x"])
    _run(fresh, plan, plan.tasks())
    pd.testing.assert_frame_equal(sw.read_runs(fresh), sw.read_runs(final))


def test_a_plot_failure_keeps_the_finished_sweep_and_records_it(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.analysis import sweep_plots

    def boom(*a: object, **k: object) -> None:
        raise ValueError("cannot draw")

    monkeypatch.setattr(sweep_plots, "make_sweep_plots", boom)
    plan = tiny_plan(tiny, values=(0.001, 0.1), replicates=1)
    folder = sw.create_folder(tmp_path, plan, ["x"])
    _run(folder, plan, plan.tasks())
    with pytest.raises(sw.PostProcessingFailed, match="cannot draw") as err:
        sw.finish_sweep(folder, plan, plots=True, seconds=2.0)
    final = err.value.folder
    assert not folder.exists() and final == tmp_path / sw.final_name(folder)
    assert not sw.is_partial(final) and len(pd.read_csv(final / sw.RUNS_CSV)) == 2
    manifest = sw.read_manifest(final)
    assert manifest["post_processing"] == {"plots": "failed: ValueError: cannot draw"}
    assert manifest["plots"] == [] and manifest["duration_seconds"] == 2.0


def test_finish_sweep_draws_its_plots_in_the_finished_folder(tiny: Path, tmp_path: Path) -> None:
    plan = tiny_plan(tiny, values=(0.001, 0.1), replicates=1)
    folder = sw.create_folder(tmp_path, plan, ["x"])
    _run(folder, plan, plan.tasks())
    final, runs = sw.finish_sweep(folder, plan, plots=True, seconds=1.0)
    manifest = sw.read_manifest(final)
    assert manifest["plots"] and all((final / f).is_file() for f in manifest["plots"])
    assert manifest["post_processing"] == {"plots": "done"} and len(runs) == 2
