"""The ``propsim`` CLI end to end: in-process via ``main`` and as ``python -m sim.cli``.

Runs use the fake model of ``tests/test_results.py`` (and its fake loader while
``sim.config.loader``
does not exist); ``test_real_model_end_to_end`` uses the real ``sim.core.model`` when it exists.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_results import SIMULATE_CALLS, fake_simulate, install_fakes

from sim import cli
from sim.analysis.tables import format_value
from sim.io import results
from sim.metrics import METRICS, OUTCOMES, column_names

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

TINY_YAML = """\
# A tiny scenario for tests: the baseline's dates at a coarse scale.
name: tiny
start: 2014-01-01
end: 2016-06-30
warmup_days: 5
scale: 1000
replicates: 2
seed: 3
timeline:
  - action: purge
    date: 2015-04-02
    platform: twitter
    accounts: 10000
    label: purge of about 10,000 accounts
"""


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake model (and fake loader while there is no real one) for this test.

    The fakes live in this process, so replicates must run here too: ``--workers`` defaults to
    the number of cores, which the fixture makes 1.
    """
    SIMULATE_CALLS.clear()
    install_fakes(lambda k, v: monkeypatch.setitem(sys.modules, k, v))
    monkeypatch.setattr(os, "cpu_count", lambda: 1)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "results"


def folders(out: Path) -> list[str]:
    return sorted(os.listdir(out)) if out.exists() else []


# --- run -------------------------------------------------------------------------------------


def test_run_end_to_end(tiny: Path, out: Path, fakes: None, capsys) -> None:
    code = cli.main(["run", str(tiny), "--out", str(out), "--replicates", "3", "--seed", "5"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert SIMULATE_CALLS == [5, 6, 7]
    (name,) = folders(out)
    folder = out / name
    assert name.startswith("tiny-")
    assert captured.out.rstrip().endswith(f"Results: {folder}")
    for o in OUTCOMES:
        assert o.name in captured.out
    assert "median" in captured.out and "95%" in captured.out
    assert "Traceback" not in captured.err

    manifest, dailies, summary = results.read_results(folder)
    assert manifest["seeds"] == [5, 6, 7]
    assert manifest["scenario"]["replicates"] == 3
    assert manifest["scenario"]["seed"] == 5
    assert manifest["command_line"] == shlex.join(
        ["propsim", "run", str(tiny), "--out", str(out), "--replicates", "3", "--seed", "5"]
    )
    assert all(list(d.columns) == column_names(["twitter"], ["telegram"]) for d in dailies)
    assert len(summary) == 3
    assert (folder / "plots" / "pro_posts.png").stat().st_size > 0

    # the manifest's command reproduces the run bit for bit
    argv = shlex.split(manifest["reproduce"])
    assert argv[:2] == ["propsim", "run"]
    again_out = out.parent / "again"
    assert cli.main([*argv[1:], "--out", str(again_out), "--quiet", "--no-plots"]) == 0
    (again,) = folders(again_out)
    _, dailies2, summary2 = results.read_results(again_out / again)
    for a, b in zip(dailies, dailies2, strict=True):
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(summary, summary2)


def test_run_uses_scenario_seed_and_replicates(tiny: Path, out: Path, fakes: None) -> None:
    assert cli.main(["run", str(tiny), "--out", str(out), "--quiet", "--no-plots"]) == 0
    assert SIMULATE_CALLS == [3, 4]


def test_run_quiet_prints_only_the_path(tiny: Path, out: Path, fakes: None, capsys) -> None:
    assert cli.main(["run", str(tiny), "--out", str(out), "--quiet", "--no-plots"]) == 0
    captured = capsys.readouterr()
    (name,) = folders(out)
    assert captured.out == f"{out / name}\n"
    assert captured.err == ""
    assert not (out / name / "plots").exists()


def test_run_with_set(tiny: Path, out: Path, fakes: None) -> None:
    argv = ["run", str(tiny), "--out", str(out), "--quiet", "--no-plots"]
    assert cli.main([*argv, "--set", "end=2015-06-30", "--set", "name=short"]) == 0
    (name,) = folders(out)
    assert name.startswith("short-")
    manifest, dailies, _ = results.read_results(out / name)
    assert manifest["scenario"]["end"] == "2015-06-30"
    assert dailies[0].index[-1] == pd.Timestamp("2015-06-30")


# --- bad input: exit code 2, one message, nothing written -----------------------------------


def assert_bad_input(code: int, capsys, *fragments: str) -> str:
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    assert captured.err.startswith("propsim: error:") or captured.err.startswith("usage:")
    for f in fragments:
        assert f in captured.err
    return captured.err


def test_run_missing_file(tmp_path: Path, out: Path, fakes: None, capsys) -> None:
    missing = tmp_path / "nope.yaml"
    code = cli.main(["run", str(missing), "--out", str(out)])
    assert_bad_input(code, capsys, "nope.yaml")
    assert not out.exists()
    assert SIMULATE_CALLS == []


def test_validate_missing_file(tmp_path: Path, fakes: None, capsys) -> None:
    assert_bad_input(cli.main(["validate", str(tmp_path / "nope.yaml")]), capsys, "nope.yaml")


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--replicates", "0"], "--replicates"),
        (["--replicates", "many"], "--replicates"),
        (["--replicates", "100000"], "--replicates"),
        (["--seed", "-1"], "--seed"),
        (["--frobnicate"], "--frobnicate"),
    ],
)
def test_run_bad_arguments(
    tiny: Path, out: Path, fakes: None, capsys, extra: list[str], fragment: str
) -> None:
    code = cli.main(["run", str(tiny), "--out", str(out), *extra])
    assert_bad_input(code, capsys, fragment)
    assert not out.exists()
    assert SIMULATE_CALLS == []


