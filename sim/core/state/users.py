"""Users as arrays: language, susceptibility, attitude, state, follows and reach bookkeeping.

Data flow: the model's exposure step counts the day's pro and counter views into ``pro_dose``
and ``counter_dose`` as it draws them (compiled kernels such as ``kernels.feed_views``, or
``add_pro_views`` / ``add_counter_views``); ``apply_doses`` then updates the attitudes of the
users touched that day and returns how many were reached and who was recruited.
State counts are kept incrementally. The users dosed on a day are marked in a bit set as they
are dosed, so that finding them costs a pass over one bit per user, not over the dose arrays.

Attitude drifts back toward the user's initial attitude at rate ``relaxation`` per day; the
drift is applied in closed form when the user is next exposed (a user nobody reaches keeps
their state), so the daily cost is proportional to the users reached.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import Population
from sim.core import draws, kernels

OPPOSED, NEUTRAL, SYMPATHIZER, SUPPORTER = 0, 1, 2, 3
NEVER = np.iinfo(np.int32).min // 2
REACH_WINDOW = 30  # days of ``users_reached_30d``
EXPOSURE_TAU, EXPOSURE_THRESHOLD = 30.0, 0.0  # defaults of ``set_exposure`` (section ``reach``)
EXPOSURE_TRACKED = 250_000  # (and of ``reach.tracked_users``)


def state_edges(p: Population) -> tuple[float, float, float]:
    """The attitudes from which a user is neutral, a sympathizer, a supporter."""
    return (p.opposed_below, p.sympathizer_above, max(p.supporter_above, p.sympathizer_above))


def draw_weighted(cum: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cum, x, side="right")`` (``cum`` cumulative weights, ``0 <= x``).

    Same results, several times faster for millions of draws over millions of users: a bucket
    index (one bucket per four entries of ``cum``) leaves a short search near each answer.
    """
    if x.size < 1024 or cum.size < 1024:
        return np.searchsorted(cum, x, side="right")
    edges, lo = _bucket_index(cum, max(float(cum[-1]), float(x.max())))
    return kernels.search_right(cum, x, edges, lo)


