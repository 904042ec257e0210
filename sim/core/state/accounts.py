"""Pro-IS accounts as arrays: ``AccountTable``, one row per account ever created, with platform,
language, operator, posting rate, evasion, creation day, status, role, predecessor and followers
at its end. Followers
are in
``graph``; operators (Mesa agents) are the operators component's (``sim.components.operators``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim.config.schema import PostingRates
from sim.core import kernels
from sim.core.state.table import Table

# account roles (``role`` column; the roles component draws them, ``sim.components.roles``)
ROLES = ("ordinary", "official", "shoutout", "bot")


def sample_posting_rates(n: int, p: PostingRates, rng: np.random.Generator) -> np.ndarray:
    """Posts per day, log-uniform within brackets whose shares are SPEC 5 inputs."""
    knots = np.log(np.asarray(p.knots))
    bracket = rng.choice(len(p.shares), size=n, p=np.asarray(p.shares) / sum(p.shares))
    u = rng.random(n)
    return np.exp(knots[bracket] + u * (knots[bracket + 1] - knots[bracket]))


class AccountTable(Table):
    """Every pro account ever created, indexed by account id."""

    ACTIVE_END = -(2**30)
    platform: np.ndarray
    language: np.ndarray
    operator: np.ndarray
    rate: np.ndarray
    evasion: np.ndarray
    created: np.ndarray
    ended: np.ndarray
    active: np.ndarray
    recreated: np.ndarray
    role: np.ndarray
    predecessor: np.ndarray
    end_followers: np.ndarray
    FIELDS: ClassVar[dict[str, Any]] = {
        "platform": np.int8,  # index into the scenario's open platforms
        "language": np.int8,
        "operator": np.int64,  # index into the model's operator list
        "rate": np.float64,  # mean posts per day
        "evasion": np.float32,  # 0 = tell-tale hashtags .. 1 = fully evasive
        "created": np.int32,  # day of creation
        "ended": np.int32,  # day suspended; ACTIVE_END while active
        "active": bool,
        "recreated": bool,
        "role": np.int8,  # index into ROLES (0, ordinary, unless the roles component is on)
        "predecessor": np.int64,  # the suspended account a re-created one replaces; -1 if none
        # followers when the account ended (0 while active; ``PropagandaModel.end_accounts``)
        "end_followers": np.float64,
    }
    DEFAULTS: ClassVar[dict[str, Any]] = {"active": True, "ended": ACTIVE_END, "predecessor": -1}

    def __init__(self, capacity: int = 1024) -> None:
        super().__init__(capacity)
        # per-role multipliers of the moderation hazard and of discovery (ones unless the
        # roles component sets them)
        self.role_hazard = np.ones(len(ROLES))
        self.role_discovery = np.ones(len(ROLES))

    def recreate(self, old: np.ndarray, evasion: np.ndarray, created: int) -> np.ndarray:
        """New accounts replacing the accounts ``old`` (same platform, language, operator,
        posting rate and role; the given evasion; flagged as re-created, ``predecessor`` the old
        one); returns their ids. (``add``
        with these columns, without its checks, in one compiled call: this runs most days.)"""
        lo, need = self.n, self.n + old.size
        self._make_room(need)
        kernels.recreate_rows(
            np.asarray(old, dtype=np.int64),
            lo,
            np.asarray(evasion, dtype=np.float64),
            created,
            self.ACTIVE_END,
            (
                self.platform,
                self.language,
                self.operator,
                self.rate,
                self.role,
                self.evasion,
                self.created,
                self.ended,
                self.active,
                self.recreated,
                self.predecessor,
            ),
        )
        self.n = need
        return np.arange(lo, need)
