"""The Redirect Method component (``sim.components.redirect``): off by default, diverts the
searches it should, shows counter content to the searchers, starts on its dates, validates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import make_scenario
from pydantic import ValidationError

from sim.config.loader import ScenarioError
from sim.core.model import simulate
from sim.scenario import load_scenario

ALL = ["arabic", "english", "other"]


def run(seed: int = 2, **changes: object) -> pd.DataFrame:
    return simulate(make_scenario(end="2015-02-28", **changes), seed)


@pytest.fixture(scope="module")
def off() -> pd.DataFrame:
    return run()


def test_off_by_default_changes_nothing(off: pd.DataFrame) -> None:
    assert (off["redirected_searches"] == 0).all()
    zero_share = run(redirect__share=0.0, redirect__start="2015-01-15")
    pd.testing.assert_frame_equal(zero_share, off, check_exact=True)


def test_full_redirect_replaces_discovery_by_counter_content(off: pd.DataFrame) -> None:
    on = run(redirect__share=1.0, redirect__languages=ALL, redirect__credibility=1.0)
    # every search is redirected: as many redirected searches as discovery impressions before
    disc_off = off["twitter.impressions"].mean() - on["twitter.impressions"].mean()
    assert disc_off > 0
    assert on["redirected_searches"].mean() == pytest.approx(disc_off, rel=0.25)
    # the searchers saw counter content: fewer sympathizers at the end
    assert on["sympathizers"].iloc[-1] < off["sympathizers"].iloc[-1]


def test_only_the_redirects_languages_are_redirected() -> None:
    everyone = run(redirect__share=1.0, redirect__languages=ALL)
    english = run(redirect__share=1.0, redirect__languages=["english"])
    assert 0 < english["redirected_searches"].mean() < 0.6 * everyone["redirected_searches"].mean()


def test_runs_between_its_start_and_end() -> None:
    df = run(redirect__share=0.5, redirect__start="2015-01-20", redirect__end="2015-02-10")
    r = df["redirected_searches"]
    assert (r.loc[:"2015-01-19"] == 0).all()
    assert (r.loc["2015-01-20":"2015-02-10"] > 0).mean() > 0.9
    assert (r.loc["2015-02-11":] == 0).all()


def test_timeline_event_starts_it_from_its_date() -> None:
    df = run(timeline=[{"action": "redirect", "date": "2015-02-01", "share": 0.5}])
    r = df["redirected_searches"]
    assert (r.loc[:"2015-01-31"] == 0).all()
    assert r.loc["2015-02-01":].mean() > 0


def test_timeline_set_of_its_share_works_like_the_event() -> None:
    event = run(timeline=[{"action": "redirect", "date": "2015-02-01", "share": 0.5}])
    set_ = run(
        timeline=[{"action": "set", "date": "2015-02-01", "values": {"redirect.share": 0.5}}]
    )
    pd.testing.assert_frame_equal(event, set_, check_exact=True)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="not an open platform"):
        make_scenario(redirect__platforms=["telegram"])
    with pytest.raises(ValidationError, match="before start"):
        make_scenario(redirect__start="2015-02-01", redirect__end="2015-01-01")
    with pytest.raises(ValidationError, match="share"):
        make_scenario(timeline=[{"action": "redirect", "date": "2015-02-01", "share": 2}])


def test_a_scenario_file_gets_a_located_message(tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_text("redirect:\n  share: 0.3\n  credibilty: 0.5\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert "r.yaml:3: redirect.credibilty: unknown key — did you mean 'credibility'?" in str(
        err.value
    )
