"""Encrypted platforms: private pro channels, their members, invite links and takedowns.

Channels are opened by operators who migrated after a suspension. Users join a channel when a
sympathizer sees an invite link posted on an open platform (a share of pro posts carry one once a
platform's ``invite_share`` is set) and decides to join; the channel is picked in proportion to
its size (popular channels grow). Members see ``channel_posts_per_day * view_prob`` channel posts
a day. Discovery is nil and moderation is limited to takedowns (a daily hazard and timeline
events); members of a removed channel lose it and must find a new invite.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim.core.state.table import Table


class ChannelTable(Table):
    """Every pro channel ever opened, indexed by channel id."""

    platform: np.ndarray
    operator: np.ndarray
    members: np.ndarray
    created: np.ndarray
    active: np.ndarray

    FIELDS: ClassVar[dict[str, Any]] = {
        "platform": np.int8,  # index into the scenario's encrypted platforms
        "operator": np.int64,
        "members": np.int64,
        "created": np.int32,
        "active": bool,
    }
    DEFAULTS: ClassVar[dict[str, Any]] = {"active": True, "members": 0}


def pick_channels(
    channels: ChannelTable, candidates: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` channels among ``candidates``, each with probability proportional to members + 1."""
    if candidates.size == 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    w = channels.members[candidates] + 1.0
    cum = np.cumsum(w)
    return candidates[np.searchsorted(cum, rng.random(n) * cum[-1], side="right")]
