"""Speed of the real model against its plain Mesa reference on one shared configuration.

Issue 3 asks that, on a configuration the reference can still run (20,000 users, 200 accounts,
100 days), the real model (``sim.core.model.PropagandaModel``) be at least 100 times faster per
simulated day than the reference written the way Mesa's examples are
(``benchmarks/reference_mesa.py``: one Mesa agent per user, account and operator, follower lists
on the agents, ``shuffle_do``). Both run ``reference_mesa.build_shared_scenario(users, accounts,
days)``, the scenario with exactly the rules the reference implements, in this process.

Measured per run: seconds to build the model (users, accounts, initial followers) and seconds
to step it through every simulated day; seconds per simulated day = stepping time / days. The
real model runs ``--repeats`` times (default 5) after one untimed short run that loads its
compiled kernels; the reference ``--ref-repeats`` times (default 1; about a minute each). The
table gives the median and the min-max per implementation, the ratio of the medians per simulated
day (reference / real) and over whole runs (building included), and the machine.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_reference.py
    .venv/bin/python benchmarks/bench_reference.py --repeats 5 --ref-repeats 2 --write
    .venv/bin/python benchmarks/bench_reference.py --users 20000 100000  # one table per size

``--write`` puts the table into ``benchmarks/README.md`` between the markers
``<!-- BEGIN REFERENCE RESULTS -->`` and ``<!-- END REFERENCE RESULTS -->``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for path in (str(HERE), str(REPO)):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_baseline import machine, write_readme  # noqa: E402
from reference_mesa import ReferenceModel, build_shared_scenario  # noqa: E402

from sim.core.model import PropagandaModel  # noqa: E402
from sim.scenario import Scenario  # noqa: E402

README = HERE / "README.md"
BEGIN, END = "<!-- BEGIN REFERENCE RESULTS -->", "<!-- END REFERENCE RESULTS -->"


@dataclasses.dataclass
class Run:
    build: float  # seconds to build the model
    stepping: float  # seconds to simulate every day
    days: int
    cpu_stepping: float = 0.0  # processor seconds of this process while stepping

    @property
    def total(self) -> float:
        return self.build + self.stepping

    @property
    def per_day(self) -> float:
        return self.stepping / self.days

    @property
    def cpu_per_day(self) -> float:
        return self.cpu_stepping / self.days


def time_run(make: Callable[[], object], days: int) -> Run:
    """Build a model with ``make`` and step it ``days`` times; wall-clock seconds of each part."""
    gc.collect()
    t0 = time.perf_counter()
    model = make()
    t1, c1 = time.perf_counter(), time.process_time()
    for _ in range(days):
        model.step()  # type: ignore[attr-defined]
    t2, c2 = time.perf_counter(), time.process_time()
    return Run(build=t1 - t0, stepping=t2 - t1, days=days, cpu_stepping=c2 - c1)


def warm_up_real(sc: Scenario) -> None:
    """Untimed: imports, loading the compiled kernels, first-call costs."""
    short = sc.model_copy(update={"end": sc.start})
    model = PropagandaModel(short, 0)
    for _ in range(short.warmup_days + short.days):
        model.step()


def spread(values: list[float], fmt: str = "{:.3g}") -> str:
    med = fmt.format(statistics.median(values))
    if len(values) == 1:
        return med
    return f"{med} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def report(real: list[Run], refs: list[Run], sc: Scenario, info: dict[str, str]) -> str:
    days = sc.warmup_days + sc.days
    users = round(sc.population.users / sc.scale)
    accounts = round(sc.accounts.initial / sc.scale)
    per_day = statistics.median(r.per_day for r in refs) / statistics.median(
        r.per_day for r in real
    )
    whole = statistics.median(r.total for r in refs) / statistics.median(r.total for r in real)
    cpu_per_day = statistics.median(r.cpu_per_day for r in refs) / statistics.median(
        r.cpu_per_day for r in real
    )
    rows = [
        "| implementation | runs | build (s) | stepping (s) | ms per simulated day | "
        "whole run (s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in (
        ("real model (`sim.core.model`)", real),
        ("Mesa reference (`benchmarks/reference_mesa.py`)", refs),
    ):
        rows.append(
            f"| {name} | {len(runs)} | {spread([r.build for r in runs])} | "
            f"{spread([r.stepping for r in runs])} | "
            f"{spread([r.per_day * 1000 for r in runs])} | "
            f"{spread([r.total for r in runs])} |"
        )
    return "\n".join(
        [
            f"Measured on {info['date']} at commit `{info['commit']}`: {info['cpu']}, "
            f"{info['cores']} cores; {info['versions']}.",
            f"Shared configuration `build_shared_scenario(users={sc.population.users:g}, "
            f"accounts={sc.accounts.initial:g}, days={sc.days})`: {users:,} simulated users, "
            f"{accounts:,} initial accounts, {days} simulated days; both in one process, the real "
            "model after an untimed warm-up run. Medians, with min-max over the runs.",
            "",
            *rows,
            "",
            f"**The real model is {per_day:,.0f} times faster per simulated day** "
            f"({whole:,.0f} times over whole runs, building included; {cpu_per_day:,.0f} times "
            "per simulated day in processor time, which a busy machine disturbs less).",
        ]
    )


def measure(sc: Scenario, repeats: int, ref_repeats: int) -> tuple[list[Run], list[Run]]:
    """Runs of the real model (after a warm-up run) and of the reference on ``sc``."""
    days = sc.warmup_days + sc.days
    warm_up_real(sc)
    real: list[Run] = []
    for i in range(repeats):
        real.append(time_run(functools.partial(PropagandaModel, sc, 1 + i), days))
        print(f"real model run {i + 1}/{repeats}: {real[-1].total:.3f} s", file=sys.stderr)
    refs: list[Run] = []
    for i in range(ref_repeats):
        refs.append(time_run(functools.partial(ReferenceModel, sc, 1 + i), days))
        print(f"reference run {i + 1}/{ref_repeats}: {refs[-1].total:.1f} s", file=sys.stderr)
    return real, refs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time the real model and the Mesa reference on one shared configuration."
    )
    parser.add_argument(
        "--users",
        type=float,
        nargs="+",
        default=[20_000],
        help="users of each configuration to measure (default 20000)",
    )
    parser.add_argument(
        "--accounts",
        type=float,
        default=None,
        help="initial accounts (default: one per 100 users, 200 for 20,000 users)",
    )
    parser.add_argument("--days", type=int, default=100, help="reported days (no warm-up)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of the real model")
    parser.add_argument("--ref-repeats", type=int, default=1, help="runs of the reference")
    parser.add_argument(
        "--write", action="store_true", help=f"write the results into {README.name}"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.ref_repeats < 1 or args.days < 1:
        parser.error("--repeats, --ref-repeats and --days must be >= 1")

    texts = []
    for users in args.users:
        accounts = args.accounts if args.accounts is not None else round(users / 100)
        sc = build_shared_scenario(users=users, accounts=accounts, days=args.days)
        real, refs = measure(sc, args.repeats, args.ref_repeats)
        texts.append(report(real, refs, sc, machine()))
    text = "\n\n".join(texts)
    print(text)
    if args.write:
        write_readme(text, README, BEGIN, END)
        print(f"\nwritten to {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
