"""Per-day time of the real model at the reference configuration, several checkouts, paired.

On a shared machine the time of one version drifts by 10-20% from one minute to the next, more
than most changes to the day's fixed costs. This keeps one worker process per checkout (each
imports its own ``sim`` with ``PYTHONPATH=<checkout>``, builds
``reference_mesa.build_shared_scenario(users, accounts, days)`` and runs it once untimed), then
asks the workers in turn, alternating their order, to run the model with the same seed, and
reports per checkout the median, lower quartile and minimum processor time per simulated day,
and, against the first checkout, the median of the paired ratios (run by run, same seed, one
right after the other: a drift of the machine cancels out).

Usage (from the repository root)::

    .venv/bin/python benchmarks/paired_days.py /tmp/old . --runs 30
    .venv/bin/python benchmarks/paired_days.py /tmp/a /tmp/b . --users 100000 --accounts 1000
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = """
import sys, time
root, users, accounts, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sys.path[:0] = [root, root + "/benchmarks"]
from reference_mesa import build_shared_scenario
from sim.core.model import PropagandaModel
sc = build_shared_scenario(users, accounts, days)
PropagandaModel(sc, seed=0).run()
print("ready", flush=True)
for line in sys.stdin:
    model = PropagandaModel(sc, seed=int(line))
    t = time.process_time()
    model.run()
    seconds = time.process_time() - t
    print(1e3 * seconds / (model.warmup + model.n_days), flush=True)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="+", help="roots of the checkouts (the first: base)")
    parser.add_argument("--runs", type=int, default=30, help="runs per checkout")
    parser.add_argument("--seeds", type=int, default=15, help="seeds used in turn")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--days", type=int, default=100)
    args = parser.parse_args(argv)
    roots = [str(Path(c).resolve()) for c in args.checkouts]
    size = [str(args.users), str(args.accounts), str(args.days)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, root, *size],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd="/",  # (not a checkout: its ``sim`` must not shadow the worker's)
        )
        for root in roots
    ]
    for w in workers:
        assert w.stdin is not None and w.stdout is not None
        if w.stdout.readline().strip() != "ready":
            raise SystemExit("a worker failed to start (see its error above)")
    times: list[list[float]] = [[] for _ in workers]
    for i in range(args.runs):
        order = list(range(len(workers)))
        if i % 2:
            order.reverse()
        for j in order:
            w = workers[j]
            assert w.stdin is not None and w.stdout is not None
            w.stdin.write(f"{i % args.seeds}\n")
            w.stdin.flush()
            times[j].append(float(w.stdout.readline()))
    for w in workers:
        assert w.stdin is not None
        w.stdin.close()
        w.wait()
    print(f"ms per simulated day (processor time), {args.runs} runs each, alternating:")
    for root, x in zip(roots, times, strict=True):
        s = sorted(x)
        print(
            f"  {root}: median {statistics.median(x):.4f}, lower quartile "
            f"{s[len(s) // 4]:.4f}, min {s[0]:.4f}"
        )
    for root, x in zip(roots[1:], times[1:], strict=True):
        ratio = statistics.median(b / a for a, b in zip(times[0], x, strict=True))
        print(f"  {root} / {roots[0]}: median of the paired ratios {ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
