"""Properties of whole runs for random valid parameter values (hypothesis).

A tiny scenario (30 days at 1:500: 1,000 users, 40 initial accounts) with a handful of key
numeric fields drawn within their valid ranges (upper ends capped where the schema has none or
where a run would get slow, e.g. view probabilities), plus a purge, a takedown and a ``set``
event at random dates. Every run must complete and give a sane daily table.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from conftest import make_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.components.moderation import Moderation
from sim.components.observation import Observation
from sim.config.schema import Accounts, Operators, Platform, Population, PostingRates
from sim.core.model import simulate
from sim.metrics import column_names, describe

# columns documented as possibly NaN
NAN_ALLOWED = (
    "mean_followers_suspended",
    "mean_lifetime_suspended",
    "anti_pro_ratio",
    "followers_regained_week",  # (no account re-created 7 days earlier)
    "regained_share_week",
    "in_network_share",  # (no followers)
)
# means over active accounts: NaN only on a day without active accounts (see
# ``test_metric_nan_is_documented`` in this file)
NAN_IF_NO_ACCOUNTS = ("mean_followers", "mean_account_age", "mean_evasion")
CUMULATIVE = ("cumulative_suspensions", "cumulative_recruits", "migrated_operators")


SECTIONS = {
    "population": Population,
    "accounts": Accounts,
    "accounts.posting": PostingRates,
    "accounts.operators": Operators,
    "platforms.twitter": Platform,
    "platforms.telegram": Platform,
    "moderation.twitter": Moderation,
    "moderation.telegram": Moderation,
    "observation": Observation,
}


def schema_bounds(key: str) -> tuple[float, float, bool, bool]:
    """The valid range of a numeric scenario field, read from the schema's constraints:
    (low, high, low excluded, high excluded); missing ends are infinite."""
    section, name = key.rsplit(".", 1)
    lo, hi, lo_open, hi_open = -math.inf, math.inf, False, False
    for c in SECTIONS[section].model_fields[name].metadata:
        for attr, is_open in (("ge", False), ("gt", True)):
            v = getattr(c, attr, None)
            if v is not None and v >= lo:
                lo, lo_open = float(v), is_open
        for attr, is_open in (("le", False), ("lt", True)):
            v = getattr(c, attr, None)
            if v is not None and v <= hi:
                hi, hi_open = float(v), is_open
    return lo, hi, lo_open, hi_open


# Upper (or lower) ends used where the schema has none or where runs would get slow; each is
# intersected with the schema's range. Shout-out and invite shares are shares of the same
# posts, so they are capped to keep their sum valid.
DRAWN: dict[str, tuple[float, float]] = {
    "population.attitude_mean": (-1.0, 1.0),
    "population.attitude_sd": (0.01, 2.0),
    "population.susceptibility_shape": (0.1, 10.0),
    "population.pro_effect": (0.0, 0.1),
    "population.counter_effect": (0.0, 0.1),
    "population.relaxation": (0.0, 1.0),
    "population.share_prob": (0.0, 1.0),
    "population.follow_prob": (0.0, 1.0),
    "population.recruit_operate_prob": (0.0, 1.0),
    "population.organic_counter_rate": (0.0, 0.5),
    "accounts.posting.multiplier": (0.0, 3.0),
    "accounts.posting.burstiness": (0.05, 5.0),
    "accounts.abandon_rate": (0.0, 0.2),
    "accounts.shoutout_share": (0.0, 0.5),
    "accounts.refollow_prob": (0.0, 1.0),
    "accounts.operators.inflow_per_day": (0.0, 500.0),
    "accounts.operators.accounts_per_operator": (1.0, 4.0),
    "accounts.operators.quit_base": (0.0, 1.0),
    "accounts.operators.recreate_delay_days": (0.0, 10.0),
    "accounts.operators.evasion_learning": (0.0, 1.0),
    "platforms.twitter.view_prob": (0.0, 0.05),
    "platforms.twitter.discovery": (0.0, 10.0),
    "platforms.telegram.pull": (0.0, 1.0),
    "platforms.telegram.invite_share": (0.0, 0.4),
    "platforms.telegram.join_prob": (0.0, 1.0),
    "moderation.twitter.intensity": (0.0, 1.0),
    "moderation.twitter.flagging": (0.0, 1.0),
    "moderation.twitter.evasion_protection": (0.0, 1.0),
    "moderation.twitter.follower_weight": (0.0, 2.0),
    "moderation.telegram.channel_takedown_rate": (0.0, 1.0),
    "observation.pro_recall": (0.0, 1.0),
    "observation.evasion_recall_loss": (0.0, 1.0),
}


def unit(hi: float = 1.0, lo: float = 0.0) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def drawn(key: str) -> st.SearchStrategy[float]:
    lo, hi, lo_open, hi_open = schema_bounds(key)
    want_lo, want_hi = DRAWN[key]
    if want_lo > lo:
        lo, lo_open = want_lo, False
    if want_hi < hi:
        hi, hi_open = want_hi, False
    assert lo < hi, key
    return st.floats(lo, hi, exclude_min=lo_open, exclude_max=hi_open, allow_nan=False)


PARAMS = st.fixed_dictionaries({key: drawn(key) for key in DRAWN})


def tiny(
    params: dict[str, float],
    purge_day: int,
    purge: float,
    takedown_day: int,
    takedown: float,
    set_day: int,
    intensity: float,
):
    day = pd.Timestamp("2015-01-01")
    when = lambda d: (day + pd.Timedelta(days=d)).date().isoformat()  # noqa: E731
    return make_scenario(
        end="2015-01-30",
        warmup_days=5,
        scale=500,
        population__users=500_000,
        accounts__initial=20_000,
        timeline=[
            {"action": "purge", "date": when(purge_day), "platform": "twitter", "accounts": purge},
            {
                "action": "takedown",
                "date": when(takedown_day),
                "platform": "telegram",
                "channels": takedown,
            },
            {
                "action": "set",
                "date": when(set_day),
                "values": {"moderation.twitter.intensity": intensity},
            },
        ],
        **{k.replace(".", "__"): v for k, v in params.items()},
    )


def check_table(sc, df: pd.DataFrame) -> None:
    assert list(df.columns) == column_names(["twitter"], ["telegram"])
    assert len(df) == sc.days
    no_accounts = (df["twitter.active_accounts"] == 0).to_numpy()
    for col in df.columns:
        values = df[col].to_numpy()
        name = col.rsplit(".", 1)[-1]
        assert not np.isinf(values).any(), col
        if name in NAN_ALLOWED:
            continue
        nan = np.isnan(values)
        if name in NAN_IF_NO_ACCOUNTS:
            assert (~nan | no_accounts).all(), col
        else:
            assert not nan.any(), col
    assert (np.nan_to_num(df.to_numpy(), nan=0.0) >= 0).all()
    total = round(sc.population.users / sc.scale) * sc.scale
    states = df[["opposed", "neutral", "sympathizers", "supporters"]].sum(axis=1)
    assert (states == total).all()
    for col in [c for c in df.columns if c.rsplit(".", 1)[-1] in CUMULATIVE] + ["supporters"]:
        assert (np.diff(df[col].to_numpy()) >= 0).all(), col
    np.testing.assert_array_equal(
        df["twitter.cumulative_suspensions"], df["twitter.suspensions"].cumsum()
    )
    np.testing.assert_array_equal(df["cumulative_recruits"], df["new_recruits"].cumsum())
    assert (df["users_reached"] <= df["users_reached_30d"]).all()
    assert (df["users_reached_30d"] <= total).all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=PARAMS,
    purge_day=st.integers(-5, 35),
    purge=unit(20_000.0),
    takedown_day=st.integers(-5, 35),
    takedown=unit(5_000.0),
    set_day=st.integers(-5, 29),
    intensity=unit(),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_valid_scenarios_run_and_stay_sane(
    params, purge_day, purge, takedown_day, takedown, set_day, intensity, seed
) -> None:
    sc = tiny(params, purge_day, purge, takedown_day, takedown, set_day, intensity)
    df = simulate(sc, seed)
    check_table(sc, df)


def test_everything_suspended_stays_sane() -> None:
    """An extreme corner: a purge of every account on day 3, and nobody replaces them."""
    params = {
        "accounts.operators.inflow_per_day": 0.0,
        "accounts.operators.quit_base": 1.0,
        "population.recruit_operate_prob": 0.0,
    }
    sc = tiny(params, 3, 1e6, 3, 0.0, 0, 0.0)
    df = simulate(sc, 1)
    check_table(sc, df)
    assert df["twitter.suspensions"].iloc[3] == df["twitter.active_accounts"].iloc[2] > 0
    assert (df["twitter.active_accounts"].iloc[3:] == 0).all()
    assert (df["twitter.pro_posts_true"].iloc[4:] == 0).all()
    assert (df["active_operators"].iloc[3:] == 0).all()


def test_metric_nan_is_documented() -> None:
    """Every column that can be NaN says so in its metric description (SPEC 2.5: the names
    are documented in one place)."""
    params = {
        "accounts.operators.inflow_per_day": 0.0,
        "accounts.operators.quit_base": 1.0,
        "population.recruit_operate_prob": 0.0,
        "observation.pro_false_positive": 0.0,
    }
    sc = tiny(params, 3, 1e6, 3, 0.0, 0, 0.0)
    df = simulate(sc, 1)
    with_nan = [c for c in df.columns if df[c].isna().any()]
    assert {c.rsplit(".", 1)[-1] for c in with_nan} >= set(NAN_IF_NO_ACCOUNTS)
    undocumented = [c for c in with_nan if "NaN" not in describe(c).description]
    assert not undocumented, f"NaN appears in {undocumented} but is not documented"
