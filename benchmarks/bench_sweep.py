"""Speed of ``propsim sweep``: one worker against two, and the overhead per run (issue 5, point 4).

The sweep is 16 short runs: the baseline at ``--set scale=80`` (2014 to mid-2016, about 2 s a
run; ``--scale`` changes it) with
``--vary moderation.twitter.intensity`` at 4 values x 4 replicates. Each repeat runs the whole
command (``propsim sweep ... --workers N --no-plots --quiet``) in a fresh process, once with one
worker and once with two (alternating, so that changes in the machine's load hit both alike),
and times its wall clock: start-up, validation, the pool, the runs, pickling, the Parquet part
files and the run table. The ratio of the medians must be at least 1.8.

Overhead per run: the time each run spends in the model (``run_seconds``, measured in the
worker around ``sim.execution.runner.run_one``) is read back from the part files;
``wall x workers - sum of run_seconds`` over 16 runs is what a run costs beyond the model
(start-up and finishing shared out, pickling, writing). Pickling a run's result and writing its
part file are also timed on their own in this process.

Start-up (``--startup N``): the fixed cost of a command alone, as the wall time of the same
sweep with runs of about 10 ms (one week at 1:1000, no warm-up), N times with each worker count.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_sweep.py                 # 3 repeats
    .venv/bin/python benchmarks/bench_sweep.py --repeats 5 --write
    .venv/bin/python benchmarks/bench_sweep.py --startup 5      # start-up only, 1 and 2 workers

``--write`` puts the table into ``benchmarks/README.md`` between ``<!-- BEGIN SWEEP RESULTS
-->`` and ``<!-- END SWEEP RESULTS -->``. Run it on a quiet machine: the table records the load
average, since other work on the cores lowers the ratio.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_baseline import machine, write_readme

REPO = Path(__file__).resolve().parents[1]
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- BEGIN SWEEP RESULTS -->", "<!-- END SWEEP RESULTS -->"
PROPSIM = Path(sys.executable).parent / "propsim"
SETS = ["--set", "scale=80"]  # --scale replaces it
STARTUP_SETS = ["--set", "scale=1000", "--set", "end=2014-01-07", "--set", "warmup_days=0"]
VARY = ["--vary", "moderation.twitter.intensity=0.0001,0.0003,0.001,0.003", "--replicates", "4"]
RUNS = 16


def sweep(workers: int, out: Path, sets: list[str] = SETS) -> tuple[float, list[float]]:
    """Wall seconds of one sweep command and the run seconds of its 16 runs."""
    from sim.analysis.sweep import read_runs

    cmd = [str(PROPSIM), "sweep", str(REPO / "scenarios/baseline.yaml"), *sets, *VARY]
    cmd += ["--workers", str(workers), "--out", str(out), "--no-plots", "--quiet"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    runs = read_runs(Path(done.stdout.strip()), with_seconds=True)
    assert len(runs) == RUNS
    return wall, list(runs["run_seconds"])


def io_costs(repeats: int = 20) -> tuple[float, float, float]:
    """(model seconds, pickle round trip, part-file write) of one run, in this process."""
    from sim.analysis.sweep import Task, simulate_task, write_part
    from sim.scenario import load_scenario

    scenario = load_scenario(REPO / "scenarios/baseline.yaml", SETS[1::2])
    task = Task(0, 0, 1, {"moderation.twitter.intensity": 0.0003}, scenario)
    simulate_task(task)  # untimed: compiled kernels
    result = simulate_task(task)
    t0 = time.perf_counter()
    for _ in range(repeats):
        pickle.loads(pickle.dumps(task)), pickle.loads(pickle.dumps(result))
    pickling = (time.perf_counter() - t0) / repeats
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "runs").mkdir()
        t0 = time.perf_counter()
        for _ in range(repeats):
            write_part(Path(tmp), task, result)
        writing = (time.perf_counter() - t0) / repeats
    return result.seconds, pickling, writing


def startup(repeats: int) -> str:
    """The fixed cost of a command with 1 and 2 workers: the same sweep of runs that take
    about 10 ms (one week at 1:1000, no warm-up), timed whole; alternating, medians."""
    walls: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        sweep(2, Path(tmp) / "warm", STARTUP_SETS)
        for k in range(repeats):
            for w in (1, 2) if k % 2 == 0 else (2, 1):
                walls[w].append(sweep(w, Path(tmp) / f"{w}-{k}", STARTUP_SETS)[0])
    return "Start-up (16 runs of about 10 ms): " + ", ".join(
        f"{w} worker{'s' if w > 1 else ''} {_stat(walls[w])} s" for w in (1, 2)
    )


def _stat(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def report(
    walls: dict[int, list[float]], runs: dict[int, list[list[float]]], io: tuple, load: tuple
) -> str:
    info = machine()
    ratio = statistics.median(walls[1]) / statistics.median(walls[2])
    lines = [
        f"Measured on {info['date']} at commit `{info['commit']}`: {info['cpu']}, "
        f"{info['cores']} cores; {info['versions']}. Load average (1 min) before and after: "
        f"{load[0]:.2f} and {load[1]:.2f}"
        + (" (other work was running on the cores)." if max(load) > 0.5 else "."),
        f"Sweep: `propsim sweep scenarios/baseline.yaml {' '.join(SETS)} "
        f"{' '.join(VARY)} --no-plots --quiet`, {RUNS} runs, {len(walls[1])} repeats "
        "each, alternating; medians with min-max.",
        "",
        "| workers | sweep wall time (s) | model time per run (s) | overhead per run (s) |",
        "|---|---|---|---|",
    ]
    for w in (1, 2):
        over = [(wall * w - sum(r)) / RUNS for wall, r in zip(walls[w], runs[w], strict=True)]
        per_run = [statistics.median(r) for r in runs[w]]
        lines.append(f"| {w} | {_stat(walls[w])} | {_stat(per_run)} | {_stat(over)} |")
    model, pickling, writing = io
    lines += [
        "",
        f"**Two workers are {ratio:.2f} times as fast as one** (ratio of the median wall times; "
        "the bar is 1.8).",
        "",
        "Overhead per run is `wall x workers - sum of model time`, divided by the runs: process "
        "start-up, imports and validation (shared out over the runs), the pool, pickling, "
        "writing and finishing. Measured alone in one process: a run's model time "
        f"{model:.2f} s, pickling its task and result there and back {pickling * 1000:.1f} ms, "
        f"writing its part file {writing * 1000:.1f} ms.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--scale",
        type=float,
        default=80.0,
        help="scale of the 16 runs (default 80: about 2 s each; at 160, 1.5 s, the fixed "
        "start-up of each command weighs more)",
    )
    parser.add_argument("--write", action="store_true", help="write the table into README.md")
    parser.add_argument(
        "--startup",
        type=int,
        metavar="N",
        help="only time the fixed cost of a command, N times with 1 and 2 workers: the same "
        "sweep of runs that take about 10 ms",
    )
    args = parser.parse_args(argv)
    SETS[1] = f"scale={args.scale:g}"
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    load0 = os.getloadavg()[0]
    if args.startup:
        text = startup(args.startup)
        print(f"{text}; load average (1 min) {load0:.2f} and {os.getloadavg()[0]:.2f}")
        return 0
    walls: dict[int, list[float]] = {1: [], 2: []}
    runs: dict[int, list[list[float]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        sweep(1, Path(tmp) / "warm")  # untimed: compiled kernels cached, files in the page cache
        for k in range(args.repeats):
            for w in (1, 2) if k % 2 == 0 else (2, 1):
                wall, secs = sweep(w, Path(tmp) / f"{w}-{k}")
                walls[w].append(wall)
                runs[w].append(secs)
                print(f"repeat {k + 1}, {w} worker(s): {wall:.2f} s", file=sys.stderr)
    io = io_costs()
    text = report(walls, runs, io, (load0, os.getloadavg()[0]))
    print(text)
    if args.write:
        write_readme(text, README, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
