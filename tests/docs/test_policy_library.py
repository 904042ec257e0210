"""The scenario library (``sim.docs.policy_library``) and ``docs/policy_library.md``.

Every policy of the library validates, differs from the baseline only in what its file (and the
variants it extends, up to the baseline) says, and has its section, table and written reading in
the document. The document's generator is exercised on a tiny real comparison (ten days at
1:10000), not on the library's own compare, which takes minutes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from sim.analysis.report import flatten
from sim.docs import policy_library as lib
from sim.scenario import load_scenario

BASELINE = lib.SCENARIOS / "baseline.yaml"
IGNORED = {"extends", "name", "description", "timeline_changes"}


def _said(path: Path) -> tuple[set[str], set[str]]:
    """(dotted keys, timeline entry names) that the files from ``path`` up to the baseline
    (excluded) write."""
    keys: set[str] = set()
    names: set[str] = set()
    while path.resolve() != BASELINE.resolve():
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert "timeline" not in raw, f"{path.name} restates the whole timeline"
        keys |= {k for k in flatten({k: v for k, v in raw.items() if k not in IGNORED})}
        changes = raw.get("timeline_changes") or {}
        names |= {c["name"] for c in changes.get("change", [])}
        names |= set(changes.get("remove", []))
        names |= {c["name"] for c in changes.get("add", [])}
        assert "extends" in raw, f"{path.name} does not extend the baseline"
        path = path.parent / raw["extends"]
    return keys, names


def _covered(key: str, said: set[str]) -> bool:
    return any(key == k or key.startswith(k + ".") for k in said)


def _events(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in data["timeline"]}


@pytest.mark.parametrize("policy", lib.LIBRARY, ids=lambda p: p.name)
def test_a_policy_differs_from_the_baseline_only_in_what_it_says(policy: lib.Policy) -> None:
    scenario = load_scenario(policy.path).model_dump(mode="json")
    baseline = load_scenario(BASELINE).model_dump(mode="json")
    keys, names = _said(policy.path)
    a, b = flatten(baseline), flatten(scenario)
    changed = {k for k in set(a) | set(b) if str(a.get(k)) != str(b.get(k))}
    changed -= {"name", "description"}
    unsaid = sorted(k for k in changed if not _covered(k, keys))
    assert not unsaid, f"{policy.name} changes {unsaid} without saying so"
    ea, eb = _events(baseline), _events(scenario)
    moved = {n for n in set(ea) | set(eb) if ea.get(n) != eb.get(n)}
    assert moved <= names, f"{policy.name} changes timeline entries {sorted(moved - names)}"
    assert names <= moved, f"{policy.name} names entries it leaves as they are: {names - moved}"
    assert changed or moved, f"{policy.name} is the baseline"
    assert scenario["name"] == policy.name


def test_the_library_lists_every_policy_file_once_with_at_least_eight() -> None:
    names = [p.name for p in lib.LIBRARY]
    assert len(names) == len(set(names)) >= 8
    prefixed = sorted(p.stem for p in lib.SCENARIOS.glob("policy_*.yaml"))
    assert set(prefixed) <= set(names), "a scenarios/policy_*.yaml file is not in LIBRARY"
    for p in lib.LIBRARY:
        assert p.path.read_text(encoding="utf-8").startswith("# Question:"), p.name


def test_every_policy_is_in_the_document_with_a_reading_of_its_numbers() -> None:
    text = lib.DOC.read_text(encoding="utf-8")
    stamp = re.search(r"- results folder: `([^`]+)`", text)
    assert stamp, "docs/policy_library.md does not name its results folder"
    notes = lib.read_notes(text)
    for p in lib.LIBRARY:
        assert f"## {p.title}" in text, f"docs/policy_library.md has no section for {p.name}"
        assert f"(../scenarios/{p.name}.yaml)" in text
    for name in (lib.SUMMARY, *(p.name for p in lib.LIBRARY)):
        folder, body = notes.get(name, ("", ""))
        assert body and "No reading written yet" not in body, f"no reading for {name}"
        assert folder == stamp[1], (
            f"the reading of {name} was written for {folder}, the tables are from {stamp[1]}: "
            "rewrite it from the new numbers and set its `for:` mark"
        )
    assert "docs/policy_library.md" in (lib.REPO / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A real run of the generator on ten days at 1:10000: (compare folder, document)."""
    tmp = tmp_path_factory.mktemp("library")
    doc = tmp / "policy_library.md"
    argv = ["--scale", "10000", "--replicates", "2", "--posterior", "2", "--set", "end=2014-01-10"]
    argv += ["--set", "warmup_days=5"]
    assert lib.main([*argv, "--out", str(tmp / "out"), "--doc", str(doc)]) == 0
    (folder,) = (tmp / "out").iterdir()
    return folder, doc


def test_the_generator_quotes_the_run_and_tables_every_policy(tiny: tuple[Path, Path]) -> None:
    folder, doc = tiny
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    text = doc.read_text(encoding="utf-8")
    assert f"`{manifest['command_line']}`" in text
    assert "--workers 1" in manifest["command_line"]
    assert f"commit `{manifest['git_commit']}`" in text
    assert "scale 1:10000, 2 replicates per draw" in text and "2 posterior draws" in text
    assert "--posterior 2" in manifest["command_line"]
    assert "carry the seed noise and what the calibration leaves unknown" in text
    assert manifest["units"] == 4  # (2 draws x 2 seeds)
    legend = [line for line in text.splitlines() if line.startswith("- `")]
    assert all(not line.endswith(": ") for line in legend)  # every outcome described
    table = pd.read_csv(folder / lib.COMPARISON_CSV)
    for p in lib.LIBRARY:
        section = text.split(f"## {p.title}\n", 1)[1].split("\n## ", 1)[0]
        rows = [r for r in section.splitlines() if r.startswith("| `")]
        mine = table[table["arm"] == p.name].set_index("outcome")
        assert len(rows) == len([o for o in lib.OUTCOMES_SHOWN if o in mine.index])
        for o in lib.OUTCOMES_SHOWN:
            if o in mine.index and mine.loc[o, "pairs"] > 0:
                noise = bool(mine.loc[o, "within_noise"])
                row = next(r for r in rows if r.startswith(f"| `{o}`"))
                assert row.split("|")[5].strip().endswith("~") == noise, row
        assert "No reading written yet" in section


def test_a_reading_is_kept_and_marked_when_the_numbers_change(tiny: tuple[Path, Path]) -> None:
    folder, doc = tiny
    name = lib.LIBRARY[0].name
    mine = "The ramp a year earlier cuts nothing at this scale."
    for written_for, stale in ((folder.name, False), ("an-older-folder", True)):
        previous = doc.read_text(encoding="utf-8").replace(
            f"<!-- BEGIN NOTES: {name} -->\n<!-- for: {folder.name} -->\n"
            "_No reading written yet: write one here from the table above._",
            f"<!-- BEGIN NOTES: {name} -->\n<!-- for: {written_for} -->\n{mine}",
        )
        assert mine in previous
        once = lib.render(folder, previous)
        twice = lib.render(folder, once)
        assert lib.read_notes(twice)[name] == (written_for, mine)
        assert (lib.STALE in twice) is stale
        assert twice.count(lib.STALE) == int(stale)  # marked once, however often regenerated
