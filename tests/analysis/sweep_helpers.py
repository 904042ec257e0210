"""Helpers of the analysis tests: a tiny scenario file and sweep plans over it.

The tiny scenario is ``tests/conftest.py``'s small scenario cut to 30 days at 1:1000 with a
5-day warm-up (a run takes a few hundredths of a second), written as YAML so that the plans go
through ``sim.config.loader`` like the command line's.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from conftest import SMALL

from sim.analysis.sweep import Plan, RunResult, Task, load_points, point_overrides
from sim.execution.runner import replicate_seeds
from sim.scenario import load_scenario

TINY: dict[str, Any] = copy.deepcopy(SMALL) | {
    "name": "tiny",
    "end": "2015-01-30",
    "scale": 1000,
    "warmup_days": 5,
}
KEY = "moderation.twitter.intensity"


def write_tiny(folder: Path, **changes: Any) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY | changes, sort_keys=False), encoding="utf-8")
    return path


def tiny_plan(
    path: Path, values: tuple[float, ...] = (0.001, 0.02, 0.1), replicates: int = 2, seed: int = 7
) -> Plan:
    points = [{KEY: v} for v in values]
    overrides = [point_overrides(p) for p in points]
    scenarios = load_points(path, [], overrides, lambda t: f"--vary {t}")
    return Plan(
        kind="sweep",
        name="tiny",
        base=load_scenario(path).model_copy(update={"seed": seed, "replicates": replicates}),
        points=points,
        overrides=overrides,
        seeds=replicate_seeds(seed, replicates),
        scenarios=[
            s.model_copy(update={"seed": seed, "replicates": replicates}) for s in scenarios
        ],
        design={"design": "grid", "vary": [f"{KEY}={','.join(map(str, values))}"], "samples": None},
    )


def ishigami_task(task: Task) -> RunResult:
    """The Ishigami function of the point's x1, x2, x3 (levers named so): a known answer for
    the sensitivity pipeline (run in worker processes, so it lives in an importable module)."""
    from SALib.test_functions import Ishigami

    x = np.array([[task.values["x1"], task.values["x2"], task.values["x3"]]])
    return RunResult({"ishigami": float(Ishigami.evaluate(x)[0])})


ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)  # analytic, a = 7, b = 0.1
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)


def slow_runs(monkeypatch: Any, seconds: float = 0.05, interval: float = 0.02) -> None:
    """Make every model run of the sweep and paired commands take ``seconds`` longer, and the
    progress reporter write a plain line every ``interval`` seconds (for the progress tests)."""
    import time

    from sim.analysis import sweep
    from sim.execution import progress

    real = sweep.simulate_task

    def slow(task: Task, ticks: Any = None) -> RunResult:
        time.sleep(seconds)
        return real(task, ticks)

    monkeypatch.setattr(sweep, "simulate_task", slow)
    monkeypatch.setattr(progress, "INTERVAL", interval)


PROGRESS_LINE = (
    r"^\[propsim\] (?P<name>\S+): (?P<done>\d+)/(?P<total>\d+) runs?, (?P<share>\d+)% of "
    r"simulated days, .+ elapsed(?:, about (?P<left>.+) left)?$"
)


def progress_lines(err: str) -> list[dict[str, str]]:
    """The periodic progress lines of a command's stderr (not the last "done" line), parsed;
    fails if a line of the reporter does not have the expected form."""
    import re

    pattern = re.compile(PROGRESS_LINE)
    lines = [line for line in err.splitlines() if line.startswith("[propsim]")]
    assert lines and " done in " in lines[-1], err
    parsed = [pattern.match(line) for line in lines[:-1]]
    assert all(parsed), lines
    return [m.groupdict() for m in parsed if m]
