"""Moderation of open platforms: the daily suspension hazard, automated flagging and purges.

Its scenario section is ``moderation.<platform>`` (platforms without one are not moderated);
its timeline event is ``purge``. At ``moderate`` it suspends accounts by hazard; a suspended
account's follow edges go (``PropagandaModel.end_accounts``) and the suspensions of the day are
left in ``today.suspended`` for the operators to decide on.

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

import datetime as dt
from typing import ClassVar, Literal

import numpy as np
from numba import njit

from sim.config.problems import problem
from sim.config.schema import P, PlatformEvent, ScenarioBase, Strict, TimelineEvent
from sim.core import draws
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel

NAN = float("nan")


class Moderation(Strict):
    """Moderation of one platform."""

    intensity: float = P(
        0.0003, "Daily suspension hazard of an average visible account", "1/day", ge=0, le=1
    )
    post_weight: float = P(0.3, "Visibility exponent on posts per day", "", ge=0, le=2)
    follower_weight: float = P(0.6, "Visibility exponent on followers", "", ge=0, le=2)
    flagging: float = P(
        0.0, "Extra daily hazard on new accounts from automated flagging", "1/day", ge=0, le=1
    )
    flag_window_days: float = P(7.0, "Age until which flagging applies", "days", ge=0, le=365)
    evasion_protection: float = P(
        0.5, "Share of detection hazard removed by full evasion", "", ge=0, le=1
    )
    channel_takedown_rate: float = P(
        0.0, "Daily takedown hazard of an encrypted channel", "1/day", ge=0, le=1
    )


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


def moderation_for(scenario: ScenarioBase, platform: str) -> Moderation:
    """Moderation settings of a platform (defaults when the scenario sets none)."""
    section: dict[str, Moderation] = getattr(scenario, "moderation", {})
    return section.get(platform) or Moderation(intensity=0.0)


class PurgeEvent(PlatformEvent):
    platform_kind: ClassVar[Literal["open", "encrypted"]] = "open"

    action: Literal["purge"] = "purge"
    date: dt.date = P(..., "Day of the purge")
    label: str = P("", "Free text")
    platform: str = P(..., "Open platform purged")
    accounts: float = P(..., "Accounts suspended (real-world)", "accounts", ge=0, le=1e8)

    def describe(self) -> str:
        return f"purge {self.accounts:,.0f} accounts ({self.platform})"


class ModerationComponent(Component):
    """Suspensions by hazard and flagging, and purges."""

    name = "moderation"
    family = "suspensions"
    section = "moderation"
    section_type = dict[str, Moderation]
    section_default = dict
    section_doc = "Moderation of each platform, by platform name"
    placeholders: ClassVar = {"moderation": "<platform>"}
    rules: ClassVar = {
        "moderation.<platform>": "Every name must be a platform defined in `platforms`.",
        "timeline[]": "A `purge` needs an open platform.",
    }
    events: ClassVar = (PurgeEvent,)
    streams: ClassVar = ("moderation",)
    metrics: ClassVar = (
        MetricSpec("suspensions", "open", "accounts/day", "Accounts suspended (incl. purges)"),
        MetricSpec(
            "cumulative_suspensions", "open", "accounts", "Suspensions since the first reported day"
        ),
        MetricSpec(
            "mean_followers_suspended",
            "open",
            "followers",
            "Mean followers of accounts when suspended that day ('when discovered'); NaN if none",
        ),
        MetricSpec(
            "mean_lifetime_suspended",
            "open",
            "days",
            "Mean age of accounts suspended that day; NaN if none",
        ),
    )

    figures: ClassVar = (
        FigureSpec(
            "followers",
            "Followers of pro-IS accounts (open platforms)",
            (
                Panel("Mean followers of active accounts", (Line("mean_followers"),)),
                Panel(
                    "Mean followers when suspended (30-day, weighted by suspensions)",
                    (
                        Line(
                            "mean_followers_suspended", stat="weighted", days=30, over="suspensions"
                        ),
                    ),
                    ("mean_followers_suspended",),
                ),
            ),
        ),
    )

    @classmethod
    def check(cls, scenario: ScenarioBase) -> None:
        for name in getattr(scenario, "moderation", {}):
            if name not in scenario.platforms:
                raise problem(
                    f"moderation names platform {name!r}, which is not defined in platforms "
                    f"({', '.join(scenario.platforms)})",
                    at=("moderation", name),
                    value=name,
                    choices=list(scenario.platforms),
                )

    def refresh(self) -> None:
        m = self.model
        # one row of ``hazard_parameters`` per open platform
        self.hazard = np.array([hazard_parameters(moderation_for(m.sc, n)) for n in m.open_names])

    def init(self) -> None:
        super().init()
        self.cumulative = np.zeros(len(self.model.open_names))
        self._cols = [self.columns(m.name) for m in self.metrics]

    def moderate(self, d: int) -> None:
        """Suspensions by hazard and flagging on each open platform."""
        m = self.model
        t, today = m.accounts, m.today
        gone = suspended(
            today.act,
            today.k,
            t.platform,
            m.graph.length,
            t.evasion,
            t.created,
            d,
            self.hazard,
            m.streams.handle("moderation"),
        )
        self.suspend(gone, d)

    def handle(self, event: TimelineEvent) -> None:
        """A purge: suspend ``accounts`` (real-world) accounts, visible ones first."""
        assert isinstance(event, PurgeEvent)
        m = self.model
        rng = m.streams["moderation"]
        i = m.open_names.index(event.platform)
        act = m.accounts.active_ids(i)
        mod = moderation_for(m.sc, event.platform)
        w = visibility(m.accounts.rate[act], m.graph.length[act], mod) * (
            1.0 - mod.evasion_protection * m.accounts.evasion[act]
        )
        n = stochastic_round(event.accounts / m.scale, rng)
        self.suspend(act[choose_purged(w, n, rng)], m.day + 1)

    def suspend(self, ids: np.ndarray, d: int) -> None:
        """Suspend accounts ``ids`` on day ``d``: they end, and their operators decide today."""
        if ids.size == 0:
            return
        m = self.model
        lost, bounds = m.end_accounts(ids, d, m.today.tally)
        # kept until the operator decides: a re-created account's network looks for it;
        # account ids[j] lost the users lost[bounds[j]:bounds[j + 1]]
        m.today.suspended.append((ids, lost, bounds))

    def record(self, d: int, row: np.ndarray) -> None:
        m = self.model
        s, tally = m.scale, m.today.tally
        susp_n, susp_followers = tally.susp_n.tolist(), tally.susp_followers.tolist()
        susp_age = tally.susp_age.tolist()
        c_n, c_cum, c_fol, c_age = self._cols
        for i in range(len(m.open_names)):
            n_susp = susp_n[i]
            self.cumulative[i] += n_susp * s
            row[c_n[i]] = n_susp * s
            row[c_cum[i]] = self.cumulative[i]
            row[c_fol[i]] = susp_followers[i] / n_susp if n_susp else NAN
            row[c_age[i]] = susp_age[i] / n_susp if n_susp else NAN
