"""``propsim compare``: scenarios run on the same seeds, their paired differences with intervals.

Data flow: BASE.yaml VARIANT.yaml ... + --set -> validated scenarios (arms, the base first) ->
``sim.analysis.paired.PairedPlan`` (every arm on units j with seed S + j; with ``--posterior K``
the units also go through K parameter sets drawn from the calibration posterior) -> runs in a
folder -> ``write_tables``:

    comparison.csv       per variant and outcome: base and variant levels, paired difference
                         and ratio (median, 5%, 95%), P(variant lower), within the noise
                         (the 90% interval contains 0) or within the base's spread, and for
                         an observed outcome its true counterpart (the next row) and whether
                         the two moved in opposite directions (``sim.analysis.observed``)
    summary_stats.csv    per arm and outcome: median, 5%, 95% over its runs
    paired.csv           per unit: draw, seed and every variant's difference for every outcome
    daily_bands.parquet  per day, arm and metric: level and difference (median, 5%, 95%)
    runs.csv             one row per run (arm = point, unit = replicate, seed, outcomes)

-> plots (``sim.analysis.compare_plots``): each metric's difference from the base over time
with its band, and a forest plot of the outcomes' changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis import observed, paired
from sim.analysis.paired import Arm, PairedPlan
from sim.analysis.tables import align, format_value
from sim.errors import BadInput

COMPARISON_CSV = "comparison.csv"
SUMMARY_STATS_CSV = "summary_stats.csv"
PAIRED_CSV = "paired.csv"
DAILY_BANDS = "daily_bands.parquet"
SHOWN = (
    "traffic_ratio",
    "traffic_ratio_true",
    "posts_observed_last90",
    "pro_posts_true_last90",
    "total_suspensions",
    "total_recruits",
    "users_reached_30d_end",
    "mean_followers_last90",
    "encrypted_members_end",
)


def question_of(path: Path) -> str:
    """The question a scenario file states in its leading ``# Question:`` comment ('' if none)."""
    lines: list[str] = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        if lines or body.lower().startswith("question:"):
            lines.append(body)
    text = " ".join(lines)
    return text.split(":", 1)[1].strip() if text else ""


def compare_plan(
    scenarios: Sequence[str],
    sets: Sequence[str],
    seed: int | None,
    replicates: int | None,
    posterior: int | None,
    posterior_file: str | None,
    metrics: Sequence[str],
    resolve: Callable[[str], Path],
    names: Sequence[str] = (),
) -> PairedPlan:
    """The plan of a comparison: the scenario files (base first), checked comparable.

    ``names`` (``--name``, in order) label the first scenarios in place of their own ``name``
    (the folder is called after the base's)."""
    from sim.analysis.outcomes import column_for
    from sim.metrics import METRIC_BY_NAME, column_names
    from sim.scenario import load_scenario

    if len(scenarios) < 2:
        raise BadInput("give a BASE scenario and at least one VARIANT (or --resume DIR)")
    if len(names) > len(scenarios):
        raise BadInput(
            f"--name: {len(names)} names for {len(scenarios)} scenarios (one --name per "
            "SCENARIO, in order: the base first)"
        )
    paths = [resolve(s) for s in scenarios]
    loaded = [load_scenario(p, list(sets)) for p in paths]
    for i, name in enumerate(names):
        loaded[i] = loaded[i].model_copy(update={"name": name})
    base = loaded[0]
    seed = base.seed if seed is None else seed
    replicates = replicates or base.replicates
    names = paired.arm_names([s.name for s in loaded])
    arms = [
        Arm(n, s.model_copy(update={"seed": seed, "replicates": replicates}), question_of(p))
        for n, s, p in zip(names, loaded, paths, strict=True)
    ]
    paired.check_comparable(arms)
    metrics = list(metrics) or list(paired.DEFAULT_METRICS)
    opens, encs = base.platform_names("open"), base.platform_names("encrypted")
    columns = column_names(opens, encs)
    for m in metrics:
        if m.rsplit(".", 1)[-1] not in METRIC_BY_NAME:
            raise BadInput(f"--metric {m}: no such daily metric (`propsim metrics` lists them)")
        try:
            col = column_for(m, opens, encs)
        except ValueError as err:
            raise BadInput(f"--metric {m}: {err}") from None
        if col not in columns:
            raise BadInput(f"--metric {m}: the scenario has no column {col!r}")
    draws: list[dict[str, float]] = []
    post = None
    if posterior:
        path = Path(posterior_file) if posterior_file else paired.find_posterior()
        post = paired.load_posterior(path)
        draws = paired.draw_posterior(post, posterior, seed)
    elif posterior_file:
        raise BadInput("--posterior-file needs --posterior K (the number of draws)")
    plan = PairedPlan(
        kind="compare",
        name=names[0],
        arms=arms,
        seed=seed,
        replicates=replicates,
        draws=draws,
        posterior=post,
        outcomes=paired.default_outcomes(base),
        metrics=metrics,
        design={"sets": list(sets), "posterior_file": str(posterior_file or "")},
    )
    for a in range(len(arms)):  # every draw's scenario validates before anything runs
        for k in range(len(draws)) if draws else [paired.NO_DRAW]:
            plan.scenario(a, k)
    return plan


def outcome_names(plan: PairedPlan) -> list[str]:
    from sim.metrics import OUTCOMES

    return [o.name for o in OUTCOMES] + [o.name for o in plan.outcomes]