def test_run_scenario_error(tiny: Path, out: Path, fakes: None, capsys) -> None:
    code = cli.main(["run", str(tiny), "--out", str(out), "--set", "scale=0"])
    assert_bad_input(code, capsys, "scale")
    assert not out.exists()


def test_scenario_error_message_is_passed_through(
    tiny: Path, out: Path, fakes: None, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    loader = sys.modules["sim.config.loader"]

    def fail(path, overrides=None):
        raise loader.ScenarioError(
            f"{path}:3: moderation.twiter: unknown key; did you mean twitter?"
        )

    monkeypatch.setattr(sys.modules["sim.scenario"], "load_scenario", fail)
    err = assert_bad_input(cli.main(["run", str(tiny), "--out", str(out)]), capsys)
    assert "tiny.yaml:3: moderation.twiter: unknown key; did you mean twitter?" in err
    assert not out.exists()


def test_run_bad_name(tiny: Path, out: Path, fakes: None, capsys) -> None:
    code = cli.main(["run", str(tiny), "--out", str(out), "--set", "name=.."])
    assert_bad_input(code, capsys, "results folder name")
    assert not out.exists()


def test_run_out_is_a_file(tiny: Path, tmp_path: Path, fakes: None, capsys) -> None:
    f = tmp_path / "file"
    f.write_text("")
    assert_bad_input(cli.main(["run", str(tiny), "--out", str(f)]), capsys, "not a folder")


def test_no_command(capsys) -> None:
    assert cli.main([]) == 2
    assert "usage: propsim" in capsys.readouterr().err


# --- failures and interruptions --------------------------------------------------------------


def test_interrupt_during_run(
    tiny: Path, out: Path, fakes: None, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(scenario, seed, progress=None):
        if seed == 4:
            raise KeyboardInterrupt
        return fake_simulate(scenario, seed, progress)

    monkeypatch.setattr(sys.modules["sim.core.model"], "simulate", interrupted)
    assert cli.main(["run", str(tiny), "--out", str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert folders(out) == []


def test_interrupt_while_writing(
    tiny: Path, out: Path, fakes: None, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "summary_table", interrupted)
    assert cli.main(["run", str(tiny), "--out", str(out)]) == 130
    assert folders(out) == []  # no folder, no partial folder


def test_sigterm_stops_a_run_as_ctrl_c_does(tmp_path: Path, out: Path) -> None:
    """``kill`` (SIGTERM) on the ``propsim`` program: the interrupted message, exit code 130,
    nothing partial left (``sim.cli.main.entry``)."""
    import signal

    log = tmp_path / "stderr.txt"
    args = [sys.executable, "-m", "sim.cli", "run", str(REPO / "scenarios" / "baseline.yaml")]
    args += ["--set", "scale=2000", "--replicates", "50", "--workers", "1", "--out", str(out)]
    with open(log, "wb") as err:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        proc = subprocess.Popen(args, cwd=tmp_path, env=env, stderr=err)
        try:
            deadline = time.monotonic() + 120
            while "Running" not in log.read_text(errors="replace"):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the run never started"
                time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text()
    assert code == 130, text
    assert "interrupted" in text and "Traceback" not in text
    assert folders(out) == []


def test_a_plot_failure_exits_1_and_keeps_the_results(
    tiny: Path, out: Path, fakes: None, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*a, **k):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(results, "make_plots", broken)
    assert cli.main(["run", str(tiny), "--out", str(out)]) == 1
    (name,) = folders(out)
    assert "no fonts" in capsys.readouterr().err
    manifest, dailies, _ = results.read_results(out / name)
    assert len(dailies) == 2 and manifest["post_processing"]["plots"].startswith("failed")


def test_model_failure_exits_1(
    tiny: Path, out: Path, fakes: None, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(scenario, seed, progress=None):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(sys.modules["sim.core.model"], "simulate", broken)
    assert cli.main(["run", str(tiny), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "unexpected failure (ZeroDivisionError: oops)" in err
    assert folders(out) == []


# --- validate, schema, metrics, help ---------------------------------------------------------


def test_validate_ok(tiny: Path, fakes: None, capsys) -> None:
    assert cli.main(["validate", str(tiny)]) == 0
    assert (
        capsys.readouterr().out
        == "OK: tiny, 2014-01-01..2016-06-30, scale 1:1000, 1 timeline event\n"
    )
    assert cli.main(["validate", str(tiny), "--set", "scale=20"]) == 0
    assert "scale 1:20," in capsys.readouterr().out


def test_schema(tmp_path: Path, capsys) -> None:
    assert cli.main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "properties" in schema
    assert {"name", "start", "end", "timeline", "platforms"} <= set(schema["properties"])
    f = tmp_path / "scenario.schema.json"
    assert cli.main(["schema", "--out", str(f)]) == 0
    assert json.loads(f.read_text()) == schema


def test_metrics_lists_everything(capsys) -> None:
    assert cli.main(["metrics"]) == 0
    text = capsys.readouterr().out
    for m in METRICS:
        assert f"  {m.name} " in text, m.name
        assert m.description.split()[0] in text
    for o in OUTCOMES:
        assert f"  {o.name} " in text, o.name


@pytest.mark.parametrize("command", ["run", "validate", "schema", "metrics"])
def test_help(command: str, capsys) -> None:
    assert cli.main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: propsim {command}")


def test_top_level_help_lists_commands(capsys) -> None:
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for command in ("run", "validate", "schema", "metrics"):
        assert command in text
    assert "Exit codes" in text


def test_format_value() -> None:
    assert format_value(1234567.4, "users") == "1,234,567"
    assert format_value(0.5512, "ratio") == "0.55"
    assert format_value(45.25, "days") == "45.2"
    assert format_value(3.14159, "posts/day") == "3.14"
    assert format_value(0.0, "users") == "0"
    assert format_value(12.0, "followers") == "12"
    assert format_value(float("nan"), "users") == "n/a"


# --- as a process ----------------------------------------------------------------------------


def run_process(
    args: list[str], cwd: Path, fake: Path | None = None
) -> subprocess.CompletedProcess:
    """``python -m sim.cli ARGS``; with ``fake``, a sitecustomize there installs the fakes."""
    env = dict(os.environ)
    paths = [str(REPO)] + ([str(fake)] if fake else [])
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [PYTHON, "-m", "sim.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def fake_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import test_results\n"
        "test_results.install_fakes()\n"
    )
    return site


def test_process_run(tiny: Path, tmp_path: Path, fake_site: Path) -> None:
    proc = run_process(["run", str(tiny), "--quiet", "--no-plots"], cwd=tmp_path, fake=fake_site)
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip())
    assert folder.parent == Path("results")  # default --out, relative to the working folder
    assert (tmp_path / folder / "manifest.json").is_file()


def test_process_bad_input(tmp_path: Path, fake_site: Path) -> None:
    proc = run_process(["run", "missing.yaml"], cwd=tmp_path, fake=fake_site)
    assert proc.returncode == 2
    assert "missing.yaml" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()
    proc = run_process(["run", "x.yaml", "--replicates", "0"], cwd=tmp_path, fake=fake_site)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_process_bad_input_of_an_analysis_command(tmp_path: Path) -> None:
    # raised in sim.analysis.plans as sim.errors.BadInput, with sim.cli running as __main__
    proc = run_process(["sweep", "x.yaml", "--vary", "a.b=0:1", "--design", "lhs"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "--design lhs needs --samples N" in proc.stderr and "Traceback" not in proc.stderr


def test_entry_runs_main_and_freezes_the_heap_for_the_exit(tmp_path: Path) -> None:
    code = (
        "import gc, sys\n"
        "from sim import cli\n"
        "sys.argv = ['propsim', 'validate', 'missing.yaml']\n"
        "print(cli.entry(), gc.get_freeze_count() > 0)\n"
    )
    proc = subprocess.run(
        [PYTHON, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.stdout.split() == ["2", "True"], proc.stderr
    assert "missing.yaml" in proc.stderr


def test_process_schema_metrics_help(tmp_path: Path) -> None:
    proc = run_process(["schema"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "properties" in json.loads(proc.stdout)
    proc = run_process(["metrics"], cwd=tmp_path)
    assert proc.returncode == 0 and all(m.name in proc.stdout for m in METRICS)
    proc = run_process(["run", "--help"], cwd=tmp_path)
    assert proc.returncode == 0 and "usage: propsim run" in proc.stdout


# --- the real model ----------------------------------------------------------------------------

HAVE_REAL = (REPO / "sim" / "core" / "model.py").exists() and (
    REPO / "sim" / "config" / "loader.py"
).exists()


@pytest.mark.skipif(
    not HAVE_REAL, reason="sim/core/model.py or sim/config/loader.py not written yet"
)
def test_real_model_end_to_end(tiny: Path, tmp_path: Path) -> None:
    proc = run_process(["run", str(tiny), "--quiet"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / proc.stdout.strip()
    manifest, dailies, summary = results.read_results(folder)
    assert manifest["seeds"] == [3, 4]
    for d in dailies:
        assert list(d.columns) == column_names(["twitter"], ["telegram"])
        assert len(d) == (pd.Timestamp("2016-06-30") - pd.Timestamp("2014-01-01")).days + 1
    assert len(summary) == 2
    assert len(list((folder / "plots").glob("*.png"))) >= 7
    # same scenario and seed give bit-identical results
    again = run_process(
        ["run", str(folder / "scenario.yaml"), "--quiet", "--no-plots", "--out", "again"]
        + ["--replicates", "1"],
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    _, dailies2, _ = results.read_results(tmp_path / again.stdout.strip())
    pd.testing.assert_frame_equal(dailies[0], dailies2[0])


BAD = sorted((Path(__file__).parent / "scenarios_bad").glob("*.yaml"))


@pytest.mark.parametrize("bad", BAD, ids=[p.stem for p in BAD])
def test_every_malformed_scenario_exits_2_and_writes_nothing(
    bad: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "results"
    code = cli.main(["run", str(bad), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert bad.name in err  # the message names the file (line and key: tests/test_loader.py)
    assert folders(out) == []


# --- calibration targets on the plots ---------------------------------------------------------


def test_run_passes_the_calibration_targets_to_the_plots_of_the_fitted_scenario_only(
    tiny: Path, out: Path, fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import yaml

    from sim.analysis.problem import load_targets
    from sim.config.resources import shipped

    seen: list[list[str]] = []

    def spy(dailies, scenario, folder, targets=()):
        seen.append([t.id for t in targets])
        return []

    monkeypatch.setattr(results, "make_plots", spy)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # no calibration/ here: the shipped targets
    # the scenario they were fitted on (the baseline, here shorter and at another scale)
    baseline = ["run", "baseline", "--set", "end=2014-12-31", "--set", "scale=400"]
    baseline += ["--replicates", "1", "--out", str(out), "--quiet"]
    assert cli.main(baseline) == 0
    assert seen == [[t.id for t in load_targets()]] and len(seen[0]) > 1
    # a counterfactual gets none, and a note says why
    capsys.readouterr()
    assert cli.main(["run", str(tiny), "--out", str(out)]) == 0
    assert seen[1] == []
    assert "calibration targets not drawn: not the calibrated baseline" in capsys.readouterr().err
    # an edited copy in the working folder wins
    data = yaml.safe_load(shipped("calibration/targets.yaml").read_text())
    (work / "calibration").mkdir()
    (work / "calibration" / "targets.yaml").write_text(
        yaml.safe_dump({"targets": data["targets"][:1]})
    )
    assert cli.main(baseline) == 0
    assert seen[2] == [data["targets"][0]["id"]]
    # --no-plots reads no targets at all (a broken file does not matter then)
    (work / "calibration" / "targets.yaml").write_text("targets: [\n")
    assert cli.main(["run", str(tiny), "--out", str(out), "--quiet", "--no-plots"]) == 0
    assert cli.main(["run", str(tiny), "--out", str(out), "--quiet"]) == 2
    assert len(seen) == 3


# --- issue 17.13: messages and exit codes of bad arguments -----------------------------------


def test_messages_and_exit_codes_of_bad_arguments(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fakes: None
) -> None:
    folder = tmp_path / "a_folder"
    folder.mkdir()
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    cases = [
        (["schema", "--out", str(tmp_path / "missing" / "s.json")], "cannot write the file"),
        (["sensitivity", str(tiny), "--params", str(folder)], "is not a file"),
        (["sensitivity", str(tiny), "--params", str(empty)], "expected the levers and outcomes"),
    ]
    if Path("/proc/self").exists():  # root passes os.access there; the real test does not
        cases.append((["run", str(tiny), "--out", "/proc"], "--out /proc: cannot create"))
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert not any(p.name.startswith(".propsim-check") for p in tmp_path.iterdir())


# --- progress, --name, summary_stats.csv (issue 16, parts 6 and 7) ------------------------------

PROGRESS_LINE = re.compile(
    r"^\[propsim\] (\S+): (\d+)/(\d+) replicates?, (\d+)% of simulated days, (.+) elapsed"
    r"(?:, about (.+) left)?$"
)


@pytest.fixture
def slow_model(fakes: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake model, taking 5 ms per 30 simulated days (about 0.15 s a replicate of TINY), and
    a plain progress line every 20 ms."""
    from sim.execution import progress

    def slow(scenario, seed, tick=None):
        def paced(n: int) -> None:
            time.sleep(0.005)
            if tick is not None:
                tick(n)

        return fake_simulate(scenario, seed, paced)

    monkeypatch.setattr(sys.modules["sim.core.model"], "simulate", slow)
    monkeypatch.setattr(progress, "INTERVAL", 0.02)


def test_run_progress_lines_in_a_log(tiny: Path, out: Path, slow_model: None, capsys) -> None:
    """stderr not a terminal (captured, as a log file): periodic lines with the replicates
    done, the share of simulated days, the time elapsed and the time left, then a last line."""
    assert cli.main(["run", str(tiny), "--out", str(out), "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = [line for line in err.splitlines() if line.startswith("[propsim]")]
    matches = [PROGRESS_LINE.match(line) for line in lines[:-1]]
    assert len(matches) >= 3 and all(matches), lines
    done = [int(m.group(2)) for m in matches if m]
    shares = [int(m.group(4)) for m in matches if m]
    assert done == sorted(done) and shares == sorted(shares)
    assert all(m.group(1) == "tiny" and m.group(3) == "2" for m in matches if m)
    assert any(m.group(6) for m in matches if m)  # an estimate of the time left
    assert lines[-1].startswith("[propsim] tiny: 2/2 replicates done in ")


def test_run_quiet_has_no_progress(tiny: Path, out: Path, slow_model: None, capsys) -> None:
    assert cli.main(["run", str(tiny), "--out", str(out), "--no-plots", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.count("\n") == 1


def test_run_bar_on_a_terminal(
    tiny: Path, out: Path, slow_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stderr a pseudo-terminal: a tqdm bar over the simulated days, no plain lines."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    chunks: list[bytes] = []
    try:
        with os.fdopen(slave, "w", closefd=False) as tty:
            monkeypatch.setattr(sys, "stderr", tty)
            code = cli.main(["run", str(tiny), "--out", str(out), "--no-plots"])
            tty.flush()
            while select.select([master], [], [], 0.2)[0]:
                chunks.append(os.read(master, 65536))
    finally:
        os.close(master)
        os.close(slave)
    text = b"".join(chunks).decode()
    assert code == 0
    days = 2 * (5 + 912)  # two replicates of 2014-01-01..2016-06-30 with 5 warm-up days
    assert "\r" in text and f"{days}/{days}" in text and "2/2 replicates" in text, text
    assert "[propsim]" not in text


def test_run_saves_the_printed_table(tiny: Path, out: Path, fakes: None, capsys) -> None:
    """summary_stats.csv holds the printed median and 5-95% table, and is in the manifest."""
    assert cli.main(["run", str(tiny), "--out", str(out), "--no-plots", "--replicates", "5"]) == 0
    printed = capsys.readouterr().out
    (name,) = folders(out)
    folder = out / name
    stats = pd.read_csv(folder / "summary_stats.csv")
    assert list(stats.columns) == ["outcome", "median", "q05", "q95", "unit", "replicates"]
    assert list(stats["outcome"]) == [o.name for o in OUTCOMES]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"]["summary_stats"] == "summary_stats.csv"
    rows = {line.split()[0]: line.split()[1:4] for line in printed.splitlines() if line.strip()}
    summary = pd.read_csv(folder / "summary.csv")
    for r in stats.itertuples(index=False):
        unit = r.unit if isinstance(r.unit, str) else ""
        shown = [format_value(getattr(r, c), unit) for c in ("median", "q05", "q95")]
        assert rows[r.outcome] == shown
        x = summary[r.outcome].dropna()
        if len(x):
            assert r.median == pytest.approx(x.median()) and r.replicates == len(x)
            assert r.q05 <= r.median <= r.q95


def test_run_with_name(tiny: Path, out: Path, fakes: None, capsys) -> None:
    """--name: the folder, the table's label and the saved scenario (which reproduces it)."""
    argv = ["run", str(tiny), "--out", str(out), "--no-plots", "--set", "scale=500"]
    assert cli.main([*argv, "--name", "tiny_coarse"]) == 0
    printed = capsys.readouterr().out
    (name,) = folders(out)
    assert name.startswith("tiny_coarse-")
    assert printed.startswith("tiny_coarse: 2 replicates")
    manifest = json.loads((out / name / "manifest.json").read_text())
    assert manifest["name"] == manifest["scenario"]["name"] == "tiny_coarse"
    assert "name: tiny_coarse" in (out / name / "scenario.yaml").read_text()


@pytest.mark.parametrize("bad", ["a/b", ".hidden", "two words", "x..y", ""])
def test_run_bad_name_option(tiny: Path, out: Path, fakes: None, capsys, bad: str) -> None:
    code = cli.main(["run", str(tiny), "--out", str(out), "--name", bad])
    assert_bad_input(code, capsys, "--name", "cannot name a results folder")
    assert not out.exists() and SIMULATE_CALLS == []
