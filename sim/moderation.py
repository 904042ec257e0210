"""Moderation of open platforms: the daily suspension hazard, automated flagging and purges.

The hazard of an active account grows with its visibility (posts and followers, relative to a
reference account with 5 posts a day and 1,000 followers) and with the platform's current
intensity; evasion removes part of it; automated flagging adds a hazard for young accounts.
Purges (timeline events) suspend a given number of accounts at once, the most visible first in
expectation. All draws use the ``moderation`` stream.

The daily hazard is computed by one compiled loop (``suspended``) over the day's active
accounts of every platform: as a chain of numpy operations per platform it cost more than the
rest of moderation at small populations. ``suspension_probability`` is the same formula for
given arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.config.schema import Moderation
from sim.core import draws

REFERENCE_POSTS = 5.0
REFERENCE_FOLLOWERS = 1000.0


@njit(cache=True, inline="always")
def _visibility(posts, followers, post_weight, follower_weight):  # pragma: no cover - compiled
    return ((posts + 0.5) / REFERENCE_POSTS) ** post_weight * (
        (followers + 1.0) / REFERENCE_FOLLOWERS
    ) ** follower_weight


@njit(cache=True)
def _visibilities(posts, followers, post_weight, follower_weight):  # pragma: no cover
    out = np.empty(len(posts))
    for i in range(len(posts)):
        out[i] = _visibility(posts[i], followers[i], post_weight, follower_weight)
    return out


def visibility(posts: np.ndarray, followers: np.ndarray, m: Moderation) -> np.ndarray:
    """How visible accounts are to moderators, 1 for the reference account."""
    return _visibilities(
        np.asarray(posts, dtype=np.float64),
        np.asarray(followers, dtype=np.float64),
        m.post_weight,
        m.follower_weight,
    )


def hazard_parameters(m: Moderation) -> np.ndarray:
    """One platform's moderation settings as the row ``suspended`` reads."""
    return np.array(
        [
            m.intensity,
            m.post_weight,
            m.follower_weight,
            m.evasion_protection,
            m.flagging,
            m.flag_window_days,
        ]
    )


@njit(cache=True)
def _probabilities(posts, followers, evasion, age, which, params):  # pragma: no cover
    """Suspension probability of each account ``i``, under the settings ``params[which[i]]``.

    Hazard ``intensity * visibility * (1 - evasion_protection * evasion)``, plus ``flagging``
    below ``flag_window_days`` of age; probability ``1 - exp(-hazard)``. (Evasion is 32-bit;
    its product with the protection stays 32-bit, as in numpy.)
    """
    out = np.empty(len(posts))
    one = np.float32(1.0)
    for i in range(len(posts)):
        intensity, post_w, follower_w, protection, flagging, window = params[which[i]]
        vis = _visibility(posts[i], followers[i], post_w, follower_w)
        kept = one - np.float32(protection) * evasion[i]
        h = intensity * vis * kept + flagging * (age[i] < window)
        out[i] = -np.expm1(-h)
    return out


def suspension_probability(
    posts: np.ndarray,
    followers: np.ndarray,
    evasion: np.ndarray,
    age: np.ndarray,
    m: Moderation,
) -> np.ndarray:
    """Probability that each account is suspended today."""
    which = np.zeros(len(posts), dtype=np.int64)
    return _probabilities(posts, followers, evasion, age, which, hazard_parameters(m)[None, :])


@njit(cache=True)
def suspended(accounts, posts, platform, followers, evasion, created, day, params, h):
    """The ``accounts`` (active, with today's ``posts``) suspended today: those whose uniform,
    drawn in order from the stream ``h`` (``sim.core.draws``), falls below their probability under
    their platform's row of ``params``."""
    age = day - created[accounts]
    prob = _probabilities(
        posts, followers[accounts], evasion[accounts], age, platform[accounts], params
    )
    out = np.empty(len(accounts), np.int64)
    n = 0
    for i in range(len(accounts)):
        out[n] = accounts[i]
        n += draws.uniform(h) < prob[i]
    return out[:n]


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
