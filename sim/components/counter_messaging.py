"""Counter-messaging: campaigns of government and credible voices, and organic counter speech.

A campaign is one group of the scenario's ``counter`` section (a ``CounterCampaign``, a Mesa
agent switched on and off by scheduled events at its ``start`` and ``end``). While active, its
messengers post every day; each post is seen by the mean view probability of the open platforms
times the messenger's followers (real-world followers / scale simulated users), ``targeting``
of them users of the campaign's language (``kernels.counter_views``). The effect of a view on a
user's counter dose is ``credibility`` times 1 for a language match or
``population.language_mismatch`` otherwise.

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

from sim.config.schema import LANGUAGES, DateSpan, Language, P
from sim.core import kernels
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel, drop_set_values
from sim.core.state.users import OPPOSED

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
        0.7, "Share of impressions landing on users of the message's language", "", ge=0, le=1
    )
    start: dt.date | None = P(None, "First day of the campaign (default: scenario start)")
    end: dt.date | None = P(None, "Last day of the campaign (default: scenario end)")


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
    rules: ClassVar = {"counter.<group>": "`end` may not be before `start`."}
    streams: ClassVar = ("counter",)
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
        self.mean_open_view = float(np.mean([p.view_prob for p in op]))

    def init(self) -> None:
        super().init()
        m = self.model
        self.campaigns = [CounterCampaign(m, n, g) for n, g in self.pars.items()]
        self.volume_avg = 0.0
        self._c_anti = self.columns("anti_posts_true")
        self._c_global = np.array(
            [self.column(f"counter_posts_{k}") for k in ("government", "credible", "organic")]
        )

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
        for c in self.campaigns:
            if not c.active:
                continue
            n = c.n_views(self.mean_open_view, m.scale, crng)
            kernels.counter_views(
                n,
                c.group.targeting,
                c.language,
                c.group.credibility,
                p.language_mismatch,
                u.lang_start,
                u.language,
                u.counter_dose,
                u.dosed,
                h,
            )
        organic = m.today.organic
        n_org = crng.poisson(organic / m.scale * p.organic_reach) if organic > 0 else 0
        if n_org:  # (any users: no targeting, no language)
            kernels.counter_views(
                n_org, 0.0, 0, p.organic_credibility, 1.0, u.lang_start, u.language,
                u.counter_dose, u.dosed, h,
            )  # fmt: skip

    def record(self, d: int, row: np.ndarray) -> None:
        today = self.model.today
        gov, cred, organic = today.campaign["government"], today.campaign["credible"], today.organic
        campaign_real = gov + cred + organic
        today.anti_true = anti = [campaign_real * float(a) for a in self.anti_share]
        for i, c in enumerate(self._c_anti):
            row[c] = anti[i]
        row[self._c_global] = (gov, cred, organic)
