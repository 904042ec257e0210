"""Attitudes and follows: users respond to the day's pro and counter doses.

At ``update`` every user dosed today has their attitude relaxed toward its initial value
(``population.relaxation`` per day since the last update, in closed form) and moved by the
day's doses: up by ``population.pro_effect`` per unit of log pro dose, down by
``population.counter_effect`` per unit of log(1 + counter dose), both times the user's
susceptibility (``Users.apply_doses``, ``kernels.update_attitudes``). States follow from the
attitude (opposed, neutral, sympathizer, supporter: recruited, absorbing). A recruit is an
online supporter, a user whose attitude passed ``population.supporter_above``, not a fighter.
Then the day's follow candidates (exposure's shares, discovery and shout-outs) follow with
``p_base * engagement * room in their follow budget`` (``PropagandaModel.add_follows``).

Substantial exposure (section ``reach``): each user keeps a pro exposure that decays with time
constant ``reach.tau_days``, ``E <- E * exp(-(d - last) / tau) + n`` on each day ``d`` with
``n > 0`` pro views (``last`` the previous such day), and counts as exposed while
``E * exp(-(t - d) / tau) >= reach.threshold``; the count is kept in the same compiled loop
with a ring of expiry days (``kernels.update_attitudes``). Unlike ``users_reached_30d``, which
any single view keeps up for 30 days, it follows the volume of pro content users see.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from sim.config.schema import P, Strict
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel
from sim.core.state.users import NEUTRAL, OPPOSED, SUPPORTER, SYMPATHIZER

NAN = float("nan")


class ReachMeasure(Strict):
    tau_days: float = P(
        30.0,
        "Time constant of the decayed pro exposure behind users_exposed: a view counts "
        "exp(-t / tau_days) after t days",
        "days",
        ge=1,
        le=365,
    )
    threshold: float = P(
        0.0,
        "Decayed pro exposure (views) at or above which a user counts as substantially exposed "
        "(e.g. 10 with tau_days 30: a steady view every 3 days or so); 0, the default: not "
        "measured (it costs about a third of a run's time at 1:20)",
        "views",
        ge=0,
        le=1000,
    )
    tracked_users: int = P(
        250_000,
        "Users whose substantial exposure is followed: in a larger population every k-th user "
        "(k the largest power of two leaving at least this many), and users_exposed is scaled "
        "up from them (at 250,000 the sampling error of exposed_share is below 0.1 percentage "
        "point); 0: every user (exact, a tenth of a full-scale run's time)",
        "users",
        ge=0,
        le=100_000_000,
    )


class Attitudes(Component):
    """Attitude updates, states, recruits and follows."""

    name = "attitudes"
    section = "reach"
    section_type = ReachMeasure
    section_doc = (
        "Substantial exposure (users_exposed): time constant and threshold of the decayed pro "
        "exposure; a measure only, it changes nothing in the run"
    )
    fixed_at_start: ClassVar = ("reach.tau_days", "reach.threshold", "reach.tracked_users")
    metrics: ClassVar = (
        MetricSpec("users_reached", "global", "users", "Users who saw pro content that day"),
        MetricSpec(
            "users_reached_30d",
            "global",
            "users",
            "Users of the current at-risk audience who saw pro content in the last 30 days "
            "(users who left it under audience churn no longer count)",
        ),
        MetricSpec("opposed", "global", "users", "Users opposed to IS"),
        MetricSpec("neutral", "global", "users", "Neutral users"),
        MetricSpec(
            "sympathizers", "global", "users", "Sympathizers (share and follow pro content)"
        ),
        MetricSpec(
            "supporters",
            "global",
            "users",
            "Supporters in the audience: online supporters, attitude past "
            "population.supporter_above (not fighters)",
        ),
        MetricSpec(
            "new_recruits",
            "global",
            "users/day",
            "Users recruited that day: their attitude passed population.supporter_above, making "
            "them online supporters (not fighters or travellers)",
        ),
        MetricSpec(
            "cumulative_recruits",
            "global",
            "users",
            "Recruits (online supporters) since the first reported day",
        ),
        MetricSpec(
            "users_exposed",
            "global",
            "users",
            "Users of the current at-risk audience substantially exposed to pro content: "
            "their pro views, each decayed by exp(-days since / reach.tau_days), add up to "
            "reach.threshold or more; NaN unless reach.threshold is set",
        ),
        MetricSpec(
            "exposed_share",
            "global",
            "share",
            "Share of the current at-risk audience substantially exposed to pro content: "
            "users_exposed / population.users; NaN unless reach.threshold is set",
        ),
    )

    figures: ClassVar = (
        FigureSpec(
            "reach",
            "Users reached by pro-IS content",
            (
                Panel(
                    "Users reached",
                    (
                        Line("users_reached", "that day"),
                        Line("users_reached_30d", "in the last 30 days"),
                        Line("users_exposed", "substantially exposed"),
                    ),
                ),
            ),
        ),
        FigureSpec(
            "audience",
            "Sympathizers, supporters and recruits",
            (
                Panel("Sympathizers", (Line("sympathizers"),)),
                Panel("Supporters", (Line("supporters"),)),
                Panel("Cumulative recruits", (Line("cumulative_recruits"),)),
            ),
        ),
    )

    def init(self) -> None:
        super().init()
        self.cum_recruits = 0
        r = self.pars
        self.model.users.set_exposure(r.tau_days, r.threshold, r.tracked_users)
        self._exposure_on = self.pars.threshold > 0
        self._cols = [self.column(m.name) for m in self.metrics]

    def update(self, d: int) -> None:
        m = self.model
        reached, recruits = m.users.apply_doses(d, m.sc.population)
        m.today.reached, m.today.recruits = reached, recruits
        if m.today.follows:  # engaged users with room in their follow budget
            m.add_follows(m.today.follows)
        if d >= 0:
            self.cum_recruits += recruits.size

    def record(self, d: int, row: np.ndarray) -> None:
        m = self.model
        u, s = m.users, m.scale
        counts = u.counts.tolist()
        values = (
            m.today.reached * s,
            u.reached_30d() * s,
            counts[OPPOSED] * s,
            counts[NEUTRAL] * s,
            counts[SYMPATHIZER] * s,
            counts[SUPPORTER] * s,
            int(m.today.recruits.size) * s,
            self.cum_recruits * s,
            u.exposed() * s if self._exposure_on else NAN,
            u.exposed() / u.n if self._exposure_on else NAN,
        )
        for c, value in zip(self._cols, values, strict=True):  # (cheaper than an index array)
            row[c] = value
