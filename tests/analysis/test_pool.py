"""``sim.execution.pool``: a sweep on local workers starts the pool's fork server before its heavy
imports.

Checked in fresh processes (``python -m sim.cli``), where ``sys.modules`` shows what was
imported when the server was started: a ``sitecustomize`` replaces
``sim.execution.pool.start_server`` by
one that records that, so no fork server is started here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_helpers import write_tiny

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pydantic", "sim.config.loader", "sim.core.model")


def _process(args: list[str], cwd: Path, site: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    paths = [str(REPO)] + ([str(site)] if site else [])
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def recording_site(tmp_path: Path) -> Path:
    """A sitecustomize whose ``start_server`` writes the heavy modules loaded at its call."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import json, sys\n"
        "import sim.execution.pool\n"
        "def start_server():\n"
        f"    heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "    print('START ' + json.dumps(heavy), file=sys.stderr)\n"
        "sim.execution.pool.start_server = start_server\n"
    )
    return site


def test_pool_and_executors_import_no_heavy_module(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "import sim.execution.pool, sim.execution.executors\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    proc = _process(["-c", code], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


@pytest.mark.parametrize(
    "extra, started",
    [
        (["--workers", "2"], True),
        (["--workers", "1"], False),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], False),
    ],
)
def test_a_local_pool_is_started_right_after_parsing(
    tmp_path: Path, recording_site: Path, extra: list[str], started: bool
) -> None:
    tiny = write_tiny(tmp_path)
    # bad input (no such key): the command stops after validation, nothing is run or written
    args = ["-m", "sim.cli", "sweep", str(tiny), "--vary", "no.such.key=1,2", *extra]
    proc = _process([*args, "--out", str(tmp_path / "out")], tmp_path, recording_site)
    assert proc.returncode == 2, proc.stderr
    starts = [line for line in proc.stderr.splitlines() if line.startswith("START ")]
    if started:
        assert starts == ["START []"]  # once, before pandas, pydantic, the loader, the model
    else:
        assert starts == []
    assert not (tmp_path / "out").exists()


def test_sensitivity_starts_it_too(tmp_path: Path, recording_site: Path) -> None:
    args = ["-m", "sim.cli", "sensitivity", str(tmp_path / "missing.yaml"), "--workers", "2"]
    proc = _process([*args, "--params", str(tmp_path / "missing-params.yaml")], tmp_path,
                    recording_site)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("START ")] == ["START []"]
