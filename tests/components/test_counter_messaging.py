"""Targeted and backfiring counter-messaging (``sim.components.counter_messaging``,
``kernels.campaign_views``, ``kernels.target_users``, ``kernels.backfire_views``): off by
default, campaigns aimed at users exposed to pro content or at an attitude band land on them,
backfire adds pro views among sympathizers only, and bad settings get a located message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.config.loader import ScenarioError
from sim.core import kernels
from sim.core.draws import handle
from sim.core.model import PropagandaModel, simulate
from sim.core.state.users import NEVER
from sim.scenario import load_scenario

GOV = "counter__government_english__"


def run(seed: int = 2, **changes: object) -> pd.DataFrame:
    return simulate(make_scenario(end="2015-02-28", **changes), seed)


@pytest.fixture(scope="module")
def off() -> pd.DataFrame:
    return run()


def test_off_by_default_changes_nothing(off: pd.DataFrame) -> None:
    assert (off["counter_backfire_views"] == 0).all()
    assert (off["counter_target_users"] == 0).all()
    explicit = run(
        **{
            GOV + "exposed_within_days": 0,
            GOV + "attitude_min": -1.0,
            GOV + "attitude_max": 1.0,
            GOV + "backfire": 0.0,
        }
    )
    pd.testing.assert_frame_equal(explicit, off, check_exact=True)


def lang_users(n: int = 4_000) -> tuple[np.ndarray, np.ndarray]:
    """Users 0-999 speak language 0, 1000-3999 language 1."""
    lang_start = np.array([0, 1_000, n, n])
    return lang_start, np.repeat(np.arange(2, dtype=np.int8), [1_000, n - 1_000])


def test_campaign_views_without_a_list_are_counter_views() -> None:
    lang_start, language = lang_users()
    doses = []
    for kernel in ("counter_views", "campaign_views"):
        gen = np.random.default_rng(5)
        h = handle(gen)
        dose = np.zeros(language.size, np.float32)
        marks = kernels.new_marks(language.size)
        args = (5_000, 0.7, 1, 0.4, 0.15)
        if kernel == "counter_views":
            kernels.counter_views(*args, lang_start, language, dose, marks, h)
        else:
            empty = np.zeros(0, np.int64)
            kernels.campaign_views(*args, empty, False, lang_start, language, dose, marks, h)
        doses.append((dose, gen.random()))  # (and the stream is where it was)
    np.testing.assert_array_equal(doses[0][0], doses[1][0])
    assert doses[0][1] == doses[1][1]


def test_targeted_views_land_on_the_target_list() -> None:
    lang_start, language = lang_users()
    gen = np.random.default_rng(6)
    dose = np.zeros(language.size, np.float32)
    marks = kernels.new_marks(language.size)
    target = np.arange(1_000, 1_100)  # (speakers of language 1)
    viewers = kernels.campaign_views(
        20_000, 1.0, 1, 0.5, 0.2, target, True, lang_start, language, dose, marks, handle(gen)
    )
    assert np.isin(viewers, target).all()
    assert np.flatnonzero(dose).tolist() == target.tolist()  # (each of the 100 is hit)
    assert dose.sum() == pytest.approx(0.5 * 20_000)
    # an empty list: the targeted views go to anyone, weighed by language
    dose[:] = 0
    empty = np.zeros(0, np.int64)
    viewers = kernels.campaign_views(
        20_000, 1.0, 1, 0.5, 0.2, empty, True, lang_start, language, dose, marks, handle(gen)
    )
    assert (viewers < 1_000).mean() == pytest.approx(0.25, abs=0.02)
    assert dose[:1_000].sum() == pytest.approx(0.1 * (viewers < 1_000).sum(), rel=1e-4)


def test_target_users_by_exposure_and_attitude_band() -> None:
    n, day = 10, 50
    last_reached = np.full(n, NEVER, np.int32)
    last_reached[[1, 2, 3]] = [49, 43, 42]  # reached 1, 7 and 8 days before
    last_update = np.full(n, day, np.int32)
    attitude = np.linspace(-0.9, 0.9, n).astype(np.float32)
    baseline = attitude.copy()
    people = (last_reached, last_update, attitude, baseline)
    keep = kernels.keep_table(0.5)
    full = (-1.0, 1.0)
    assert kernels.target_users(0, n, day, 7, full, people, keep).tolist() == [1, 2]
    assert kernels.target_users(2, n, day, 0, full, people, keep).tolist() == list(range(2, n))
    band = kernels.target_users(0, n, day, 0, (0.0, 0.5), people, keep)
    assert band.tolist() == [5, 6, 7]
    # today's attitude is relaxed toward baseline since the last update: user 9 (0.9 stored,
    # baseline 0) updated 1 day ago at relaxation 0.5 is at 0.45 today
    baseline[9], last_update[9] = 0.0, day - 1
    band = kernels.target_users(0, n, day, 0, (0.0, 0.5), people, keep)
    assert band.tolist() == [5, 6, 7, 9]


def test_backfire_adds_pro_views_among_sympathizers_only() -> None:
    n = 1_000
    state = np.repeat(np.arange(4, dtype=np.int8), 250)  # opposed, neutral, sympathizer, ...
    pro = np.zeros(n, kernels.DOSE_DTYPE)
    marks = kernels.new_marks(n)
    users = np.tile(np.arange(n), 40)
    gen = np.random.default_rng(7)
    k = kernels.backfire_views(users, 0.3, state, 2, pro, marks, handle(gen))
    assert pro[:500].sum() == 0
    assert k == pro.sum()
    assert k / (500 * 40) == pytest.approx(0.3, abs=0.02)
    np.testing.assert_array_equal(
        kernels.marked_users(marks, kernels.DEBRUIJN_POS), np.flatnonzero(pro)
    )
    # probability 0: nothing
    assert kernels.backfire_views(users, 0.0, state, 2, pro, marks, handle(gen)) == 0


def test_a_campaign_aimed_at_exposed_users_reaches_them(off: pd.DataFrame) -> None:
    s = make_scenario(end="2015-02-28", **{GOV + "exposed_within_days": 3, GOV + "targeting": 1.0})
    m = PropagandaModel(s, 2)
    counts = []
    for _ in range(30):
        m.step()
        c = m.components["counter_messaging"]
        counts.append(c.aimed_at)
    u = m.users
    english = u.lang_start[2] - u.lang_start[1]
    assert 0 < max(counts) <= english
    df = run(**{GOV + "exposed_within_days": 3, GOV + "targeting": 1.0})
    assert (df["counter_target_users"] > 0).all()
    assert (df["counter_target_users"] <= english * s.scale).all()
    # the counter dose goes to users who see pro content: fewer sympathizers at the end
    assert df["sympathizers"].iloc[-1] <= off["sympathizers"].iloc[-1] * 1.02


def test_backfire_raises_pro_engagement() -> None:
    on = run(**{GOV + "backfire": 1.0, GOV + "credibility": 0.0, GOV + "messengers": 400})
    assert on["counter_backfire_views"].mean() > 0
    more = run(**{GOV + "credibility": 0.0, GOV + "messengers": 400})
    assert (more["counter_backfire_views"] == 0).all()
    # sympathizers pushed over the edge: more recruits
    assert on["cumulative_recruits"].iloc[-1] > 1.1 * more["cumulative_recruits"].iloc[-1]


@settings(max_examples=25, deadline=None)
@given(
    within=st.integers(0, 365),
    lo=st.floats(-1, 1),
    width=st.floats(0, 2),
    backfire=st.floats(0, 1),
    cred=st.floats(0, 1),
    targeting=st.floats(0, 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_targeted_campaigns_keep_doses_sane(
    within: int, lo: float, width: float, backfire: float, cred: float, targeting: float,
    seed: int,
) -> None:  # fmt: skip
    hi = min(1.0, lo + width)
    s = make_scenario(
        end="2015-01-20",
        **{
            GOV + "exposed_within_days": within,
            GOV + "attitude_min": lo,
            GOV + "attitude_max": hi,
            GOV + "backfire": backfire,
            GOV + "credibility": cred,
            GOV + "targeting": targeting,
        },
    )
    m = PropagandaModel(s, seed)
    c = m.components["counter_messaging"]
    for _ in range(m.warmup + 5):
        m.step()
        u = m.users
        assert (u.pro_dose == 0).all() and (u.counter_dose == 0).all()  # (applied, cleared)
        assert u.counts.sum() == u.n and (u.counts >= 0).all()
        assert (u.attitude >= -1).all() and (u.attitude <= 1).all()
        assert c.backfired >= 0 and c.aimed_at >= 0
        if backfire == 0 or cred == 1:
            assert c.backfired == 0
    t = c.target(c.campaigns[0], m.day)
    lang = c.campaigns[0].language
    assert (np.diff(t) > 0).all()
    assert ((t >= u.lang_start[lang]) & (t < u.lang_start[lang + 1])).all()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="attitude_max"):
        make_scenario(**{GOV + "attitude_min": 0.5, GOV + "attitude_max": 0.2})
    with pytest.raises(ValidationError, match="backfire"):
        make_scenario(**{GOV + "backfire": 1.5})
    with pytest.raises(ValidationError, match="exposed_within_days"):
        make_scenario(**{GOV + "exposed_within_days": -1})
    with pytest.raises(ValidationError, match="attitude_min"):
        make_scenario(**{GOV + "attitude_min": float("nan")})


def test_a_scenario_file_gets_a_located_message(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(
        "counter:\n  gov:\n    attitude_min: 0.6\n    attitude_max: 0.2\n", encoding="utf-8"
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert "counter.gov.attitude_max" in str(err.value)
    assert "aims at nobody" in str(err.value)
