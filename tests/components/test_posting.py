"""The posting component (``sim.components.posting``): per-language outputs add up to the
platform figures, and languages of accounts are those the scenario gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_scenario

from sim.config.schema import LANGUAGES
from sim.core.model import simulate


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return simulate(make_scenario(end="2015-02-15"), 3)


@pytest.mark.parametrize(
    ("metric", "total"),
    [("pro_posts", "pro_posts_true"), ("active_accounts", "active_accounts")],
)
def test_languages_add_up_to_the_platform(daily: pd.DataFrame, metric: str, total: str) -> None:
    parts = sum(daily[f"twitter.{metric}_{lang}"] for lang in LANGUAGES)
    np.testing.assert_allclose(parts, daily[f"twitter.{total}"], rtol=1e-12)
    assert (daily[[f"twitter.{metric}_{lang}" for lang in LANGUAGES]] >= 0).all().all()


def test_mean_followers_by_language_average_to_the_platform_mean(daily: pd.DataFrame) -> None:
    n = {lang: daily[f"twitter.active_accounts_{lang}"] for lang in LANGUAGES}
    followers = sum(n[lang] * daily[f"twitter.mean_followers_{lang}"].fillna(0) for lang in n)
    mean = followers / sum(n.values())
    np.testing.assert_allclose(mean, daily["twitter.mean_followers"], rtol=1e-9)


def test_account_languages_follow_the_scenario() -> None:
    only_english = make_scenario(
        end="2015-01-20", accounts__languages={"arabic": 0.0, "english": 1.0, "other": 0.0}
    )
    daily = simulate(only_english, 1)
    assert (daily["twitter.active_accounts_arabic"] == 0).all()
    assert (daily["twitter.active_accounts_other"] == 0).all()
    assert (daily["twitter.active_accounts_english"] > 0).all()
    assert daily["twitter.mean_followers_arabic"].isna().all()
