"""Per-platform parameters as arrays, ready for the day's steps to index by platform number.

Data flow: the model's copy of the ``Scenario`` -> ``PlatformParams.build`` (at the start and
again after every timeline ``set``, the only way parameters change during a run) -> the day's
steps read ``view_prob[plat]`` and the like instead of rebuilding small arrays from the
pydantic objects every day. At small populations that per-day rebuilding was a sizeable share
of the whole day's cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config.schema import Scenario
from sim.moderation import hazard_parameters


@dataclass(frozen=True)
class PlatformParams:
    """Parameters by open platform (``open_*``, moderation) and encrypted platform (``enc_*``)."""

    view_prob: np.ndarray  # by open platform
    discovery: np.ndarray
    share_factor: np.ndarray
    share_p: np.ndarray  # chance that a sympathizer shares an ordinary post seen there
    new_account_platform: np.ndarray  # probabilities of the platform of a new operator
    anti_share: np.ndarray  # normalised account shares: each platform's part of counter speech
    mean_open_view: float  # mean view probability of the open platforms (counter campaigns)
    hazard: np.ndarray  # one row of ``moderation.hazard_parameters`` per open platform
    kind_edges: np.ndarray  # cumulative shares: shout-out, then an invite per encrypted platform
    pull: np.ndarray  # by encrypted platform
    pull_total: float
    has_discovery: bool  # any open platform with search/hashtag discovery
    join_prob: np.ndarray
    channel_posts: np.ndarray  # posts per channel per day
    channel_views: np.ndarray  # posts per channel per day seen by one member
    account_languages: np.ndarray  # language shares of new operators, normalised

    @classmethod
    def build(cls, sc: Scenario) -> PlatformParams:
        open_names, enc_names = sc.platform_names("open"), sc.platform_names("encrypted")
        op = [sc.platforms[n] for n in open_names]
        enc = [sc.platforms[n] for n in enc_names]
        share = np.array([p.account_share for p in op], dtype=float)
        kind_edges = np.cumsum([sc.accounts.shoutout_share, *(p.invite_share for p in enc)])
        if kind_edges[-1] >= 1.0:
            raise ValueError("shout-out and invite-link shares of posts add up to 1 or more")
        languages = np.asarray(sc.accounts.languages.as_array())
        weights = share if share.sum() > 0 else np.ones_like(share)  # no shares given: even
        return cls(
            view_prob=np.array([p.view_prob for p in op]),
            discovery=np.array([p.discovery for p in op]),
            share_factor=np.array([p.share_factor for p in op]),
            share_p=sc.population.share_prob * np.array([p.share_factor for p in op]),
            new_account_platform=weights / weights.sum(),
            anti_share=share / share.sum() if share.sum() > 0 else np.ones_like(share),
            mean_open_view=float(np.mean([p.view_prob for p in op])),
            hazard=np.array([hazard_parameters(sc.moderation_for(n)) for n in open_names]),
            kind_edges=kind_edges,
            pull=np.array([p.pull for p in enc]),
            pull_total=float(sum(p.pull for p in enc)),
            has_discovery=any(p.discovery > 0 for p in op),
            join_prob=np.array([p.join_prob for p in enc]),
            channel_posts=np.array([p.channel_posts_per_day for p in enc]),
            channel_views=np.array([p.channel_posts_per_day * p.view_prob for p in enc]),
            account_languages=languages / languages.sum(),
        )
