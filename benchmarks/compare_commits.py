"""Does a change keep results bit-identical, and is it faster? This checkout against a commit.

Checks out ``REV`` in a temporary git worktree, runs the same fixed set of cases with both
versions of ``sim`` (each in its own process), and prints, per case, whether the daily tables
are identical (else the largest relative difference and the columns it is in) and the processor
time of each version. The cases cover the code paths an optimisation is likely to touch: the
baseline at 1:80 and 1:160 with different seeds, the two policy variants, a scenario with two
open platforms and hashtag discovery, and the shared configuration of ``reference_mesa.py``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/compare_commits.py HEAD        # uncommitted changes vs HEAD
    .venv/bin/python benchmarks/compare_commits.py main~3 --repeats 3

Processor times vary by 10% or more on a shared machine; ``--repeats`` runs each version that
many times, alternating, and reports medians. Exit code 1 if any case differs.

A change meant to alter results per seed but not in distribution (another order of draws,
another numbering of users) is checked with ``--distribution N``: N seeds of the baseline (at
``--scale``, default 1:160) with each version, and per summary outcome the means, standard
deviations and two-sample tests (Mann-Whitney U, Kolmogorov-Smirnov)::

    .venv/bin/python benchmarks/compare_commits.py 7d55a8d --distribution 40
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

TWO_PLATFORMS = """extends: {root}/scenarios/baseline.yaml
name: two_open_platforms
description: two open platforms, hashtag discovery on both
platforms:
  twitter: {{kind: open, account_share: 0.7, discovery: 0.5}}
  facebook: {{kind: open, account_share: 0.3, view_prob: 0.02, discovery: 0.2}}
moderation:
  facebook: {{intensity: 0.001}}
"""


def _entry_points(root: Path):
    """``load_scenario`` and ``simulate`` of the ``sim`` in ``root``, wherever that version keeps
    them (session 7 reorganised the package), chosen by the files present: trying imports
    could pick up the editable install's modules for a name the older version lacks."""
    import importlib

    if (root / "sim" / "components").is_dir():
        loader, model = "sim.scenario", "sim.core.model"
    elif (root / "sim" / "config" / "loader.py").is_file():
        loader, model = "sim.config.loader", "sim.core.model"
    else:
        loader, model = "sim.loader", "sim.model"
    return importlib.import_module(loader).load_scenario, importlib.import_module(model).simulate


def run_cases(root: Path, out: Path) -> None:
    """Child process: run every case with the ``sim`` package of ``root``; pickle the tables
    and processor times to ``out``."""
    sys.path[:0] = [str(root), str(root / "benchmarks")]
    from reference_mesa import build_shared_scenario

    load_scenario, simulate = _entry_points(root)

    two = out.with_suffix(".yaml")
    two.write_text(TWO_PLATFORMS.format(root=root), encoding="utf-8")
    scenarios = root / "scenarios"
    cases = {
        "baseline 1:80, seed 3": (load_scenario(scenarios / "baseline.yaml", ["scale=80"]), 3),
        "baseline 1:160, seed 11": (load_scenario(scenarios / "baseline.yaml", ["scale=160"]), 11),
        "no countermeasures 1:160": (
            load_scenario(scenarios / "no_countermeasures.yaml", ["scale=160"]),
            5,
        ),
        "counter-messaging only 1:160": (
            load_scenario(scenarios / "counter_messaging_only.yaml", ["scale=160"]),
            5,
        ),
        "two open platforms 1:160": (load_scenario(two, ["scale=160"]), 7),
        "reference configuration": (build_shared_scenario(days=100), 4),
    }
    if (scenarios / "all_mechanisms.yaml").is_file():  # (versions since session 8)
        cases["all mechanisms 1:160"] = (
            load_scenario(scenarios / "all_mechanisms.yaml", ["scale=160"]),
            9,
        )
    simulate(load_scenario(scenarios / "baseline.yaml", ["scale=1000", "end=2014-01-05"]), 0)
    results = {}
    for name, (scenario, seed) in cases.items():
        t = time.process_time()
        daily = simulate(scenario, seed)
        results[name] = (daily, time.process_time() - t)
    out.write_bytes(pickle.dumps(results))


def run_seeds(root: Path, out: Path, n: int, scale: float, first_seed: int = 1000) -> None:
    """Child process: summary outcomes of ``n`` seeds of the baseline with ``root``'s ``sim``."""
    sys.path[:0] = [str(root)]
    from sim.metrics import summarize

    load_scenario, simulate = _entry_points(root)

    scenario = load_scenario(root / "scenarios" / "baseline.yaml", [f"scale={scale:g}"])
    open_names, enc_names = scenario.platform_names("open"), scenario.platform_names("encrypted")
    first = open_names[0]
    rows = []
    for seed in range(first_seed, first_seed + n):
        daily = simulate(scenario, seed)
        row = summarize(daily, open_names, enc_names)
        edges = daily[f"{first}.mean_followers"] * daily[f"{first}.active_accounts"]
        row["peak_follow_edges"] = float(edges.max())
        row["mean_users_reached_30d"] = float(daily["users_reached_30d"].mean())
        rows.append(row)
    out.write_bytes(pickle.dumps(rows))


