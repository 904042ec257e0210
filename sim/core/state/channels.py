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
    scale: float | None = None,
) -> np.ndarray:
    """Weight of each candidate channel when a joiner picks one: ``(members + 1) **
    attachment``, times ``public_weight`` if public (defaults: ``members + 1``, computed exactly
    so). With ``scale`` given, hubs (one real channel each, see ``real_sizes``) weigh
    ``hub_weight * (members * scale + scale) ** attachment / scale``: a real channel of their
    real size, times ``hub_weight``, among simulated channels that stand for ``scale`` each.
    (Its pseudo-count is ``scale`` real members, not 1: a simulated join brings ``scale`` real
    members at once, and with a pseudo-count of 1 the first hub joined would take almost every
    later join at coarse scales; with ``scale`` the hubs share their joins alike at any scale.)"""
    members = channels.members[candidates]
    w = members + 1.0
    if attachment != 1.0:
        w **= attachment
    if public_weight != 1.0:
        w[channels.public[candidates]] *= public_weight
    if scale is not None:
        hub = channels.hub[candidates]
        if hub.any():
            w[hub] = hub_weight * ((members[hub] + 1.0) * scale) ** attachment / scale
    return w


def real_sizes(
    channels: ChannelTable, ids: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Real-world members and real-world count of channels ``ids``: a simulated channel
    stands for ``scale`` real channels of its size, a hub for one real channel with ``scale``
    times its members (hubs are few: at 1:100 a hub of 10,000 members would otherwise need
    10,000 simulated members, a million real users in channels of its size)."""
    members = channels.members[ids].astype(np.float64)
    hub = channels.hub[ids]
    count = np.where(hub, 1.0, scale)
    return np.where(hub, members * scale, members), count


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
    pos = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    # (a product that rounds up to the total, possible with tiny weights, is the last one)
    return candidates[np.minimum(pos, candidates.size - 1)]


def top_share(size: np.ndarray, count: np.ndarray, k: float) -> float:
    """Share of the real-world members in the ``k`` largest real channels, from the channels'
    real sizes and counts (``real_sizes``): channels are taken from the largest, each for its
    count, the last one for the part of its count still needed; NaN if no member."""
    total = float((size * count).sum())
    if total <= 0:
        return float("nan")
    n = min(size.size, int(np.ceil(k)))  # (every channel counts at least one real channel)
    top = np.argpartition(-size, n - 1)[:n] if 0 < n < size.size else np.arange(size.size)
    order = top[np.argsort(-size[top], kind="stable")]
    before = np.cumsum(count[order]) - count[order]  # real channels larger than each
    taken = np.clip(k - before, 0.0, count[order])
    return float((taken * size[order]).sum()) / total
