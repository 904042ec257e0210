"""``propsim sweep`` and ``propsim sensitivity`` end to end (in-process, one worker)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from sweep_helpers import KEY, progress_lines, slow_runs, write_tiny

from sim import cli
from sim.analysis.tables import SHOWN, format_value


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tiny(tmp_path)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "results"


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sweep_grid_of_two_keys(tiny: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, err = _main(
        capsys, "sweep", str(tiny), "--vary", f"{KEY}=0.001,0.05", "--vary",
        "population.counter_effect=0:0.01:3", "--replicates", "2", "--seed", "4",
        "--workers", "1", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    (folder,) = out.iterdir()
    assert folder.name.startswith("tiny-sweep-")
    runs = pd.read_csv(folder / "runs.csv")
    assert len(runs) == 2 * 3 * 2 and set(runs.seed) == {4, 5}
    assert sorted(set(zip(runs[KEY], runs["population.counter_effect"], strict=True))) == [
        (a, b) for a in (0.001, 0.05) for b in (0.0, 0.005, 0.01)
    ]
    assert (folder / "plots" / "heatmaps.png").is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["command_line"].startswith("propsim sweep ")
    assert "--vary population.counter_effect=0:0.01:3" in manifest["reproduce"]
    assert manifest["design"]["design"] == "grid" and len(manifest["points"]) == 6
    assert "Median over 2 replicate(s)" in stdout and f"Results: {folder}" in stdout


def test_sweep_lhs_with_quiet_prints_only_the_folder(tiny: Path, out: Path, capsys) -> None:
    code, stdout, err = _main(
        capsys, "sweep", str(tiny), "--design", "lhs", "--samples", "4", "--vary",
        f"{KEY}=0.001:0.05", "--replicates", "1", "--workers", "1", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    folder = Path(stdout.strip())
    runs = pd.read_csv(folder / "runs.csv")
    assert len(runs) == 4 and runs[KEY].between(0.001, 0.05).all()
    assert (folder / "plots" / f"scatter_{KEY.replace('.', '_')}.png").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--vary", "moderation.twitter.intensty=0.1,0.2"],
            "--vary moderation.twitter.intensty=0.1: unknown key 'intensty' in moderation.twitter"
            " — did you mean 'intensity'?",
        ),
        (["--vary", f"{KEY}=0.1,2"], f"--vary {KEY}=2: must be <= 1, got 2"),
        (["--vary", f"{KEY}=0.1:0.2"], "a range is start:stop:count"),
        (["--vary", f"{KEY}=0.1,0.2", "--design", "lhs", "--samples", "3"], "bounds lo:hi"),
        (["--vary", f"{KEY}=0.1:0.2", "--design", "lhs"], "--design lhs needs --samples N"),
        (["--vary", f"{KEY}=0.1,0.2", "--samples", "3"], "--samples is for --design lhs"),
        ([], "give at least one --vary"),
        (["--vary", f"{KEY}=0.1", "--set", "scale=0"], "--set scale=0: must be >= 1"),
        (["--vary", f"{KEY}=0.1", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach a Dask"),
    ],
)
def test_bad_sweep_input_exits_2_naming_the_key_and_writes_nothing(
    tiny: Path,
    out: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sim.execution.executors.CONNECT_TIMEOUT", 1.0)
    code, _, err = _main(capsys, "sweep", str(tiny), "--out", str(out), "--workers", "1", *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_resume_needs_an_unfinished_folder(tiny: Path, out: Path, tmp_path: Path, capsys) -> None:
    code, _, err = _main(capsys, "sweep", "--resume", str(tmp_path / "nope"))
    assert code == 2 and "no such folder" in err
    code, _, err = _main(capsys, "sweep", str(tiny), "--resume", str(tmp_path))
    assert code == 2 and "drop SCENARIO" in err
    code, _, err = _main(capsys, "sensitivity", "--resume", str(tmp_path), "--seed", "3")
    assert code == 2 and "drop --seed" in err
    assert _main(capsys, "sweep", str(tiny), "--vary", f"{KEY}=0.1", "--replicates", "1",
                 "--workers", "1", "--out", str(out), "--quiet", "--no-plots")[0] == 0  # fmt: skip
    (done,) = out.iterdir()
    code, _, err = _main(capsys, "sweep", "--resume", str(done))
    assert code == 2 and "nothing to resume" in err


PARAMS = f"""\
levers:
  - name: intensity
    key: {KEY}
    bounds: [0.001, 0.05]
  - name: counter
    key: population.counter_effect
    bounds: [0.0, 0.01]
outcomes:
  - name: posts
    metric: pro_posts_observed
    start: 2015-01-10
  - name: sympathizers
    metric: sympathizers
    stat: last
