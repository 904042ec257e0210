"""Users as arrays: language, susceptibility, attitude, state, follows and reach bookkeeping.

Data flow: ``model`` gathers the day's pro and counter doses per user (from ``exposure``) and
calls ``Users.update_attitudes`` on the users touched that day; this returns the new recruits.
State counts are kept incrementally, so nothing here loops over all users per day.

Attitude drifts back toward the user's initial attitude at rate ``relaxation`` per day; the
drift is applied in closed form when the user is next exposed (a user nobody reaches keeps
their state), so the daily cost is proportional to the users reached.
"""

from __future__ import annotations

import numpy as np

from .scenario import Population

OPPOSED, NEUTRAL, SYMPATHIZER, SUPPORTER = 0, 1, 2, 3
STATE_NAMES = ("opposed", "neutral", "sympathizer", "supporter")
NEVER = np.iinfo(np.int32).min // 2


_LOG1P_TABLE = np.log1p(np.arange(256, dtype=np.float32))


def _log1p_count(counts: np.ndarray) -> np.ndarray:
    """log(1 + n) for non-negative integer counts, by table lookup (they are mostly small)."""
    out = _LOG1P_TABLE[np.minimum(counts, 255)]
    big = np.flatnonzero(counts > 255)
    if big.size:
        out[big] = np.log1p(counts[big].astype(np.float32))
    return out


class Users:
    """All simulated users of the reachable audience."""

    def __init__(self, n: int, params: Population, rng: np.random.Generator) -> None:
        self.n = n
        shares = np.asarray(params.languages.as_array())
        self.language = rng.choice(3, size=n, p=shares / shares.sum()).astype(np.int8)
        k = params.susceptibility_shape
        self.susceptibility = rng.gamma(k, 1.0 / k, size=n).astype(np.float32)
        base = rng.normal(params.attitude_mean, params.attitude_sd, size=n).clip(-1, 1)
        self.baseline = base.astype(np.float32)
        self.attitude = self.baseline.copy()
        self.last_update = np.zeros(n, dtype=np.int32)
        self.follow_cap = rng.geometric(1.0 / params.follow_budget, size=n).astype(np.int32)
        self.n_following = np.zeros(n, dtype=np.int32)
        self.member_channel = np.full(n, -1, dtype=np.int64)  # encrypted channel, -1 none
        self.last_reached = np.full(n, NEVER, dtype=np.int32)
        self.state = self._classify(self.attitude, params)
        self.counts = np.bincount(self.state, minlength=4).astype(np.int64)
        self.by_language = [np.flatnonzero(self.language == lang) for lang in range(3)]

    @staticmethod
    def _classify(att: np.ndarray, p: Population) -> np.ndarray:
        """State from attitude: opposed < opposed_below <= neutral < sympathizer_above ..."""
        edges = np.array(
            [p.opposed_below, p.sympathizer_above, max(p.supporter_above, p.sympathizer_above)],
            dtype=att.dtype,
        )
        state = (att >= edges[0]).view(np.int8) + (att >= edges[1]).view(np.int8)
        state += (att >= edges[2]).view(np.int8)
        return state

    def random_users(
        self, languages: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """One random user speaking each given language (languages without users: anyone)."""
        out = np.empty(languages.size, dtype=np.int64)
        for lang in range(3):
            sel = np.flatnonzero(languages == lang)
            pool = self.by_language[lang]
            if sel.size == 0:
                continue
            if pool.size == 0:
                out[sel] = rng.integers(0, self.n, sel.size)
            else:
                out[sel] = pool[rng.integers(0, pool.size, sel.size)]
        return out

    def engagement(self, users: np.ndarray) -> np.ndarray:
        """Willingness to follow/share/join: 1 for sympathizers and supporters, 0.1 neutral."""
        st = self.state[users]
        return np.where(st >= SYMPATHIZER, 1.0, np.where(st == NEUTRAL, 0.1, 0.0))

    def follow_room(self, users: np.ndarray) -> np.ndarray:
        """Share of a user's follow budget still free (0..1)."""
        cap = self.follow_cap[users]
        return np.clip(1.0 - self.n_following[users] / cap, 0.0, 1.0)

    def update_attitudes(
        self,
        users: np.ndarray,
        pro_dose: np.ndarray,
        counter_dose: np.ndarray,
        day: int,
        p: Population,
    ) -> np.ndarray:
        """Apply relaxation since the last update, then the day's doses; returns new recruits."""
        if users.size == 0:
            return users
        elapsed = (day - self.last_update[users]).astype(np.float32)
        if p.relaxation < 1.0:
            keep = np.exp(elapsed * np.float32(np.log1p(-p.relaxation)))
        else:
            keep = (elapsed == 0).astype(np.float32)
        base = self.baseline[users]
        att = base + (self.attitude[users] - base) * keep
        push = np.float32(p.pro_effect) * _log1p_count(pro_dose)
        has_counter = np.flatnonzero(counter_dose)  # most reached users saw no counter post
        push[has_counter] -= np.float32(p.counter_effect) * np.log1p(
            counter_dose[has_counter].astype(np.float32)
        )
        att += self.susceptibility[users] * push
        np.clip(att, -1.0, 1.0, out=att)
        old = self.state[users]
        new = self._classify(att, p)
        new = np.where(old == SUPPORTER, SUPPORTER, new).astype(np.int8)  # recruitment sticks
        self.attitude[users] = att
        self.last_update[users] = day
        changed = new != old
        if changed.any():
            self.counts -= np.bincount(old[changed], minlength=4)
            self.counts += np.bincount(new[changed], minlength=4)
            self.state[users[changed]] = new[changed]
        return users[changed & (new == SUPPORTER)]