def _bucket_index(cum: np.ndarray, top: float) -> tuple[np.ndarray, np.ndarray]:
    """Bucket edges over ``[0, top]`` (one bucket per four entries of ``cum``) and where each
    edge falls in ``cum`` (``kernels.search_right``)."""
    edges = np.linspace(0.0, np.nextafter(top, np.inf), max(cum.size // 4, 1) + 1)
    return edges, np.searchsorted(cum, edges, side="right")


def draw_follow_keys(
    accounts: np.ndarray,
    counts: np.ndarray,
    cum: np.ndarray,
    n_users: int,
    gen: np.random.Generator,
) -> np.ndarray:
    """Follow keys ``account * n_users + user``: ``counts[i]`` users for ``accounts[i]``, each
    drawn with chance proportional to its weight (``cum``: cumulative weights), from ``gen``.

    The same keys and draws as ``np.repeat(accounts, counts) * n_users + draw_weighted(cum,
    gen.random(counts.sum()) * cum[-1])``, in one compiled pass (``kernels.draw_keys``)."""
    edges, lo = _bucket_index(cum, float(cum[-1]))  # (the draws are below cum[-1])
    return kernels.draw_keys(
        draws.handle(gen),
        np.asarray(accounts, dtype=np.int64),
        np.asarray(counts, dtype=np.int64),
        cum,
        edges,
        lo,
        n_users,
    )


class Users:
    """All simulated users of the reachable audience."""

    def __init__(self, n: int, params: Population, rng: np.random.Generator) -> None:
        self.n = n
        shares = np.asarray(params.languages.as_array())
        language = rng.choice(3, size=n, p=shares / shares.sum()).astype(np.int8)
        k = params.susceptibility_shape
        susceptibility = rng.gamma(k, 1.0 / k, size=n).astype(np.float32)
        base = rng.normal(params.attitude_mean, params.attitude_sd, size=n).clip(-1, 1)
        follow_cap = rng.geometric(1.0 / params.follow_budget, size=n)
        # Users are numbered by language, and within a language from the most to the least
        # sympathetic. The numbering means nothing to the model (users are drawn
        # independently), but a random user of a language is then one number in its range,
        # with no index to read, and the engaged users, who get most of the views and follows,
        # sit together in memory, which keeps the daily loops fast.
        order = np.lexsort((-base, language))  # (stable: ties keep their drawing order)
        self.language = language[order]
        self.susceptibility = susceptibility[order]
        self.baseline = base[order].astype(np.float32)
        self.attitude = self.baseline.copy()
        self.last_update = np.zeros(n, dtype=np.int32)
        # follows made and follow budget side by side: the follow gate reads both for a random
        # user, and one memory access then brings both
        self.follows = np.zeros((n, 2), dtype=np.int32)
        self.n_following = self.follows[:, 0]
        self.follow_cap = self.follows[:, 1]
        self.follow_cap[:] = follow_cap[order]
        # users who follow at least one pro account, kept as follows come and go (``follow``)
        self.n_followers_of_pro = 0
        self.member_channel = np.full(n, -1, dtype=np.int32)  # encrypted channel, -1 none
        # the users in a channel, in index order: kept as they join and leave, so that the
        # day's channel views need no scan of every user
        self.members = np.zeros(0, dtype=np.int64)
        self.last_reached = np.full(n, NEVER, dtype=np.int32)
        # how many users were last reached by pro content on day d, at index d % REACH_WINDOW
        self.reach_buckets = np.zeros(REACH_WINDOW, dtype=np.int64)
        # substantial exposure (``users_exposed``), per followed user (``set_exposure``: user
        # ``k * stride`` at index k): decayed pro exposure as of the last reached day
        # (``exposure``), last day exposed (``exposed_until``, NEVER: none); users by that
        # day, [exposed now, day done]
        self.exposed_tally = np.array([0, NEVER + 1], dtype=np.int64)
        self.set_exposure(EXPOSURE_TAU, EXPOSURE_THRESHOLD)
        self.state = self._classify(self.attitude, params)
        self.counts = np.bincount(self.state, minlength=4).astype(np.int64)
        # the users of language l are ``lang_start[l]`` to ``lang_start[l + 1] - 1``
        self.lang_count = np.bincount(self.language, minlength=3)
        self.lang_start = np.r_[0, np.cumsum(self.lang_count)]
        # the day's doses (pro views, credibility-weighted counter views), cleared when applied
        self.pro_dose = np.zeros(n, dtype=kernels.DOSE_DTYPE)
        # (counter doses in 32 bits: half the memory traffic of the daily update; a
        # dose is a sum of credibility weights, which needs no more precision)
        self.counter_dose = np.zeros(n, dtype=np.float32)
        # who has a dose today: one bit per user, set by each dose (``kernels.count_into``)
        self.dosed = kernels.new_marks(n)
        self._keep, self._keep_for = kernels.keep_table(params.relaxation), params.relaxation

    @staticmethod
    def _classify(att: np.ndarray, p: Population) -> np.ndarray:
        """State from attitude: opposed < opposed_below <= neutral < sympathizer_above ..."""
        edges = np.array(state_edges(p), dtype=att.dtype)
        state = (att >= edges[0]).view(np.int8) + (att >= edges[1]).view(np.int8)
        state += (att >= edges[2]).view(np.int8)
        return state

    def follow(self, users: np.ndarray, delta: int) -> None:
        """``n_following[users] += delta`` (repeats count each time), keeping
        ``n_followers_of_pro``: every change of ``n_following`` goes through here (or through
        ``kernels.end_accounts``, which does the same for the followers of ended accounts)."""
        self.n_followers_of_pro += kernels.scatter_add_count(self.n_following, users, delta)

    def forget_follows(self, users: np.ndarray) -> None:
        """``users`` (distinct) follow no pro account any more (their edges are gone),
        keeping ``n_followers_of_pro``."""
        self.n_followers_of_pro -= int(np.count_nonzero(self.n_following[users]))
        self.n_following[users] = 0

    def join_channels(self, users: np.ndarray, channels: np.ndarray) -> None:
        """``users`` (distinct, in index order, in no channel yet) join ``channels``."""
        self.member_channel[users] = channels
        self.members = np.insert(self.members, np.searchsorted(self.members, users), users)

    def leave_channels(self, channels: np.ndarray) -> None:
        """The members of ``channels`` (removed channels) are in no channel any more."""
        gone = np.isin(self.member_channel[self.members], channels)
        self.member_channel[self.members[gone]] = -1
        self.members = self.members[~gone]

    def engagement(self, users: np.ndarray) -> np.ndarray:
        """Willingness to follow/share/join: 1 for sympathizers and supporters, 0.1 neutral."""
        return kernels.ENGAGEMENT[self.state[users]]

    def add_pro_views(self, users: np.ndarray) -> None:
        """Count one pro view for each entry of ``users`` (repeats count again)."""
        kernels.count_into(users, self.pro_dose, self.dosed)

    def add_counter_views(self, users: np.ndarray, weights: np.ndarray) -> None:
        """Add credibility-weighted counter views."""
        kernels.accumulate(users, weights, self.counter_dose, self.dosed)

    def set_exposure(self, tau: float, threshold: float, tracked: int = EXPOSURE_TRACKED) -> None:
        """The time constant (days) and threshold (views) of substantial exposure, and how
        many users to follow (``tracked``, 0: all); set before the first day (the expiry days
        already kept depend on them).

        In a population of more than ``tracked`` users only every ``stride``-th user (index a
        multiple of it; ``stride`` the largest power of two leaving at least ``tracked``) is
        followed, and ``exposed`` scales their count up: a systematic sample of every language
        block. Following every user is a tenth of a full-scale run's time; 250,000 of 5 million
        leave a sampling error of the exposed share below 0.1 percentage point.

        The followed users' ``exposure`` and ``exposed_until`` are kept side by side, user
        ``k * stride`` at index ``k`` (an array over every user, read at every ``stride``-th
        entry, brought a cache line per followed user into the attitude loop: a tenth of its
        time at 1:2); set here, to none exposed.
        """
        self.exposure_tau, self.exposure_threshold = float(tau), float(threshold)
        ratio = self.n / tracked if tracked > 0 else 1.0
        self.exposure_stride = 1 << int(np.floor(np.log2(ratio))) if ratio >= 2 else 1
        self.exposure_followed = -(-self.n // self.exposure_stride)  # (indices 0, k, 2k, ...)
        self.exposure = np.zeros(self.exposure_followed, dtype=np.float64)
        self.exposed_until = np.full(self.exposure_followed, NEVER, dtype=np.int32)
        self._decay = kernels.decay_table(tau)
        # (threshold 0: not measured, the kernel skips it; one bucket keeps the types)
        h = kernels.exposure_horizon(tau, threshold, kernels.DOSE_MAX) if threshold > 0 else 1
        self.exposed_buckets = np.zeros(h, dtype=np.int64)

    def exposed(self) -> float:
        """Users substantially exposed as of the last day done: decayed pro exposure at or
        above the threshold (``kernels.update_attitudes``); among the users followed, scaled
        up to the population (``set_exposure``; exact when every user is followed)."""
        n = int(self.exposed_tally[0])
        return n if self.exposure_stride == 1 else n * self.n / self.exposure_followed

    def reached_30d(self) -> int:
        """Users reached by pro content in the last ``REACH_WINDOW`` days (today included)."""
        return sum(self.reach_buckets.tolist())  # (30 numbers: cheaper than numpy's sum)

    def apply_doses(self, day: int, p: Population) -> tuple[int, np.ndarray]:
        """Relax and update the attitudes of everyone with a dose today, then clear the doses.

        Applies relaxation since each user's last update, then the doses held in ``pro_dose``
        and ``counter_dose`` (see ``kernels.update_attitudes``), and keeps the 30-day reach
        (``reach_buckets``, ``reached_30d``) and the substantially exposed users (``exposed``).
        Returns (number of users reached by pro content,
        new recruits in index order).
        """
        if self._keep_for != p.relaxation:  # the table changes only if a policy sets it
            self._keep, self._keep_for = kernels.keep_table(p.relaxation), p.relaxation
        edges = state_edges(p)
        return kernels.update_attitudes(
            (self.dosed, self.pro_dose, self.counter_dose),
            (
                self.attitude,
                self.baseline,
                self.susceptibility,
                self.last_update,
                self.state,
                self.counts,
                self.last_reached,
                self.reach_buckets,
            ),
            (kernels.DEBRUIJN_POS, self._keep, kernels.LOG1P_TABLE, kernels.LOG1P_FINE),
            day,
            p.pro_effect,
            p.counter_effect,
            edges,
            (
                self.exposure,
                self.exposed_until,
                self.exposed_buckets,
                self.exposed_tally,
                self._decay,
                self.exposure_tau,
                self.exposure_threshold,
                self.exposure_stride,
            ),
        )
