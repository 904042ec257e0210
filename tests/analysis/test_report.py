"""``propsim report``: one self-contained HTML page per kind of results folder, checked in a real
headless browser (Debian's ``chromium`` with ``chromium-driver``, driven by Selenium; ``.ci/run``
installs them): the page loads with no console error, every image decodes, the headline table
has the expected rows, and a screenshot is not blank.

Where no browser is installed the browser tests are skipped, except under CI (``CI`` set), where
they fail: CI must run them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from test_compare import write

from sim import cli
from sim.analysis.observed import TRUE_UNITS
from sim.analysis.report import build_report, scenario_diff
from sim.metrics import OUTCOMES

N_EXTRA = 3  # outcomes compare and attribute add to the summary outcomes (paired.default_outcomes)


def _main(*args: str) -> None:
    assert cli.main(list(args)) == 0


def _only(folder: Path) -> Path:
    (entry,) = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return entry


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One finished folder of every kind, from the tiny scenario."""
    tmp = tmp_path_factory.mktemp("report")
    base = write(tmp, "base", moderation__twitter__intensity=0.05)
    variant = write(tmp, "nomod", moderation__twitter__intensity=0.0)
    common = ["--workers", "1", "--quiet"]
    out: dict[str, Path] = {}
    _main("run", str(base), "--replicates", "2", "--out", str(tmp / "run"), "--quiet",
          "--workers", "1")  # fmt: skip
    out["run"] = _only(tmp / "run")
    _main("compare", str(base), str(variant), "--replicates", "2", "--out", str(tmp / "cmp"),
          *common)  # fmt: skip
    out["compare"] = _only(tmp / "cmp")
    _main("attribute", str(base), "--families", "suspensions,counter-messaging", "--replicates",
          "2", "--out", str(tmp / "attr"), *common)  # fmt: skip
    out["attribute"] = _only(tmp / "attr")
    # 10 points: enough for discover
    _main("sweep", str(base), "--vary", "moderation.twitter.intensity=0.01,0.1", "--vary",
          "population.counter_effect=0:0.01:5", "--replicates", "1", "--out", str(tmp / "sweep"),
          *common)  # fmt: skip
    out["sweep"] = _only(tmp / "sweep")
    runs = pd.read_csv(out["sweep"] / "runs.csv")
    threshold = float(runs["posts_observed_last90"].median())
    _main("discover", str(out["sweep"]), "--outcome", "posts_observed_last90", "--below",
          f"{threshold:g}", "--out", str(tmp / "discover"), "--quiet")  # fmt: skip
    out["discover"] = _only(tmp / "discover")
    params = tmp / "levers.yaml"
    params.write_text(yaml.safe_dump({
        "levers": [{"name": "intensity", "keys": ["moderation.twitter.intensity"],
                    "bounds": [0.01, 0.1]},
                   {"name": "counter", "keys": ["population.counter_effect"],
                    "bounds": [0.002, 0.01]}],
        "outcomes": [{"name": "posts", "metric": "pro_posts_observed"}],
    }))  # fmt: skip
    _main("sensitivity", str(base), "--params", str(params), "--method", "morris", "--n", "2",
          "--out", str(tmp / "sens"), *common)  # fmt: skip
    out["sensitivity"] = _only(tmp / "sens")
    out["calibration"] = _calibration_folder(tmp / "calib")
    return out


def _calibration_folder(folder: Path) -> Path:
    """A finished calibration folder as ``propsim calibrate`` leaves it (posterior, generations,
    manifest), made by hand: a real calibration takes far too long for a test."""
    from sim.io.folders import base_manifest, write_json

    folder.mkdir()
    rng = np.random.default_rng(1)
    pd.DataFrame(
        {
            "population.pro_effect": rng.uniform(0.0015, 0.004, 20),
            "observation.pro_recall": rng.uniform(0.2, 0.25, 20),
            "weight_raw": np.full(20, 0.05),
            "weight": np.full(20, 0.05),
        }
    ).to_parquet(folder / "posterior.parquet")
    pd.DataFrame({"t": [0, 1], "epsilon": [np.inf, 2.0], "samples": [30, 40],
                  "particles": [20, 20], "wall_time": [10.0, 12.0]}).to_csv(
        folder / "generations.csv", index=False)  # fmt: skip
    import datetime as dt

    manifest = base_manifest("calibration", "20260101-000000", "propsim calibrate",
                             dt.datetime.now().astimezone())  # fmt: skip
    manifest["reproduce"] = "propsim calibrate --scale 100"
    write_json(folder / "manifest.json", manifest)
    return folder


@pytest.mark.parametrize("kind", ["run", "compare", "attribute", "sweep", "sensitivity",
                                  "calibration", "discover"])  # fmt: skip
def test_every_kind_of_folder_gets_a_self_contained_page(folders, kind: str) -> None:
    page = build_report(folders[kind])
    assert page.startswith("<!DOCTYPE html>") and 'id="headline"' in page
    for section in ("question", "differences-from-the-baseline", "plots", "caveats",
                    "how-to-reproduce"):  # fmt: skip
        assert f'id="{section}"' in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch
    assert "<script" not in page
    if kind != "calibration":
        assert "data:image/png;base64," in page


