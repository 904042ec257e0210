"""The built wheel (a plain, non-editable install) carries everything a command reads.

Builds the wheel with pip (``--no-deps``: only propsim itself), unpacks it outside the checkout
and runs ``python -m sim.cli`` from it in a folder that has no scenarios: the shipped files come
from ``sim/data/`` inside the package, and the build stamp names the commit. (A model run from
the wheel recompiles the numba kernels, about a minute: that one is in the helper's report, not
here.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sim.config import resources

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    (found,) = out.glob("propsim-*.whl")
    return found


def head() -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_wheel_holds_the_data_the_stamp_and_the_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        stamp: dict[str, object] = {}
        exec(z.read("sim/_build.py").decode(), stamp)
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = z.read(entry_points).decode()
    assert {f"sim/data/{f}" for f in resources.shipped_files()} <= names
    # the calibration posterior ships beside the overlay (`propsim compare --posterior K`)
    assert {"sim/data/calibration/calibrated.yaml", "sim/data/calibration/posterior.csv"} <= names
    assert {"sim/cli/__main__.py", "sim/config/resources.py", "sim/core/model.py"} <= names
    assert stamp["COMMIT"] == head() and isinstance(stamp["DIRTY"], bool)
    assert "propsim = sim.cli:entry" in scripts


def test_commands_from_the_unpacked_wheel_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    site, work = tmp_path / "site", tmp_path / "work"
    work.mkdir()
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}

    def propsim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sim.cli", *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    proc = propsim("validate", "baseline")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK: baseline, 2014-01-01..2016-06-30")
    assert f"using the shipped {site / 'sim' / 'data' / 'scenarios' / 'baseline.yaml'}" in (
        proc.stderr
    )
    proc = propsim("init", "w")
    assert proc.returncode == 0, proc.stderr
    assert (work / "w" / "calibration" / "calibrated.yaml").is_file()
    proc = propsim("validate", "w/scenarios/suspensions_only.yaml")
    assert proc.returncode == 0 and "note" not in proc.stderr, proc.stderr
    code = "from sim.version import build_info; i = build_info(); print(i.source, i.commit)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True
    )
    assert proc.stdout.split() == ["build", head()], proc.stderr
