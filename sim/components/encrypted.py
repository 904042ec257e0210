"""Encrypted platforms: private pro channels, their members, invite links and takedowns.

Channels (``sim.core.state.channels``) are opened by operators who migrated after a suspension
(``open_channel``, called by the operators component). Users join a channel when a sympathizer
sees an invite link posted on an open platform (a share ``platforms.<e>.invite_share`` of pro
posts carry one; exposure leaves the views in ``today``) and decides to join
(``platforms.<e>.join_prob`` times engagement); the channel is picked in proportion to its size
(popular channels grow). Members see ``channel_posts_per_day * view_prob`` channel posts a day.
Discovery is nil and moderation is limited to takedowns: a daily hazard
(``moderation.<e>.channel_takedown_rate``) and ``takedown`` events of the timeline, which remove
channels in proportion to their size; members of a removed channel lose it, and most owners
open a new channel after a delay.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any, ClassVar, Literal

import numpy as np

from sim.components.moderation import choose_purged, moderation_for, stochastic_round
from sim.config.schema import P, PlatformEvent, TimelineEvent
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel
from sim.core.state.channels import pick_channels
from sim.core.state.graph import scatter_add


class TakedownEvent(PlatformEvent):
    platform_kind: ClassVar[Literal["open", "encrypted"]] = "encrypted"

    action: Literal["takedown"] = "takedown"
    date: dt.date = P(..., "Day of the takedown")
    label: str = P("", "Free text")
    platform: str = P(..., "Encrypted platform")
    channels: float = P(..., "Channels removed (real-world)", "channels", ge=0, le=1e6)

    def describe(self) -> str:
        return f"takedown {self.channels:,.0f} channels ({self.platform})"


class Encrypted(Component):
    """Channels on the encrypted platforms: views, joins, takedowns."""

    name = "encrypted"
    family = "takedowns"
    events: ClassVar = (TakedownEvent,)
    streams: ClassVar = ("exposure", "follow", "moderation", "operators")
    metrics: ClassVar = (
        MetricSpec("members", "encrypted", "users", "Users in pro channels"),
        MetricSpec("channels", "encrypted", "channels", "Active pro channels"),
        MetricSpec("channel_posts", "encrypted", "posts/day", "Pro posts in channels"),
        MetricSpec("channel_takedowns", "encrypted", "channels/day", "Channels taken down"),
    )
    rules: ClassVar = {"timeline[]": "A `takedown` needs an encrypted platform."}

    figures: ClassVar = (
        FigureSpec(
            "encrypted",
            "Encrypted platforms",
            (
                Panel("Members of pro channels", (Line("members"),)),
                Panel("Active pro channels", (Line("channels"),)),
            ),
        ),
    )

    def refresh(self) -> None:
        sc = self.model.sc
        enc = [sc.platforms[n] for n in self.model.enc_names]
        self.pull = np.array([p.pull for p in enc])
        self.pull_total = float(sum(p.pull for p in enc))
        self.join_prob = np.array([p.join_prob for p in enc])
        self.channel_posts = np.array([p.channel_posts_per_day for p in enc])
        self.channel_views = np.array([p.channel_posts_per_day * p.view_prob for p in enc])
        self.takedown_rate = [
            moderation_for(sc, n).channel_takedown_rate for n in self.model.enc_names
        ]

    def init(self) -> None:
        super().init()
        self._cols = [
            self.columns(m) for m in ("members", "channels", "channel_posts", "channel_takedowns")
        ]

    def expose(self, d: int) -> None:
        """Channel posts seen by members of encrypted channels."""
        m = self.model
        if m.channels.n:
            u = m.users
            members = u.members
            if members.size:
                mean = self.channel_views[m.channels.platform[u.member_channel[members]]]
                u.add_pro_views(np.repeat(members, m.streams["exposure"].poisson(mean)))

    def channels(self, d: int) -> None:
        """Channel joins through invite links; channel takedowns by hazard."""
        m = self.model
        if not m.enc_names:
            return
        u, ch, today = m.users, m.channels, m.today
        frng = m.streams["follow"]
        if today.invite_user and ch.n:
            plat = np.concatenate(today.invite_platform)
            usr = np.concatenate(today.invite_user)
            join_p = self.join_prob[plat]
            ok = (u.member_channel[usr] < 0) & (frng.random(usr.size) < join_p * u.engagement(usr))
            usr, plat = usr[ok], plat[ok]
            usr, first = np.unique(usr, return_index=True)
            plat = plat[first]
            for e in range(len(m.enc_names)):
                sel = usr[plat == e]
                chosen = pick_channels(ch, ch.active_ids(e), sel.size, frng)
                if chosen.size:
                    u.join_channels(sel, chosen)
                    scatter_add(ch.members, chosen, 1)
        mrng = m.streams["moderation"]
        for e, name in enumerate(m.enc_names):
            rate = self.takedown_rate[e]
            cands = ch.active_ids(e)
            if rate > 0 and cands.size:
                self.remove_channels(cands[mrng.random(cands.size) < rate], name)

    def handle(self, event: TimelineEvent) -> None:
        """A takedown: remove ``channels`` (real-world) channels, the largest first in
        expectation."""
        assert isinstance(event, TakedownEvent)
        m = self.model
        rng = m.streams["moderation"]
        e = m.enc_names.index(event.platform)
        cands = m.channels.active_ids(e)
        w = m.channels.members[cands] + 1.0
        n = stochastic_round(event.channels / m.scale, rng)
        self.remove_channels(cands[choose_purged(w, n, rng)], event.platform)

    def open_channel(self, op: Any, platform: int, d: int) -> None:
        """Operator ``op`` opens a channel on encrypted platform number ``platform``."""
        op.channels += 1
        self.model.channels.add(platform=[platform], operator=op.index, created=d)

    def remove_channels(self, ids: np.ndarray, platform: str) -> None:
        if ids.size == 0:
            return
        m = self.model
        ch, u = m.channels, m.users
        ch.active[ids] = False
        u.leave_channels(ids)
        ch.members[ids] = 0
        m.today.tally.takedowns[m.enc_names.index(platform)] += ids.size
        rng = m.streams["operators"]
        ops = m.sc.accounts.operators
        for c in ids.tolist():
            op = m.operators[int(ch.operator[c])]
            op.channels -= 1
            if rng.random() >= ops.quit_base:  # most channel owners simply open a new one
                delay = max(1, round(rng.exponential(ops.recreate_delay_days)))
                e = int(ch.platform[c])
                when = m.day + 1 + delay
                m.at(when, partial(self.open_channel, op, e, when))

    def record(self, d: int, row: np.ndarray) -> None:
        m = self.model
        ch, s, tally = m.channels, m.scale, m.today.tally
        c_mem, c_ch, c_posts, c_down = self._cols
        for e in range(len(m.enc_names)):
            live = ch.active_ids(e)
            row[c_mem[e]] = float(ch.members[live].sum()) * s
            row[c_ch[e]] = live.size * s
            row[c_posts[e]] = live.size * self.channel_posts[e] * s
            row[c_down[e]] = tally.takedowns[e] * s