def write_tables(folder: Path, runs: pd.DataFrame, plan: PairedPlan) -> dict[str, Any]:
    """The comparison's tables in the folder; returns the manifest's ``files`` entry."""
    names = [a.name for a in plan.arms]
    true = observed.true_outcomes(folder / paired.RUNS_DIR, plan.arms[0].scenario)
    runs = runs.merge(true, on=["point", "replicate"], how="left")
    outcomes = observed.with_true(outcome_names(plan), list(runs.columns))
    table = observed.annotate(paired.paired_table(runs, outcomes, names))
    table.to_csv(folder / COMPARISON_CSV, index=False)
    paired.level_table(runs, outcomes, names).to_csv(folder / SUMMARY_STATS_CSV, index=False)
    per_unit = {}
    for o in outcomes:
        wide = paired.by_unit(runs, o)
        for a in range(1, len(names)):
            per_unit[f"{names[a]}:{o}"] = wide[a] - wide[0]
    # one frame from a dict (one block), not a concat of columns: with many variants, a
    # concat's hundreds of blocks made the inserts below warn (PerformanceWarning)
    table = pd.DataFrame(per_unit).rename_axis("unit").reset_index()
    table.insert(1, "draw", [plan.draw_of(int(j)) for j in table["unit"]])
    table.insert(2, "seed", [plan.seed + int(j) for j in table["unit"]])
    table.to_csv(folder / PAIRED_CSV, index=False)
    columns = paired.daily_columns(plan.metrics, plan.arms[0].scenario)
    paired.daily_bands(folder, columns, names).to_parquet(folder / DAILY_BANDS, index=False)
    return {
        "files": {
            "comparison": COMPARISON_CSV,
            "summary_stats": SUMMARY_STATS_CSV,
            "paired": PAIRED_CSV,
            "daily_bands": DAILY_BANDS,
            "runs": paired.RUNS_CSV,
        }
    }


def noise_mark(row: Any) -> str:
    """The ``vs noise`` cell of the printed table: ``0 in 90%`` when the interval of the paired
    difference contains 0; ``< spread`` when it does not but the change is smaller than half
    the base's 5-95% spread over runs; else ``clear``."""
    if row["within_noise"]:
        return "0 in 90%"
    return "< spread" if row.get("within_spread", False) else "clear"


def comparison_text(table: pd.DataFrame, plan: PairedPlan) -> str:
    """The printed table: per variant, the shown outcomes' levels and paired differences (each
    observed outcome with its true counterpart below it), how they compare with the noise, and
    a note where observed and true move in opposite directions."""
    n = plan.units
    src = (
        f"{plan.replicates} seed(s) x {len(plan.draws)} posterior draw(s)"
        if plan.draws
        else f"{plan.replicates} seed(s), calibrated values"
    )
    lines = [
        f"Paired differences from {plan.arms[0].name} over {n} unit(s) ({src}); "
        "median [5%, 95%] over the units.",
        "vs noise: '0 in 90%' = the interval contains 0 (within the noise); '< spread' = a "
        "paired change smaller than half the base's 5-95% spread over its runs (real, but "
        "within run-to-run noise); 'clear' = neither. *_true rows: what happened, next to "
        "what the classifier observed.",
    ]
    for arm in plan.arms[1:]:
        sub = table[table["arm"] == arm.name].set_index("outcome")
        rows = [
            ("outcome", plan.arms[0].name, arm.name, "difference", "ratio", "P(lower)", "vs noise")
        ]
        for o in SHOWN:
            if o not in sub.index:
                continue
            r = sub.loc[o]
            unit = str(r["unit"])
            diff = (
                f"{format_value(r['diff_median'], unit)} [{format_value(r['diff_q05'], unit)}, "
                f"{format_value(r['diff_q95'], unit)}]"
            )
            ratio = (
                "n/a"
                if math.isnan(r["ratio_median"])
                else f"{r['ratio_median']:.3g} [{r['ratio_q05']:.3g}, {r['ratio_q95']:.3g}]"
            )
            p = "n/a" if math.isnan(r["p_lower"]) else f"{r['p_lower']:.0%}"
            rows.append(
                (
                    o,
                    format_value(r["base_median"], unit),
                    format_value(r["median"], unit),
                    diff,
                    ratio,
                    p,
                    noise_mark(r),
                )
            )
        body = align(rows)
        lines += ["", f"{arm.name} vs {plan.arms[0].name}:", *body]
        if "opposite_to_true" in table:
            lines += observed.artefact_notes(table, arm.name)
    lines.append(f"\n(every outcome in {COMPARISON_CSV})")
    return "\n".join(lines)


def finish(
    folder: Path, plan: PairedPlan, plots: bool, seconds: float
) -> tuple[Path, pd.DataFrame]:
    """Tables, final name, plots; returns the folder and the comparison table."""

    def draw(final: Path, plots_dir: Path) -> Sequence[Path]:
        from sim.analysis.compare_plots import make_compare_plots

        return make_compare_plots(final, plots_dir)

    args = [str(f) for f in _arm_files(folder, plan)]
    final = paired.finish(
        folder,
        plan,
        lambda f, runs: write_tables(f, runs, plan),
        lambda final: paired.reproduce_command(
            "compare", [str(final / p) for p in args], plan, final
        ),
        draw if plots else None,
        seconds,
    )
    return final, pd.read_csv(final / COMPARISON_CSV)


def _arm_files(folder: Path, plan: PairedPlan) -> list[str]:
    return [paired.arm_file(a, arm.name) for a, arm in enumerate(plan.arms)]
