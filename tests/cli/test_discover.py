"""``propsim discover`` end to end on a tiny real sweep (in-process, one worker): the table, the
results folder beside the sweep, its reproduce command, the report, and every bad input refused
with exit code 2 and nothing written."""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import SMALL

from sim import cli
from sim.analysis.discover import MIN_POINTS
from sim.analysis.report import build_report

KEYS = ("moderation.twitter.intensity", "population.counter_effect")
OUTCOME = "posts_observed_last90"


def _tiny(folder: Path) -> Path:
    """The test suite's small scenario cut to 30 days at 1:1000 (a run takes hundredths of a
    second)."""
    data = copy.deepcopy(SMALL) | {"name": "tiny", "end": "2015-01-30", "scale": 1000,
                                   "warmup_days": 5}  # fmt: skip
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _sweep(tmp: Path, *design: str) -> Path:
    out = tmp / "sweeps"
    before = set(out.iterdir()) if out.is_dir() else set()
    code = cli.main(["sweep", str(_tiny(tmp)), *design, "--replicates", "2", "--workers", "1",
                     "--out", str(out), "--quiet", "--no-plots"])  # fmt: skip
    assert code == 0
    (folder,) = set(out.iterdir()) - before
    return folder


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sweep(tmp_path_factory.mktemp("discover"), "--design", "lhs", "--samples", "16",
                  "--vary", f"{KEYS[0]}=0.001:0.2", "--vary", f"{KEYS[1]}=0:0.012")  # fmt: skip


def _threshold(sweep: Path) -> float:
    """A threshold that some points' medians meet and others do not."""
    med = pd.read_csv(sweep / "runs.csv").groupby("point")[OUTCOME].median()
    assert med.nunique() > 4  # the levers move the outcome
    return float(med.quantile(0.4))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # (what earlier commands printed)
    code = cli.main(["discover", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_discover_writes_a_folder_beside_the_sweep(sweep: Path, capsys, tmp_path: Path) -> None:
    x = _threshold(sweep)
    code, out, err = _run(capsys, str(sweep), "--outcome", OUTCOME, "--below", f"{x:g}")
    assert code == 0, err
    assert f"Scenario discovery (PRIM): {OUTCOME} below {x:g}" in out
    assert "16 rows (the median over 2 replicates per point)" in out
    assert "Chosen box" in out and "<- chosen" in out and all(k in out for k in KEYS)
    folder = Path(out.strip().rsplit("Results: ", 1)[1])
    assert folder.parent == sweep.parent and folder.name.startswith("tiny-discover-")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "discover" and manifest["sweep"] == str(sweep.resolve())
    assert manifest["keys"] == list(KEYS) and manifest["replicates"] == "median per point"
    assert manifest["plots"] == ["plots/tradeoff.png", "plots/box.png"]
    points = pd.read_csv(folder / "points.csv")
    assert len(points) == 16 and points["meets"].sum() == manifest["cases_of_interest"]
    assert (points.loc[points["meets"], OUTCOME] < x).all()
    chosen = manifest["chosen"]
    assert points["in_box"].sum() == chosen["rows"]
    assert chosen["cases"] == (points["in_box"] & points["meets"]).sum()
    # the reproduce command gives the same box
    again = tmp_path / "again"
    cmd = shlex.split(manifest["reproduce"])
    assert cmd[:2] == ["propsim", "discover"]
    code, out2, err = _run(capsys, *cmd[2:-2], "--out", str(again), "--quiet")
    assert code == 0, err
    (copy_folder,) = again.iterdir()
    assert out2.strip() == str(copy_folder)
    for name in ("limits.csv", "trajectory.csv", "points.csv"):
        assert (copy_folder / name).read_text() == (folder / name).read_text()
    # the report has the discovery's sections
    page = build_report(folder)
    assert 'id="scenario-discovery"' in page and 'id="trajectory"' in page
    assert f"does {OUTCOME} stay below" in page and "quasi-p" in page


def test_each_replicate_gives_prim_every_run(sweep: Path, capsys, tmp_path: Path) -> None:
    x = _threshold(sweep)
    code, out, err = _run(capsys, str(sweep), "--outcome", OUTCOME, "--above", f"{x:g}",
                          "--each-replicate", "--out", str(tmp_path), "--no-plots")  # fmt: skip
    assert code == 0, err
    assert "32 rows (one row per run)" in out
    (folder,) = tmp_path.iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["replicates"] == "each replicate is a row" and manifest["plots"] == []
    assert "--each-replicate" in manifest["reproduce"]
    points = pd.read_csv(folder / "points.csv")
    assert len(points) == 32 and (points.loc[points["meets"], OUTCOME] > x).all()


def _refused(capsys, tmp_path: Path, *args: str) -> str:
    before = sorted(tmp_path.rglob("*"))
    capsys.readouterr()  # (what earlier commands printed)
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    assert sorted(tmp_path.rglob("*")) == before  # nothing written
    assert "Traceback" not in err
    return err


def test_bad_input_is_refused_with_a_clear_message(sweep: Path, capsys, tmp_path: Path) -> None:
    s = str(sweep)
    out = ["--out", str(tmp_path)]
    err = _refused(capsys, tmp_path, s, "--outcome", "posts_observed_last_90", "--below", "1", *out)
    assert "--outcome posts_observed_last_90: not an outcome of this sweep" in err
    assert "did you mean 'posts_observed_last90'?" in err
    err = _refused(capsys, tmp_path, s, "--outcome", OUTCOME, "--below", "-1", *out)
    assert f"no design point has {OUTCOME} below -1" in err and "choose a threshold" in err
    err = _refused(capsys, tmp_path, s, "--outcome", OUTCOME, "--below", "1", "--above", "0", *out)
    assert "not allowed with argument" in err
    err = _refused(capsys, tmp_path, s, "--outcome", OUTCOME, *out)
    assert "one of the arguments --below --above is required" in err
    err = _refused(capsys, tmp_path, s, "--outcome", OUTCOME, "--below", "nan", *out)
    assert "expected a finite number" in err
    err = _refused(capsys, tmp_path, s, "--outcome", OUTCOME, "--below", "1e12", "--box", "999",
                   *out)  # fmt: skip
    assert "--box 999: the peeling trajectory has boxes 0 to" in err
    err = _refused(capsys, tmp_path, str(sweep / "runs"), "--outcome", OUTCOME, "--below", "1")
    assert "not a results folder (no manifest.json)" in err
    err = _refused(capsys, tmp_path, str(tmp_path / "nope"), "--outcome", OUTCOME, "--below", "1")
    assert "no such folder" in err


def test_a_folder_of_another_kind_or_too_few_points_is_refused(capsys, tmp_path: Path) -> None:
    run_out = tmp_path / "runs"
    assert cli.main(["run", str(_tiny(tmp_path)), "--replicates", "1", "--workers", "1",
                     "--out", str(run_out), "--quiet", "--no-plots"]) == 0  # fmt: skip
    (run_folder,) = run_out.iterdir()
    err = _refused(capsys, tmp_path, str(run_folder), "--outcome", OUTCOME, "--below", "1")
    assert "a 'run' folder; propsim discover reads the runs of a sweep" in err
    small = _sweep(tmp_path, "--vary", f"{KEYS[0]}=0.001,0.01,0.1")
    err = _refused(capsys, tmp_path, str(small), "--outcome", OUTCOME, "--below", "1e12")
    assert (
        f"3 design point(s) with a value of {OUTCOME}: scenario discovery needs at least "
        f"{MIN_POINTS}" in err
    )
