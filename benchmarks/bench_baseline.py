"""Time and memory of the baseline scenario at several scales (SPEC 6: speed, linear growth).

For each scale (default 80, 40 and 20, i.e. 1:80, 1:40, 1:20) the baseline
(``scenarios/baseline.yaml`` loaded by ``sim.config.loader.load_scenario`` with ``--set scale=S``)
is run
``--repeats`` times, each run in a fresh Python process so that its peak memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that process) is its own. Each child first
makes an untimed 5-day run at 1:1000 so that one-off costs (imports, loading compiled kernels) are
not timed, then times building the model and stepping it through the warm-up and every reported
day (``PropagandaModel.step`` in a loop), sampling the number of follow edges
(``model.graph.n_edges``) after every day.

Reported per scale: simulated users, follow edges at the peak (largest over the days) and at the
end, days simulated (warm-up + reported), median and min-max seconds per run, seconds per
simulated day, peak memory, and the ratio of run time to the previous (coarser) scale next to the
ratio of users and of edges: linear growth shows as time ratios close to those ratios.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_baseline.py                      # 80, 40, 20; 3 repeats
    .venv/bin/python benchmarks/bench_baseline.py --scales 80 --repeats 1
    .venv/bin/python benchmarks/bench_baseline.py --scales 20 10 5 1 --write

``--write`` puts the table, with the machine and the date, into ``benchmarks/README.md`` between
the markers ``<!-- BEGIN BENCHMARK RESULTS -->`` and ``<!-- END BENCHMARK RESULTS -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "scenarios" / "baseline.yaml"
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- BEGIN BENCHMARK RESULTS -->", "<!-- END BENCHMARK RESULTS -->"


# --- child: one timed run ------------------------------------------------------------------


def child(scenario_path: str, scale: float) -> dict:
    """Run the scenario once at ``scale`` in this process; returns the measurements."""
    import resource

    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from sim.core.model import PropagandaModel
    from sim.scenario import load_scenario

    # untimed: imports, compiled kernels, first-call costs
    tiny = load_scenario(scenario_path, ["scale=1000", "warmup_days=0"])
    tiny.end = tiny.start + dt.timedelta(days=4)
    warm = PropagandaModel(tiny)
    for _ in range(tiny.warmup_days + tiny.days):
        warm.step()
    del warm

    scenario = load_scenario(scenario_path, [f"scale={scale:g}"])
    days = scenario.warmup_days + scenario.days
    t0 = time.perf_counter()
    c0 = time.process_time()
    model = PropagandaModel(scenario)
    t_init = time.perf_counter() - t0
    edges = [model.graph.n_edges]
    for _ in range(days):
        model.step()
        edges.append(model.graph.n_edges)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "scale": scale,
        "users": int(model.users.n),
        "days": days,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "init_seconds": t_init,
        "edges_peak": int(max(edges)),
        "edges_end": int(edges[-1]),
        "peak_mb": peak_kb / 1024.0,
    }


def run_child(scenario_path: Path, scale: float) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--scenario",
        str(scenario_path),
        "--scales",
        f"{scale:g}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark run at scale {scale:g} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- parent: repeats, table, README --------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    versions = {"python": platform.python_version()}
    for name in ("numpy", "numba", "mesa"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:
            pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "cpu": cpu,
        "cores": f"{usable} usable of {os.cpu_count()}",
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "date": dt.date.today().isoformat(),
        "commit": commit,
    }


def summarise(runs: list[dict]) -> dict:
    secs = [r["seconds"] for r in runs]
    cpu = [r["cpu_seconds"] for r in runs]
    first = runs[0]
    median = statistics.median(secs)
    return {
        "scale": first["scale"],
        "users": first["users"],
        "edges_peak": max(r["edges_peak"] for r in runs),
        "edges_end": statistics.median(r["edges_end"] for r in runs),
        "days": first["days"],
        "median": median,
        "min": min(secs),
        "max": max(secs),
        "cpu_median": statistics.median(cpu),
        "cpu_min": min(cpu),
        "cpu_max": max(cpu),
        "per_day": median / first["days"],
        "peak_mb": max(r["peak_mb"] for r in runs),
        "repeats": len(runs),
    }


def table(rows: list[dict]) -> str:
    rows = sorted(rows, key=lambda r: r["users"])
    lines = [
        "| scale | simulated users | follow edges (peak) | days | seconds per run: median "
        "(min-max) | CPU seconds per run: median (min-max) | seconds per day | peak memory | "
        "time ratio | users ratio | edges ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    prev = None
    for r in rows:
        if prev is None:
            ratios = ["", "", ""]
        else:
            ratios = [
                f"{r['median'] / prev['median']:.2f}",
                f"{r['users'] / prev['users']:.2f}",
                f"{r['edges_peak'] / max(prev['edges_peak'], 1):.2f}",
            ]
        lines.append(
            f"| 1:{r['scale']:g} | {r['users']:,} | {r['edges_peak']:,} | {r['days']} | "
            f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f}) | "
            f"{r['cpu_median']:.2f} ({r['cpu_min']:.2f}-{r['cpu_max']:.2f}) | "
            f"{r['per_day'] * 1000:.1f} ms | "
            f"{r['peak_mb']:,.0f} MB | " + " | ".join(ratios) + " |"
        )
        prev = r
    return "\n".join(lines)


def report(
    rows: list[dict], info: dict[str, str], repeats: int, scenario: Path, load: str = ""
) -> str:
    try:
        shown = scenario.resolve().relative_to(REPO)
    except ValueError:
        shown = scenario
    return "\n".join(
        [
            f"Measured on {info['date']} at commit `{info['commit']}`: {info['cpu']}, "
            f"{info['cores']} cores; {info['versions']}.",
            f"Scenario `{shown}`, {repeats} run(s) per scale, each in a fresh process."
            + (f" {load}" if load else ""),
            "",
            table(rows),
            "",
            "Time and memory cover building the model and simulating every day (warm-up "
            "included); ratios (of wall-clock medians) compare each scale with the next coarser "
            "one. CPU seconds are the run's own processor time: on a busy machine they stay "
            "close to what an idle machine would take, where wall-clock time does not.",
        ]
    )


def write_readme(text: str, path: Path = README, begin: str = BEGIN, end: str = END) -> None:
    """Replace what stands between the ``begin`` and ``end`` markers of ``path`` by ``text``."""
    old = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.DOTALL)
    if not pattern.search(old):
        raise SystemExit(f"{path}: no {begin} ... {end} markers to write between")
    path.write_text(pattern.sub(lambda _: f"{begin}\n{text}\n{end}", old), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time the baseline scenario at several scales (each run in a fresh process)."
    )
    parser.add_argument(
        "--scales",
        nargs="+",
        type=float,
        default=[80.0, 40.0, 20.0],
        metavar="S",
        help="scales to run, e.g. --scales 80 40 20 (default); 1 is full scale",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per scale (default 3)")
    parser.add_argument(
        "--scenario", type=Path, default=BASELINE, help="scenario file (default: the baseline)"
    )
    parser.add_argument(
        "--write", action="store_true", help=f"write the results into {README.name}"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(str(args.scenario), args.scales[0])))
        return 0
    if args.repeats < 1 or any(s < 1 for s in args.scales):
        parser.error("--repeats must be >= 1 and every scale >= 1")

    load_before = os.getloadavg()[0]
    rows = []
    for scale in args.scales:
        runs = []
        for i in range(args.repeats):
            r = run_child(args.scenario, scale)
            runs.append(r)
            print(
                f"scale 1:{scale:g} run {i + 1}/{args.repeats}: {r['seconds']:.2f} s "
                f"({r['cpu_seconds']:.2f} s CPU), "
                f"{r['users']:,} users, {r['edges_peak']:,} edges at peak, "
                f"{r['peak_mb']:,.0f} MB",
                file=sys.stderr,
                flush=True,
            )
        rows.append(summarise(runs))
    load = f"Load average (1 min) {load_before:.1f} before and {os.getloadavg()[0]:.1f} after."
    text = report(rows, machine(), args.repeats, args.scenario, load)
    print(text)
    if args.write:
        write_readme(text)
        print(f"\nwritten to {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
