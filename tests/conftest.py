"""Shared fixtures: small, fast scenarios for the model tests.

``small_scenario`` is a 90-day scenario at 1:200 (1,000 simulated users, 100 initial accounts)
whose behavioural parameters follow ``scenarios/baseline.yaml`` but are written out here, so
that re-tuning the baseline does not silently change what the model tests exercise. It has no
timeline; tests add the events they need through ``make_scenario``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings

from sim.scenario import Scenario

# ``.ci/run`` sets HYPOTHESIS_PROFILE=ci: the same examples on every CI run, so that whether a
# submission lands does not depend on which random examples one run happened to try (runs by
# hand still explore new ones; a failure they find is pinned with ``@example``)
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SMALL: dict[str, Any] = {
    "name": "small",
    "start": "2015-01-01",
    "end": "2015-03-31",
    "warmup_days": 10,
    "scale": 200,
    "seed": 1,
    "replicates": 1,
    "population": {
        "users": 200_000,
        "pro_effect": 0.0025,
        "counter_effect": 0.006,
        "relaxation": 0.02,
        "share_prob": 0.02,
        "recruit_operate_prob": 0.01,
        "follow_budget": 100,
        "follow_prob": 0.4,
        "organic_counter_rate": 0.2,
        "mobilization": 0.3,
    },
    "observation": {"pro_recall": 0.3, "anti_recall": 0.5},
    "accounts": {
        "initial": 20_000,
        "abandon_rate": 0.002,
        "initial_followers_median": 500,
        "shoutout_share": 0.3,
        "refollow_prob": 0.6,
        "shoutout_window_days": 30,
        "operators": {"inflow_per_day": 40},
    },
    "platforms": {
        "twitter": {"kind": "open", "view_prob": 0.005, "discovery": 2.0},
        "telegram": {
            "kind": "encrypted",
            "view_prob": 0.3,
            "discovery": 0.0,
            "pull": 0.0,
            "invite_share": 0.0,
            "join_prob": 0.05,
        },
    },
    "moderation": {
        "twitter": {"intensity": 0.002, "follower_weight": 0.6, "flagging": 0.0},
        "telegram": {"intensity": 0.0, "channel_takedown_rate": 0.0},
    },
    "counter": {
        "government_english": {
            "kind": "government",
            "language": "english",
            "messengers": 40,
            "credibility": 0.15,
            "posts_per_day": 10,
            "followers": 20_000,
        },
    },
    "timeline": [],
}


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """``data["a"]["b"]["c"] = value`` for ``key == "a.b.c"`` (missing levels are created)."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def make_scenario(base: dict[str, Any] | None = None, **changes: Any) -> Scenario:
    """The small scenario (or ``base``) with dotted-key changes, validated.

    Keys use ``__`` for dots, e.g. ``make_scenario(moderation__twitter__intensity=0.01)``;
    ``timeline=[...]`` replaces the timeline.
    """
    data = copy.deepcopy(SMALL if base is None else base)
    for key, value in changes.items():
        set_dotted(data, key.replace("__", "."), value)
    return Scenario.model_validate(data)


@pytest.fixture(scope="session")
def scenario_factory() -> Callable[..., Scenario]:
    """``make_scenario`` as a fixture (session-scoped, so usable with hypothesis)."""
    return make_scenario


@pytest.fixture
def small_scenario() -> Scenario:
    """A fresh copy of the small 90-day scenario at 1:200 (see the module docstring)."""
    return make_scenario()


def load_error(tmp_path: Any, text: str, name: str = "x.yaml") -> str:
    """The message with which loading ``text`` as scenario file ``name`` is refused."""
    from sim.config.loader import ScenarioError
    from sim.scenario import load_scenario

    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    return str(err.value)
