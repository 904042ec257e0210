"""``propsim report``: one self-contained HTML page for any results folder.

Data flow: a finished folder of ``run``, ``compare``, ``attribute``, ``sweep``, ``sensitivity``,
``calibrate`` or ``discover`` (its ``manifest.json`` says which) -> ``build_report`` -> one HTML
file with everything inside it (plots as base64 PNG, plain CSS, no script, no network):

1. the question (the scenario file's leading ``# Question:`` comment, else its description);
2. the scenario's differences from the baseline (``scenarios/baseline.yaml`` of the working
   folder, else the shipped one), key by key, and the timeline events added or removed; for a
   comparison each variant's differences from the base;
3. the headline table of the kind (summary outcomes, paired differences, Shapley values, sweep
   medians, sensitivity indices, the posterior, a discovery's box: each key's range);
   a discovery also gets a "Scenario discovery" section: the peeling trajectory's main boxes
   with coverage and density, and how to read them;
4. the plots;
5. the caveats: what the bands are, and the parameters the calibration leaves loose or only
   narrows (from the posterior against the priors) with, where the folder holds posterior
   draws, the outcomes each one moves (rank correlation over the draws);
6. how to reproduce it (the manifest's command), versions and commit.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.tables import format_value
from sim.errors import FolderError
from sim.io import folders

REPORT_HTML = "report.html"
KINDS = ("run", "compare", "attribute", "sweep", "sensitivity", "calibration", "discover")
MAX_DIFF_ROWS = 60

CSS = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222;
       line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc;
       margin-top: 1.6em; }
.meta { color: #666; font-size: 0.9em; }
.question { font-size: 1.15em; background: #f3f6fa; border-left: 4px solid #1f77b4;
            padding: 0.6em 1em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #eee; } td:first-child, th:first-child { text-align: left; }
tr.noise td { color: #888; }
tr.chosen td { font-weight: bold; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; }
.caveat { background: #fff8e6; border-left: 4px solid #e0a800; padding: 0.4em 1em; }
"""


# --- small builders ----------------------------------------------------------------------------


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def cell(x: Any, unit: str = "") -> str:
    if isinstance(x, float | np.floating):
        x = float(x)
        if math.isnan(x):
            return "n/a"
        return format_value(x, unit) if unit else f"{x:.4g}"
    return str(x)


def table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], classes: Sequence[str] = (), tid: str = ""
) -> str:
    """An HTML table of already formatted cells (escaped here)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for i, r in enumerate(rows):
        cls = f' class="{esc(classes[i])}"' if i < len(classes) and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
    ident = f' id="{esc(tid)}"' if tid else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{esc(path.stem)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{esc(path.name)}</figcaption></figure>"
    )


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """A scenario's plain data as {dotted key: value} (the timeline left out)."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            if not prefix and k == "timeline":
                continue
            out.update(flatten(v, f"{prefix}{k}."))
    else:
        out[prefix.rstrip(".")] = data
    return out


def describe_event(e: dict[str, Any]) -> str:
    rest = {
        k: v for k, v in e.items() if k not in ("action", "date", "label") and v not in ("", None)
    }
    label = f" ({e['label']})" if e.get("label") else ""
    return f"{e.get('date')} {e.get('action')}{label}: " + ", ".join(
        f"{k}={v}" for k, v in rest.items()
    )


