"""Observed figures (``sim.observation``): the keyword classifier, alone and inside the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.components.observation import Observation, observed_anti, observed_pro
from sim.core.model import simulate

OBS = Observation(
    pro_recall=0.3,
    anti_recall=0.3,
    pro_false_positive=0.01,
    anti_false_positive=0.02,
    evasion_recall_loss=0.6,
)


def test_observed_pro_by_hand() -> None:
    # 10 posts * 0.3 + 20 posts * 0.3 * (1 - 0.6 * 1) + 0.01 * 100 anti = 3 + 2.4 + 1
    got = observed_pro(np.array([10.0, 20.0]), np.array([0.0, 1.0]), 100.0, OBS)
    assert got == pytest.approx(6.4)


def test_observed_anti_by_hand() -> None:
    assert observed_anti(100.0, 50.0, OBS) == pytest.approx(0.3 * 100 + 0.02 * 50)


def test_observed_pro_falls_with_evasion() -> None:
    posts = np.full(5, 10.0)
    values = [observed_pro(posts, np.full(5, e), 0.0, OBS) for e in (0.0, 0.25, 0.5, 1.0)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    assert values[0] == pytest.approx(0.3 * 50)
    none_lost = OBS.model_copy(update={"evasion_recall_loss": 0.0})
    assert observed_pro(posts, np.ones(5), 0.0, none_lost) == pytest.approx(values[0])


def test_nothing_posted_nothing_observed() -> None:
    assert observed_pro(np.zeros(3), np.zeros(3), 0.0, OBS) == 0.0
    assert observed_anti(0.0, 0.0, OBS) == 0.0


def _check_model_observation(df: pd.DataFrame, o: Observation, exact_pro: bool) -> None:
    """Bounds and identities of the observed columns (recall is applied in single precision
    because evasion is stored as float32, hence the 1e-6 tolerances)."""
    p = "twitter"
    true, obs = df[f"{p}.pro_posts_true"], df[f"{p}.pro_posts_observed"]
    anti, anti_obs = df[f"{p}.anti_posts_true"], df[f"{p}.anti_posts_observed"]
    fp = o.pro_false_positive * anti
    upper = o.pro_recall * true + fp
    lower = o.pro_recall * (1 - o.evasion_recall_loss) * true + fp
    assert (obs <= upper * (1 + 1e-6)).all()
    assert (obs >= lower * (1 - 1e-6)).all()
    if exact_pro:
        np.testing.assert_allclose(obs, upper, rtol=1e-6)
    np.testing.assert_allclose(
        anti_obs, o.anti_recall * anti + o.anti_false_positive * true, rtol=1e-9
    )
    np.testing.assert_allclose(df[f"{p}.anti_pro_ratio"], anti_obs / obs, rtol=1e-9)
    # a single open platform carries all counter speech
    counter = df[["counter_posts_government", "counter_posts_credible", "counter_posts_organic"]]
    np.testing.assert_allclose(anti, counter.sum(axis=1), rtol=1e-9)


def test_model_observed_figures_without_evasion(scenario_factory) -> None:
    """No moderation, so no account ever learns evasion: observed = recall * true + FP."""
    sc = scenario_factory(
        moderation__twitter__intensity=0.0,
        observation__pro_recall=0.4,
        observation__pro_false_positive=0.05,
        observation__anti_false_positive=0.03,
    )
    df = simulate(sc, 3)
    assert (df["twitter.mean_evasion"] == 0).all()
    assert (df["twitter.pro_posts_true"] > 0).all()
    _check_model_observation(df, sc.observation, exact_pro=True)


def test_model_observed_figures_with_evasion(scenario_factory) -> None:
    """Heavy moderation teaches evasion: observed pro falls below recall * true."""
    sc = scenario_factory(moderation__twitter__intensity=0.05, observation__evasion_recall_loss=0.9)
    df = simulate(sc, 3)
    assert df["twitter.mean_evasion"].iloc[-1] > 0
    _check_model_observation(df, sc.observation, exact_pro=False)
    p = sc.observation
    upper = (
        p.pro_recall * df["twitter.pro_posts_true"]
        + p.pro_false_positive * df["twitter.anti_posts_true"]
    )
    assert (df["twitter.pro_posts_observed"].iloc[-30:] < upper.iloc[-30:]).all()
