"""Moderation of open platforms: the daily suspension hazard, automated flagging and purges.

Its scenario section is ``moderation.<platform>`` (platforms without one are not moderated);
its timeline event is ``purge``. At ``moderate`` it suspends accounts by hazard; a suspended
account's follow edges go (``PropagandaModel.end_accounts``) and the suspensions of the day are
left in ``today.suspended`` for the operators to decide on.

The hazard of an active account grows with its visibility (posts and followers, relative to a
reference account with 5 posts a day and 1,000 followers) and with the platform's current
intensity; evasion removes part of it; automated flagging adds a hazard for young accounts.
Purges (timeline events) suspend a given number of accounts at once, the most visible first in
expectation. All these draws use the ``moderation`` stream.

Operator-aware moderation and user reports (all off by default; section 7.11 of the ODD):
a suspension links the account to its operator with probability ``detection`` (the platform
then *knows* the operator), and every active account of a known operator faces an extra hazard
``1 / response_days``; with ``similar_detection`` the other active accounts of a just-suspended
account's operator are found at once; with ``report_weight`` an account's hazard grows with
the expected views of its posts by opposed users today (who report them). These draws use the
``detection`` stream, so with the new settings at 0 every draw of the model is unchanged.
The ages of the suspended accounts are tallied per day for the age-at-suspension metrics.

The daily hazard is computed by one compiled loop (``suspended``) over the day's active
accounts of every platform: as a chain of numpy operations per platform it cost more than the
rest of moderation at small populations. ``suspension_probability`` is the same formula for
given arrays.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

import numpy as np
from numba import njit

from sim.components.observation import observation_of
from sim.config.problems import problem
from sim.config.schema import P, PlatformEvent, ScenarioBase, Strict, TimelineEvent
from sim.core import draws
from sim.core.component import (
    Component,
    FigureSpec,
    Line,
    MetricSpec,
    Panel,
    drop_events,
    drop_set_values,
    keyed_field,
)
from sim.core.state.users import OPPOSED

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
    detection: float = P(
        0.0,
        "Probability that a suspension links the account to its operator (the platform then "
        "knows the operator: repeat-offender detection)",
        "",
        ge=0,
        le=1,
    )
    response_days: float = P(
        30.0,
        "Mean time for the platform to find an active account of a known operator (extra "
        "daily hazard 1 / response_days on each)",
        "days",
        ge=0.1,
        le=3650,
    )
    similar_detection: float = P(
        0.0,
        "Probability that each other active account of a just-suspended account's operator "
        "is found and suspended at once (accounts similar to those reported)",
        "",
        ge=0,
        le=1,
    )
    report_weight: float = P(
        0.0,
        "Extra daily hazard per expected view of the account's posts by an opposed user "
        "today (user reports acted on)",
        "1/impression",
        ge=0,
        le=1,
    )


REFERENCE_POSTS = 5.0
OPPOSED_EVERY = 7  # days between counts of the opposed share of each language (reports)
REFERENCE_FOLLOWERS = 1000.0
POST_TABLE = 64  # (``_probabilities``: posts factors kept per call for fewer posts than this)


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
def _probabilities(posts, followers, evasion, age, which, params, extra):  # pragma: no cover
    """Suspension probability of each account ``i``, under the settings ``params[which[i]]``.

    Hazard ``intensity * visibility * (1 - evasion_protection * e)``, plus ``flagging``
    below ``flag_window_days`` of age, plus ``extra[i]`` if ``extra`` is not empty (known
    operators and user reports, ``ModerationComponent.extra_hazard``); probability
    ``1 - exp(-hazard)``. (Evasion is 32-bit; its product with the protection stays 32-bit, as
    in numpy.)
    """
    out = np.empty(len(posts))
    one = np.float32(1.0)
    more = len(extra) > 0
    # the posts' factor of the visibility for 0 .. POST_TABLE - 1 posts, per row of ``params``,
    # computed once each (most accounts post a few times a day: a power fewer per account)
    post_factor = np.full((len(params), POST_TABLE), np.nan)
    for i in range(len(posts)):
        r = which[i]
        intensity, post_w, follower_w, protection, flagging, window = params[r]
        k = int(posts[i]) if 0 <= posts[i] < POST_TABLE else -1  # (-1: not a table entry)
        if k >= 0 and k == posts[i]:
            f = post_factor[r, k]
            if np.isnan(f):
                f = ((k + 0.5) / REFERENCE_POSTS) ** post_w
                post_factor[r, k] = f
            vis = f * ((followers[i] + 1.0) / REFERENCE_FOLLOWERS) ** follower_w
        else:
            vis = _visibility(posts[i], followers[i], post_w, follower_w)
        kept = one - np.float32(protection) * evasion[i]
        h = intensity * vis * kept + flagging * (age[i] < window)
        if more:
            h += extra[i]
        out[i] = -np.expm1(-h)
    return out


NO_EXTRA = np.zeros(0)


def suspension_probability(
    posts: np.ndarray,
    followers: np.ndarray,
    evasion: np.ndarray,
    age: np.ndarray,
    m: Moderation,
    extra: np.ndarray = NO_EXTRA,
) -> np.ndarray:
    """Probability that each account is suspended today (``extra``: added hazards)."""
    which = np.zeros(len(posts), dtype=np.int64)
    params = hazard_parameters(m)[None, :]
    return _probabilities(posts, followers, evasion, age, which, params, extra)


@njit(cache=True)
def suspended(accounts, posts, platform, followers, evasion, created, day, params, extra, h):
    """The ``accounts`` (active, with today's ``posts``) suspended today: those whose uniform,
    drawn in order from the stream ``h`` (``sim.core.draws``), falls below their probability under
    their platform's row of ``params`` (plus ``extra`` hazards, if not empty)."""
    age = day - created[accounts]
    prob = _probabilities(
        posts, followers[accounts], evasion[accounts], age, platform[accounts], params, extra
    )
    out = np.empty(len(accounts), np.int64)
    n = 0
    for i in range(len(accounts)):
        out[n] = accounts[i]
        n += draws.uniform(h) < prob[i]
    return out[:n]


@njit(cache=True)
def _median_of_counts(counts):  # pragma: no cover - compiled
    """Median of the values ``0, 1, ...`` counted ``counts[v]`` times (the mean of the two
    middle ones for an even number, as ``np.median``); NaN if there are none."""
    n = 0
    for c in counts:
        n += c
    if n == 0:
        return np.nan
    lo_rank, hi_rank = (n - 1) // 2, n // 2
    lo = -1
    seen = 0
    for v in range(len(counts)):
        seen += counts[v]
        if lo < 0 and seen > lo_rank:
            lo = v
        if seen > hi_rank:
            return (lo + v) / 2.0
    return np.nan


def median_from_counts(counts: np.ndarray) -> float:
    """Median of the values ``0, 1, ...`` counted ``counts[v]`` times; NaN if none."""
    return float(_median_of_counts(np.asarray(counts, dtype=np.int64)))


@njit(cache=True)
def tally_ages(plat, ages, counts, out):  # pragma: no cover - compiled
    """The day's ages at suspension (``ages[j]`` of an account of open platform ``plat[j]``):
    adds them to ``counts`` (platform x age in days, since the first reported day) and fills
    ``out`` per platform: suspensions under 2 days, under 7 days, the median age that day (NaN
    if none), the median of all ages in ``counts`` (NaN if none). Returns -1, or, changing
    nothing, the largest age if ``counts`` is not wide enough for it (the caller widens it and
    calls again: no separate pass over the ages in Python on the other days)."""
    largest = 0
    for a in ages:
        largest = max(largest, a)
    if largest >= counts.shape[1]:
        return largest
    for p in range(out.shape[0]):
        mine = np.sort(ages[plat == p])
        n = len(mine)
        for a in mine:
            counts[p, a] += 1
        out[p, 0] = np.sum(mine < 2)
        out[p, 1] = np.sum(mine < 7)
        out[p, 2] = (mine[(n - 1) // 2] + mine[n // 2]) / 2.0 if n else np.nan
        out[p, 3] = _median_of_counts(counts[p])
    return -1


@njit(cache=True)
def record_row(
    ids, accounts, day, counts, tally, kept, found, scale, cols, row
):  # pragma: no cover - compiled
    """Moderation's metrics of ``day`` into ``row`` (one compiled call a day, not a numpy call
    and a dozen Python stores per metric): ``ids`` the accounts suspended that day (``accounts``
    = (platform, created) columns), their ages tallied into ``counts`` (``tally_ages``);
    ``tally`` = (suspensions, their followers, their ages) per open platform;
    ``kept`` = (cumulative suspensions, cumulative median age), updated; ``found`` = (similar
    accounts suspended, known operators) per open platform; ``cols[k, p]`` the column of metric
    ``k`` (in ``metrics`` order) of platform ``p``. Returns -1, or, changing nothing, the largest
    age if ``counts`` is not wide enough for it (the caller widens it and calls again)."""
    platform, created = accounts
    susp_n, susp_followers, susp_age = tally
    cumulative, cum_median = kept
    similar, known = found
    n_open = cols.shape[1]
    out = np.zeros((n_open, 4))
    if len(ids):
        plat = np.empty(len(ids), np.int64)
        ages = np.empty(len(ids), np.int64)
        for j in range(len(ids)):
            plat[j] = platform[ids[j]]
            ages[j] = day - created[ids[j]]
        largest = tally_ages(plat, ages, counts, out)
        if largest >= 0:
            return largest
        for i in range(n_open):
            cum_median[i] = out[i, 3]
    else:
        for i in range(n_open):
            out[i, 2] = np.nan
    for i in range(n_open):
        n = susp_n[i]
        under2, under7 = out[i, 0], out[i, 1]
        cumulative[i] += n * scale
        row[cols[0, i]] = n * scale
        row[cols[1, i]] = cumulative[i]
        row[cols[2, i]] = susp_followers[i] / n if n else np.nan
        row[cols[3, i]] = susp_age[i] / n if n else np.nan
        row[cols[4, i]] = under2 * scale
        row[cols[5, i]] = under7 * scale
        row[cols[6, i]] = under2 / n if n else np.nan
        row[cols[7, i]] = under7 / n if n else np.nan
        row[cols[8, i]] = out[i, 2]
        row[cols[9, i]] = cum_median[i]
        row[cols[10, i]] = similar[i] * scale
        row[cols[11, i]] = known[i] * scale
    return -1


@njit(cache=True)
def extra_hazards(accounts, posts, cols, known, by_platform, diverted, opposed):  # pragma: no cover
    """Hazards of known operators and user reports for ``accounts`` with today's ``posts``
    (``cols`` = (platform, operator, language, evasion, followers) of the account table).

    ``known[p, o]``: platform ``p`` knows operator ``o`` (no column: none known);
    ``by_platform[p]`` = (1 / response_days, report_weight * report_factor, discovery *
    discovery_factor, share views per follower and post, evasion_recall_loss); ``diverted[p,
    l]`` the share of searches diverted; ``opposed[l]`` the opposed share of language ``l``.
    The report term is ``report * V`` with ``V = posts * (discovery * (1 - loss * evasion) *
    (1 - diverted) + share_views * followers) * opposed``, the expected views of the
    account's posts by opposed users today.
    """
    platform, operator, language, evasion, followers = cols
    out = np.zeros(len(accounts))
    check_known = known.shape[1] > 0
    for i in range(len(accounts)):
        a = accounts[i]
        p = platform[a]
        known_h, report, disc, share_views, loss = by_platform[p]
        h = 0.0
        if check_known and known[p, operator[a]]:
            h += known_h
        if report > 0.0:
            lang = language[a]
            d = disc * (1.0 - loss * np.float64(evasion[a])) * (1.0 - diverted[p, lang])
            h += report * (posts[i] * (d + share_views * followers[a]) * opposed[lang])
        out[i] = h
    return out


def by_role(
    platform: np.ndarray, role: np.ndarray, params: np.ndarray, factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``params`` per platform and role (row ``platform * roles + role``), with the
    intensity and flagging of role ``r`` times ``factor[r]`` (the hazard times the role's
    factor), and each account's row: for ``suspended`` when roles have hazard factors."""
    n_roles = factor.size
    rows = np.repeat(params, n_roles, axis=0)
    f = np.tile(factor, params.shape[0])
    rows[:, 0] *= f  # intensity
    rows[:, 4] *= f  # flagging
    return platform.astype(np.int64) * n_roles + role, rows


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
    """Suspensions by hazard, flagging, known operators and user reports, and purges."""

    name = "moderation"
    family = "suspensions"
    section = "moderation"
    section_type = dict[str, Moderation]
    section_default = dict
    section_doc = "Moderation of each platform, by platform name"
    placeholders: ClassVar = {"moderation": "<platform>"}
    rules: ClassVar = {
        "moderation.<platform>": (
            "Every name must be a platform defined in `platforms`. On an encrypted platform, "
            "`detection`, `similar_detection` and `report_weight` must be 0 (they act on the "
            "accounts of open platforms)."
        ),
        "timeline[]": "A `purge` needs an open platform.",
    }
    events: ClassVar = (PurgeEvent,)
    streams: ClassVar = ("moderation", "detection")
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
        MetricSpec(
            "suspended_under_2d",
            "open",
            "accounts/day",
            "Accounts suspended that day at an age (day - creation day) under 2 days",
        ),
        MetricSpec(
            "suspended_under_7d",
            "open",
            "accounts/day",
            "Accounts suspended that day at an age under 7 days",
        ),
        MetricSpec(
            "share_suspended_under_2d",
            "open",
            "share",
            "Share of the accounts suspended that day that were under 2 days old; NaN if none",
        ),
        MetricSpec(
            "share_suspended_under_7d",
            "open",
            "share",
            "Share of the accounts suspended that day that were under 7 days old; NaN if none",
        ),
        MetricSpec(
            "median_age_suspended",
            "open",
            "days",
            "Median age of the accounts suspended that day; NaN if none",
        ),
        MetricSpec(
            "median_age_suspended_cumulative",
            "open",
            "days",
            "Median age of all accounts suspended since the first reported day; NaN if none",
        ),
        MetricSpec(
            "suspensions_similar",
            "open",
            "accounts/day",
            "Accounts suspended at once as other accounts of a just-suspended account's "
            "operator (similar_detection; included in suspensions)",
        ),
        MetricSpec(
            "known_operators",
            "open",
            "operators",
            "Operators the platform has linked to a suspended account (repeat-offender detection)",
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
        FigureSpec(
            "age_at_suspension",
            "Age of pro-IS accounts when suspended (open platforms)",
            (
                Panel(
                    "Share of suspensions under 2 and 7 days of age (30-day)",
                    (
                        Line(
                            "suspended_under_2d",
                            "under 2 days",
                            stat="ratio",
                            days=30,
                            over="suspensions",
                        ),
                        Line(
                            "suspended_under_7d",
                            "under 7 days",
                            stat="ratio",
                            days=30,
                            over="suspensions",
                        ),
                    ),
                    unit="share",
                    ratio=True,
                ),
                Panel(
                    "Median age at suspension since the first day (days)",
                    (Line("median_age_suspended_cumulative"),),
                ),
            ),
        ),
    )

    @classmethod
    def switch_off(cls, data: dict[str, Any]) -> None:
        """No suspensions: every platform's hazard, flagging, repeat-offender detection and
        user reports at zero, no purges, and no ``set`` of any of them (the encrypted
        platforms' channel takedowns are the takedowns')."""
        levers = ("intensity", "flagging", "detection", "similar_detection", "report_weight")
        for section in data.get("moderation", {}).values():
            for lever in levers:
                section[lever] = 0.0
        drop_events(data, "purge")
        drop_set_values(data, lambda k: keyed_field(k, "moderation", levers))

    @classmethod
    def check(cls, scenario: ScenarioBase) -> None:
        for name, mod in getattr(scenario, "moderation", {}).items():
            if name not in scenario.platforms:
                raise problem(
                    f"moderation names platform {name!r}, which is not defined in platforms "
                    f"({', '.join(scenario.platforms)})",
                    at=("moderation", name),
                    value=name,
                    choices=list(scenario.platforms),
                )
            if scenario.platforms[name].kind == "encrypted":
                for key in ("detection", "similar_detection", "report_weight"):
                    value = getattr(mod, key)
                    if value != 0:
                        raise problem(
                            f"moderation.{name}.{key} is {value:g}, but {name} is an encrypted "
                            "platform: operator detection and user reports act on the "
                            "accounts of open platforms (set it to 0 or remove it)",
                            at=("moderation", name, key),
                            value=value,
                        )

    def refresh(self) -> None:
        m = self.model
        sc = m.sc
        mods = [moderation_for(sc, n) for n in m.open_names]
        # one row of ``hazard_parameters`` per open platform
        self.hazard = np.array([hazard_parameters(x) for x in mods])
        # operator-aware moderation and reports, per open platform
        self.detection = np.array([x.detection for x in mods])
        self.known_hazard = np.array([1.0 / x.response_days for x in mods])
        self.similar = np.array([x.similar_detection for x in mods])
        self.report_weight = np.array([x.report_weight for x in mods])
        self.detecting = bool((self.detection > 0).any())
        self.finding_similar = bool((self.similar > 0).any())
        self.reporting = bool((self.report_weight > 0).any())
        plats = [sc.platforms[n] for n in m.open_names]
        self.discovery = np.array([p.discovery for p in plats])
        # share views per follower and post: seen (view_prob), shared (share_prob times the
        # platform's share_factor; followers taken as sympathizers), seen by share_reach users
        self.share_views = np.array(
            [p.view_prob * sc.population.share_prob * p.share_factor for p in plats]
        ) * float(sc.population.share_reach)
        self.recall_loss = observation_of(sc).evasion_recall_loss

    def init(self) -> None:
        super().init()
        m = self.model
        n_open = len(m.open_names)
        self.cumulative = np.zeros(n_open)
        self._ones = [1.0] * n_open  # (moderation factors in force when none is set)
        self._role_ones = [1.0] * self.model.accounts.role_hazard.size
        self._cols = np.array([self.columns(x.name) for x in self.metrics], dtype=np.int64)
        # which operators each open platform knows (rows: open platforms; grown with operators)
        self.known = np.zeros((n_open, 0), dtype=bool)
        self.any_known = False
        # ages at suspension: the day they belong to and the accounts of its batches; all ages
        # since the first reported day as counts per platform and age in days, and their median
        self._age_day = -(2**31)
        self._ages: list[np.ndarray] = []
        self._age_counts = np.zeros((n_open, 0), dtype=np.int64)
        self._cum_median = np.full(n_open, NAN)
        self._none = np.zeros(0, dtype=np.int64)
        self._zeros = np.zeros(n_open, dtype=np.int64)
        self._opposed = np.zeros(3)  # opposed share of each language's users (reports)
        self._opposed_day = -(2**31)
        self._similar_n = np.zeros(n_open, dtype=np.int64)
        self._similar_day = -(2**31)

    def moderate(self, d: int) -> None:
        """Suspensions by hazard, flagging, known operators and reports on each open platform."""
        m = self.model
        t, today = m.accounts, m.today
        act = today.act
        params = self.hazard
        factor = today.moderation_factor
        # (tests on plain lists: numpy costs microseconds per call on arrays this small)
        if factor.tolist() != self._ones:  # an outside event scales the intensity
            params = params.copy()
            params[:, 0] *= factor
        by_roles = t.role_hazard.tolist() != self._role_ones  # hazard factors by role (roles)
        extra = self.extra_hazard() if self.any_known or self.reporting else NO_EXTRA
        h = m.streams.handle("moderation")
        if m.network is None and not by_roles:  # (columns of the table as they are)
            gone = suspended(
                act, today.k, t.platform, m.follower_counts(), t.evasion, t.created, d, params,
                extra, h,
            )  # fmt: skip
        else:
            # the columns of today's active accounts only, in their order (``suspended`` sees
            # accounts 0, 1, ... and its answer is mapped back): follower counts with the
            # network among accounts and the rows by role would otherwise be made for every
            # account ever opened, ten to twenty times the active ones late in a run
            platform = t.platform[act]
            if by_roles:
                platform, params = by_role(platform, t.role[act], params, t.role_hazard)
            local = suspended(
                np.arange(act.size), today.k, platform, m.follower_counts(act), t.evasion[act],
                t.created[act], d, params, extra, h,
            )  # fmt: skip
            gone = act[local]
        self.suspend(gone, d)

    def extra_hazard(self) -> np.ndarray:
        """Hazards on top of visibility and flagging for today's active accounts (``today.act``):
        ``1 / response_days`` if the platform knows the account's operator, plus
        ``report_weight * report_factor`` times the expected views of its posts by opposed
        users today (``extra_hazards``)."""
        m = self.model
        t, today = m.accounts, m.today
        n_open = len(m.open_names)
        known = self.known[:, :0]
        if self.any_known:
            self._grow_known()
            known = self.known
        report = self.report_weight * today.report_factor
        if self.reporting and m.day - self._opposed_day >= OPPOSED_EVERY:
            # the opposed share of each language's users, counted once a week (attitudes move
            # slowly; a count every day would cost a pass over all users)
            u = m.users
            starts = u.lang_start.tolist()
            for lang in range(3):
                n = np.count_nonzero(u.state[starts[lang] : starts[lang + 1]] == OPPOSED)
                self._opposed[lang] = n / max(1, starts[lang + 1] - starts[lang])
            self._opposed_day = m.day
        opposed = self._opposed
        diverted = today.search_diverted
        if diverted is None:
            diverted = np.zeros((n_open, 3))
        per_platform = np.stack(
            [
                self.known_hazard,
                report,
                self.discovery * today.discovery_factor,
                self.share_views,
                np.full(n_open, self.recall_loss),
            ],
            axis=1,
        )
        return extra_hazards(
            today.act,
            today.k,
            (t.platform, t.operator, t.language, t.evasion, m.graph.length),
            known,
            per_platform,
            diverted,
            opposed,
        )

    def _grow_known(self) -> None:
        """Room in ``known`` for every operator of the model."""
        n_ops = len(self.model.operators)
        if n_ops > self.known.shape[1]:
            grown = np.zeros((self.known.shape[0], max(n_ops, 2 * self.known.shape[1])), bool)
            grown[:, : self.known.shape[1]] = self.known
            self.known = grown

    def handle(self, event: TimelineEvent) -> None:
        """A purge: suspend ``accounts`` (real-world) accounts, visible ones first."""
        assert isinstance(event, PurgeEvent)
        m = self.model
        rng = m.streams["moderation"]
        i = m.open_names.index(event.platform)
        act = m.accounts.active_ids(i)
        mod = moderation_for(m.sc, event.platform)
        t = m.accounts
        w = visibility(t.rate[act], m.follower_counts()[act], mod) * (
            1.0 - mod.evasion_protection * t.evasion[act]
        )
        w *= t.role_hazard[t.role[act]]  # (1 unless roles are on)
        n = stochastic_round(event.accounts / m.scale, rng)
        self.suspend(act[choose_purged(w, n, rng)], m.day + 1)

    def suspend(self, ids: np.ndarray, d: int) -> None:
        """Suspend accounts ``ids`` on day ``d`` (with the other accounts of their operators
        that ``similar_detection`` finds): they end, their operators may become known, and
        their operators decide today. (Other components that suspend accounts call this.)"""
        if ids.size == 0:
            return
        m = self.model
        if self.finding_similar:
            ids = self._with_similar(ids, d)
        lost, bounds = m.end_accounts(ids, d, m.today.tally)
        # kept until the operator decides: a re-created account's network looks for it;
        # account ids[j] lost the users lost[bounds[j]:bounds[j + 1]]
        m.today.suspended.append((ids, lost, bounds))
        if self.detecting:
            self._detect(ids)
        if d != self._age_day:
            self._age_day, self._ages = d, []
        self._ages.append(ids)  # (their ages are tallied in ``record``)

    def _with_similar(self, ids: np.ndarray, d: int) -> np.ndarray:
        """``ids`` and, drawn with ``similar_detection`` of their platform, each other active
        account of the same operator on the same platform."""
        m = self.model
        t = m.accounts
        n_open = len(m.open_names)
        src = ids[self.similar[t.platform[ids]] > 0]
        if src.size == 0:
            return ids
        act = t.active_ids()
        key = t.operator[act] * n_open + t.platform[act]
        cand = act[np.isin(key, t.operator[src] * n_open + t.platform[src])]
        cand = cand[~np.isin(cand, ids)]
        if cand.size == 0:
            return ids
        rng = m.streams["detection"]
        found = cand[rng.random(cand.size) < self.similar[t.platform[cand]]]
        if d != self._similar_day:
            self._similar_day = d
            self._similar_n[:] = 0
        self._similar_n += np.bincount(t.platform[found], minlength=n_open)
        return np.concatenate([ids, found])

    def _detect(self, ids: np.ndarray) -> None:
        """The platform links each suspended account to its operator with ``detection``."""
        m = self.model
        t = m.accounts
        plat = t.platform[ids]
        hit = m.streams["detection"].random(ids.size) < self.detection[plat]
        if hit.any():
            self._grow_known()
            self.known[plat[hit], t.operator[ids[hit]]] = True
            self.any_known = True

    def record(self, d: int, row: np.ndarray) -> None:
        m = self.model
        t, tally = m.accounts, m.today.tally
        ids = self._none
        if self._age_day == d and self._ages:
            ids = self._ages[0] if len(self._ages) == 1 else np.concatenate(self._ages)
        similar = self._similar_n if self._similar_day == d else self._zeros
        known = np.count_nonzero(self.known, axis=1) if self.any_known else self._zeros
        args = (
            ids,
            (t.platform, t.created),
            d,
            self._age_counts,
            (tally.susp_n, tally.susp_followers, tally.susp_age),
            (self.cumulative, self._cum_median),
            (similar, known),
            float(m.scale),
            self._cols,
            row,
        )
        largest = record_row(*args)
        if largest >= 0:
            self._room_for_age(largest)
            record_row(ids, args[1], d, self._age_counts, *args[4:])

    def _room_for_age(self, age: int) -> None:
        """Room in the counts since the first reported day for ages up to ``age``."""
        if age >= self._age_counts.shape[1]:
            width = max(age + 1, 2 * self._age_counts.shape[1])
            grown = np.zeros((self._age_counts.shape[0], width), dtype=np.int64)
            grown[:, : self._age_counts.shape[1]] = self._age_counts
            self._age_counts = grown
