"""The fit report of a calibration: posterior predictive check, marginal posteriors, and what
the targets identify; written as ``docs/calibration.md`` with figures in ``docs/figures/``.

Data flow: posterior (``calibration.posterior``) -> ``predictive``: ``draws`` particles drawn by
weight, each run once at the base scenario's own scale (default 1:20) with its own seed, and
the calibrated point estimate run over a few seeds -> target values per run -> ``fit_table``
(observed, tolerance, predictive median and 90% interval, met?) and ``identification``
(posterior 90% width against the prior's) -> figures (``figure_fit``, ``figure_marginals``, and
the run plots of ``sim.io.plots`` over the predictive draws) -> markdown. The hand-written
interpretation in ``calibration/discussion.md`` is included as it is.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.analysis.calibration import (
    DISTANCE,
    Calibration,
    Setup,
    best_particle,
    ess,
    point_estimate,
    ranked_particles,
    to_sample_space,
    weighted_quantile,
    with_parameters,
)
from sim.analysis.calibration import (
    KERNELS as KERNEL_WORDS,
)
from sim.analysis.problem import Prior, Target, fmt
from sim.config.resources import local_or_shipped
from sim.execution.executors import Executor, Ticks, make_executor
from sim.execution.progress import Progress
from sim.execution.runner import run_one
from sim.io import folders
from sim.io.plots import figure_specs, make_plots
from sim.scenario import Scenario, load_scenario

DISCUSSION = "calibration/discussion.md"  # of the working folder, else the shipped one
POINT_SEEDS = 5
CANDIDATES = 5  # best-fitting particles checked at the scenario's own scale for the point
POINT_CHECK = "point_check.csv"  # in the calibration's folder
PINNED, LOOSE = 0.4, 0.75  # posterior 90% width / prior 90% width


# --- runs ----------------------------------------------------------------------------------


def _run_pair(task: tuple[int, Scenario, int], ticks: Ticks | None = None) -> pd.DataFrame:
    """One predictive run (a module-level function: executors pickle it)."""
    _, scenario, seed = task
    return run_one(scenario, seed, ticks)


def run_many(
    scenarios: Sequence[Scenario],
    seeds: Sequence[int],
    workers: int | Executor,
    progress: bool = True,
    desc: str = "predictive",
) -> list[pd.DataFrame]:
    """One run per (scenario, seed) on an executor (or a local one of ``workers`` processes,
    closed at the end); daily tables in input order. Progress with the time left on stderr,
    named ``desc``, unless ``progress`` is false (``sim.execution.progress.Progress``)."""
    tasks = [(i, s, seed) for i, (s, seed) in enumerate(zip(scenarios, seeds, strict=True))]
    if isinstance(workers, Executor):
        return _run_on(workers, tasks, progress, desc)
    with make_executor(workers, None) as executor:
        return _run_on(executor, tasks, progress, desc)


def _run_on(
    executor: Executor, tasks: list[tuple[int, Scenario, int]], progress: bool, desc: str
) -> list[pd.DataFrame]:
    out: dict[int, pd.DataFrame] = {}
    lengths = [sc.warmup_days + sc.days for _, sc, _ in tasks]
    with (
        Progress(len(tasks), days=sum(lengths), desc=desc, enabled=progress) as bar,
        executor.ticks(bar.ticked) as ticks,
    ):
        bar.uses_ticks = ticks is not None
        for (i, _, _), daily in executor.run(partial(_run_pair, ticks=ticks), tasks):
            out[i] = daily
            bar.run_done(lengths[i])
    return [out[i] for i in range(len(tasks))]


def check_candidates(
    setup: Setup,
    problem: Calibration,
    post: pd.DataFrame,
    k: int = CANDIDATES,
    workers: int | Executor = 2,
    progress: bool = True,
) -> pd.DataFrame:
    """Run the ``k`` best-fitting accepted particles (``ranked_particles``) the way the
    calibrated baseline runs: at the scenario's own scale, on seeds 1..``POINT_SEEDS``, with
    the values the overlay would hold (4 significant digits). Per candidate: its row in the
    posterior, its rank, its ABC distance (one run at the calibration's scale), the median of
    each target over the seeds, the fitted targets met by those medians and the worst excess
    among them (``worst``). The particle that fits best in a single run at a coarse scale can
    owe its place to that run's luck; this check is what `propsim run` of the baseline sees."""
    rows = ranked_particles(post)[: max(1, k)]
    base_sc = load_scenario(setup.scenario, setup.overrides)
    base = base_sc.model_dump()
    scenarios = [with_parameters(base, point_estimate(post, problem.priors, r)) for r in rows]
    seeds = list(range(1, POINT_SEEDS + 1))
    dailies = run_many(
        [sc for sc in scenarios for _ in seeds], seeds * len(rows), workers, progress, "point check"
    )
    fitted = [t for t in problem.targets if t.fit]
    out = []
    for i, row in enumerate(rows):
        values = target_values(dailies[i * len(seeds) : (i + 1) * len(seeds)], base_sc, fitted)
        medians = {t.id: float(np.nanmedian(values[t.id])) for t in fitted}
        excess = [t.excess(medians[t.id]) for t in fitted]
        out.append(
            {
                "particle": row,
                "rank": i + 1,
                DISTANCE: float(post[DISTANCE].iloc[row]),
                "worst": max(excess),
                "met": sum(e <= 1.0 for e in excess),
                **medians,
            }
        )
    return pd.DataFrame(out)


def chosen_candidate(check: pd.DataFrame) -> int:
    """The posterior row of the candidate whose medians fit best (smallest worst excess; ties
    go to the better rank)."""
    order = np.lexsort((check["rank"].to_numpy(), check["worst"].to_numpy()))
    return int(check["particle"].iloc[int(order[0])])


def mechanism_values(dailies: Sequence[pd.DataFrame], sc: Scenario) -> pd.DataFrame:
    """Quantities the targets do not constrain directly, per run: what the fit implies about
    the mechanisms (recruitment, evasion, migration) beyond the calibrated numbers."""
    p = sc.platform_names("open")[0]
    encs = sc.platform_names("encrypted")

    def true_drop(d: pd.DataFrame) -> float:
        x = d[f"{p}.pro_posts_true"]
        late, early = x.iloc[-91:].mean(), x.iloc[-91 - 731 : -731].mean()
        return float(late / early) if len(x) > 822 and early > 0 else float("nan")

    rows = []
    for d in dailies:
        half = len(d) // 2
        rows.append(
            {
                "recruits, first half of the run": float(d["new_recruits"].iloc[:half].sum()),
                "recruits, second half of the run": float(d["new_recruits"].iloc[half:].sum()),
                "sympathizers, last day": float(d["sympathizers"].iloc[-1]),
                "mean followers of active accounts, Sep-Dec 2014 (census: 1,004)": float(
                    d.loc["2014-09-01":"2014-12-31", f"{p}.mean_followers"].mean()
                ),
                "true pro posts, last 91 days / same days two years earlier": true_drop(d),
                "mean evasion of active accounts, last day": float(d[f"{p}.mean_evasion"].iloc[-1]),
                "encrypted-channel members, last day": float(
                    sum(d[f"{e}.members"].iloc[-1] for e in encs)
                ),
                "share of suspensions at an age under 2 days, H1 2016": _share(
                    d, f"{p}.suspended_under_2d", f"{p}.suspensions", "2016-01-01", "2016-06-30"
                ),
                "followers regained in a week / followers when suspended, 2015": _share(
                    d,
                    f"{p}.regained_share_week",
                    None,
                    "2015-01-01",
                    "2015-12-31",
                ),
                "share of the at-risk audience substantially exposed, mean of H1 2016": _mean(
                    d, "exposed_share", "2016-01-01", "2016-06-30"
                ),
            }
        )
    return pd.DataFrame(rows)


def _mean(d: pd.DataFrame, column: str, start: str, end: str) -> float:
    if column not in d:
        return float("nan")
    x = d.loc[start:end, column].to_numpy(dtype=float)
    return float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")


def _share(d: pd.DataFrame, part: str, whole: str | None, start: str, end: str) -> float:
    """Sum of ``part`` over sum of ``whole`` in a window (or the mean of ``part`` if
    ``whole`` is None); NaN where a column is missing or the whole is 0."""
    if whole is None:
        return _mean(d, part, start, end)
    if part not in d or whole not in d:
        return float("nan")
    total = float(np.nansum(d.loc[start:end, whole].to_numpy(dtype=float)))
    return (
        float(np.nansum(d.loc[start:end, part].to_numpy(dtype=float))) / total
        if total
        else float("nan")
    )


def target_values(dailies: Sequence[pd.DataFrame], sc: Scenario, targets: Sequence[Target]):
    platform = sc.platform_names("open")[0]
    return pd.DataFrame([{t.id: t.simulate(d, platform) for t in targets} for d in dailies])


# --- tables --------------------------------------------------------------------------------


def fit_table(
    targets: Sequence[Target], predictive: pd.DataFrame, point: pd.DataFrame
) -> pd.DataFrame:
    """Per target: observation, tolerance, predictive median and 90% interval, met by the
    predictive median and by the calibrated baseline's median, and whether it is fitted."""
    rows = []
    for t in targets:
        x = predictive[t.id].to_numpy(dtype=float)
        med = float(np.nanmedian(x))
        rows.append(
            {
                "target": t.id,
                "observed": t.observed_text,
                "tolerance": fmt(t.tolerance),
                "median": med,
                "q05": float(np.nanquantile(x, 0.05)),
                "q95": float(np.nanquantile(x, 0.95)),
                "inside_90": float(np.mean([t.met(v) for v in x])),
                "point": float(np.nanmedian(point[t.id])),
                "met": t.met(med),
                "point_met": t.met(float(np.nanmedian(point[t.id]))),
                "fit": t.fit,
            }
        )
    return pd.DataFrame(rows)


def identification(post: pd.DataFrame, priors: Mapping[str, Prior]) -> pd.DataFrame:
    """Per parameter: prior range, posterior median and 90% interval, and how much narrower
    the interval is than the prior's (on the prior's own scale, log for log priors)."""
    w = post["weight"].to_numpy()
    rows = []
    for k, p in priors.items():
        q = [weighted_quantile(post[k].to_numpy(), w, a) for a in (0.05, 0.5, 0.95)]
        ratio = (p.to_unit(q[2]) - p.to_unit(q[0])) / 0.9
        verdict = "pinned" if ratio < PINNED else "loose" if ratio > LOOSE else "narrowed"
        rows.append(
            {
                "parameter": k,
                "prior": f"{p.low:g} - {p.high:g}" + (" (log)" if p.scale == "log" else ""),
                "q05": q[0],
                "median": q[1],
                "q95": q[2],
                "width_ratio": ratio,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def correlations(post: pd.DataFrame, priors: Mapping[str, Prior], at_least: float = 0.4):
    """Weighted correlations between parameters (prior scale) of at least ``at_least``."""
    keys = list(priors)
    z = np.column_stack([[priors[k].to_unit(v) for v in post[k]] for k in keys])
    c = np.cov(z, rowvar=False, aweights=post["weight"].to_numpy())
    d = np.sqrt(np.diag(c))
    r = c / np.outer(d, d)
    pairs = [
        (keys[i], keys[j], float(r[i, j]))
        for i in range(len(keys))
        for j in range(i + 1, len(keys))
        if abs(r[i, j]) >= at_least
    ]
    return sorted(pairs, key=lambda x: -abs(x[2]))


# --- figures -------------------------------------------------------------------------------


def figure_fit(path: Path, targets: Sequence[Target], table: pd.DataFrame) -> None:
    """One panel per target: the observation (and its tolerance) and the predictive interval."""
    n = len(targets)
    cols = 4
    fig = Figure(figsize=(12, 2.6 * -(-n // cols)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(-(-n // cols), cols, squeeze=False).ravel()
    for ax, t, (_, row) in zip(axes, targets, table.iterrows(), strict=False):
        lo, hi = t.bounds
        span = [v for v in (lo, hi, row.q05, row.q95) if np.isfinite(v)]
        a, b = min(span), max(span)
        pad = 0.3 * (b - a) + t.tolerance
        lo_d = lo if np.isfinite(lo) else a - pad
        hi_d = hi if np.isfinite(hi) else b + pad
        ax.axhspan(lo_d - t.tolerance, hi_d + t.tolerance, color="tab:red", alpha=0.12)
        if lo_d == hi_d:
            ax.axhline(lo_d, color="tab:red", lw=2)
        else:
            ax.axhspan(lo_d, hi_d, color="tab:red", alpha=0.25)
        ax.errorbar(
            [0],
            [row["median"]],
            yerr=[[row["median"] - row.q05], [row.q95 - row["median"]]],
            fmt="o",
            color="k",
            capsize=6,
        )
        ax.plot([0.25], [row.point], "D", color="tab:blue", ms=5)
        ax.set_xlim(-1, 1)
        ax.set_xticks([])
        ax.set_ylim(a - pad, b + pad)
        ax.set_title(f"{t.id}\nobserved {t.observed_text}", fontsize=8.5)
        ax.tick_params(labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(
        "Posterior predictive (black: median and 90% interval; blue: calibrated baseline) "
        "against the targets (red: observed, light red: tolerance)",
        fontsize=10,
    )
    fig.savefig(path, dpi=100)


def figure_marginals(
    path: Path, post: pd.DataFrame, priors: Mapping[str, Prior], estimate: Mapping[str, float]
) -> None:
    """Weighted histogram of each parameter over its prior range (flat = not identified)."""
    keys = list(priors)
    cols = 4
    fig = Figure(figsize=(12, 2.4 * -(-len(keys) // cols)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(-(-len(keys) // cols), cols, squeeze=False).ravel()
    w = post["weight"].to_numpy()
    for ax, k in zip(axes, keys, strict=False):
        p = priors[k]
        lo, hi = to_sample_space(p)
        x = np.log10(post[k]) if p.scale == "log" else post[k]
        ax.hist(x, bins=15, range=(lo, hi), weights=w, density=True, color="tab:blue", alpha=0.7)
        ax.axhline(1 / (hi - lo), color="0.4", ls="--", lw=1)  # the prior's density
        e = estimate[k]
        ax.axvline(np.log10(e) if p.scale == "log" else e, color="k", lw=1.5)
        ax.set_title(k + (" (log10)" if p.scale == "log" else ""), fontsize=8.5)
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Marginal posteriors (bars) against the prior (dashed); black: calibrated value",
        fontsize=10,
    )
    fig.savefig(path, dpi=100)


# --- the report ----------------------------------------------------------------------------


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_report(
    report: Path,
    folder: Path,
    calib_id: str,
    setup: Setup,
    problem: Calibration,
    post: pd.DataFrame,
    estimate: Mapping[str, float],
    gens: pd.DataFrame,
    draws: int = 20,
    workers: int | Executor = 2,
    progress: bool = True,
) -> pd.DataFrame:
    """Run the predictive check and write the report and its figures; returns the fit table.

    The calibration's results are complete before this runs: a failure here is recorded in the
    folder's manifest (``post_processing``) and raised as ``PostProcessingFailed`` naming the
    folder, which keeps its posterior and overlay.
    """
    tables: list[pd.DataFrame] = []

    def step(_folder: Path, _manifest: dict[str, Any]) -> None:
        tables.append(
            _write_report(
                report,
                folder,
                calib_id,
                setup,
                problem,
                post,
                estimate,
                gens,
                draws,
                workers,
                progress,
            )
        )

    folders.post_process(folder, {"fit report": step})
    return tables[0]


def _write_report(
    report: Path,
    folder: Path,
    calib_id: str,
    setup: Setup,
    problem: Calibration,
    post: pd.DataFrame,
    estimate: Mapping[str, float],
    gens: pd.DataFrame,
    draws: int = 20,
    workers: int | Executor = 2,
    progress: bool = True,
) -> pd.DataFrame:
    """Run the predictive check and write the report and its figures; returns the fit table."""
    base_sc = load_scenario(setup.scenario, setup.overrides)  # the scenario's own scale
    base = base_sc.model_dump()
    rng = np.random.default_rng(0)
    rows = rng.choice(len(post), size=draws, p=post["weight"].to_numpy())
    scenarios = [with_parameters(base, post.loc[i, list(problem.priors)].to_dict()) for i in rows]
    calibrated = with_parameters(base, estimate)
    dailies = run_many(
        [*scenarios, *[calibrated] * POINT_SEEDS],
        [*range(1, draws + 1), *range(1, POINT_SEEDS + 1)],
        workers,
        progress,
    )
    predictive = target_values(dailies[:draws], base_sc, problem.targets)
    point = target_values(dailies[draws:], base_sc, problem.targets)
    predictive.assign(particle=rows).to_parquet(folder / "predictive.parquet", index=False)
    table = fit_table(problem.targets, predictive, point)
    ident = identification(post, problem.priors)
    mech = mechanism_values(dailies[:draws], base_sc)

    figures = report.parent / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    figure_fit(figures / "calibration_fit.png", problem.targets, table)
    figure_marginals(figures / "calibration_marginals.png", post, problem.priors, estimate)
    with_targets = {
        f.file for f in figure_specs(base_sc) if any(p.target_metrics for p in f.panels)
    }
    series = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in make_plots(dailies[:draws], base_sc, Path(tmp), targets=problem.targets):
            if path.stem in with_targets:
                series.append(f"calibration_predictive_{path.name}")
                shutil.copy(path, figures / series[-1])

    check = pd.read_csv(folder / POINT_CHECK) if (folder / POINT_CHECK).is_file() else None
    text = markdown(
        calib_id, setup, problem, table, ident, mech, post, gens, draws, base_sc, series, check
    )
    tmp_report = report.with_name(report.name + ".tmp")
    tmp_report.write_text(text, encoding="utf-8")
    tmp_report.replace(report)
    return table


def commands_text(setup: Setup) -> str:
    """The commands that made the history, as the method lists them."""
    text = f"Command: `{setup.command}`"
    for r in setup.resumes:
        text += f"; resumed from generation {r['from_generation']} with `{r['command']}`"
    return text


def particles_text(gens: pd.DataFrame) -> str:
    """The particles per generation as the method says it: "160 particles", or "160 particles
    (320 from generation 6)" when a resumed run asked for more."""
    counts = gens["particles"].astype(int).tolist()
    text = f"{counts[0]} particles"
    changes = [
        f"{n} from generation {int(t)}"
        for t, n, before in zip(gens["t"].iloc[1:], counts[1:], counts[:-1], strict=True)
        if n != before
    ]
    return text + (f" ({', '.join(changes)})" if changes else "")


def markdown(
    calib_id: str,
    setup: Setup,
    problem: Calibration,
    table: pd.DataFrame,
    ident: pd.DataFrame,
    mech: pd.DataFrame,
    post: pd.DataFrame,
    gens: pd.DataFrame,
    draws: int,
    base_sc: Scenario,
    series: Sequence[str],
    check: pd.DataFrame | None = None,
) -> str:
    """The report's text (figures are referenced relative to the report); ``check`` is the
    candidates' check (``check_candidates``) when the point was chosen by one."""
    wall = float(gens["wall_time"].fillna(0).sum())
    n_sims = int(gens["samples"].sum())
    fit_rows = [
        [
            r.target,
            r.observed,
            r.tolerance,
            fmt(r["median"]),
            f"{fmt(r.q05)} - {fmt(r.q95)}",
            f"{r.inside_90:.0%}",
            fmt(r.point),
            "yes" if r.met else "**no**",
            "yes" if r.point_met else "**no**",
        ]
        for _, r in table.iterrows()
        if r.fit
    ]
    unfitted = {t.id: t for t in problem.targets if not t.fit}
    unfit_rows = [
        [
            r.target,
            r.observed,
            r.tolerance,
            fmt(r["median"]),
            f"{fmt(r.q05)} - {fmt(r.q95)}",
            fmt(r.point),
            " ".join(unfitted[r.target].source.split()),
        ]
        for _, r in table.iterrows()
        if not r.fit
    ]
    fitted = table[table["fit"]]
    eps = float(gens["epsilon"].iloc[-1])
    ess_raw = ess(post["weight_raw"])
    bars = [
        ("final epsilon <= 1 (every accepted particle meets every fitted target)", eps <= 1),
        ("effective sample size >= 50 (pyabc's weights)", ess_raw >= 50),
        ("every fitted target met by the predictive median", bool(fitted["met"].all())),
        ("every fitted target met by the calibrated baseline", bool(fitted["point_met"].all())),
    ]
    bar_text = "\n".join(f"- {'met' if ok else '**not met**'}: {what}" for what, ok in bars)
    best = post.iloc[best_particle(post)] if DISTANCE in post else None
    check_text = ""
    best_text = (
        f"the accepted particle with the smallest distance ({best[DISTANCE]:.3g}; weight "
        f"{best['weight_raw']:.3g})"
        if best is not None
        else "the best-fitting accepted particle"
    )
    if check is not None and len(check):
        chosen = check.set_index("particle", drop=False).loc[chosen_candidate(check)]
        n_fit = sum(t.fit for t in problem.targets)
        check_rows = [
            [
                str(int(r["rank"])),
                f"{r[DISTANCE]:.3g}",
                f"{int(r['met'])} of {n_fit}",
                f"{r['worst']:.3g}",
                "**chosen**" if r["particle"] == chosen["particle"] else "",
            ]
            for _, r in check.iterrows()
        ]
        best_text = (
            f"the accepted particle ranked {int(chosen['rank'])} by distance "
            f"({chosen[DISTANCE]:.3g}), chosen among the {len(check)} best-fitting ones by the "
            "check below"
        )
        check_text = (
            f"\n\nThe check: each of the {len(check)} best-fitting particles was run as the "
            f"baseline runs (1:{base_sc.scale:g}, seeds 1-{POINT_SEEDS}, the overlay's 4 "
            "significant digits); the one whose medians over the seeds fit best (the smallest "
            "worst excess over the fitted targets, in tolerances) is the point. A distance "
            "comes from one run at the calibration's scale, which luck can flatter.\n\n"
            + _md_table(
                ["rank", "distance (one run)", "met by the medians", "worst excess", ""],
                check_rows,
            )
        )
    loose = ident[ident["verdict"] == "loose"]["parameter"].tolist()
    loose_text = (
        "\n".join(f"- `{k}`" for k in loose)
        if loose
        else "- none: every free parameter is at least narrowed"
    )
    id_rows = [
        [
            f"`{r.parameter}`",
            r.prior,
            f"{r['median']:.3g}",
            f"{r.q05:.3g} - {r.q95:.3g}",
            f"{r.width_ratio:.2f}",
            r.verdict,
        ]
        for _, r in ident.iterrows()
    ]
    gen_rows = [
        [str(int(g.t)), f"{g.epsilon:.3g}", f"{int(g.samples):,}", f"{g.particles / g.samples:.0%}"]
        for _, g in gens.iterrows()
    ]
    mech_rows = [
        [
            name,
            fmt(float(mech[name].median())),
            f"{fmt(float(mech[name].quantile(0.05)))} - {fmt(float(mech[name].quantile(0.95)))}",
        ]
        for name in mech.columns
    ]
    corr = correlations(post, problem.priors)
    corr_text = (
        "\n".join(f"- `{a}` and `{b}`: {r:+.2f}" for a, b, r in corr)
        if corr
        else "- none of |r| >= 0.4"
    )
    found = local_or_shipped(DISCUSSION)
    discussion = found.read_text(encoding="utf-8") if found else ""
    met = int(fitted["met"].sum())
    point_met = int(fitted["point_met"].sum())
    return f"""# Calibration: fit to the public record

Generated by `propsim calibrate` (`sim/analysis/fit_report.py`) on {dt.date.today()} from
calibration **{calib_id}** (`results/calibration/{calib_id}/`, not in git); the calibrated values
are in [`calibration/calibrated.yaml`](../calibration/calibrated.yaml), which
[`scenarios/baseline.yaml`](../scenarios/baseline.yaml) lays over its own values. Targets:
[`calibration/targets.yaml`](../calibration/targets.yaml) (SPEC section 5, with sources and
tolerances); free parameters and their priors:
[`calibration/priors.yaml`](../calibration/priors.yaml).

## Method

Approximate Bayesian computation with sequential Monte Carlo (pyabc `ABCSMC`,
{particles_text(gens)}, median-quantile epsilon schedule never below {setup.min_epsilon:g},
{KERNEL_WORDS[setup.kernel]}
(variance {setup.bandwidth_text()} times Silverman's rule);
log-uniform priors are sampled on the log10 scale). Each simulation runs `{setup.scenario}` at
1:{setup.scale:g} (outputs are in real-world units and scale-free up to noise) with a fresh seed.
A particle's distance is the **largest excess of any fitted target** over its observed level or
range, in units of the target's tolerance (0 inside a range, so a bound or a range is a
constraint, not a point to hit): epsilon <= 1 means the particle meets every fitted target.
Targets with `fit: false` are simulated and reported but not in the distance.

{commands_text(setup)}

The calibrated point (`calibration/calibrated.yaml`, which the baseline lays over its own values) is
{best_text}: a point the posterior supports, not the per-parameter medians of a correlated
posterior. The whole posterior (particles and weights) is `calibration/posterior.csv` beside
it, shipped with propsim, which `propsim compare --posterior K` draws from; each particle's
distance and target values are in `results/calibration/{calib_id}/particles.parquet`.{check_text}

The bars (issue 15):

{bar_text}

- generations: {len(gens)}; simulations: {n_sims:,}; wall time of the generations:
  {wall / 60:.0f} min on the development machine (2 cores shared with other work)
- final epsilon: {gens["epsilon"].iloc[-1]:.3g} (largest excess of the worst target, in
  tolerances, that the last generation's particles all stay within)

{_md_table(["generation", "epsilon", "simulations", "acceptance"], gen_rows)}

## Fit: posterior predictive at 1:{base_sc.scale:g}

{draws} particles drawn from the posterior by weight, each run once at the baseline's own scale
(1:{base_sc.scale:g}) with its own seed; "calibrated" is the calibrated baseline (the
calibrated point above) over {
        POINT_SEEDS
    } seeds (median). "Met" means the predictive median is within the
tolerance of the observation; "draws within" is the share of draws that are.
**{met} of {len(fitted)} fitted targets are met by the predictive median, {point_met} by the
calibrated baseline.**

{
        _md_table(
            [
                "target",
                "observed",
                "tolerance",
                "predictive median",
                "90% interval",
                "draws within",
                "calibrated",
                "met (predictive)",
                "met (calibrated)",
            ],
            fit_rows,
        )
    }

![fit](figures/calibration_fit.png)

The predictive draws over time, with the targets (red):

{chr(10).join(f"![{name}](figures/{name})" for name in series)}

## What the targets identify

Posterior median and 90% interval of each free parameter; "width" is the 90% interval's width
over the prior's (on the prior's own scale, log for log priors; 1 = the data say nothing).
**Pinned**: width < {PINNED}; **narrowed**: {PINNED} to {LOOSE}; **loose**: > {LOOSE} — a loose
parameter is not known from these targets, and a scenario that depends on it should be run
across its range (`propsim sweep`), not at the calibrated value alone.

The posterior is the last generation's {len(post)} particles, with an effective sample size
of {ess(post["weight_raw"]):.1f} under pyabc's importance weights. Every summary here uses the
weights truncated at sqrt(n) times their mean (truncated importance sampling, so that one or
two heavy particles do not stand for the whole posterior): effective sample size
{ess(post["weight"]):.1f}. The intervals rest on that many particles; a longer run (more
particles, `--resume`) sharpens them.

{_md_table(["parameter", "prior", "median", "90% interval", "width", "verdict"], id_rows)}

![marginals](figures/calibration_marginals.png)

Parameters that trade off against each other (weighted posterior correlation, prior scale):
a loose pair can still be constrained jointly.

{corr_text}

## What the fit implies beyond the targets

Quantities no target constrains directly, over the same predictive draws (median and 90%
range): they show which mechanisms the calibrated model runs on, and are what later public
figures (outside the calibration window or on other quantities) would test.

{_md_table(["quantity", "median", "90% range"], mech_rows)}

## Public figures deliberately not fitted

Figures of the record that are in `calibration/targets.yaml` with `fit: false`: simulated and
shown here, but left out of the calibration's distance (the source says why), with how the
calibrated model predicts them.

{
        _md_table(
            [
                "figure",
                "observed",
                "tolerance",
                "predictive median",
                "90% interval",
                "calibrated",
                "source, and why it is not fitted",
            ],
            unfit_rows,
        )
        if unfit_rows
        else "None: every target of the record is fitted."
    }

## What the record does not constrain

Free parameters the targets leave loose (90% posterior interval over {LOOSE:.0%} of the prior's
width): run a question that depends on them across their range (`propsim sweep`, `propsim
compare --posterior K`), not at the calibrated value alone.

{loose_text}

Parameters left out of the calibration (hand-set in `scenarios/baseline.yaml` with their
sources, or schema defaults) are listed, with why, at the top of
[`calibration/priors.yaml`](../calibration/priors.yaml); the dated history (activity surges,
suspension ramps, the purge, Twitter's faster response of February 2016, outside events) is in
the baseline's timeline and is not fitted.

{discussion}
"""
