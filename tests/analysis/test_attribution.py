"""``propsim attribute``: families come from the components, the Shapley values add up to the
total effect, a family that does nothing gets exactly nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_compare import write

from sim import cli
from sim.analysis import attribution as at
from sim.components import COMPONENTS
from sim.core.component import Component
from sim.scenario import load_scenario


def test_shapley_of_known_games() -> None:
    n = 3
    a = np.array([2.0, -5.0, 7.0])
    additive = {m: np.array([sum(a[i] for i in range(n) if m >> i & 1)]) for m in range(2**n)}
    assert np.allclose([p[0] for p in at.shapley(additive, n)], a)
    # a joint effect of families 0 and 1 only (both needed) is split equally between them
    joint = {m: np.array([6.0 if m & 0b11 == 0b11 else 0.0]) for m in range(2**n)}
    assert np.allclose([p[0] for p in at.shapley(joint, n)], [3.0, 3.0, 0.0])
    rng = np.random.default_rng(1)
    game = {m: rng.normal(size=5) for m in range(2**4)}
    phis = at.shapley(game, 4)
    assert np.allclose(sum(phis), game[15] - game[0], rtol=0, atol=1e-12)


def test_families_are_found_in_the_components() -> None:
    fams = at.families()
    declared = {c.family for c in COMPONENTS if c.family is not None}
    assert set(fams) == declared and {"suspensions", "counter-messaging"} <= declared

    class Leaflets(Component):
        name = "leaflets"
        family = "leaflets"

        @classmethod
        def switch_off(cls, data: dict[str, Any]) -> None:
            data["description"] = "no leaflets"

    class Rumours(Component):
        name = "rumours"
        family = "rumours"

    fams = at.families([*COMPONENTS, Leaflets, Rumours])
    ok, not_ok = at.switchable(fams)
    assert "leaflets" in ok and not_ok == {"rumours": ["rumours"]}


def test_switching_families_off_edits_only_their_levers() -> None:
    base = load_scenario("scenarios/baseline.yaml")
    fams = at.families()
    off = at.switched_off(base, ["suspensions"], fams)
    assert all(m.intensity == 0 and m.flagging == 0 for m in off.moderation.values())
    assert not any(e.action == "purge" for e in off.timeline)
    assert not any(
        k.startswith("moderation.") and k.endswith((".intensity", ".flagging"))
        for e in off.timeline if e.action == "set" for k in e.values
    )  # fmt: skip
    assert [e for e in off.timeline if e.action == "takedown"]  # the takedowns' family
    assert off.counter == base.counter and off.population == base.population
    counter = at.switched_off(base, ["counter-messaging"], fams)
    assert all(g.messengers == 0 for g in counter.counter.values())
    assert counter.timeline == base.timeline and counter.moderation == base.moderation
    take = at.switched_off(base, ["takedowns"], fams)
    assert not any(e.action == "takedown" for e in take.timeline)
    assert all(m.channel_takedown_rate == 0 for m in take.moderation.values())
    meas = at.switched_off(base, ["measurement"], fams)
    assert meas.observation.evasion_recall_loss == 0 and meas.observation.pro_false_positive == 0
    assert meas.observation.pro_recall == base.observation.pro_recall


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    # suspensions and counter-messaging act; no takedown anywhere: that family does nothing
    return write(
        tmp_path,
        "tinyattr",
        moderation__twitter__intensity=0.05,
        timeline=[{"action": "purge", "date": "2015-01-10", "platform": "twitter",
                   "accounts": 5000}],
    )  # fmt: skip


def test_shapley_values_add_up_to_the_total_effect(tmp_path: Path, scenario: Path) -> None:
    code = cli.main(["attribute", str(scenario), "--replicates", "3", "--workers", "1",
                     "--out", str(tmp_path / "out"), "--quiet"])  # fmt: skip
    assert code == 0
    (folder,) = (tmp_path / "out").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    fams = manifest["design"]["families"]
    assert len(manifest["arms"]) == 2 ** len(fams) and manifest["arms"][0]["name"] == "all"
    units = pd.read_csv(folder / "shapley_units.csv")
    finite = units[np.isfinite(units["total"])]
    assert len(finite) > 0
    assert np.allclose(finite[fams].sum(axis=1), finite["total"], rtol=1e-12, atol=1e-9)
    table = pd.read_csv(folder / "shapley.csv").set_index(["outcome", "family"])
    # no takedown in the scenario: switching takedowns off changes nothing, exactly
    assert (units["takedowns"].fillna(0) == 0).all()
    row = table.loc[("total_suspensions", "suspensions")]
    assert row["mean"] > 0 and row["mean"] == pytest.approx(
        table.loc[("total_suspensions", "total"), "mean"]
    )
    none, allv = (
        table.loc[("total_recruits", "none"), "mean"],
        table.loc[("total_recruits", "all"), "mean"],
    )
    phis = sum(table.loc[("total_recruits", f), "mean"] for f in fams)
    assert none + phis == pytest.approx(allv)
    assert any(p.name.startswith("waterfall_") for p in (folder / "plots").iterdir())
    assert manifest["reproduce"].startswith("propsim attribute ")
    # the true counterpart of an observed ratio is attributed too, right after it
    outcomes = list(dict.fromkeys(pd.read_csv(folder / "shapley.csv")["outcome"]))
    assert outcomes.index("anti_pro_ratio_true_last_180") == (
        outcomes.index("anti_pro_ratio_last_180") + 1
    )


def test_a_subset_of_families_and_bad_names(tmp_path: Path, scenario: Path, capsys) -> None:
    code = cli.main(["attribute", str(scenario), "--families", "suspensions,measurement",
                     "--replicates", "1", "--workers", "1", "--out", str(tmp_path / "out"),
                     "--quiet", "--no-plots", "--name", "tiny_two"])  # fmt: skip
    assert code == 0
    (folder,) = (tmp_path / "out").iterdir()
    assert folder.name.startswith("tiny_two-attribute-")  # --name: the folder and the plan
    names = [a["name"] for a in json.loads((folder / "manifest.json").read_text())["arms"]]
    assert names == ["all", "off-suspensions", "off-measurement", "none"]
    code = cli.main(["attribute", str(scenario), "--families", "leaflets",
                     "--out", str(tmp_path / "bad")])  # fmt: skip
    assert code == 2 and "no family 'leaflets'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_a_family_that_moves_observed_and_true_apart_gets_a_note() -> None:
    rows = [
        {"outcome": "traffic_ratio", "family": "measurement", "mean": 0.1},
        {"outcome": "traffic_ratio_true", "family": "measurement", "mean": -0.2},
        {"outcome": "traffic_ratio", "family": "suspensions", "mean": -0.1},
        {"outcome": "traffic_ratio_true", "family": "suspensions", "mean": -0.3},
    ]
    notes = at.artefact_notes(pd.DataFrame(rows), ["measurement", "suspensions"])
    assert len(notes) == 1
    assert notes[0].startswith(
        "Note: measurement raises traffic_ratio but lowers traffic_ratio_true"
    )
