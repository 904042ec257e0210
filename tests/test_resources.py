"""Shipped files (``sim.config.resources``), ``propsim init`` and the shipped-file fallback of
file arguments; and the build stamp reader (``sim.version``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sim import cli
from sim.config import resources
from sim.errors import BadInput
from sim.scenario import load_scenario
from sim.version import build_info

REPO = Path(__file__).resolve().parents[1]
SHIPPED = {
    "scenarios/baseline.yaml",
    "scenarios/counter_messaging_only.yaml",
    "scenarios/no_countermeasures.yaml",
    "scenarios/suspensions_only.yaml",
    "scenarios/sensitivity/levers.yaml",
    "calibration/targets.yaml",
    "calibration/priors.yaml",
    "calibration/calibrated.yaml",
    "calibration/discussion.md",
}


def test_shipped_files_are_the_checkouts_data_folders() -> None:
    files = resources.shipped_files()
    assert set(files) >= SHIPPED
    for f in files:
        assert resources.shipped(f).read_bytes() == (REPO / f).read_bytes()
    # every scenario of the checkout is shipped, by its name, in order
    assert resources.shipped_names() == sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml"))


def test_the_shipped_baseline_extends_the_shipped_overlay() -> None:
    sc = load_scenario(resources.shipped("scenarios/baseline.yaml"))
    assert sc.name == "baseline"


@pytest.mark.parametrize(
    "text", ["baseline", "baseline.yaml", "scenarios/baseline.yaml", "scenarios/baseline"]
)
def test_names_of_a_shipped_scenario(text: str) -> None:
    assert resources.find_shipped(text) == resources.shipped("scenarios/baseline.yaml")


@pytest.mark.parametrize("text", ["nope", "../scenarios/baseline.yaml", "/baseline.yaml", ""])
def test_other_names_name_no_shipped_file(text: str) -> None:
    assert resources.find_shipped(text) is None


def test_calibration_and_params_names() -> None:
    targets = resources.shipped("calibration/targets.yaml")
    assert resources.find_shipped("calibration/targets.yaml", "calibration") == targets
    assert resources.find_shipped("targets", "calibration") == targets
    levers = resources.shipped("scenarios/sensitivity/levers.yaml")
    assert resources.find_shipped("levers", "scenarios/sensitivity") == levers
    assert resources.find_shipped("scenarios/sensitivity/levers.yaml", "scenarios/sensitivity")


def test_a_file_here_wins_over_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resources.resolve_input("baseline", "scenario") == (
        resources.shipped("scenarios/baseline.yaml"),
        True,
    )
    (tmp_path / "scenarios").mkdir()
    mine = tmp_path / "scenarios" / "baseline.yaml"
    mine.write_text("name: mine\n")
    assert resources.resolve_input("scenarios/baseline.yaml", "scenario") == (
        Path("scenarios/baseline.yaml"),
        False,
    )
    assert resources.local_or_shipped("scenarios/baseline.yaml") == Path("scenarios/baseline.yaml")
    assert resources.local_or_shipped("calibration/targets.yaml") == resources.shipped(
        "calibration/targets.yaml"
    )
    assert resources.local_or_shipped("calibration/none.yaml") is None


def test_unknown_and_folder_arguments_are_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        BadInput, match=r"nope.yaml: no such scenario file \(shipped: [a-z_, ]*\bbaseline\b"
    ):
        resources.resolve_input("nope.yaml", "scenario")
    (tmp_path / "baseline").mkdir()  # a folder named like a shipped scenario: not a file
    with pytest.raises(BadInput, match="baseline: is not a file; give a scenario YAML file"):
        resources.resolve_input("baseline", "scenario")


def test_validate_a_shipped_scenario_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["validate", "suspensions_only"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("OK: suspensions_only, 2014-01-01..2016-06-30")
    assert "propsim: note: no file suspensions_only here: using the shipped" in captured.err
    assert cli.main(["validate", "no_such_scenario"]) == 2
    assert re.search(
        r"no_such_scenario: no such scenario file \(shipped: [a-z_, ]*\bbaseline\b",
        capsys.readouterr().err,
    )


# --- propsim init ------------------------------------------------------------------------------


def test_init_copies_every_shipped_file(tmp_path: Path, capsys) -> None:
    target = tmp_path / "work"
    assert cli.main(["init", str(target)]) == 0
    out = capsys.readouterr().out.split()
    files = resources.shipped_files()
    assert sorted(out) == sorted(str(target / f) for f in files)
    for f in files:
        assert (target / f).read_bytes() == resources.shipped(f).read_bytes()


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys) -> None:
    target = tmp_path / "work"
    (target / "calibration").mkdir(parents=True)
    mine = target / "calibration" / "priors.yaml"
    mine.write_text("my priors\n")
    assert cli.main(["init", str(target)]) == 2
    err = capsys.readouterr().err
    assert "already holds calibration/priors.yaml; nothing was copied" in err and "--force" in err
    assert mine.read_text() == "my priors\n"
    assert sorted(p.name for p in target.rglob("*")) == ["calibration", "priors.yaml"]
    assert cli.main(["init", str(target), "--force"]) == 0
    assert mine.read_bytes() == resources.shipped("calibration/priors.yaml").read_bytes()


def test_init_into_the_current_folder_then_run_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init"]) == 0
    assert (tmp_path / "scenarios" / "baseline.yaml").is_file()
    capsys.readouterr()
    # the copy is used (no note), and it extends the copied overlay
    overlay = tmp_path / "calibration" / "calibrated.yaml"
    text = overlay.read_text()
    shipped = yaml.safe_load(text)["observation"]["pro_recall"]  # (the calibrated value)
    assert shipped != 0.5 and f"pro_recall: {shipped}" in text
    overlay.write_text(text.replace(f"pro_recall: {shipped}", "pro_recall: 0.5"))
    assert cli.main(["validate", "scenarios/baseline.yaml"]) == 0
    assert "note" not in capsys.readouterr().err
    assert load_scenario(Path("scenarios/baseline.yaml"), []).observation.pro_recall == 0.5
    assert load_scenario(resources.shipped("scenarios/baseline.yaml")).observation.pro_recall == (
        shipped
    )


def test_init_into_a_file_is_bad_input(tmp_path: Path, capsys) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert cli.main(["init", str(f)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


# --- build stamp -------------------------------------------------------------------------------


def test_build_info_in_a_checkout_names_its_commit() -> None:
    info = build_info()
    assert info.source == "checkout"
    assert info.commit is not None and len(info.commit) == 40
    assert isinstance(info.dirty, bool)


def test_build_info_falls_back_to_the_build_stamp(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from sim import version

    stamp = types.ModuleType("sim._build")
    stamp.VERSION, stamp.COMMIT, stamp.DIRTY = "9.9", "a" * 40, False  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sim._build", stamp)
    monkeypatch.setattr(version, "_checkout_state", lambda: None)
    info = version.build_info()
    assert (info.commit, info.dirty, info.source) == ("a" * 40, False, "build")
    assert version.git_state() == ("a" * 40, False)
    monkeypatch.setitem(sys.modules, "sim._build", None)  # no stamp: unknown
    assert version.build_info().commit is None
