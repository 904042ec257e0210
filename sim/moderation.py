"""Moderation of open platforms: the daily suspension hazard, automated flagging and purges.

The hazard of an active account grows with its visibility (posts and followers, relative to a
reference account with 5 posts a day and 1,000 followers) and with the platform's current
intensity; evasion removes part of it; automated flagging adds a hazard for young accounts.
Purges (timeline events) suspend a given number of accounts at once, the most visible first in
expectation. All draws use the ``moderation`` stream.
"""

from __future__ import annotations

import numpy as np

from .scenario import Moderation

REFERENCE_POSTS = 5.0
REFERENCE_FOLLOWERS = 1000.0


def visibility(posts: np.ndarray, followers: np.ndarray, m: Moderation) -> np.ndarray:
    """How visible accounts are to moderators, 1 for the reference account."""
    return ((posts + 0.5) / REFERENCE_POSTS) ** m.post_weight * (
        (followers + 1.0) / REFERENCE_FOLLOWERS
    ) ** m.follower_weight


def suspension_probability(
    posts: np.ndarray,
    followers: np.ndarray,
    evasion: np.ndarray,
    age: np.ndarray,
    m: Moderation,
) -> np.ndarray:
    """Probability that each account is suspended today."""
    hazard = m.intensity * visibility(posts, followers, m) * (1.0 - m.evasion_protection * evasion)
    hazard = hazard + m.flagging * (age < m.flag_window_days)
    return -np.expm1(-hazard)


def choose_purged(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` accounts drawn without replacement, proportionally to ``weights``."""
    n = min(n, weights.size)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    # Efraimidis-Spirakis: the n largest u^(1/w) are a weighted sample without replacement.
    keys = np.log(rng.random(weights.size)) / np.maximum(weights, 1e-12)
    return np.argpartition(-keys, n - 1)[:n]


def stochastic_round(x: float, rng: np.random.Generator) -> int:
    """Round a scaled count up or down at random so that its expectation is exact."""
    lo = int(np.floor(x))
    return lo + int(rng.random() < x - lo)