"""


def test_sensitivity_morris_end_to_end(tiny: Path, out: Path, tmp_path: Path, capsys) -> None:
    params = tmp_path / "levers.yaml"
    params.write_text(PARAMS)
    code, stdout, err = _main(
        capsys, "sensitivity", str(tiny), "--params", str(params), "--method", "morris",
        "--n", "3", "--workers", "1", "--out", str(out), "--name", "tiny_levers",
    )  # fmt: skip
    assert code == 0, err
    (folder,) = out.iterdir()
    assert folder.name.startswith("tiny_levers-sensitivity-")
    indices = pd.read_csv(folder / "indices.csv")
    assert list(indices.columns) == ["outcome", "lever", "mu", "mu_star", "mu_star_conf", "sigma"]
    assert list(indices.outcome) == ["posts", "posts", "sympathizers", "sympathizers"]
    assert indices["mu_star"].notna().all()
    runs = pd.read_csv(folder / "runs.csv")
    assert len(runs) == 3 * 3
    assert {"posts", "sympathizers", "intensity", "counter"} <= set(runs.columns)
    assert (folder / "params.yaml").read_text() == PARAMS
    assert (folder / "plots" / "indices.png").is_file()
    assert "mu*" in stdout and "posts" in stdout
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "--method morris --n 3" in manifest["reproduce"]


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ("bounds: [0.001, 0.05]", "bounds: [0.001, 5]"),
            "error: {params}: levers: intensity (x=5) sets moderation.twitter.intensity=5.0: "
            "must be <= 1, got 5",
        ),
        (
            ("key: population.counter_effect", "key: population.counter_efect"),
            "unknown key 'counter_efect' in population — did you mean 'counter_effect'?",
        ),
        (
            ("metric: sympathizers", "metric: sympathiser"),
            ":13: outcomes.1.metric: unknown metric 'sympathiser' — did you mean",
        ),
        (
            ("metric: pro_posts_observed", "metric: telegram.pro_posts_observed"),
            "outcomes: posts: the scenario has no metric 'telegram.pro_posts_observed' "
            "(it has twitter.pro_posts_observed)",
        ),
    ],
)
def test_bad_parameter_files_exit_2(
    tiny: Path, out: Path, tmp_path: Path, capsys, change: tuple[str, str], message: str
) -> None:
    params = tmp_path / "levers.yaml"
    params.write_text(PARAMS.replace(*change))
    code, _, err = _main(capsys, "sensitivity", str(tiny), "--params", str(params), "--n", "4",
                         "--workers", "1", "--out", str(out))  # fmt: skip
    assert code == 2, err
    assert message.format(params=params) in err and "Traceback" not in err
    assert not out.exists()


def test_sensitivity_checks_n_and_the_file(tiny: Path, tmp_path: Path, capsys) -> None:
    code, _, err = _main(capsys, "sensitivity", str(tiny), "--params", str(tmp_path / "x.yaml"))
    assert code == 2 and "no such file" in err
    params = tmp_path / "levers.yaml"
    params.write_text(PARAMS)
    code, _, err = _main(capsys, "sensitivity", str(tiny), "--params", str(params), "--n", "12")
    assert code == 2 and "power of two" in err


def test_help_lists_the_new_commands(capsys) -> None:
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "sweep" in text and "sensitivity" in text
    for command in ("sweep", "sensitivity"):
        assert cli.main([command, "--help"]) == 0
        assert "--resume" in capsys.readouterr().out
    assert os.cpu_count()


def test_ctrl_c_then_resume_finishes_a_sensitivity_run(
    tiny: Path, out: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.analysis import sweep as sw

    params = tmp_path / "levers.yaml"
    params.write_text(PARAMS)
    write_part, written = sw.write_part, []

    def interrupted_after_two(*args, **kw):  # Ctrl-C while the third run is being saved
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(write_part(*args, **kw))

    monkeypatch.setattr(sw, "write_part", interrupted_after_two)
    args = ["--params", str(params), "--method", "morris", "--n", "2", "--workers", "1"]
    code, _, err = _main(capsys, "sensitivity", str(tiny), *args, "--out", str(out))
    assert code == 130
    (partial,) = out.iterdir()
    assert f"2 of 6 runs are saved in {partial}" in err
    assert f"propsim sensitivity --resume {partial}" in err
    saved = {p.name: p.stat().st_mtime_ns for p in written}
    monkeypatch.setattr(sw, "write_part", write_part)
    code, stdout, err = _main(capsys, "sensitivity", "--resume", str(partial), "--workers", "1")
    assert code == 0, err
    assert "6 runs, 2 already done" in err
    (final,) = out.iterdir()
    assert not sw.is_partial(final) and len(pd.read_csv(final / "indices.csv")) == 4
    for name, mtime in saved.items():  # the two runs saved before Ctrl-C were kept, not redone
        assert (final / "runs" / name).stat().st_mtime_ns == mtime


def test_damaged_part_files_are_redone_on_resume(
    tiny: Path, out: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17.7: truncated, empty, garbage and copied part files, a deleted points.csv."""
    from sim.analysis import sweep as sw

    write_part, written = sw.write_part, []

    def interrupted_after_four(*args, **kw):
        if len(written) == 4:
            raise KeyboardInterrupt
        written.append(write_part(*args, **kw))

    monkeypatch.setattr(sw, "write_part", interrupted_after_four)
    argv = ["sweep", str(tiny), "--vary", f"{KEY}=0.001,0.01,0.05", "--replicates", "2"]
    code, _, _ = _main(capsys, *argv, "--workers", "1", "--out", str(out), "--no-plots")
    assert code == 130
    (partial,) = out.iterdir()
    runs = partial / "runs"
    good, truncated, empty, garbage = sorted(runs.iterdir())
    truncated.write_bytes(truncated.read_bytes()[:100])
    empty.write_bytes(b"")
    garbage.write_bytes(b"PAR1 not really parquet at all")
    (runs / f"copy of {good.name}").write_bytes(good.read_bytes())
    (runs / "point_9-rep_0.parquet").write_bytes(good.read_bytes())  # no such point
    (partial / "points.csv").unlink()
    monkeypatch.setattr(sw, "write_part", write_part)
    code, _, err = _main(capsys, "sweep", "--resume", str(partial), "--workers", "1", "--no-plots")
    assert code == 0, err
    for path in (truncated, empty, garbage):
        assert f"removed runs/{path.name} (damaged" in err
    assert "wrote the missing points.csv" in err and "Traceback" not in err
    (final,) = out.iterdir()
    table = pd.read_csv(final / "runs.csv")
    assert len(table) == 6 and not table.duplicated(["point", "replicate"]).any()
    assert (final / "points.csv").is_file()


