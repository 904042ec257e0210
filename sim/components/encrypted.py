"""Encrypted platforms: pro channels, their members, invite links, search, hubs and takedowns.

Channels (``sim.core.state.channels``) are opened by operators who migrated after a suspension
(``open_channel``, called by the operators component), and, from ``channels.<e>.hubs_date``,
by official operators who open ``channels.<e>.hubs`` public hub channels. A new channel of a
migrant is public with probability ``channels.<e>.public_share``. Users join a channel:

- through invite links: a sympathizer sees an invite link posted on an open platform (a share
  ``platforms.<e>.invite_share`` of pro posts carry one; exposure leaves the views in
  ``today``) and decides to join (``platforms.<e>.join_prob`` times engagement);
- by search (``channels.<e>.search_rate``): random users of the audience find a public
  channel by search and join it with probability engagement;
- by following a removed channel to its successor (``channels.<e>.successor_find_prob`` a day,
  for ``successor_search_days``).

The channel a link or a search leads to is drawn with weight ``(members + 1) ** attachment``,
times ``public_weight`` for a public channel and ``hub_weight`` for a hub (defaults: members + 1,
popular channels grow). Members see ``channel_posts_per_day * view_prob`` channel posts a day.
Moderation is limited to takedowns: a daily hazard (``moderation.<e>.channel_takedown_rate``)
and ``takedown`` events of the timeline, which remove a number of channels chosen in proportion
to their size (default), the largest, or at random, among all or only public channels; members
of a removed channel lose it, and most owners open a successor after a delay.

Off by default: with the ``channels`` section's defaults every draw is the one of the model
before public channels existed (new draws use the ``channels`` stream).
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import model_validator

from sim.components.moderation import choose_purged, moderation_for, stochastic_round
from sim.components.operators import Operator
from sim.config.problems import problem
from sim.config.schema import P, PlatformEvent, ScenarioBase, Strict, TimelineEvent
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
from sim.core.state.channels import join_weights, pick_channels, real_sizes, top_share
from sim.core.state.graph import scatter_add

BIG = 1000  # members from which a channel counts in ``channels_1000``
TOP = 10.0  # real-world channels of ``top10_share``


class Channels(Strict):
    """Public channels, hubs, search and successors on one encrypted platform."""

    public_share: float = P(
        0.0,
        "Share of new migrants' channels that are public (found by search; else invite-only)",
        "",
        ge=0,
        le=1,
    )
    attachment: float = P(
        1.0,
        "Exponent of preferential joining: a link or search leads to a channel with weight "
        "(members + 1) ** attachment",
        "",
        ge=0,
        le=2,
    )
    public_weight: float = P(
        1.0,
        "Relative weight of a public channel when a link or search picks a channel",
        "",
        ge=0,
        le=10_000,
    )
    hubs: int = P(
        0,
        "Official public hub channels opened on hubs_date (each simulated as one real channel "
        "at any scale)",
        "channels",
        ge=0,
        le=100,
    )
    hubs_date: dt.date | None = P(None, "Day the official hub channels open")
    hub_weight: float = P(
        1.0,
        "Relative weight of a hub (official channel, or its successor) when a link or search "
        "picks a channel",
        "",
        ge=0,
        le=1_000_000,
    )
    search_rate: float = P(
        0.0,
        "Daily probability that a user of the audience finds a public channel of this "
        "platform by search (a searcher in no channel joins it with probability engagement: "
        "1 for sympathizers and supporters, 0.1 for neutral users)",
        "1/day",
        ge=0,
        le=1,
    )
    successor_find_prob: float = P(
        0.0,
        "Daily probability that a former member of a removed channel finds its successor "
        "(the owner's new channel) and joins it",
        "1/day",
        ge=0,
        le=1,
    )
    successor_search_days: float = P(
        30.0,
        "Days a former member of a removed channel looks for its successor",
        "days",
        ge=1,
        le=365,
    )

    @model_validator(mode="after")
    def _hubs_have_a_date(self) -> Channels:
        if self.hubs > 0 and self.hubs_date is None:
            raise problem("hubs need a hubs_date (the day they open)", at=("hubs",))
        return self


class TakedownEvent(PlatformEvent):
    platform_kind: ClassVar[Literal["open", "encrypted"]] = "encrypted"

    action: Literal["takedown"] = "takedown"
    date: dt.date = P(..., "Day of the takedown")
    label: str = P("", "Free text")
    platform: str = P(..., "Encrypted platform")
    channels: float = P(..., "Channels removed (real-world)", "channels", ge=0, le=1e6)
    target: Literal["proportional", "largest", "random"] = P(
        "proportional",
        "Which channels: drawn in proportion to members + 1, the largest by members, or at random",
    )
    public_only: bool = P(False, "Only public channels are taken down (the platform sees them)")

    def describe(self) -> str:
        which = "" if self.target == "proportional" else f" {self.target}"
        public = " public" if self.public_only else ""
        return f"takedown {self.channels:,.0f}{which}{public} channels ({self.platform})"


class Encrypted(Component):
    """Channels on the encrypted platforms: views, joins, hubs, successors, takedowns."""

    name = "encrypted"
    family = "takedowns"
    section = "channels"
    section_type = dict[str, Channels]
    section_default = dict
    section_doc = "Public channels, hubs, search and successors, by encrypted platform name"
    placeholders: ClassVar = {"channels": "<platform>"}
    events: ClassVar = (TakedownEvent,)
    streams: ClassVar = ("exposure", "follow", "moderation", "operators", "channels")
    metrics: ClassVar = (
        MetricSpec("members", "encrypted", "users", "Users in pro channels"),
        MetricSpec("channels", "encrypted", "channels", "Active pro channels"),
        MetricSpec("channel_posts", "encrypted", "posts/day", "Pro posts in channels"),
        MetricSpec("channel_takedowns", "encrypted", "channels/day", "Channels taken down"),
        MetricSpec(
            "public_channels", "encrypted", "channels", "Active public (searchable) channels"
        ),
        MetricSpec(
            "largest_channel",
            "encrypted",
            "members",
            "Members of the largest active channel (a per-channel figure, not scaled); 0 if none",
        ),
        MetricSpec(
            "top10_share",
            "encrypted",
            "fraction",
            "Share of members in the 10 largest channels (real-world: the 10/scale largest "
            "simulated ones); NaN if no member",
        ),
        MetricSpec(
            "channels_1000", "encrypted", "channels", "Active channels with at least 1,000 members"
        ),
        MetricSpec(
            "channel_joins",
            "encrypted",
            "users/day",
            "Users joining a channel (invite links, search, successors)",
        ),
    )
    rules: ClassVar = {
        "channels.<platform>": "Every name must be an encrypted platform defined in `platforms`; "
        "`hubs` need a `hubs_date`.",
        "timeline[]": "A `takedown` needs an encrypted platform.",
    }

    figures: ClassVar = (
        FigureSpec(
            "encrypted",
            "Encrypted platforms",
            (
                Panel("Members of pro channels", (Line("members"),)),
                Panel("Active pro channels", (Line("channels"),)),
                Panel(
                    "Members of the largest channel",
                    (Line("largest_channel"),),
                    ("largest_channel",),
                ),
            ),
        ),
    )

    @classmethod
    def check(cls, scenario: ScenarioBase) -> None:
        enc = scenario.platform_names("encrypted")
        for name in getattr(scenario, "channels", {}):
            if name not in enc:
                raise problem(
                    f"channels names platform {name!r}, which is not an encrypted platform "
                    f"of platforms (choose from {enc})",
                    at=("channels", name),
                    value=name,
                    choices=enc if name not in scenario.platforms else None,
                )

    def settings(self, platform: str) -> Channels:
        """The ``channels`` settings of an encrypted platform (defaults if none are given)."""
        section: dict[str, Channels] = self.pars
        return section.get(platform) or Channels()

    @classmethod
    def switch_off(cls, data: dict[str, Any]) -> None:
        """No takedowns: every channel takedown hazard at zero, no ``takedown`` events and no
        ``set`` of the hazard."""
        for section in data.get("moderation", {}).values():
            section["channel_takedown_rate"] = 0.0
        drop_events(data, "takedown")
        drop_set_values(data, lambda k: keyed_field(k, "moderation", ("channel_takedown_rate",)))

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
        self.cfg = [self.settings(n) for n in self.model.enc_names]

    def idle(self) -> bool:
        return not self.model.enc_names  # (no encrypted platform: nothing to do or record)

    def init(self) -> None:
        super().init()
        m = self.model
        self._cols = [self.columns(s.name) for s in self.metrics]
        n_enc = len(m.enc_names)
        self.joins = np.zeros(n_enc, dtype=np.int64)  # the day's joins, per platform
        # hubs removed (cumulative, and up to the last recorded day): one real channel each
        self._hubs_removed = np.zeros(n_enc, dtype=np.int64)
        self._hubs_recorded = np.zeros(n_enc, dtype=np.int64)
        self.has_hubs = False
        self.channel_posts_today = 0.0  # real-world channel posts of the day (``record``)
        # former members of removed channels looking for the successor: user, removed
        # channel, last day of the search
        self._seek_user = np.zeros(0, dtype=np.int64)
        self._seek_from = np.zeros(0, dtype=np.int64)
        self._seek_until = np.zeros(0, dtype=np.int64)

    def schedule(self) -> None:
        m = self.model
        for e, cfg in enumerate(self.cfg):
            if cfg.hubs > 0 and cfg.hubs_date is not None:
                day = m.sc.day_index(cfg.hubs_date)
                m.at(day, partial(self.open_hubs, e, day))

    # --- the day ------------------------------------------------------------------------
    def expose(self, d: int) -> None:
        """Channel posts seen by members of encrypted channels."""
        m = self.model
        if m.channels.n:
            u = m.users
            members = u.members
            if members.size:
                mean = self.channel_views[m.channels.platform[u.member_channel[members]]]
                u.add_pro_views(np.repeat(members, m.streams["exposure"].poisson(mean)))

    def _weights(self, e: int, cands: np.ndarray) -> np.ndarray:
        c = self.cfg[e]
        scale = self.model.scale if self.has_hubs else None
        return join_weights(
            self.model.channels, cands, c.attachment, c.public_weight, c.hub_weight, scale
        )

    def _join(self, e: int, users: np.ndarray, channels: np.ndarray) -> None:
        """``users`` (distinct, in index order, in no channel) join ``channels``."""
        m = self.model
        m.users.join_channels(users, channels)
        scatter_add(m.channels.members, channels, 1)
        self.joins[e] += users.size

    def channels(self, d: int) -> None:
        """Channel joins through invite links, search and successors; takedowns by hazard."""
        m = self.model
        if not m.enc_names:
            return
        u, ch, today = m.users, m.channels, m.today
        self.joins.fill(0)
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
                cands = ch.active_ids(e)
                chosen = pick_channels(ch, cands, sel.size, frng, self._weights(e, cands))
                if chosen.size:
                    self._join(e, sel, chosen)
        self._search(d)
        self._successors(d)
        mrng = m.streams["moderation"]
        for e, name in enumerate(m.enc_names):
            rate = self.takedown_rate[e]
            cands = ch.active_ids(e)
            if rate > 0 and cands.size:
                self.remove_channels(cands[mrng.random(cands.size) < rate], name)
        if d < 0:  # (takedowns of warm-up days are not reported)
            self._hubs_recorded[:] = self._hubs_removed

    def _search(self, d: int) -> None:
        """Users search the platforms for public channels (``search_rate``)."""
        m = self.model
        u, ch = m.users, m.channels
        for e, cfg in enumerate(self.cfg):
            if cfg.search_rate <= 0 or ch.n == 0:
                continue
            cands = ch.active_ids(e)
            cands = cands[ch.public[cands]]
            if cands.size == 0:
                continue
            rng = m.streams["channels"]
            usr = rng.integers(0, u.n, rng.poisson(cfg.search_rate * u.n))
            ok = (u.member_channel[usr] < 0) & (rng.random(usr.size) < u.engagement(usr))
            usr = np.unique(usr[ok])
            chosen = pick_channels(ch, cands, usr.size, rng, self._weights(e, cands))
            if chosen.size:
                self._join(e, usr, chosen)

    def _successors(self, d: int) -> None:
        """Former members of removed channels find the successors (``successor_find_prob``)."""
        if self._seek_user.size == 0:
            return
        m = self.model
        u, ch = m.users, m.channels
        succ = ch.successor[self._seek_from]
        ok = succ >= 0
        live = np.zeros(succ.size, dtype=bool)
        live[ok] = ch.active[succ[ok]]
        # still looking: in no channel, within the search, and the successor not removed
        keep = (u.member_channel[self._seek_user] < 0) & (self._seek_until >= d)
        keep &= ~ok | live
        self._seek_user, self._seek_from = self._seek_user[keep], self._seek_from[keep]
        self._seek_until, succ, live = self._seek_until[keep], succ[keep], live[keep]
        if not live.any():
            return
        p = np.array([c.successor_find_prob for c in self.cfg])[ch.platform[self._seek_from]]
        rng = m.streams["channels"]
        found = live & (rng.random(live.size) < p)
        usr, first = np.unique(self._seek_user[found], return_index=True)
        to = succ[found][first]
        for e in range(len(m.enc_names)):
            sel = ch.platform[to] == e
            if sel.any():
                self._join(e, usr[sel], to[sel])
        # (those who joined are dropped tomorrow: they are in a channel)

    def handle(self, event: TimelineEvent) -> None:
        """A takedown: remove ``channels`` (real-world) channels, chosen by ``target``."""
        assert isinstance(event, TakedownEvent)
        m = self.model
        rng = m.streams["moderation"]
        e = m.enc_names.index(event.platform)
        ch = m.channels
        cands = ch.active_ids(e)
        if event.public_only:
            cands = cands[ch.public[cands]]
        w = ch.members[cands] + 1.0
        n = stochastic_round(event.channels / m.scale, rng)
        if event.target == "largest":  # the largest real channels, ``channels`` of them
            size, count = real_sizes(ch, cands, m.scale)
            order = np.argsort(-size, kind="stable")
            before = np.cumsum(count[order]) - count[order]
            need = np.clip(event.channels - before, 0.0, count[order]) / count[order]
            # whole channels while the count is not reached; the last one by chance
            chosen = order[(need >= 1.0) | (rng.random(order.size) < need)]
        elif event.target == "random":
            chosen = choose_purged(np.ones(cands.size), n, rng)
        else:
            chosen = choose_purged(w, n, rng)
        self.remove_channels(cands[chosen], event.platform)

    def open_channel(
        self,
        op: Any,
        platform: int,
        d: int,
        predecessor: int = -1,
        hub: bool = False,
    ) -> None:
        """Operator ``op`` opens a channel on encrypted platform number ``platform``: a hub,
        the successor of a removed channel ``predecessor`` (same public/hub status), or a
        migrant's new channel (public with ``public_share``: ``open_channels``)."""
        if predecessor < 0 and not hub:
            self.open_channels(np.array([op.index]), np.array([platform]), d)
            return
        op.channels += 1
        ch = self.model.channels
        public = hub
        if predecessor >= 0:
            public, hub = bool(ch.public[predecessor]), bool(ch.hub[predecessor])
        ids = ch.add(platform=[platform], operator=op.index, created=d, public=public, hub=hub)
        if predecessor >= 0:
            ch.successor[predecessor] = ids[0]

    def open_channels(self, ops: np.ndarray, platforms: np.ndarray, d: int) -> None:
        """Operators ``ops[i]`` (indices) open a migrant's new channel on encrypted platform
        ``platforms[i]``, in order: ``open_channel`` for each (the same public draws in the
        same order, one array for the migrants whose platform has a public share strictly
        between 0 and 1), in a few numpy calls: at full scale thousands migrate a week."""
        if ops.size == 0:
            return
        m = self.model
        share = np.array([self.cfg[e].public_share for e in range(len(m.enc_names))])
        s = share[platforms]
        public = s >= 1.0
        drawn = (s > 0.0) & (s < 1.0)
        n = int(np.count_nonzero(drawn))
        if n:
            public[drawn] = m.streams["channels"].random(n) < s[drawn]
        np.add.at(m.operator_table.channels, ops, 1)
        m.channels.add(platform=platforms, operator=ops, created=d, public=public, hub=False)

    def open_hubs(self, e: int, d: int) -> None:
        """Official operators open the platform's hub channels (``hubs``, real-world)."""
        m = self.model
        self.has_hubs = self.has_hubs or self.cfg[e].hubs > 0
        for _ in range(self.cfg[e].hubs):
            self.open_channel(Operator(m, 0, 0, 0.0), e, d, hub=True)

    def remove_channels(self, ids: np.ndarray, platform: str) -> None:
        if ids.size == 0:
            return
        m = self.model
        ch, u = m.channels, m.users
        e_idx = m.enc_names.index(platform)
        seek = self.cfg[e_idx].successor_find_prob > 0
        if seek:  # the members start looking for the successors
            gone = u.members[np.isin(u.member_channel[u.members], ids)]
            until = m.day + round(self.cfg[e_idx].successor_search_days)
            self._seek_user = np.r_[self._seek_user, gone]
            self._seek_from = np.r_[self._seek_from, u.member_channel[gone]]
            self._seek_until = np.r_[self._seek_until, np.full(gone.size, until)]
        ch.active[ids] = False
        u.leave_channels(ids)
        ch.members[ids] = 0
        m.today.tally.takedowns[e_idx] += ids.size
        self._hubs_removed[e_idx] += int(np.count_nonzero(ch.hub[ids]))
        rng = m.streams["operators"]
        ops = m.sc.accounts.operators
        for c in ids.tolist():
            op = m.operators[int(ch.operator[c])]
            op.channels -= 1
            if rng.random() >= ops.quit_base:  # most channel owners simply open a new one
                delay = max(1, round(rng.exponential(ops.recreate_delay_days)))
                e = int(ch.platform[c])
                when = m.day + 1 + delay
                m.at(when, partial(self.open_channel, op, e, when, c))

    def record(self, d: int, row: np.ndarray) -> None:
        m = self.model
        ch, s, tally = m.channels, m.scale, m.today.tally
        c_mem, c_ch, c_posts, c_down, c_pub, c_big, c_top, c_1000, c_join = self._cols
        posts = 0.0
        hubs_down = (self._hubs_removed - self._hubs_recorded).tolist()
        self._hubs_recorded[:] = self._hubs_removed
        for e in range(len(m.enc_names)):
            live = ch.active_ids(e)
            size, count = real_sizes(ch, live, s)
            n_hubs = int(np.count_nonzero(ch.hub[live]))
            # (a simulated channel is ``s`` real ones, a hub one)
            row[c_mem[e]] = float(ch.members[live].sum()) * s
            row[c_ch[e]] = (live.size - n_hubs) * s + n_hubs
            row[c_posts[e]] = (live.size - n_hubs) * self.channel_posts[e] * s
            row[c_posts[e]] += n_hubs * self.channel_posts[e]
            posts += row[c_posts[e]]
            n_down = int(tally.takedowns[e])
            row[c_down[e]] = (n_down - hubs_down[e]) * s + hubs_down[e]
            row[c_pub[e]] = float(count[ch.public[live]].sum())
            row[c_big[e]] = float(size.max()) if size.size else 0.0
            row[c_top[e]] = top_share(size, count, TOP)
            row[c_1000[e]] = float(count[size >= BIG].sum())
            row[c_join[e]] = int(self.joins[e]) * s
        self.channel_posts_today = posts
