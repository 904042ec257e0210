"""No orphaned workers: a sweep killed however it dies leaves no process behind (issue 17.1).

A real ``propsim sweep`` on two local workers is started in its own session, killed with SIGKILL
(or SIGTERM) once its workers run, and then no process of that session may remain: not the
workers (children of the fork server, which hold both ends of their queues), not the fork
server, not the resource tracker (``sim.execution.pool.watch_parent``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import SMALL

REPO = Path(__file__).resolve().parents[2]


def _session(sid: int) -> dict[int, str]:
    """Processes of session ``sid``: pid -> command line."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
            found[int(entry.name)] = cmd
    return found


def _workers(sid: int) -> int:
    """Pool workers running: processes of the session forked by the fork server."""
    return sum("forkserver" in cmd for pid, cmd in _session(sid).items() if pid != sid) - 1


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_no_orphaned_workers_when_a_sweep_is_killed(tmp_path: Path, sig: signal.Signals) -> None:
    scenario = tmp_path / "tiny.yaml"
    tiny = SMALL | {"name": "tiny", "end": "2015-04-30", "scale": 1000, "warmup_days": 5}
    scenario.write_text(yaml.safe_dump(tiny), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "sim.cli", "sweep", str(scenario), "--replicates", "1"]
    args += ["--vary", "moderation.twitter.intensity=0.0001:0.003:200", "--workers", "2"]
    args += ["--out", str(tmp_path / "out"), "--quiet", "--no-plots"]
    proc = subprocess.Popen(
        args, cwd=tmp_path, env=env, start_new_session=True, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while _workers(proc.pid) < 2:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the sweep's workers never started"
            time.sleep(0.2)
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while (left := _session(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, f"left behind after {sig.name}: {left}"
    finally:
        for pid in _session(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)


CALIBRATION_LIKE = """
import multiprocessing as mp, time

def work(ready):
    from sim.execution.pool import end_with_parent
    end_with_parent()
    ready.set()
    time.sleep(60)

if __name__ == "__main__":
    ctx = mp.get_context("fork")  # as pyabc's multicore sampler
    ready = ctx.Event()
    child = ctx.Process(target=work, args=(ready,), daemon=True)
    child.start()
    ready.wait(60)
    print(child.pid, flush=True)
    time.sleep(60)
"""


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_no_orphaned_pyabc_workers_when_a_calibration_is_killed(tmp_path: Path) -> None:
    """pyabc's multicore sampler forks its workers from the command; they call
    ``end_with_parent`` (in ``SimulateTargets``) and end when the command is killed."""
    script = tmp_path / "calibration_like.py"
    script.write_text(CALIBRATION_LIKE)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    try:
        assert _running(child)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(child), "the forked worker outlived its killed parent"
    finally:
        if _running(child):
            os.kill(child, signal.SIGKILL)