def scenario_diff(
    scenario: dict[str, Any], reference: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """(key, reference value, scenario value) for every value that differs, then the timeline
    events only one of them has."""
    a, b = flatten(reference), flatten(scenario)
    rows = []
    skip = {"name", "description", "seed", "replicates"}
    for k in sorted(set(a) | set(b)):
        if k in skip:
            continue
        va, vb = a.get(k, "(none)"), b.get(k, "(none)")
        if str(va) != str(vb):
            rows.append((k, str(va), str(vb)))
    ea = [describe_event(e) for e in reference.get("timeline", [])]
    eb = [describe_event(e) for e in scenario.get("timeline", [])]
    for e in ea:
        if e not in eb:
            rows.append(("timeline", e, "(removed)"))
    for e in eb:
        if e not in ea:
            rows.append(("timeline", "(not there)", e))
    return rows


def baseline_data() -> dict[str, Any] | None:
    """The baseline scenario as plain data (working folder's, else the shipped one)."""
    from sim.config.resources import resolve_input
    from sim.errors import PropsimError
    from sim.scenario import load_scenario

    try:
        path, _ = resolve_input("scenarios/baseline.yaml", "scenario")
        return dict(load_scenario(path).model_dump(mode="json"))
    except (PropsimError, OSError):
        return None


# --- sections ----------------------------------------------------------------------------------


def question(folder: Path, manifest: dict[str, Any]) -> str:
    """The question as HTML: each compared scenario's, or the scenario's."""
    arms = manifest.get("arms", [])
    if manifest.get("kind") == "compare":
        return "".join(
            f'<p class="question"><b>{esc(a["name"])}</b>: '
            f"{esc(a.get('question') or '(no question stated)')}</p>"
            for a in arms
        )
    text = esc(_question_text(manifest))
    if manifest.get("kind") == "discover":
        keys = ", ".join(manifest.get("keys", []))
        text += (
            f"<br><i>Scenario discovery: under which values of {esc(keys)} does "
            f"{esc(manifest['outcome'])} stay {esc(manifest['direction'])} "
            f"{esc(f'{manifest["threshold"]:g}')}?</i>"
        )
    if manifest.get("kind") == "attribute":
        text += (
            "<br><i>Attribution: how much of each outcome did each family of countermeasures "
            f"({esc(', '.join(manifest['design']['families']))}) cause?</i>"
        )
    return f'<p class="question">{text}</p>'


def _question_text(manifest: dict[str, Any]) -> str:
    from sim.analysis.compare import question_of

    for arm in manifest.get("arms", []):
        if arm.get("question"):
            return str(arm["question"])
    words = str(manifest.get("sweep_command_line") or manifest.get("command_line", "")).split()
    for w in words[2:]:
        if w.endswith((".yaml", ".yml")) and Path(w).is_file():
            q = question_of(Path(w))
            if q:
                return q
    scenario = manifest.get("scenario") or {}
    return str(scenario.get("description", "")) or "(the scenario states no question)"


def differences(folder: Path, manifest: dict[str, Any]) -> str:
    base = baseline_data()
    parts = []
    scenario = manifest.get("scenario")
    if scenario is None:
        return "<p>This folder has no scenario of its own.</p>"
    if manifest.get("kind") == "compare":
        from sim.scenario import load_scenario

        arms = manifest["arms"]
        ref = load_scenario(folder / arms[0]["file"]).model_dump(mode="json")
        if base is not None:
            parts.append(
                _diff_block(f"{arms[0]['name']} (the base) against the baseline", ref, base)
            )
        for arm in arms[1:]:
            data = load_scenario(folder / arm["file"]).model_dump(mode="json")
            parts.append(_diff_block(f"{arm['name']} against {arms[0]['name']}", data, ref))
        return "".join(parts)
    if base is None:
        return "<p>No baseline scenario found to compare with.</p>"
    return _diff_block(f"{manifest.get('name')} against the baseline", scenario, base)


def _diff_block(title: str, data: dict[str, Any], ref: dict[str, Any]) -> str:
    rows = scenario_diff(data, ref)
    if not rows:
        return f"<h3>{esc(title)}</h3><p>No difference.</p>"
    more = len(rows) - MAX_DIFF_ROWS
    note = f"<p>... and {more} more.</p>" if more > 0 else ""
    return (
        f"<h3>{esc(title)}</h3>"
        + table(["key", "reference", "this scenario"], rows[:MAX_DIFF_ROWS], tid="differences")
        + note
    )


def headline(folder: Path, manifest: dict[str, Any]) -> str:
    kind = manifest.get("kind")
    if kind == "run":
        return _run_table(folder)
    if kind == "compare":
        return _compare_table(folder)
    if kind == "attribute":
        return _attribute_table(folder)
    if kind == "sweep":
        return _sweep_table(folder, manifest)
    if kind == "sensitivity":
        return _morris_note(manifest) + _csv_table(folder / "indices.csv", "headline")
    if kind == "calibration":
        return _calibration_table(folder)
    if kind == "discover":
        return _discover_table(folder, manifest)
    return "<p>(no headline table for this kind of folder)</p>"


def _units() -> dict[str, str]:
    from sim.analysis.paired import outcome_units

    return outcome_units()


def _run_table(folder: Path) -> str:
    """The run's ``summary_stats.csv`` (what ``propsim run`` printed); for a folder written
    before it existed, the same table computed from ``summary.csv``."""
    from sim.io.results import QUANTILES, SUMMARY_CSV, SUMMARY_STATS_CSV, summary_stats

    path = folder / SUMMARY_STATS_CSV
    if path.is_file():
        stats = pd.read_csv(path)
    else:
        stats = summary_stats(pd.read_csv(folder / SUMMARY_CSV))
    n = int(stats["replicates"].max()) if len(stats) else 0
    rows = []
    for r in stats.itertuples(index=False):
        u = r.unit if isinstance(r.unit, str) else ""
        rows.append([r.outcome, *(cell(getattr(r, c), u) for c in QUANTILES), u])
    return f"<p>Median and 5-95% range over {n} replicate(s) ({SUMMARY_STATS_CSV}).</p>" + table(
        ["outcome", "median", "5%", "95%", "unit"], rows, tid="headline"
    )


def _morris_note(manifest: dict[str, Any]) -> str:
    """What Morris indices measure, above their table (nothing for Sobol)."""
    from sim.analysis.sensitivity import MORRIS_UNIT

    if manifest.get("design", {}).get("method") != "morris":
        return ""
    return (
        "<p>Morris: <code>mu_star</code> is the mean absolute elementary effect, the "
        f"{esc(MORRIS_UNIT)}, in the outcome's unit; <code>mu</code> its signed mean; "
        "<code>sigma</code> its spread (non-linearity or interactions).</p>"
    )


def _compare_table(folder: Path) -> str:
    from sim.analysis.compare import COMPARISON_CSV, noise_mark
    from sim.analysis.observed import artefact_notes

    t = pd.read_csv(folder / COMPARISON_CSV)
    rows, classes = [], []
    for _, r in t.iterrows():
        u = str(r["unit"]) if isinstance(r["unit"], str) else ""
        rows.append(
            [
                r["outcome"],
                r["arm"],
                cell(r["base_median"], u),
                cell(r["median"], u),
                f"{cell(r['diff_median'], u)} [{cell(r['diff_q05'], u)}, {cell(r['diff_q95'], u)}]",
                f"{cell(r['ratio_median'])} [{cell(r['ratio_q05'])}, {cell(r['ratio_q95'])}]",
                "n/a" if math.isnan(r["p_lower"]) else f"{r['p_lower']:.0%}",
                noise_mark(r),
                u,
            ]
        )
        classes.append("noise" if r["within_noise"] else "")
    notes = []
    if "opposite_to_true" in t:
        for arm in dict.fromkeys(t["arm"]):
            notes += artefact_notes(t, arm)
    return (
        "<p>Paired differences from the base (same seeds, and the same posterior draws if any): "
        "median [5%, 95%]; grey rows are within the noise (the interval contains 0); "
        "'&lt; spread': a paired change smaller than half the base's 5-95% spread over its "
        "runs. Each observed outcome has its true counterpart (<code>*_true</code>) in the "
        "next row.</p>"
        + "".join(f'<p class="caveat">{esc(n)}</p>' for n in notes)
        + table(
            [
                "outcome",
                "variant",
                "base",
                "variant value",
                "difference",
                "ratio",
                "P(lower)",
                "vs noise",
                "unit",
            ],
            rows,
            classes,
            tid="headline",
        )  # fmt: skip
    )


def _attribute_table(folder: Path) -> str:
    from sim.analysis.attribution import ALL, NONE, SHAPLEY_CSV, TOTAL

    t = pd.read_csv(folder / SHAPLEY_CSV)
    families = [f for f in dict.fromkeys(t["family"]) if f not in (TOTAL, NONE, ALL)]
    rows = []
    for o, sub in t.groupby("outcome", sort=False):
        sub = sub.set_index("family")
        u = str(sub["unit"].iloc[0]) if isinstance(sub["unit"].iloc[0], str) else ""
        cells = [str(o), cell(sub.loc[NONE, "mean"], u)]
        for f in [*families, TOTAL]:
            r = sub.loc[f]
            share = "" if math.isnan(r["share_of_total"]) else f" ({r['share_of_total']:.0%})"
            share = share.replace("(-0%)", "(0%)")
            cells.append(f"{cell(r['mean'], u)} [{cell(r['q05'], u)}, {cell(r['q95'], u)}]{share}")
        cells += [cell(sub.loc[ALL, "mean"], u), u]
        rows.append(cells)
    return (
        "<p>Shapley values: what each family of countermeasures changed in each outcome, mean "
        "[5%, 95%] over the paired units (share of the total effect); <i>none</i> is the "
        "outcome with every family off, <i>all</i> the scenario as it is; none + the families "
        "= all (per unit exactly).</p>"
        + table(["outcome", NONE, *families, TOTAL, ALL, "unit"], rows, tid="headline")
    )


def _sweep_table(folder: Path, manifest: dict[str, Any]) -> str:
    """Per point, the medians of the sweep's ``summary_stats.csv`` (as printed; computed from
    ``runs.csv`` for a folder written before it existed)."""
    from sim.analysis.sweep import SUMMARY_STATS_CSV
    from sim.analysis.tables import SHOWN, point_stats

    keys = list(manifest.get("keys", []))
    path = folder / SUMMARY_STATS_CSV
    stats = (
        pd.read_csv(path) if path.is_file() else point_stats(pd.read_csv(folder / "runs.csv"), keys)
    )
    shown = [c for c in SHOWN if c in set(stats["outcome"])]
    rows = []
    for p, sub in stats.groupby("point", sort=True):
        by = sub.set_index("outcome")
        u = {c: by.loc[c, "unit"] if isinstance(by.loc[c, "unit"], str) else "" for c in shown}
        rows.append(
            [str(p), *(cell(sub.iloc[0][k]) for k in keys)]
            + [cell(float(by.loc[c, "median"]), u[c]) for c in shown]
        )
    return f"<p>Median over replicates per point ({SUMMARY_STATS_CSV}).</p>" + table(
        ["point", *keys, *shown], rows, tid="headline"
    )


def _discover_table(folder: Path, manifest: dict[str, Any]) -> str:
    from sim.analysis.discover import LIMITS_CSV, SIGNIFICANCE

    chosen = manifest["chosen"]
    limits = pd.read_csv(folder / LIMITS_CSV)
    rows = []
    for _, r in limits.iterrows():
        qps = [q for q in (r["qp_low"], r["qp_high"]) if not math.isnan(q)]
        rows.append(
            [
                r["key"],
                r["box_range"],
                r["sweep_range"],
                "yes" if r["restricted"] else "no",
                f"{min(qps):.2g}" if qps else "",
                "yes" if r["significant"] else "",
            ]
        )
    return (
        f"<p>Box {chosen['index']} of PRIM's peeling trajectory: coverage "
        f"<b>{chosen['coverage']:.2f}</b> (it holds {chosen['cases']} of the "
        f"{manifest['cases_of_interest']} rows where {esc(manifest['outcome'])} is "
        f"{esc(manifest['direction'])} {manifest['threshold']:g}), density "
        f"<b>{chosen['density']:.2f}</b> ({chosen['cases']} of its {chosen['rows']} rows meet "
        f"the condition), over {manifest['rows']} rows ({esc(manifest['replicates'])}).</p>"
        + table(
            [
                "key",
                "box range",
                "sweep range",
                "restricted",
                "quasi-p",
                f"significant (quasi-p < {SIGNIFICANCE:g})",
            ],
            rows,
            tid="headline",
        )  # fmt: skip
    )


def discovery(folder: Path, manifest: dict[str, Any]) -> str:
    """The peeling trajectory's main boxes and how to read coverage and density."""
    from sim.analysis.discover import TRAJECTORY_CSV, main_points

    traj = pd.read_csv(folder / TRAJECTORY_CSV, keep_default_na=False)
    restricted = [[k for k in str(r).split(", ") if k] for r in traj["restricted"]]
    chosen = int(manifest["chosen"]["index"])
    rows, classes = [], []
    for i in main_points(restricted, chosen):
        r = traj.iloc[i]
        rows.append(
            [
                str(i),
                f"{float(r['coverage']):.2f}",
                f"{float(r['density']):.2f}",
                f"{float(r['mass']):.2f}",
                str(int(r["rows"])),
                r["restricted"] or "(none)",
                r["step"],
            ]
        )
        classes.append("chosen" if i == chosen else "")
    return (
        "<p>PRIM narrows the sweep's ranges step by step (each step a box): <i>coverage</i> is "
        "the share of the rows meeting the condition that lie inside the box, <i>density</i> "
        "the share of the box's rows that meet it. Early boxes cover everything but are "
        "diluted; late ones are pure but miss cases. The chosen box (in bold) is the densest "
        f"with coverage at least {manifest['options']['min_coverage']:g}"
        + (" (or the one asked for with --box)" if manifest["options"].get("box") is not None
           else "")
        + f"; trajectory.csv has every box ({manifest['trajectory_length']}).</p>"
        + table(["box", "coverage", "density", "mass", "rows", "restricted keys",
                 "step (the new limits)"], rows, classes, tid="trajectory")
    )  # fmt: skip


def _csv_table(path: Path, tid: str) -> str:
    t = pd.read_csv(path)
    rows = [[cell(v) for v in r] for r in t.itertuples(index=False)]
    return table(list(t.columns), rows, tid=tid)


def _calibration_table(folder: Path) -> str:
    from sim.analysis.calibration import weighted_quantile

    post = pd.read_parquet(folder / "posterior.parquet")
    w = post["weight"].to_numpy(dtype=float)
    rows = []
    for k in post.columns:
        if k in ("weight", "weight_raw"):
            continue
        q = [weighted_quantile(post[k].to_numpy(), w, a) for a in (0.5, 0.05, 0.95)]
        rows.append([k, *(cell(v) for v in q)])
    out = "<p>Weighted posterior median and 90% interval of each free parameter.</p>"
    out += table(["parameter", "median", "5%", "95%"], rows, tid="headline")
    if (folder / "generations.csv").is_file():
        out += "<h3>Generations</h3>" + _csv_table(folder / "generations.csv", "generations")
    return out


def plots(folder: Path) -> str:
    files = sorted((folder / folders.PLOTS_DIR).glob("*.png"))
    files += sorted(p for p in folder.glob("*.png"))
    if not files:
        return "<p>No plots in this folder (run without --no-plots).</p>"
    return "".join(figure(p) for p in files)


def caveats(folder: Path, manifest: dict[str, Any]) -> str:
    kind = manifest.get("kind")
    items = []
    draws = int(manifest.get("posterior_draws", 0) or 0)
    if kind == "discover":
        items.append(
            "The box is found on the sweep's own points: its ranges lie within the sweep's "
            "ranges, and a limit between two grid values means anywhere between them. "
            + (
                "Each point counts once, by the median of its replicates, so a point whose "
                "replicates straddle the threshold counts by its median only (points.csv has "
                "the share of its replicates meeting the condition)."
                if manifest.get("replicates") == "median per point"
                else "Each run counts as a row, so the density also carries run-to-run noise."
            )
            + " A restriction with a quasi-p value of 0.05 or more may be chance: read it as "
            "unrestricted. Outcomes carry run-to-run noise only (no calibration uncertainty)."
        )
    if kind in ("run", "sweep", "sensitivity"):
        items.append(
            "Bands and intervals are the spread over replicates (seeds) only: they do not carry "
            "what the calibration leaves unknown. <code>propsim compare --posterior K</code> "
            "adds that."
        )
    elif kind in ("compare", "attribute"):
        items.append(
            "Intervals are over paired units: "
            + (
                f"{manifest['replicates']} seed(s) under each of {draws} parameter sets drawn "
                "from the calibration posterior, so they carry calibration uncertainty as well "
                "as noise."
                if draws
                else f"{manifest['replicates']} seed(s) at the calibrated values: run-to-run "
                "noise only (add <code>--posterior K</code> for calibration uncertainty)."
            )
        )
        items.append(
            "Observed pro posts are what a keyword classifier finds; counter-messaging raises "
            "them a little because the classifier counts some anti posts as pro: read the true "
            "figures (<code>pro_posts_true</code>) beside them."
        )
    items.append(_loose_parameters(folder, manifest))
    return "".join(f'<div class="caveat"><p>{i}</p></div>' for i in items if i)


def _loose_parameters(folder: Path, manifest: dict[str, Any]) -> str:
    """The free parameters the calibration only narrows or leaves loose, and the outcomes they
    move (when the folder holds posterior draws)."""
    from sim.analysis import paired
    from sim.analysis.fit_report import identification
    from sim.analysis.problem import load_priors
    from sim.config.resources import resolve_input
    from sim.errors import PropsimError

    post = None
    for candidate in (folder / paired.POSTERIOR_CSV, folder / "posterior.parquet"):
        if candidate.is_file():
            post = paired.load_posterior(candidate)
            break
    if post is None:
        try:
            post = paired.load_posterior(paired.find_posterior())
        except PropsimError:
            return (
                "No calibration posterior was found (calibration/posterior.csv or "
                "results/calibration/): which parameters the calibration leaves loose is listed "
                "in docs/calibration.md."
            )
    try:
        priors = load_priors(resolve_input("calibration/priors.yaml", "priors", "calibration")[0])
        ident = identification(post, {k: p for k, p in priors.items() if k in post})
    except (PropsimError, OSError, KeyError, ValueError):
        return ""
    weak = ident[ident["verdict"] != "pinned"]
    if weak.empty:
        return "The calibration pins every free parameter (posterior against prior)."
    moves = _moves(folder, manifest, list(weak["parameter"]))
    rows = []
    for _, r in weak.sort_values("width_ratio", ascending=False).iterrows():
        rows.append(
            [r["parameter"], r["verdict"], f"{r['width_ratio']:.2f}",
             f"{r['q05']:.3g} - {r['q95']:.3g}", moves.get(r["parameter"], "")]
        )  # fmt: skip
    what = (
        "outcomes it moves here (rank correlation of the parameter with the outcome over the "
        "posterior draws, |rho| >= 0.5)"
        if moves
        else "outcomes it moves (not assessed here: needs compare or attribute with --posterior)"
    )
    return (
        "Parameters the calibration does not pin down (90% posterior width over the prior's: "
        "loose > 0.75, narrowed 0.4-0.75): results that depend on them should be read with "
        "their range in mind."
        + table(["parameter", "verdict", "width", "90% interval", what], rows, tid="caveats")
    )


def _moves(folder: Path, manifest: dict[str, Any], params: list[str]) -> dict[str, str]:
    """Per parameter, the outcomes whose level (arm 0) or difference (others) it moves."""
    draws = manifest.get("draws") or []
    if not draws or not (folder / "runs.csv").is_file():
        return {}
    runs = pd.read_csv(folder / "runs.csv")
    base = runs[runs["point"] == 0]
    outcomes = [c for c in base.columns if c not in ("point", "arm", "draw", "replicate", "seed")]
    out: dict[str, str] = {}
    for p in params:
        if p not in draws[0]:
            continue
        x = base["draw"].map(lambda k, p=p: draws[int(k)][p]).to_numpy(dtype=float)
        if np.ptp(x) == 0:
            continue
        found = []
        for o in outcomes:
            y = base[o].to_numpy(dtype=float)
            ok = np.isfinite(y)
            if ok.sum() < 3 or np.ptp(y[ok]) == 0:
                continue
            rho = float(pd.Series(x[ok]).corr(pd.Series(y[ok]), method="spearman"))
            if abs(rho) >= 0.5:
                found.append(f"{o} ({rho:+.2f})")
        out[p] = ", ".join(found)
    return out


def reproduce(manifest: dict[str, Any]) -> str:
    cmd = manifest.get("reproduce") or manifest.get("command_line", "")
    meta = [
        ("command line", manifest.get("command_line", "")),
        ("package", manifest.get("package_version", "")),
        ("git commit", f"{manifest.get('git_commit', '')}"
         + (" (with uncommitted changes)" if manifest.get("git_dirty") else "")),
        ("started", manifest.get("started", "")),
        ("finished", manifest.get("finished", "")),
        ("Python / numpy / pandas", f"{manifest.get('python_version', '')} / "
         f"{manifest.get('numpy_version', '')} / {manifest.get('pandas_version', '')}"),
    ]  # fmt: skip
    return f"<pre>{esc(cmd)}</pre>" + table(["", ""], meta, tid="provenance")


# --- the page ----------------------------------------------------------------------------------


def build_report(folder: Path) -> str:
    """The report's HTML for a finished results folder (``FolderError`` if it is not one)."""
    folder = Path(folder)
    if folders.is_partial(folder):
        raise FolderError(f"{folder}: an unfinished results folder; finish it (--resume) first")
    manifest = folders.read_manifest(folder)
    kind = manifest.get("kind", "run")
    if kind not in KINDS:
        raise FolderError(f"{folder}: a {kind!r} folder; propsim report reads {', '.join(KINDS)}")
    name = manifest.get("name", folder.name)
    made = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    sections = [
        ("Question", question(folder, manifest)),
        ("Differences from the baseline", differences(folder, manifest)),
        ("Headline table", headline(folder, manifest)),
        *([("Scenario discovery", discovery(folder, manifest))] if kind == "discover" else []),
        ("Plots", plots(folder)),
        ("Caveats", caveats(folder, manifest)),
        ("How to reproduce", reproduce(manifest)),
    ]
    body = "".join(
        f'<section id="{esc(t.lower().replace(" ", "-"))}"><h2>{esc(t)}</h2>{s}</section>'
        for t, s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>propsim {esc(kind)}: {esc(name)}</title><style>{CSS}</style></head><body>"
        f"<h1>propsim {esc(kind)}: {esc(name)}</h1>"
        f'<p class="meta">{esc(folder.resolve())} &middot; report made {esc(made)}</p>'
        f"{body}</body></html>\n"
    )


def write_report(folder: Path, out: Path | None = None) -> Path:
    """Write the report (default ``FOLDER/report.html``) atomically; returns its path."""
    text = build_report(folder)
    out = Path(out) if out is not None else Path(folder) / REPORT_HTML
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
