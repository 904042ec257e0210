"""``docs/policy_library.md``: every policy of the scenario library compared with the baseline.

The scenario library is the list ``LIBRARY`` below: policy questions, one scenario file each in
``scenarios/`` (the ``policy_*.yaml`` files and the single-lever variants it reuses), each
extending the baseline and changing one lever or timeline event by name. The document shows,
for each, the table of ``propsim compare`` against the baseline (paired differences with their
90% intervals), what the scenario changes, a mechanical reading of the intervals and a paragraph
written by hand from the numbers.

Data flow::

    LIBRARY + --scale S --replicates R --workers W [--set K=V ...]
      -> one `propsim compare scenarios/baseline.yaml <every library file> ...` run as a
         subprocess (the exact command the document quotes; every arm on the same seeds, so a
         policy's rows are those of a compare of the baseline with that policy alone)
         or --from FOLDER: an existing compare folder of the baseline and library files
      -> FOLDER/manifest.json (command, commit, date, scale, replicates, duration),
         comparison.csv (paired differences), arms/*.yaml (each arm's resolved scenario)
      -> render(): the Markdown, keeping the hand-written paragraphs of the current document
         (between ``<!-- BEGIN NOTES: name -->`` and ``<!-- END NOTES: name -->``). A paragraph
         records the results folder it was written for (``<!-- for: FOLDER -->``); when the
         document is regenerated from another folder (the model was recalibrated), the paragraph
         is kept but marked as written for earlier numbers, to be checked and rewritten.

Regenerate after a change to the model or the baseline::

    python -m sim.docs.policy_library                      # runs the compares (~20 min, 1 core)
    python -m sim.docs.policy_library --from results/policy_library/baseline-compare-...

The compare runs in a subprocess of ``python -m sim.cli`` because the CLI is a sibling layer of
the docs (neither imports the other); the document quotes the command the folder's manifest
records.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.compare import COMPARISON_CSV, SHOWN, question_of
from sim.analysis.observed import TRUE_OF
from sim.analysis.paired import default_outcomes
from sim.analysis.report import scenario_diff
from sim.analysis.tables import format_value
from sim.docs import DOCS_DIR
from sim.metrics import OUTCOMES
from sim.scenario import Scenario, load_scenario

REPO = DOCS_DIR.parent
SCENARIOS = REPO / "scenarios"
DOC = DOCS_DIR / "policy_library.md"
BASE = "baseline"
# The scale and replicates of the shipped document: 90 runs (9 scenarios x 10 seeds) at 1:40
# took 14 minutes wall-clock on one worker of a shared 2-core machine, within the budget of a
# regeneration (about 25 minutes). 1:40 is closer to the calibrated scale (1:20, which would
# allow only about 4 seeds in that budget) than the 1:100 of a first trial (5 seeds, 3.5
# minutes), and with 10 paired seeds the 90% interval is not just the range of 5 differences.
SCALE = 40
# Ten units per scenario, each a posterior draw on its own seed (`--posterior 10
# --replicates 1`): the intervals carry what the calibration leaves unknown as well as the
# run-to-run noise (issue 16), at the cost of ten seeds.
POSTERIOR = 10
REPLICATES = 1
WORKERS = 1
OUT = Path("results") / "policy_library"
# The outcomes of each table: those `propsim compare` prints, and sympathy and the age of
# suspended accounts (what counter-messaging and repeat-offender detection act on).
OUTCOMES_SHOWN = (*SHOWN, "sympathizers_end", "median_age_suspended")


@dataclass(frozen=True)
class Policy:
    """One policy of the library: its scenario file (``scenarios/<name>.yaml``) and a title."""

    name: str
    title: str

    @property
    def path(self) -> Path:
        return SCENARIOS / f"{self.name}.yaml"


LIBRARY: tuple[Policy, ...] = (
    Policy("policy_early_ramp", "The mid-2015 suspension ramp a year earlier"),
    Policy("policy_hub_purge", "The April 2015 purge aimed at the most-followed accounts"),
    Policy("repeat_offender_detection", "Repeat-offender detection from 2014"),
    Policy("policy_credible_2014", "Credible-voice counter-messaging from 2014 instead of 2016"),
    Policy("targeted_counter", "Counter-messaging aimed at users exposed to pro content"),
    Policy("policy_no_telegram_takedown", "No Telegram takedown"),
    Policy("policy_redirect_at_scale", "The Redirect Method at scale"),
    Policy("policy_no_recreation", "A platform that bans re-creation outright"),
)

NOTES = re.compile(
    r"<!-- BEGIN NOTES: (?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- END NOTES: (?P=name) -->",
    re.DOTALL,
)
FOR = re.compile(r"<!-- for: (?P<folder>[^ ]+) -->\n?")
STALE = "**Written for earlier numbers"
SUMMARY = "summary"  # the notes block under the table at a glance


def compare_command(
    scale: float,
    replicates: int,
    workers: int,
    out: Path,
    sets: Sequence[str] = (),
    posterior: int = 0,
) -> list[str]:
    """The ``propsim compare`` arguments (after ``propsim``) of the whole library, with the
    scenario files relative to the working folder (``scenarios/...`` from the repository);
    ``posterior`` K > 0 adds ``--posterior K`` (K draws from the calibration's posterior, each
    run on ``replicates`` seeds)."""
    paths = [SCENARIOS / f"{BASE}.yaml", *(p.path for p in LIBRARY)]
    files = [os.path.relpath(f) for f in paths]
    sets_args = [a for s in sets for a in ("--set", s)]
    sets_args += ["--posterior", str(posterior)] if posterior else []
    return [
        "compare",
        *files,
        "--set",
        f"scale={scale:g}",
        *sets_args,
        "--replicates",
        str(replicates),
        "--workers",
        str(workers),
        "--no-plots",
        "--out",
        str(out),
    ]


def run_compare(args: list[str]) -> Path:
    """Runs ``python -m sim.cli`` with ``args``; returns the results folder.

    Progress goes to the terminal (stderr); the folder is the last line of stdout
    (``Results: FOLDER``)."""
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"propsim compare failed (exit code {done.returncode})")
    last = done.stdout.strip().splitlines()[-1]
    return Path(last.removeprefix("Results: ").strip())


def read_notes(text: str) -> dict[str, tuple[str, str]]:
    """The hand-written paragraphs of a document: {policy: (folder written for, text)}."""
    notes = {}
    for m in NOTES.finditer(text):
        body = m["body"]
        stamp = FOR.search(body)
        folder = stamp["folder"] if stamp else ""
        body = FOR.sub("", body, count=1)
        # a paragraph already marked as stale keeps one mark
        body = re.sub(rf"^> {re.escape(STALE)}[^\n]*\n\n", "", body)
        notes[m["name"]] = (folder, body.strip())
    return notes


def _notes_block(name: str, folder: str, notes: dict[str, tuple[str, str]]) -> list[str]:
    written_for, body = notes.get(name, ("", ""))
    lines = [f"<!-- BEGIN NOTES: {name} -->"]
    if not body:
        lines += [
            f"<!-- for: {folder} -->",
            "_No reading written yet: write one here from the table above._",
        ]
    else:
        lines.append(f"<!-- for: {written_for} -->")
        if written_for != folder:
            lines += [
                f"> {STALE} (results folder `{written_for}`): check this paragraph against "
                "the table above and rewrite it, then set its `for:` mark to "
                f"`{folder}`.**",
                "",
            ]
        lines.append(body)
    lines.append(f"<!-- END NOTES: {name} -->")
    return lines


def _cell(r: pd.Series, prefix: str, unit: str) -> str:
    med, lo, hi = (float(r[f"{prefix}{k}"]) for k in ("median", "q05", "q95"))
    if math.isnan(med):
        return "n/a"
    if unit == "ratio*":
        return f"{med:.3g} [{lo:.3g}, {hi:.3g}]"
    return f"{format_value(med, unit)} [{format_value(lo, unit)}, {format_value(hi, unit)}]"


def policy_table(table: pd.DataFrame) -> list[str]:
    """One policy's rows of ``comparison.csv`` as a Markdown table."""
    lines = [
        "| outcome | unit | baseline | policy | difference [90%] | ratio [90%] | P(lower) |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    rows = table.set_index("outcome")
    for o in OUTCOMES_SHOWN:
        if o not in rows.index:
            continue
        r = rows.loc[o]
        unit = "" if pd.isna(r["unit"]) else str(r["unit"])
        diff = _cell(r, "diff_", unit) + (" ~" if bool(r["within_noise"]) else "")
        p = "n/a" if pd.isna(r["p_lower"]) else f"{float(r['p_lower']):.0%}"
        lines.append(
            f"| `{o}` | {unit} | "
            f"{format_value(float(r['base_median']), unit)} | "
            f"{format_value(float(r['median']), unit)} | {diff} | "
            f"{_cell(r, 'ratio_', 'ratio*')} | {p} |"
        )
    return lines


def outcome_legend(scenario: dict[str, Any]) -> list[str]:
    """One list item per outcome of the tables: its meaning (the summary outcomes' own, or the
    daily metric and window of the outcomes `propsim compare` adds)."""
    described = {o.name: o.description for o in OUTCOMES}
    sc = Scenario.model_validate(scenario)
    for spec in default_outcomes(sc):
        window = (
            "on the last day"
            if spec.stat == "last"
            else f"over {spec.start or sc.start}..{spec.end or sc.end}"
        )
        described[spec.name] = f"{spec.stat} of the daily metric `{spec.metric}` {window}"
    for obs, true in TRUE_OF.items():
        described.setdefault(
            true, f"as `{obs}`, counted on the true posts, not on those the classifier counts"
        )
    return [f"- `{o}`: {described.get(o, '')}" for o in OUTCOMES_SHOWN]


# The outcomes of the table at a glance: output, reach, recruitment and sympathy.
GLANCE = ("pro_posts_true_last90", "users_reached_30d_end", "total_recruits", "sympathizers_end")


def glance(table: pd.DataFrame) -> list[str]:
    """Every policy in one table: the ratio to the baseline of a few outcomes, with intervals."""
    lines = [
        "At a glance: ratio of the policy to the baseline, median [90% interval] over the "
        "paired seeds; `~` within the noise.",
        "",
        "| policy | " + " | ".join(f"`{o}`" for o in GLANCE) + " |",
        "|---|" + "--:|" * len(GLANCE),
    ]
    for p in LIBRARY:
        rows = table[table["arm"] == p.name].set_index("outcome")
        cells = []
        for o in GLANCE:
            if o not in rows.index:
                cells.append("n/a")
                continue
            r = rows.loc[o]
            noise = " ~" if bool(r["within_noise"]) else ""
            cells.append(_cell(r, "ratio_", "ratio*") + noise)
        lines.append(f"| [{p.title}](#{_anchor(p.title)}) | " + " | ".join(cells) + " |")
    return lines


def reading(table: pd.DataFrame) -> str:
    """A mechanical reading of a policy's intervals: which outcomes move beyond the noise."""
    rows = table.set_index("outcome")
    moved, within = [], []
    for o in OUTCOMES_SHOWN:
        if o not in rows.index or int(rows.loc[o, "pairs"]) == 0:
            continue
        r = rows.loc[o]
        if bool(r["within_noise"]):
            within.append(f"`{o}`")
            continue
        ratio = float(r["ratio_median"])
        change = "" if math.isnan(ratio) else f" ({ratio - 1:+.0%})"
        moved.append(f"`{o}` {'lower' if float(r['diff_median']) < 0 else 'higher'}{change}")
    out = (
        "Beyond the noise (the 90% interval of the paired difference excludes 0): "
        + (", ".join(moved) if moved else "nothing")
        + "."
    )
    if within:
        out += " Within the noise: " + ", ".join(within) + "."
    return out


def differences(folder: Path, manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Per variant arm: what its resolved scenario changes against the base arm's, as Markdown
    list items."""
    arms = manifest["arms"]
    base = load_scenario(folder / arms[0]["file"]).model_dump(mode="json")
    out = {}
    for arm in arms[1:]:
        data = load_scenario(folder / arm["file"]).model_dump(mode="json")
        out[arm["name"]] = [f"- `{k}`: {a} → {b}" for k, a, b in scenario_diff(data, base)]
    return out


def render(folder: Path, previous: str = "") -> str:
    """The document for the compare folder ``folder``, keeping ``previous``'s paragraphs."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    table = pd.read_csv(folder / COMPARISON_CSV)
    arms = {a["name"]: a for a in manifest["arms"]}
    notes = read_notes(previous)
    changes = differences(folder, manifest)
    scenario = manifest["scenario"]
    commit = str(manifest.get("git_commit") or "unknown")
    dirty = " (with uncommitted changes)" if manifest.get("git_dirty") else ""
    minutes = float(manifest.get("duration_seconds") or math.nan) / 60
    k = int(manifest.get("posterior_draws") or 0)
    draws = f"{k} posterior draws" if k else "calibrated values (no posterior draws)"
    n = int(manifest["replicates"])
    reps = f"{n} replicate" + ("" if n == 1 else "s")
    uncertainty = (
        "The intervals carry the seed noise and what the calibration leaves unknown: each "
        "unit runs its own posterior draw (drawn by weight from `calibration/posterior.csv`) "
        "on its own seed, the same draw and seed in every scenario "
        "([calibration.md](calibration.md))."
        if k
        else "The intervals carry seed noise only: with `--posterior K` they would also carry "
        "what the calibration leaves unknown ([calibration.md](calibration.md))."
    )
    lines = [
        "# The policy library: what-if questions against the baseline",
        "",
        "Generated by `python -m sim.docs.policy_library` (`sim/docs/policy_library.py`) from a "
        "`propsim compare` results folder; the paragraphs under *What it shows* are written by "
        "hand from the numbers and kept when the document is regenerated (marked for checking "
        "when the numbers change). Regenerate after the model or the baseline changes:",
        "",
        "```sh",
        "python -m sim.docs.policy_library                # runs the compare below, writes this",
        "python -m sim.docs.policy_library --from FOLDER  # from an existing compare folder",
        "```",
        "",
        "Each policy is one scenario file in [`scenarios/`](../scenarios) that starts with its "
        "question, extends the baseline (directly or through the variant it refines) and changes "
        "one lever: a timeline entry by name (`timeline_changes`, see "
        "[scenarios.md](scenarios.md#changing-a-parents-timeline-timeline_changes)) or one value. "
        "Every value is argued in the file's comments.",
        "",
        "## How these numbers were made",
        "",
        f"- command (run from the repository root; `propsim` is `python -m sim.cli`): "
        f"`{manifest['command_line']}`",
        f"- scale 1:{float(scenario['scale']):g}, {reps}{' per draw' if k else ''} "
        f"(seeds {manifest['seed']}..{int(manifest['seed']) + int(manifest['units']) - 1}), "
        f"{draws}, {scenario['start']}..{scenario['end']}",
        f"- commit `{commit}`{dirty}, propsim {manifest.get('package_version', '?')}, "
        f"finished {manifest.get('finished', '?')}, {minutes:.0f} minutes wall-clock",
        f"- results folder: `{folder.name}`",
        "",
        "Every scenario ran on the same seeds (common random numbers): unit *j* uses seed "
        "*S + j* in every scenario, so each policy's difference is paired with the baseline run "
        "of the same seed, and its rows are those a `propsim compare scenarios/baseline.yaml "
        "scenarios/<policy>.yaml` with the same options gives. In each table: the medians of "
        "the baseline and the policy over the replicates, the paired difference (policy minus "
        "baseline) and ratio with the median and the 90% interval (5% and 95% quantiles over "
        f"the {manifest['units']} pairs), and P(lower), the share of pairs in which the policy is "
        "lower. `~` marks a difference whose interval contains 0: within the run-to-run noise. "
        f"With {manifest['units']} pairs the 5% quantile lies between the two smallest "
        "paired differences and the 95% one between the two largest. " + uncertainty,
        "",
        "Observed pro posts (`posts_observed_last90`, what the keyword classifier counts) are "
        "shown next to the true ones (`pro_posts_true_last90`): counter-messaging raises the "
        "observed count a little, because the classifier counts some anti posts as pro.",
        "",
        "The outcomes (every outcome of the runs is in the folder's `comparison.csv`; "
        "[metrics.md](metrics.md) defines the daily metrics):",
        "",
        *outcome_legend(scenario),
        "",
        "| policy | scenario | question |",
        "|---|---|---|",
    ]
    for p in LIBRARY:
        q = question_of(p.path).split("? ", 1)[0].rstrip("?") + "?"
        lines.append(
            f"| [{p.title}](#{_anchor(p.title)}) | [`{p.name}.yaml`](../scenarios/{p.name}.yaml) "
            f"| {q} |"
        )
    lines += ["", *glance(table), "", *_notes_block(SUMMARY, folder.name, notes)]
    for p in LIBRARY:
        lines += ["", f"## {p.title}", ""]
        if p.name not in arms:
            lines.append(f"`{p.name}` is not in this results folder: regenerate with every policy.")
            continue
        lines += [
            f"[`scenarios/{p.name}.yaml`](../scenarios/{p.name}.yaml): {question_of(p.path)}",
            "",
            "What it changes against the baseline (resolved scenarios):",
            "",
            *changes[p.name],
            "",
            *policy_table(table[table["arm"] == p.name]),
            "",
            reading(table[table["arm"] == p.name]),
            "",
            "**What it shows.**",
            "",
            *_notes_block(p.name, folder.name, notes),
        ]
    return "\n".join(lines) + "\n"


def _anchor(title: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", title.lower())
    return text.replace(" ", "-")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.docs.policy_library",
        description="Compare every policy of the scenario library with the baseline and write "
        "docs/policy_library.md.",
    )
    parser.add_argument("--from", dest="folder", type=Path, help="an existing compare folder")
    parser.add_argument("--scale", type=float, default=SCALE, help=f"default: {SCALE}")
    parser.add_argument("--replicates", type=int, default=REPLICATES, help=f"default {REPLICATES}")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"default: {WORKERS}")
    parser.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
        help="passed on to propsim compare (e.g. end=2014-06-30 for a quick trial)",
    )  # fmt: skip
    parser.add_argument(
        "--posterior", type=int, default=POSTERIOR, metavar="K",
        help=f"posterior draws, each run on --replicates seeds (default {POSTERIOR}; 0: the "
        "calibrated values only)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT}")
    parser.add_argument("--doc", type=Path, default=DOC, help=f"default: {DOC}")
    args = parser.parse_args(argv)
    folder = args.folder
    if folder is None:
        folder = run_compare(
            compare_command(
                args.scale, args.replicates, args.workers, args.out, args.sets, args.posterior
            )
        )
    previous = args.doc.read_text(encoding="utf-8") if args.doc.is_file() else ""
    args.doc.write_text(render(folder, previous), encoding="utf-8")
    print(f"wrote {args.doc} from {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