def compare_distributions(old: list[dict], new: list[dict]) -> None:
    """Print means, standard deviations and two-sample test p-values per outcome."""
    from scipy import stats

    print(f"{'outcome':<32} {'revision':>22} {'this checkout':>22}  MWU p   KS p")
    for key in old[0]:
        a = np.array([r[key] for r in old], dtype=float)
        b = np.array([r[key] for r in new], dtype=float)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        mw = stats.mannwhitneyu(a, b).pvalue
        ks = stats.ks_2samp(a, b).pvalue
        cell_a = f"{a.mean():.4g} ± {a.std(ddof=1):.3g}"
        cell_b = f"{b.mean():.4g} ± {b.std(ddof=1):.3g}"
        print(f"{key:<32} {cell_a:>22} {cell_b:>22}  {mw:.3f}  {ks:.3f}")


def compare(old: dict, new: dict) -> bool:
    """Print one line per case; True if every case is identical."""
    same_all = True
    width = max(len(k) for k in old)
    for name in old:
        a, b = old[name][0], new[name][0]
        # columns are compared by name (a version may order them differently); a column only
        # the new version has (a new metric) is listed, and the common ones must be identical
        gone, added = (
            sorted(set(a.columns) - set(b.columns)),
            sorted(set(b.columns) - set(a.columns)),
        )
        if gone:
            same_all = False
            print(f"{name:<{width}}  COLUMNS MISSING in this checkout: {gone}")
            continue
        note = f" (new columns, not compared: {', '.join(added)})" if added else ""
        b = b[list(a.columns)]
        if a.equals(b):
            verdict = "identical" + note
        else:
            same_all = False
            scale = np.maximum(a.abs(), b.abs()).replace(0.0, np.nan)
            rel = ((a - b).abs() / scale).fillna(0.0)
            cells = int(((rel > 0) | (a.isna() != b.isna())).to_numpy().sum())
            worst = rel.max().sort_values(ascending=False)
            cols = ", ".join(worst.index[:3])
            verdict = (
                f"DIFFERS in {cells:,} cells (largest relative difference "
                f"{worst.iloc[0]:.2g}, in {cols})"
            )
        print(f"{name:<{width}}  {verdict}")
    return same_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="git revision to compare this checkout against")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each version (default 1)")
    parser.add_argument(
        "--distribution",
        type=int,
        default=0,
        metavar="N",
        help="compare N seeds of the baseline in distribution instead of the fixed cases",
    )
    parser.add_argument("--scale", type=float, default=160.0, help="scale of --distribution")
    parser.add_argument(
        "--first-seed", type=int, default=1000, help="first seed of --distribution (default 1000)"
    )
    parser.add_argument("--child", nargs=2, metavar=("ROOT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        root, out = Path(args.child[0]), Path(args.child[1])
        if args.distribution:
            run_seeds(root, out, args.distribution, args.scale, args.first_seed)
        else:
            run_cases(root, out)
        return 0
    with tempfile.TemporaryDirectory(prefix="propsim-compare-") as tmp:
        other = Path(tmp) / "rev"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(other), args.rev],
            check=True,
        )
        try:
            runs: dict[str, list[dict]] = {"rev": [], "here": []}
            for r in range(args.repeats):
                for label, root in (("rev", other), ("here", REPO)):
                    out = Path(tmp) / f"{label}{r}.pkl"
                    cmd = [sys.executable, __file__, args.rev, "--child", str(root), str(out)]
                    cmd += ["--distribution", str(args.distribution), "--scale", str(args.scale)]
                    cmd += ["--first-seed", str(args.first_seed)]
                    subprocess.run(cmd, check=True)
                    runs[label].append(pickle.loads(out.read_bytes()))
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)], check=True
            )
    if args.distribution:
        print(
            f"This checkout against {args.rev}: {args.distribution} seeds (from "
            f"{args.first_seed}) of the baseline at "
            f"1:{args.scale:g}"
        )
        compare_distributions(runs["rev"][0], runs["here"][0])
        return 0
    print(f"This checkout against {args.rev}:")
    same = compare(runs["rev"][0], runs["here"][0])
    common = set(runs["rev"][0]) & set(runs["here"][0])  # (a case only one version can run)
    total = {
        k: [sum(t for name, (_, t) in run.items() if name in common) for run in v]
        for k, v in runs.items()
    }
    old_t, new_t = statistics.median(total["rev"]), statistics.median(total["here"])
    print(
        f"processor time of the cases both ran (median of {args.repeats}): {args.rev} "
        f"{old_t:.2f} s, "
        f"this checkout {new_t:.2f} s (ratio {new_t / old_t:.2f})"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
