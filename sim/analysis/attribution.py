"""``propsim attribute``: how much of each outcome each family of countermeasures caused.

The families are the components' (``Component.family``: suspensions, takedowns,
counter-messaging, measurement, ... as the components in ``sim.components.COMPONENTS``
declare them); a family is switched off by each of its components' own ``switch_off``, on the
scenario as plain data. Nothing here names a family.

Data flow: SCENARIO + --set -> every combination of the chosen families switched on or off
(2^n arms; arm 0 is the scenario as given, all on) -> ``sim.analysis.paired.PairedPlan`` (every
arm on the same seeds, optionally under posterior draws) -> runs -> per pairing unit, the
Shapley value of each family for each outcome::

    phi_i = sum over S subset of N \\ {i} of |S|! (n - |S| - 1)! / n! * (v(S + i) - v(S))

where v(S) is the outcome with the families S on and the others off; per unit the values add up
to the total effect v(N) - v(none) exactly (up to rounding). Written:

    shapley.csv          per outcome and family: mean, median, 5%, 95% over the units, and the
                         share of the total effect (mean over mean); family "total" is the effect
                         of all together, "none"/"all" the outcome's levels
    shapley_units.csv    per unit and outcome: each family's value and the total
    summary_stats.csv    per arm and outcome: median, 5%, 95%
    runs.csv, runs/      every run
    plots/waterfall_<outcome>.png   from "no countermeasures" to the scenario, one bar per family
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import observed, paired
from sim.analysis.compare import question_of
from sim.analysis.paired import Arm, PairedPlan
from sim.analysis.tables import align, format_value
from sim.errors import BadInput

SHAPLEY_CSV = "shapley.csv"
SHAPLEY_UNITS_CSV = "shapley_units.csv"
SUMMARY_STATS_CSV = "summary_stats.csv"
TOTAL, NONE, ALL = "total", "none", "all"
# the outcomes drawn as waterfalls and printed: observed traffic (its drop), true traffic,
# recruits, reach, followers
SHOWN = (
    "traffic_ratio",
    "traffic_ratio_true",
    "posts_observed_last90",
    "pro_posts_true_last90",
    "total_recruits",
    "users_reached_30d_end",
    "mean_followers_last90",
)


def families(components: Sequence[Any] | None = None) -> dict[str, list[Any]]:
    """Every family of countermeasures the components declare, with its components, in
    component order."""
    if components is None:
        from sim.components import COMPONENTS

        components = COMPONENTS
    out: dict[str, list[Any]] = {}
    for c in components:
        if c.family is not None:
            out.setdefault(c.family, []).append(c)
    return out


def switchable(fams: dict[str, list[Any]]) -> tuple[list[str], dict[str, list[str]]]:
    """The families every component of which can be switched off, and for the others the
    components that cannot."""
    ok, not_ok = [], {}
    for f, comps in fams.items():
        missing = [c.name for c in comps if not c.switchable()]
        if missing:
            not_ok[f] = missing
        else:
            ok.append(f)
    return ok, not_ok


def switched_off(scenario: Any, off: Sequence[str], fams: dict[str, list[Any]]) -> Any:
    """``scenario`` with the families ``off`` switched off by their components."""
    from sim.scenario import Scenario

    data = scenario.model_dump(mode="python")
    for f in off:
        for c in fams[f]:
            c.switch_off(data)
    return Scenario.model_validate(data)


def arm_name(on: Sequence[str], chosen: Sequence[str]) -> str:
    if len(on) == len(chosen):
        return ALL
    if not on:
        return NONE
    return "off-" + "-and-".join(f for f in chosen if f not in on)


def shapley_weights(n: int) -> list[float]:
    """Weight of a coalition of size s (not containing the family): s! (n - s - 1)! / n!."""
    return [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]


def shapley(values: dict[int, np.ndarray], n: int) -> list[np.ndarray]:
    """Per family i, its Shapley value per unit, from ``values[mask]`` (the outcome per unit
    with the families of the bits of ``mask`` on)."""
    w = shapley_weights(n)
    out = []
    for i in range(n):
        phi = np.zeros_like(values[0], dtype=float)
        others = [j for j in range(n) if j != i]
        for s in range(n):
            for coalition in combinations(others, s):
                mask = sum(1 << j for j in coalition)
                phi = phi + w[s] * (values[mask | (1 << i)] - values[mask])
        out.append(phi)
    return out


def attribution_plan(
    scenario: str | None,
    sets: Sequence[str],
    chosen: Sequence[str],
    seed: int | None,
    replicates: int | None,
    posterior: int | None,
    posterior_file: str | None,
    resolve: Callable[[str], Path],
) -> tuple[PairedPlan, list[str]]:
    """The plan (2^n arms) and notes on families that were left out."""
    from sim.scenario import load_scenario

    if scenario is None:
        raise BadInput("give a SCENARIO (or --resume DIR)")
    fams = families()
    ok, not_ok = switchable(fams)
    notes = [
        f"family {f} is left out: {', '.join(c)} do(es) not say how to switch it off "
        "(Component.switch_off)"
        for f, c in not_ok.items()
    ]
    if chosen:
        for f in chosen:
            if f not in fams:
                raise BadInput(
                    f"--families: no family {f!r}; the components declare {', '.join(fams)}"
                )
            if f not in ok:
                raise BadInput(f"--families: {f} cannot be switched off ({notes[0]})")
        if len(set(chosen)) != len(chosen):
            raise BadInput("--families: a family is named twice")
    chosen = list(chosen) or ok
    if not chosen:
        raise BadInput("no family of countermeasures can be switched off")
    path = resolve(scenario)
    base = load_scenario(path, list(sets))
    seed = base.seed if seed is None else seed
    replicates = replicates or base.replicates
    base = base.model_copy(update={"seed": seed, "replicates": replicates})
    n = len(chosen)
    arms = []
    for mask in range(2**n - 1, -1, -1):  # arm 0: all on (the scenario); the last: none
        on = [f for i, f in enumerate(chosen) if mask >> i & 1]
        off = [f for f in chosen if f not in on]
        sc = base if not off else switched_off(base, off, fams)
        arms.append(Arm(arm_name(on, chosen), sc, question_of(path), {"families_on": on}))
    draws: list[dict[str, float]] = []
    post = None
    if posterior:
        post = paired.load_posterior(
            Path(posterior_file) if posterior_file else paired.find_posterior()
        )
        draws = paired.draw_posterior(post, posterior, seed)
    elif posterior_file:
        raise BadInput("--posterior-file needs --posterior K (the number of draws)")
    plan = PairedPlan(
        kind="attribute",
        name=base.name,
        arms=arms,
        seed=seed,
        replicates=replicates,
        draws=draws,
        posterior=post,
        outcomes=paired.default_outcomes(base),
        metrics=[],
        design={"sets": list(sets), "families": chosen, "left_out": notes},
    )
    for a in range(len(arms)):
        for k in range(len(draws)) if draws else [paired.NO_DRAW]:
            plan.scenario(a, k)
    return plan, notes


def outcome_names(plan: PairedPlan) -> list[str]:
    from sim.metrics import OUTCOMES

    return [o.name for o in OUTCOMES] + [o.name for o in plan.outcomes]


def _mask_of(plan: PairedPlan, chosen: Sequence[str]) -> dict[int, int]:
    """Arm index of each mask."""
    out = {}
    for a, arm in enumerate(plan.arms):
        on = arm.info["families_on"]
        out[sum(1 << i for i, f in enumerate(chosen) if f in on)] = a
    return out


def write_tables(folder: Path, runs: pd.DataFrame, plan: PairedPlan) -> dict[str, Any]:
    chosen = plan.design["families"]
    n = len(chosen)
    arm_of = _mask_of(plan, chosen)
    units = paired.outcome_units()
    rows, unit_rows = [], []
    # the true counterparts of the observed ratios beside them (sim.analysis.observed)
    runs = runs.merge(
        observed.true_outcomes(folder / paired.RUNS_DIR, plan.arms[0].scenario),
        on=["point", "replicate"],
        how="left",
    )
    outcomes = observed.with_true(outcome_names(plan), list(runs.columns))
    for o in outcomes:
        wide = paired.by_unit(runs, o)
        values = {mask: wide[a].to_numpy(dtype=float) for mask, a in arm_of.items()}
        phis = shapley(values, n)
        total = values[2**n - 1] - values[0]
        mean_total = float(np.nanmean(total)) if np.isfinite(total).any() else math.nan
        for name, x in [*zip(chosen, phis, strict=True), (TOTAL, total),
                        (NONE, values[0]), (ALL, values[2**n - 1])]:  # fmt: skip
            finite = x[np.isfinite(x)]
            mean = float(finite.mean()) if finite.size else math.nan
            share = mean / mean_total if name in chosen and mean_total else math.nan
            rows.append(
                {
                    "outcome": o,
                    "unit": units.get(o, ""),
                    "family": name,
                    "mean": mean,
                    **paired.interval(x),
                    "share_of_total": share,
                }
            )
        for j, unit in enumerate(wide.index):
            unit_rows.append(
                {"unit": int(unit), "draw": plan.draw_of(int(unit)), "outcome": o,
                 **{f: float(p[j]) for f, p in zip(chosen, phis, strict=True)},
                 TOTAL: float(total[j])}
            )  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / SHAPLEY_CSV, index=False)
    pd.DataFrame(unit_rows).to_csv(folder / SHAPLEY_UNITS_CSV, index=False)
    names = [a.name for a in plan.arms]
    paired.level_table(runs, outcomes, names).to_csv(folder / SUMMARY_STATS_CSV, index=False)
    return {
        "files": {
            "shapley": SHAPLEY_CSV,
            "shapley_units": SHAPLEY_UNITS_CSV,
            "summary_stats": SUMMARY_STATS_CSV,
            "runs": paired.RUNS_CSV,
        }
    }


def attribution_text(table: pd.DataFrame, plan: PairedPlan) -> str:
    """The printed table: per shown outcome, no countermeasures -> each family -> scenario."""
    chosen = plan.design["families"]
    src = (
        f"{plan.replicates} seed(s) x {len(plan.draws)} posterior draw(s)"
        if plan.draws
        else f"{plan.replicates} seed(s)"
    )
    lines = [
        f"Attribution of {plan.name} over {', '.join(chosen)} ({len(plan.arms)} scenarios, "
        f"{plan.units} paired unit(s): {src}); Shapley values, mean [5%, 95%] over the units"
    ]
    for note in plan.design.get("left_out", []):
        lines.append(f"note: {note}")
    header = ("outcome", NONE, *chosen, ALL)
    rows = [header]
    for o in SHOWN:
        sub = table[table["outcome"] == o].set_index("family")
        if sub.empty:
            continue
        unit = str(sub["unit"].iloc[0])
        cells = [o, format_value(sub.loc[NONE, "mean"], unit)]
        for f in chosen:
            r = sub.loc[f]
            cells.append(
                f"{format_value(r['mean'], unit)} [{format_value(r['q05'], unit)}, "
                f"{format_value(r['q95'], unit)}]"
            )
        cells.append(format_value(sub.loc[ALL, "mean"], unit))
        rows.append(tuple(cells))
    body = align(rows)
    lines += ["", *body, *artefact_notes(table, chosen)]
    lines.append(f"\n(every outcome in {SHAPLEY_CSV}; none + families = all)")
    return "\n".join(lines)


def artefact_notes(table: pd.DataFrame, chosen: Sequence[str]) -> list[str]:
    """A note per family whose Shapley value moves an observed outcome one way and its true
    counterpart (``sim.analysis.observed.TRUE_OF``) the other."""
    mean = table.set_index(["outcome", "family"])["mean"]
    notes = []
    for obs, true in observed.TRUE_OF.items():
        for f in chosen:
            if (obs, f) in mean.index and (true, f) in mean.index:
                a, b = float(mean[(obs, f)]), float(mean[(true, f)])
                if observed.opposite(a, b):
                    notes.append(
                        f"Note: {f} {'raises' if a > 0 else 'lowers'} {obs} but "
                        f"{'raises' if b > 0 else 'lowers'} {true}: {observed.ARTEFACT}."
                    )
    return notes


def finish(
    folder: Path, plan: PairedPlan, plots: bool, seconds: float
) -> tuple[Path, pd.DataFrame]:
    def draw(final: Path, plots_dir: Path) -> Sequence[Path]:
        from sim.analysis.compare_plots import make_waterfalls

        return make_waterfalls(final, plots_dir, SHOWN)

    families_arg = ",".join(plan.design["families"])
    final = paired.finish(
        folder,
        plan,
        lambda f, runs: write_tables(f, runs, plan),
        lambda final: paired.reproduce_command(
            "attribute",
            [str(final / paired.arm_file(0, plan.arms[0].name)), "--families", families_arg],
            plan,
            final,
        ),
        draw if plots else None,
        seconds,
    )
    return final, pd.read_csv(final / SHAPLEY_CSV)
