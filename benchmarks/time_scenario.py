"""Processor time and peak memory of one run of a scenario, in a fresh process.

Usage (from the repository root)::

    .venv/bin/python benchmarks/time_scenario.py scenarios/all_mechanisms.yaml --scale 1
    PYTHONPATH=<other checkout> .venv/bin/python <other checkout>/benchmarks/time_scenario.py \\
        <other checkout>/scenarios/baseline.yaml --scale 1

Prints one line: the scenario, the scale, the processor time of ``simulate`` (building the model
included; not loading the scenario) and the process's peak resident memory. Processor time is
what a busy shared machine disturbs least; compare versions in the same hour.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sim.core.model import simulate  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    sc = load_scenario(args.scenario, [f"scale={args.scale:g}"])
    t = time.process_time()
    simulate(sc, args.seed)
    cpu = time.process_time() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.scenario} at 1:{args.scale:g}: {cpu:.1f} s processor time, peak {peak:,.0f} MB")


if __name__ == "__main__":
    main()
