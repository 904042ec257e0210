"""Coordinated hashtag campaigns: on some days a share of the pro accounts of a language post on
the same hashtag; a campaign large enough trends, and some hijack popular hashtags.

Each day (``post``, after posting) ``Poisson(coordination.campaigns_per_day)`` campaigns start
(between ``start`` and ``end``). A campaign runs on the open platform and in the language of an
organiser, a random active account of one of ``coordination.languages``; each active account of
that platform and language takes part with the campaign's share, drawn uniformly between
``min_share`` and ``max_share``, and makes ``Poisson(extra_posts)`` extra posts that day (added
to today's ``k``, so they are seen by followers, shared, moderated and counted like any post).
If the participants, in real-world accounts (simulated times ``scale``), reach
``trending_threshold`` the hashtag trends: the discovery of the campaign's posts is multiplied
by ``trending_multiplier``. A share ``hijack_share`` of the campaigns also hijack a popular
hashtag (#WorldCup in 2014): their posts get ``hijack_multiplier`` times the discovery, the
extra part seen by users of any language (the hashtag's general audience).

For a participant with ``k0`` own posts and extra posts ``e_c`` in campaigns ``c`` (trending
factor ``T_c``, hijack factor ``H_c``; 1 when not trending, not hijacking), exposure draws
discovery among users of its language for ``k0 + sum_c e_c T_c`` posts: the day's
``today.discovery_boost`` per poster is ``(k0 + sum_c e_c T_c) / (k0 + sum_c e_c)``. The
hijacked part, ``sum_c e_c T_c (H_c - 1)`` posts' worth of discovery, is drawn here at
``expose`` among all users (``kernels.outside_views``; per language in proportion to its users,
which by Poisson splitting is the same as a random user of any language per view).

Draws (stream ``coordination``), per day: the number of campaigns, the organisers, the shares,
the hijack draws, one uniform per eligible account and campaign, the extra posts per
participant; at ``expose`` the hijacked discovery views. Metrics per open platform: campaigns,
trending campaigns, hijacking campaigns (real-world counts as drawn), participating accounts
and campaign posts (real-world).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
from pydantic import model_validator

from sim.components.observation import observation_of
from sim.config.problems import problem
from sim.config.schema import LANGUAGES, DateSpan, Language, P
from sim.core import kernels
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel
from sim.core.model import FollowCandidates


class CoordinationSection(DateSpan):
    """Coordinated hashtag campaigns of pro accounts (0 campaigns per day: off)."""

    campaigns_per_day: float = P(
        0.0,
        "Coordinated hashtag campaigns started per day, all languages and platforms "
        "(Poisson mean; 0 = off)",
        "campaigns/day",
        ge=0,
        le=1000,
    )
    languages: list[Language] = P(
        list(LANGUAGES), "Languages campaigns run in (a campaign's is its organiser's)"
    )
    min_share: float = P(
        0.02,
        "Smallest share of the active accounts of the campaign's language and platform that "
        "take part",
        "",
        ge=0,
        le=1,
    )
    max_share: float = P(
        0.2,
        "Largest share of the active accounts of the campaign's language and platform that "
        "take part (each campaign's share is uniform between the two)",
        "",
        ge=0,
        le=1,
    )
    extra_posts: float = P(
        5.0,
        "Mean extra posts of a participating account on the campaign's day (Poisson)",
        "posts",
        ge=0,
        le=500,
    )
    trending_threshold: float = P(
        500.0,
        "Participating accounts (real-world) from which a campaign's hashtag trends",
        "accounts",
        ge=1,
        le=1_000_000,
    )
    trending_multiplier: float = P(
        5.0, "Discovery multiplier of a trending campaign's posts", "", ge=1, le=1000
    )
    hijack_share: float = P(
        0.0,
        "Share of campaigns that hijack a popular hashtag (e.g. #WorldCup in 2014)",
        "",
        ge=0,
        le=1,
    )
    hijack_multiplier: float = P(
        3.0,
        "Discovery multiplier of a hijacking campaign's posts (on top of trending); the extra "
        "views are by users of any language",
        "",
        ge=1,
        le=1000,
    )
    start: dt.date | None = P(None, "First day of campaigns (default: from the warm-up)")
    end: dt.date | None = P(None, "Last day of campaigns (default: to the end)")

    @model_validator(mode="after")
    def _shares(self) -> CoordinationSection:
        if self.max_share < self.min_share:
            raise problem(
                f"max_share {self.max_share:g} is below min_share {self.min_share:g}",
                at=("max_share",),
            )
        return self


METRICS = (
    ("coordinated_campaigns", "campaigns/day", "Coordinated hashtag campaigns started"),
    ("trending_campaigns", "campaigns/day", "Coordinated campaigns whose hashtag trended"),
    ("hijacking_campaigns", "campaigns/day", "Coordinated campaigns on a hijacked popular hashtag"),
    ("campaign_accounts", "accounts", "Pro accounts taking part in a coordinated campaign"),
    ("campaign_posts", "posts/day", "Extra pro posts made in coordinated campaigns"),
)


class Coordination(Component):
    """Coordinated hashtag campaigns: extra posts, trending and hijacked hashtags."""

    name = "coordination"
    section = "coordination"
    section_type = CoordinationSection
    section_doc = "Coordinated hashtag campaigns: trending and hijacked hashtags"
    streams: ClassVar = ("coordination",)
    metrics: ClassVar = tuple(MetricSpec(n, "open", u, t) for n, u, t in METRICS)
    figures: ClassVar = (
        FigureSpec(
            "coordination",
            "Coordinated hashtag campaigns (open platforms)",
            (
                Panel(
                    "Campaigns per day (7-day mean)",
                    (
                        Line("coordinated_campaigns", "all", stat="mean", days=7),
                        Line("trending_campaigns", "trending", stat="mean", days=7),
                        Line("hijacking_campaigns", "hijacking", stat="mean", days=7),
                    ),
                    ratio=True,
                ),
                Panel(
                    "Extra posts in campaigns per day (7-day mean)",
                    (Line("campaign_posts", stat="mean", days=7),),
                ),
            ),
        ),
    )
    rules: ClassVar = {
        "coordination": (
            "`max_share` may not be below `min_share` (both are fixed when the run starts, so "
            "that no timeline `set` can break the rule); `end` may not be before `start`."
        )
    }
    fixed_at_start: ClassVar = ("coordination.min_share", "coordination.max_share")

    def refresh(self) -> None:
        m, c = self.model, self.pars
        self._lang_on = np.array([lg in c.languages for lg in LANGUAGES])
        self._first = m.sc.day_index(c.start) if c.start else -m.warmup
        self._last = m.sc.day_index(c.end) if c.end else m.n_days
        self._recall_loss = observation_of(m.sc).evasion_recall_loss
        self._discovery = np.array([m.sc.platforms[n].discovery for n in m.open_names])

    def idle(self) -> bool:
        return self.pars.campaigns_per_day <= 0.0

    def init(self) -> None:
        super().init()
        n_open = len(self.model.open_names)
        self._counts = np.zeros((len(METRICS), n_open))
        self._general: np.ndarray | None = None
        self._cols = [self.columns(name) for name, _, _ in METRICS]

    def post(self, d: int) -> None:
        self._counts.fill(0.0)
        self._general = None
        c = self.pars
        if c.campaigns_per_day <= 0.0 or not self._first <= d <= self._last:
            return
        m = self.model
        rng = m.streams["coordination"]
        today, acc = m.today, m.accounts
        act = today.act
        n_camp = int(rng.poisson(c.campaigns_per_day))
        if n_camp == 0 or act.size == 0:
            return
        n_open = len(m.open_names)
        group = acc.platform[act].astype(np.int64) * 3 + acc.language[act]
        eligible = np.flatnonzero(self._lang_on[acc.language[act]])
        if eligible.size == 0:
            return
        # the campaigns: organisers, shares, hijacks
        organiser = eligible[rng.integers(0, eligible.size, n_camp)]
        share = rng.uniform(c.min_share, c.max_share, n_camp)
        hijack = rng.random(n_camp) < c.hijack_share
        # their members: the posters of the organiser's platform and language, group by group
        # of the groups with a campaign (a few passes over the posters, no sort), each member
        # of each campaign with a uniform of its own (all at once)
        g = group[organiser]
        members, camps = [], []
        for gg in np.unique(g).tolist():
            in_group = np.flatnonzero(group == gg)
            of_group = np.flatnonzero(g == gg)
            members.append(np.tile(in_group, of_group.size))
            camps.append(np.repeat(of_group, in_group.size))
        member, camp = np.concatenate(members), np.concatenate(camps)
        joins = rng.random(member.size) < share[camp]
        member, camp = member[joins], camp[joins]
        extra = rng.poisson(c.extra_posts, member.size).astype(np.int64)
        n_part = np.bincount(camp, minlength=n_camp)
        trending = n_part * m.scale >= c.trending_threshold
        t_mult = np.where(trending, c.trending_multiplier, 1.0)[camp]
        h_mult = np.where(hijack, c.hijack_multiplier, 1.0)[camp]
        # the posters' extra posts and the discovery of their day
        k0 = today.k
        k = k0 + np.bincount(member, extra, minlength=act.size).astype(np.int64)
        weighted = np.bincount(member, extra * t_mult, minlength=act.size)
        today.k = k
        if trending.any():
            today.discovery_boost = np.where(k > 0, (k0 + weighted) / np.maximum(k, 1), 1.0)
        if hijack.any():
            self._general = np.bincount(member, extra * t_mult * (h_mult - 1.0), minlength=act.size)
        # the day's counts per open platform
        c_plat = acc.platform[act[organiser]]
        m_plat = acc.platform[act[member]]
        self._counts[0] = np.bincount(c_plat, minlength=n_open)
        self._counts[1] = np.bincount(c_plat, trending, minlength=n_open)
        self._counts[2] = np.bincount(c_plat, hijack, minlength=n_open)
        self._counts[3] = np.bincount(acc.platform[act[np.unique(member)]], minlength=n_open)
        self._counts[4] = np.bincount(m_plat, extra, minlength=n_open)

    def expose(self, d: int) -> None:
        """Discovery of hijacked campaigns' posts by users of any language."""
        general = self._general
        if general is None:
            return
        m = self.model
        u, acc, today = m.users, m.accounts, m.today
        sel = np.flatnonzero(general > 0)
        if sel.size == 0:
            return
        act = today.act[sel]
        plat = acc.platform[act]
        loss = self._recall_loss
        ev = acc.evasion[act].astype(np.float64)
        mean = general[sel] * (self._discovery * today.discovery_factor)[plat] * (1.0 - loss * ev)
        frac = np.diff(u.lang_start) / u.n  # views by any user: per language, by its size
        cand_users, cand_acc, views = kernels.outside_views(
            np.repeat(act, 3),
            np.tile(np.arange(3), act.size),
            (mean[:, None] * frac[None, :]).ravel(),
            m.sc.population.follow_prob,
            u.lang_start,
            u.n,
            u.pro_dose,
            u.dosed,
            m.streams.handle("coordination"),
        )
        if cand_users.size:
            today.follows.append(FollowCandidates(cand_users, 1.0, cand_acc.__getitem__))
        n_open = today.tally.impressions.size
        today.tally.impressions += np.bincount(np.repeat(plat, 3), views, minlength=n_open).astype(
            np.int64
        )

    def record(self, d: int, row: np.ndarray) -> None:
        s = self.model.scale
        counts = self._counts.tolist()
        for j, (cols, values) in enumerate(zip(self._cols, counts, strict=True)):
            factor = s if j >= 3 else 1.0  # campaigns are drawn in real-world numbers
            for col, v in zip(cols, values, strict=True):
                row[col] = v * factor
