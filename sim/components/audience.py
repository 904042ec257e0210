"""Audience churn: users leave the at-risk audience and newcomers take their place.

The modelled audience (``population.users``) is the at-risk audience: users whom pro-IS content
can reach on the open platforms. Without churn it is the same people for the whole run, so its
most susceptible members are recruited early and the 30-day reach can only saturate. With
``audience.churn_per_day`` = ``c`` > 0, each day ``Binomial(N, c)`` user indices are drawn
uniformly (``N`` simulated users; an index drawn twice counts once) and those users leave; each
is replaced, in its index (so with its language), by a newcomer drawn as at the start
(``sim.core.state.churn.replace_users``). A leaver who follows no pro account is replaced the
same day; one who follows some is queued and replaced at the next sweep (every
``audience.sweep_days`` days), when one compiled pass over the follower pool removes the follow
edges of all queued leavers (``sim.core.state.churn.drop_follows``). The churn runs at the
``start`` of the day (after the timeline's events, before re-created accounts come back and
anything is posted or seen), so the day's reach, recruits and states are all of the audience
of that day.

Draws come from the stream ``churn`` only, and nothing is drawn while ``churn_per_day`` is 0
(the default): the run is then the same as without this component.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from sim.config.schema import P, Strict
from sim.core import kernels
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel
from sim.core.state.churn import drop_follows, replace_users


class AudienceChurn(Strict):
    churn_per_day: float = P(
        0.0,
        "Share of the at-risk audience that leaves each day, each leaver replaced by a newcomer "
        "drawn as at the start (0 = the same audience for the whole run)",
        "1/day",
        ge=0,
        le=0.05,
    )
    sweep_days: int = P(
        30,
        "Days between the passes that remove the follow edges of leavers who follow pro "
        "accounts (such a leaver leaves at the next pass; the others the day they are drawn); "
        "a pass reads every follow edge (about 0.2 s at full scale)",
        "days",
        ge=1,
        le=365,
    )


class Audience(Component):
    """Users leaving and entering the at-risk audience."""

    name = "audience"
    section = "audience"
    section_type = AudienceChurn
    section_doc = "Churn of the at-risk audience: users leaving it, newcomers entering it"
    streams: ClassVar = ("churn",)
    metrics: ClassVar = (
        MetricSpec(
            "users_replaced",
            "global",
            "users/day",
            "Users who left the at-risk audience that day, each replaced by a newcomer "
            "(audience churn; 0 without it)",
        ),
        MetricSpec(
            "reach_share_30d",
            "global",
            "share",
            "Share of the current at-risk audience (population.users) reached by pro content in "
            "the last 30 days: users_reached_30d / population.users",
        ),
    )
    figures: ClassVar = (
        FigureSpec(
            "audience_churn",
            "The at-risk audience: 30-day reach and churn",
            (
                Panel("Share reached in 30 days", (Line("reach_share_30d"),), ratio=True),
                Panel(
                    "Users replaced (7-day mean)",
                    (Line("users_replaced", stat="mean", days=7),),
                ),
            ),
        ),
    )

    def init(self) -> None:
        super().init()
        n = self.model.users.n
        self.queued = np.zeros(n, dtype=bool)  # leavers waiting for the next sweep
        self._marks = kernels.new_marks(n)  # (the day's drawn leavers; cleared when read)
        self.queue: list[np.ndarray] = []
        self.replaced = 0
        self._cols = [self.column(m.name) for m in self.metrics]

    def hooks(self) -> dict[str, Callable[..., None]]:
        hooks = super().hooks()
        if self.pars.churn_per_day <= 0 and not self.queue:
            del hooks["start"]  # (no churn, no leaver waiting for a sweep: nothing to do)
        return hooks

    def start(self, d: int) -> None:
        m = self.model
        u, par = m.users, self.pars
        self.replaced = 0
        c = par.churn_per_day
        if c > 0:
            rng = m.streams["churn"]
            n_leave = int(rng.binomial(u.n, c))
            if n_leave:
                # (``np.unique`` of the draws through a bit set: no sort)
                kernels.set_marks(self._marks, rng.integers(0, u.n, size=n_leave))
                drawn = kernels.marked_users(self._marks, kernels.DEBRUIJN_POS)
                drawn = drawn[~self.queued[drawn]]
                follows = u.n_following[drawn] > 0
                later = drawn[follows]
                if later.size:
                    self.queued[later] = True
                    self.queue.append(later)
                self._replace(drawn[~follows], d)
        if self.queue and (d + m.warmup) % par.sweep_days == 0:
            leavers = np.sort(np.concatenate(self.queue))
            self.queue = []
            self.queued[leavers] = False
            g = m.graph
            drop_follows((g.pool, g.start, g.length, g.n_accounts), u, leavers)
            self._replace(leavers, d)

    def _replace(self, leavers: np.ndarray, d: int) -> None:
        m = self.model
        replace_users(m.users, leavers, d, m.sc.population, m.streams["churn"], m.channels)
        self.replaced += int(leavers.size)

    def record(self, d: int, row: np.ndarray) -> None:
        u = self.model.users
        c_replaced, c_reach = self._cols
        row[c_replaced] = self.replaced * self.model.scale
        row[c_reach] = u.reached_30d() / u.n
        self.replaced = 0  # (``start`` counts the next day's, when it runs)
