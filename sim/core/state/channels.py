"""Encrypted platforms: pro channels, their members, invite links, search and takedowns.

Channels are opened by operators who migrated after a suspension, and (when a scenario sets
``channels.<e>.hubs``) by official operators who open public hub channels on a date. A channel
is private (joined by invite link only) or public (also found by search on the platform). Users
join a channel when a sympathizer sees an invite link posted on an open platform, or finds a
public channel by search, and decides to join; the channel is picked with a weight that grows
with its size (``join_weights``: preferential joining, more for public channels and hubs).
Members see ``channel_posts_per_day * view_prob`` channel posts a day. Takedowns remove
channels; their owners open successors, which inherit public/hub status, and the members of a
removed channel may look for its successor for some days. A user is a member of one channel at
most.
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
    public: np.ndarray
    hub: np.ndarray
    successor: np.ndarray

    FIELDS: ClassVar[dict[str, Any]] = {
        "platform": np.int8,  # index into the scenario's encrypted platforms
        "operator": np.int64,
        "members": np.int64,
        "created": np.int32,
        "active": bool,
        "public": bool,  # found by search on the platform (else invite-only)
        "hub": bool,  # an official hub channel (or a successor of one)
        "successor": np.int64,  # the channel its owner opened after its removal, -1 none (yet)
    }
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "active": True,
        "members": 0,
        "public": False,
        "hub": False,
        "successor": -1,
    }


def join_weights(
    channels: ChannelTable,
    candidates: np.ndarray,
    attachment: float = 1.0,
    public_weight: float = 1.0,
    hub_weight: float = 1.0,
) -> np.ndarray:
    """Weight of each candidate channel when a joiner picks one:
    ``(members + 1) ** attachment``, times ``public_weight`` if public, times ``hub_weight`` if
    a hub (defaults: ``members + 1``, computed exactly so)."""
    w = channels.members[candidates] + 1.0
    if attachment != 1.0:
        w **= attachment
    if public_weight != 1.0:
        w[channels.public[candidates]] *= public_weight
    if hub_weight != 1.0:
        w[channels.hub[candidates]] *= hub_weight
    return w


def pick_channels(
    channels: ChannelTable,
    candidates: np.ndarray,
    n: int,
    rng: np.random.Generator,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """``n`` channels among ``candidates``, each with probability proportional to ``weights``
    (default members + 1); none if there is no candidate or every weight is 0."""
    if candidates.size == 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    w = channels.members[candidates] + 1.0 if weights is None else weights
    cum = np.cumsum(w)
    if not cum[-1] > 0:
        return np.zeros(0, dtype=np.int64)
    return candidates[np.searchsorted(cum, rng.random(n) * cum[-1], side="right")]


def top_share(members: np.ndarray, k: float) -> float:
    """Share of ``members`` in the ``k`` largest channels, ``k`` possibly fractional (the
    ``floor(k)`` largest whole, then the fraction ``k - floor(k)`` of the next); NaN if no
    member. At scale ``s`` one simulated channel stands for ``s`` real channels of its size, so
    the real top 10 are the ``10 / s`` largest simulated ones."""
    total = int(members.sum())
    if total == 0:
        return float("nan")
    full = int(np.floor(k))
    frac = k - full
    if full >= members.size:
        return 1.0
    part = np.partition(members, members.size - full - 1)  # the full+1 largest at the end
    tail = np.sort(part[members.size - full - 1 :])[::-1]
    top = float(tail[:full].sum()) + frac * float(tail[full])
    return top / total
