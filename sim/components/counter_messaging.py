"""Counter-messaging: campaigns of government and credible voices, and organic counter speech.

A campaign is one group of the scenario's ``counter`` section (a ``CounterCampaign``, a Mesa
agent switched on and off by scheduled events at its ``start`` and ``end``). While active, its
messengers post every day; each post is seen by the mean view probability of the open platforms
times the messenger's followers (real-world followers / scale simulated users), ``targeting``
of them users of the campaign's language (``kernels.counter_views``). The effect of a view on a
user's counter dose is ``credibility`` times 1 for a language match or
``population.language_mismatch`` otherwise.

A campaign can aim narrower (``exposed_within_days``, ``attitude_min``/``attitude_max``): its
targeted views then land on the users of its language reached by pro content on one of the
last N days and with today's attitude in the band (``kernels.target_users``, rebuilt each day
the campaign runs; ``kernels.campaign_views``). It can backfire (``backfire`` = ``beta`` > 0):
each view by a sympathizer or supporter adds, with probability ``beta * (1 - credibility)``,
one pro view to the viewer's dose (``kernels.backfire_views``, stream ``backfire``), the stage
that direct, low-credibility messaging gives pro voices (Katz 2014; Miller & Higham 2015).

Opposed users post organic counter content: ``population.organic_counter_rate`` posts each a
day, more as campaigns mobilise them (``population.mobilization`` times log(1 + the campaign
volume per 1,000 posts a day, averaged over about 30 days)); each is seen by
``population.organic_reach`` random users with credibility ``population.organic_credibility``.

Counter posts are anti-IS content on every open platform, split by the platforms' account
shares (``anti_posts_true``); what a keyword classifier finds of them is observation's part.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import mesa
import numpy as np
from pydantic import model_validator

from sim.config.problems import problem
from sim.config.schema import LANGUAGES, DateSpan, Language, P
from sim.core import kernels
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel, drop_set_values
from sim.core.state.users import OPPOSED, SYMPATHIZER

if TYPE_CHECKING:
    from sim.core.model import PropagandaModel

MOBILIZATION_DAYS = 30  # averaging window of campaign volume that mobilises opposed users


class CounterGroup(DateSpan):
    """A counter-messaging campaign: a set of messengers active between two dates."""

    kind: Literal["government", "credible"] = P("government", "Who speaks")
    language: Language = P("english", "Language of the messages")
    messengers: int = P(
        50, "Number of messengers (not scaled: they are few)", "messengers", ge=0, le=1_000_000
    )
    credibility: float = P(0.2, "Credibility with the audience", "0..1", ge=0, le=1)
    posts_per_day: float = P(10.0, "Posts per messenger per day", "posts/day", ge=0, le=10_000)
    followers: float = P(
        20_000.0, "Followers per messenger (real-world)", "followers", ge=0, le=1e8
    )
    targeting: float = P(
        0.7,
        "Share of impressions landing on the campaign's target users: users of the message's "
        "language, narrowed by exposed_within_days and the attitude band if these are set "
        "(the other impressions land on random users)",
        "",
        ge=0,
        le=1,
    )
    exposed_within_days: int = P(
        0,
        "Aim at users reached by pro content on one of the last N days (0 = no exposure "
        "criterion: every user of the language)",
        "days",
        ge=0,
        le=365,
    )
    attitude_min: float = P(
        -1.0, "Aim at users whose attitude today is at least this", "attitude", ge=-1, le=1
    )
    attitude_max: float = P(
        1.0, "Aim at users whose attitude today is at most this", "attitude", ge=-1, le=1
    )
    backfire: float = P(
        0.0,
        "Backfire among sympathizers: each view by a sympathizer or supporter adds one pro view "
        "with probability backfire * (1 - credibility) (the exchange gives pro voices a stage)",
        "",
        ge=0,
        le=1,
    )
    start: dt.date | None = P(None, "First day of the campaign (default: scenario start)")
    end: dt.date | None = P(None, "Last day of the campaign (default: scenario end)")

    @model_validator(mode="after")
    def _band(self) -> CounterGroup:
        if self.attitude_min > self.attitude_max:
            raise problem(
                f"attitude_min {self.attitude_min:g} is above attitude_max "
                f"{self.attitude_max:g}: the band aims at nobody",
                at=("attitude_max",),
            )
        return self

    @property
    def aimed(self) -> bool:
        """Whether the campaign aims at a narrower group than its language's users."""
        return self.exposed_within_days > 0 or self.attitude_min > -1 or self.attitude_max < 1


