"""Where one run's time goes: seconds per step of the day and per compiled kernel.

Wraps each phase hook of every component (``posting.post``, ``exposure.expose``, ...), the model's
operations on shared state (``add_follows``, ``end_accounts``) and each numba kernel of
``sim.core.kernels`` with a timer, runs one replicate of a scenario, and prints the
totals, largest first, with the number of calls. Hook times include the kernels they call; the
rest of a hook's time is its numpy and Python glue. Building the model (users, initial accounts
and followers) is timed on its own. A sampling profiler (py-spy, pyinstrument) sees numba
kernels only as opaque native frames; these wrappers name them.

Usage (from the repository root)::

    .venv/bin/python benchmarks/profile_run.py --scale 5
    .venv/bin/python benchmarks/profile_run.py --scale 1 --set end=2014-12-31
    .venv/bin/python benchmarks/profile_run.py --scale 4 --cpu   # processor-time timers

``--cpu`` times with ``time.thread_time`` (hooks and kernels) and ``time.process_time`` (build
and days) instead of wall-clock time: on a busy machine the processor time a step takes
moves much less than its wall-clock time.
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sim.core import kernels  # noqa: E402
from sim.core import model as model_module  # noqa: E402
from sim.core.component import PHASE_NAMES  # noqa: E402
from sim.scenario import Scenario, load_scenario  # noqa: E402

SHARED = ("add_follows", "end_accounts")  # the model's operations on shared state


def instrument(
    totals: collections.Counter[str],
    calls: collections.Counter[str],
    clock: Callable[[], float] = time.perf_counter,
) -> None:
    """Replace the step methods and kernels by timed wrappers that add to ``totals``."""

    def timed(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[label] += clock() - t
                calls[label] += 1

        return wrapper

    for component in Scenario.components:
        for phase in PHASE_NAMES:
            hook = component.__dict__.get(phase)
            if hook is not None:
                setattr(component, phase, timed(hook, f"{phase} {component.name}"))
    for name in SHARED:
        cls = model_module.PropagandaModel
        setattr(cls, name, timed(getattr(cls, name), f"model {name}"))
    for name in dir(kernels):
        fn = getattr(kernels, name)
        if hasattr(fn, "py_func"):  # a numba dispatcher
            setattr(kernels, name, timed(fn, f"kernel {name}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default=str(REPO / "scenarios" / "baseline.yaml"))
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cpu", action="store_true", help="processor-time timers instead of wall-clock ones"
    )
    args = parser.parse_args(argv)
    sc = load_scenario(args.scenario, [f"scale={args.scale:g}", *args.set])
    # untimed: imports and loading the compiled kernels
    model_module.simulate(load_scenario(args.scenario, ["scale=1000", "end=2014-01-05"]), 0)

    totals: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    instrument(totals, calls, time.thread_time if args.cpu else time.perf_counter)
    total_clock = time.process_time if args.cpu else time.perf_counter
    t0 = total_clock()
    model = model_module.PropagandaModel(sc, args.seed)
    t1 = total_clock()
    model.run()
    t2 = total_clock()
    print(f"{sc.name} at 1:{sc.scale:g}: {model.users.n:,} users, {sc.warmup_days + sc.days} days")
    what = "processor time" if args.cpu else "wall-clock time"
    print(f"build {t1 - t0:.2f} s, days {t2 - t1:.2f} s, total {t2 - t0:.2f} s ({what})\n")
    width = max(len(k) for k in totals)
    for label, seconds in totals.most_common():
        share = 100 * seconds / (t2 - t0)
        print(f"{label:<{width}}  {seconds:8.2f} s  {share:5.1f}%  {calls[label]:8,d} calls")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