def test_sweep_progress_in_a_log_name_and_summary_stats(
    tiny: Path, out: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stderr not a terminal: periodic lines with runs, share of days and the time left;
    --name names the folder; summary_stats.csv holds the printed medians (and 5%, 95%)."""
    slow_runs(monkeypatch)
    code, stdout, err = _main(
        capsys, "sweep", str(tiny), "--vary", f"{KEY}=0.001,0.05", "--replicates", "2",
        "--workers", "1", "--out", str(out), "--no-plots", "--name", "tiny_fast",
    )  # fmt: skip
    assert code == 0, err
    lines = progress_lines(err)
    assert len(lines) >= 3 and {line["name"] for line in lines} == {"tiny_fast"}
    done = [int(line["done"]) for line in lines]
    share = [int(line["share"]) for line in lines]
    assert done == sorted(done) and share == sorted(share) and lines[0]["total"] == "4"
    assert any(line["left"] for line in lines)
    (folder,) = out.iterdir()
    assert folder.name.startswith("tiny_fast-sweep-")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["name"] == "tiny_fast" and manifest["scenario"]["name"] == "tiny_fast"
    assert manifest["files"]["summary_stats"] == "summary_stats.csv"
    stats = pd.read_csv(folder / "summary_stats.csv")
    assert list(stats.columns[:3]) == ["point", KEY, "outcome"]
    runs = pd.read_csv(folder / "runs.csv")
    printed = {
        int(row.split()[0]): row.split()[2:]
        for row in stdout.splitlines()
        if row.strip()[:1].isdigit()
    }
    shown = [c for c in SHOWN if c in runs]
    for p, sub in runs.groupby("point"):
        by = stats[stats["point"] == p].set_index("outcome")
        for i, c in enumerate(shown):
            assert by.loc[c, "median"] == pytest.approx(sub[c].median())
            assert printed[int(p)][i] == format_value(by.loc[c, "median"], by.loc[c, "unit"])
        by = by.dropna(subset=["median"])  # (an outcome with no value: NaN, as in runs.csv)
        assert (by["q05"] <= by["median"]).all() and (by["median"] <= by["q95"]).all()


def test_sweep_quiet_has_no_progress(
    tiny: Path, out: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_runs(monkeypatch)
    code, stdout, err = _main(
        capsys, "sweep", str(tiny), "--vary", f"{KEY}=0.001,0.05", "--replicates", "1",
        "--workers", "1", "--out", str(out), "--no-plots", "--quiet",
    )  # fmt: skip
    assert code == 0 and err == "" and stdout.count("\n") == 1


def test_sweep_name_checks(tiny: Path, out: Path, tmp_path: Path, capsys) -> None:
    code, _, err = _main(capsys, "sweep", str(tiny), "--vary", f"{KEY}=0.1", "--name", "a/b",
                         "--out", str(out))  # fmt: skip
    assert code == 2 and "--name" in err and "cannot name a results folder" in err
    assert not out.exists()
    code, _, err = _main(capsys, "sweep", "--resume", str(tmp_path), "--name", "x")
    assert code == 2 and "drop --name" in err