class CounterCampaign(mesa.Agent):
    """One counter-messaging group, active between its start and end dates."""

    model: PropagandaModel

    def __init__(self, model: PropagandaModel, name: str, group: CounterGroup) -> None:
        super().__init__(model)
        self.name = name
        self.group = group
        self.language = LANGUAGES.index(group.language)
        self.active = False

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def posts_today(self) -> float:
        """Real-world posts by the campaign today (messengers are not scaled)."""
        g = self.group
        return g.messengers * g.posts_per_day if self.active else 0.0

    def n_views(self, view_prob: float, scale: float, rng: np.random.Generator) -> int:
        """How many simulated users see the campaign's posts today (Poisson); who they are is
        drawn by ``kernels.counter_views`` (``targeting`` of them among the campaign's
        language)."""
        g = self.group
        mean = self.posts_today() * g.followers / scale * view_prob
        return int(rng.poisson(mean)) if mean > 0 else 0


class CounterMessaging(Component):
    """Counter campaigns and organic counter speech."""

    name = "counter_messaging"
    family = "counter-messaging"
    section = "counter"
    section_type = dict[str, CounterGroup]
    section_default = dict
    section_doc = "Counter-messaging campaigns, by group name"
    placeholders: ClassVar = {"counter": "<group>"}
    rules: ClassVar = {
        "counter.<group>": "`end` may not be before `start`; `attitude_min` may not be above "
        "`attitude_max`."
    }
    streams: ClassVar = ("counter", "backfire")
    metrics: ClassVar = (
        MetricSpec("anti_posts_true", "open", "posts/day", "Anti-IS posts (all counter kinds)"),
        MetricSpec(
            "counter_posts_government", "global", "posts/day", "Counter posts by government voices"
        ),
        MetricSpec(
            "counter_posts_credible", "global", "posts/day", "Counter posts by credible voices"
        ),
        MetricSpec(
            "counter_posts_organic", "global", "posts/day", "Counter posts by opposed users"
        ),
        MetricSpec(
            "counter_backfire_views",
            "global",
            "views/day",
            "Campaign views by sympathizers or supporters that backfired into a pro view "
            "(counter.<group>.backfire; 0 without it)",
        ),
        MetricSpec(
            "counter_target_users",
            "global",
            "users",
            "Users aimed at today by the campaigns that aim narrower than their language "
            "(exposure or attitude band; summed over campaigns, 0 if none)",
        ),
    )

    figures: ClassVar = (
        FigureSpec(
            "counter",
            "Counter-messaging posts per day (7-day mean)",
            (
                Panel(
                    "Counter posts by kind",
                    tuple(
                        Line(f"counter_posts_{kind}", kind, stat="mean", days=7)
                        for kind in ("government", "credible", "organic")
                    ),
                ),
            ),
        ),
    )

    @classmethod
    def switch_off(cls, data: dict[str, Any]) -> None:
        """No campaigns: every group without messengers (organic counter speech by opposed
        users stays; campaigns no longer mobilise it), and no ``set`` of a group's values."""
        for group in data.get("counter", {}).values():
            group["messengers"] = 0
        drop_set_values(data, lambda k: k.startswith("counter."))

    def refresh(self) -> None:
        sc = self.model.sc
        op = [sc.platforms[n] for n in self.model.open_names]
        share = np.array([p.account_share for p in op], dtype=float)
        # each open platform's part of counter speech: normalised account shares
        self.anti_share = share / share.sum() if share.sum() > 0 else np.ones_like(share)
        self._anti_share = self.anti_share.tolist()  # (for ``record``, in plain Python)
        self.mean_open_view = float(np.mean([p.view_prob for p in op]))
        # share of attitude deviations left after n days (the attitude band's relaxation)
        self.keep = kernels.keep_table(sc.population.relaxation)

    def init(self) -> None:
        super().init()
        m = self.model
        self.campaigns = [CounterCampaign(m, n, g) for n, g in self.pars.items()]
        self.volume_avg = 0.0
        self._c_anti = self.columns("anti_posts_true")
        self._c_global = [
            self.column(f"counter_posts_{k}") for k in ("government", "credible", "organic")
        ]
        self._c_aim = [self.column(k) for k in ("counter_backfire_views", "counter_target_users")]
        self.backfired = 0
        self.aimed_at = 0

    def schedule(self) -> None:
        m = self.model
        for c in self.campaigns:
            start = m.sc.day_index(c.group.start) if c.group.start else 0
            m.at(max(start, -m.warmup), c.start)
            if c.group.end is not None:
                m.at(m.sc.day_index(c.group.end) + 1, c.stop)

    def post(self, d: int) -> None:
        m = self.model
        campaign = {"government": 0.0, "credible": 0.0}
        for c in self.campaigns:
            campaign[c.group.kind] += c.posts_today()
        volume = campaign["government"] + campaign["credible"]
        alpha = 1.0 / MOBILIZATION_DAYS
        self.volume_avg += alpha * (volume - self.volume_avg)
        p = m.sc.population
        organic = (
            int(m.users.counts[OPPOSED])
            * m.scale
            * p.organic_counter_rate
            * (1.0 + p.mobilization * math.log1p(self.volume_avg / 1000.0))
        )
        m.today.campaign = campaign
        m.today.organic = float(organic)

    def expose(self, d: int) -> None:
        """Counter messages seen today, counted into the counter doses: campaigns' posts, and
        organic counter speech (``kernels.counter_views``)."""
        m = self.model
        u, p = m.users, m.sc.population
        crng = m.streams["counter"]
        h = m.streams.handle("counter")
        self.backfired = self.aimed_at = 0
        for c in self.campaigns:
            if not c.active:
                continue
            n = c.n_views(self.mean_open_view, m.scale, crng)
            g = c.group
            if not (g.aimed or g.backfire > 0):  # (aimed at the language, no backfire)
                kernels.counter_views(
                    n, g.targeting, c.language, g.credibility, p.language_mismatch,
                    u.lang_start, u.language, u.counter_dose, u.dosed, h,
                )  # fmt: skip
                continue
            target = np.zeros(0, dtype=np.int64)
            if g.aimed:
                target = self.target(c, d)
                self.aimed_at += target.size
            viewers = kernels.campaign_views(
                n, g.targeting, c.language, g.credibility, p.language_mismatch, target,
                g.aimed, u.lang_start, u.language, u.counter_dose, u.dosed, h,
            )  # fmt: skip
            if g.backfire > 0:
                self.backfired += kernels.backfire_views(
                    viewers,
                    g.backfire * (1.0 - g.credibility),
                    u.state,
                    SYMPATHIZER,
                    u.pro_dose,
                    u.dosed,
                    m.streams.handle("backfire"),
                )
        organic = m.today.organic
        n_org = crng.poisson(organic / m.scale * p.organic_reach) if organic > 0 else 0
        if n_org:  # (any users: no targeting, no language)
            kernels.counter_views(
                n_org, 0.0, 0, p.organic_credibility, 1.0, u.lang_start, u.language,
                u.counter_dose, u.dosed, h,
            )  # fmt: skip

    def target(self, c: CounterCampaign, d: int) -> np.ndarray:
        """The users campaign ``c`` aims at on day ``d`` (``kernels.target_users``): users of
        its language reached by pro content on one of the last ``exposed_within_days`` days
        and with today's attitude in [``attitude_min``, ``attitude_max``]."""
        u, g = self.model.users, c.group
        return kernels.target_users(
            u.lang_start[c.language],
            u.lang_start[c.language + 1],
            d,
            g.exposed_within_days,
            (g.attitude_min, g.attitude_max),
            (u.last_reached, u.last_update, u.attitude, u.baseline),
            self.keep,
        )

    def record(self, d: int, row: np.ndarray) -> None:
        today = self.model.today
        gov, cred, organic = today.campaign["government"], today.campaign["credible"], today.organic
        campaign_real = gov + cred + organic
        today.anti_true = anti = [campaign_real * a for a in self._anti_share]
        for i, c in enumerate(self._c_anti):
            row[c] = anti[i]
        # (scalar stores: a store through an index array costs more for a few values)
        c_gov, c_cred, c_organic = self._c_global
        row[c_gov], row[c_cred], row[c_organic] = gov, cred, organic
        s = self.model.scale
        c_backfire, c_target = self._c_aim
        row[c_backfire], row[c_target] = self.backfired * s, self.aimed_at * s