def test_the_cli_writes_the_file_and_reads_the_question(folders, tmp_path: Path, capsys) -> None:
    out = tmp_path / "brief.html"
    assert cli.main(["report", str(folders["compare"]), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    page = out.read_text()
    assert "what if base?" in page and "what if nomod?" in page
    assert "moderation.twitter.intensity" in page  # the variant's difference from the base
    assert "<th>vs noise</th>" in page and "traffic_ratio_true" in page
    assert cli.main(["report", str(tmp_path / "nope")]) == 2


def test_a_morris_page_states_the_unit_of_mu_star(folders) -> None:
    page = build_report(folders["sensitivity"])
    assert "change in the outcome when the lever moves across its whole range" in page


def test_scenario_diff_lists_values_and_events() -> None:
    ref = {"scale": 20, "a": {"b": 1}, "timeline": [{"action": "purge", "date": "2015-01-01"}]}
    new = {"scale": 20, "a": {"b": 2}, "timeline": []}
    rows = scenario_diff(new, ref)
    assert ("a.b", "1", "2") in rows and rows[-1][0] == "timeline" and rows[-1][2] == "(removed)"


# --- the browser -------------------------------------------------------------------------------


def _browser_paths() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    paths = _browser_paths()
    if paths is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: chromium and chromium-driver are missing")
        pytest.skip("no chromium/chromedriver here (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1600"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _expected_rows(kind: str, folder: Path) -> int:
    manifest = json.loads((folder / "manifest.json").read_text())
    if kind == "run":
        return len(OUTCOMES)
    if kind == "compare":  # with the true counterparts of the observed ratios
        return (len(OUTCOMES) + N_EXTRA + len(TRUE_UNITS)) * (len(manifest["arms"]) - 1)
    if kind == "discover":
        return len(manifest["keys"])  # one row per varied key: its range in the box
    # one row per outcome (and the true counterparts of the observed ratios), a column per family
    return len(OUTCOMES) + N_EXTRA + len(TRUE_UNITS)


@pytest.mark.parametrize("kind", ["run", "compare", "attribute", "discover"])
def test_the_page_in_a_real_browser(folders, browser, kind: str, tmp_path: Path) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    page = tmp_path / f"{kind}.html"
    assert cli.main(["report", str(folders[kind]), "--out", str(page)]) == 0
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(page.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    images = browser.find_elements(By.TAG_NAME, "img")
    assert images
    decoded = browser.execute_script(
        "return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
    )
    assert all(decoded) and len(decoded) == len(images)
    rows = browser.find_elements(By.CSS_SELECTOR, "#headline tbody tr")
    assert len(rows) == _expected_rows(kind, folders[kind])
    if kind == "discover":  # its own section: the peeling trajectory, the chosen box in bold
        traj = browser.find_elements(By.CSS_SELECTOR, "#trajectory tbody tr")
        assert len(traj) >= 1
        assert len(browser.find_elements(By.CSS_SELECTOR, "#trajectory tr.chosen")) == 1
        assert {i.get_attribute("alt") for i in images} == {"box", "tradeoff"}
    shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("L")
    lo, hi = shot.getextrema()
    assert hi - lo > 100 and len(shot.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 20


def test_caveats_name_the_loose_parameters_and_what_they_move(tmp_path: Path) -> None:
    base = write(tmp_path, "base", moderation__twitter__intensity=0.05)
    variant = write(tmp_path, "nomod", moderation__twitter__intensity=0.0)
    post = tmp_path / "post.csv"
    pd.DataFrame(
        {"population.pro_effect": [0.0013, 0.0025, 0.0048], "weight": [1.0, 1.0, 1.0]}
    ).to_csv(post, index=False)
    _main("compare", str(base), str(variant), "--replicates", "1", "--posterior", "4",
          "--posterior-file", str(post), "--workers", "1", "--quiet", "--no-plots",
          "--out", str(tmp_path / "out"))  # fmt: skip
    page = build_report(_only(tmp_path / "out"))
    assert 'id="caveats"' in page and "population.pro_effect" in page
    assert "rank correlation" in page and "4 parameter sets drawn" in page


@pytest.mark.parametrize("kind", ["run", "sweep"])
def test_the_headline_of_a_run_or_sweep_is_its_summary_stats(
    folders, tmp_path: Path, kind: str
) -> None:
    """The headline table shows the saved summary_stats.csv (the table the command printed);
    a folder written before that file existed gets the same table from its runs."""
    import re

    from sim.analysis.tables import format_value

    def headline(page: str) -> str:
        found = re.search(r'<table id="headline".*?</table>', page, re.S)
        assert found
        return found.group(0)

    folder = folders[kind]
    stats = pd.read_csv(folder / "summary_stats.csv")
    table = headline(build_report(folder))
    for r in stats.dropna(subset=["median"]).itertuples(index=False):
        if kind == "run" or r.outcome == "total_suspensions":
            assert f"<td>{format_value(r.median, r.unit)}</td>" in table
    older = tmp_path / folder.name
    shutil.copytree(folder, older)
    (older / "summary_stats.csv").unlink()
    assert headline(build_report(older)) == table
