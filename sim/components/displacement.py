"""The displacement trade-off: the pro audience across all platforms, and how much of the pro
activity analysts can still observe.

Officials accepted that pressure on the open platforms drove propaganda to encrypted ones,
arguing that it then reaches a smaller audience while intelligence services lose sight of it.
This component records both sides every reported day, from the state the others leave:

- ``pro_audience``: users who follow at least one active pro account on an open platform or
  are members of an active pro channel, each counted once (``users.n_followers_of_pro``, kept
  as follows come and go, plus the channel members who follow none);
- ``pro_audience_encrypted_only``: of them, the channel members who follow no pro account;
- ``observable_post_share``: the open platforms' true pro posts (posting's ``today.pro_true``,
  shares included) over those plus the channel posts (the encrypted component's);
- ``observable_operator_share``: operators with an active open account over operators with an
  open account or a channel (posting's ``today.n_running``).

It draws nothing and changes nothing: its cost is a few numpy calls a day.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel

NAN = float("nan")


class Displacement(Component):
    """The pro audience across platforms and the share of pro activity analysts can see."""

    name = "displacement"
    metrics: ClassVar = (
        MetricSpec(
            "pro_audience",
            "global",
            "users",
            "Users who follow an active pro account (open platforms) or are members of a pro "
            "channel (encrypted), each counted once",
        ),
        MetricSpec(
            "pro_audience_encrypted_only",
            "global",
            "users",
            "Members of pro channels who follow no active pro account on an open platform",
        ),
        MetricSpec(
            "observable_post_share",
            "global",
            "fraction",
            "Share of pro posts (open platforms' true posts and shares, and channel posts) "
            "made on open platforms, where analysts can observe them; NaN if none",
        ),
        MetricSpec(
            "observable_operator_share",
            "global",
            "fraction",
            "Share of active operators (with an open account or a channel) who have an "
            "active account on an open platform; NaN if none",
        ),
    )

    figures: ClassVar = (
        FigureSpec(
            "displacement",
            "Displacement: audience across platforms and what analysts can observe",
            (
                Panel(
                    "Pro audience (followers or channel members, once each)",
                    (
                        Line("pro_audience", "all platforms"),
                        Line("pro_audience_encrypted_only", "channels only"),
                    ),
                ),
                Panel(
                    "Share on open platforms",
                    (
                        Line("observable_post_share", "pro posts"),
                        Line("observable_operator_share", "operators"),
                    ),
                    unit="fraction",
                    ratio=True,
                ),
            ),
        ),
    )

    def init(self) -> None:
        super().init()
        self._cols = [self.column(s.name) for s in self.metrics]
        self._encrypted: Any = self.model.component("encrypted")

    def record(self, d: int, row: np.ndarray) -> None:
        m = self.model
        u, ch, s, today = m.users, m.channels, m.scale, m.today
        members = u.members
        enc_only = int(np.count_nonzero(u.n_following[members] == 0)) if members.size else 0
        open_posts = float(sum(today.pro_true))
        posts = open_posts + self._encrypted.channel_posts_today
        # operators on encrypted platforms only: owners of an active channel without an active
        # open account (an operator's open accounts are its active rows of the account table:
        # at full scale thousands of owners, too many for a loop over their objects)
        running = today.n_running
        hidden = 0
        if ch.n:
            t = m.accounts
            # (distinct owners counted through a mark per operator: no sort, as ``np.unique``)
            hidden_ops = np.zeros(len(m.operators), bool)
            hidden_ops[ch.operator[ch.active_ids()]] = True
            hidden_ops[t.operator[t.active_ids()]] = False
            hidden = int(np.count_nonzero(hidden_ops))
        c_aud, c_enc, c_posts, c_ops = self._cols
        row[c_aud] = (u.n_followers_of_pro + enc_only) * s
        row[c_enc] = enc_only * s
        row[c_posts] = open_posts / posts if posts > 0 else NAN
        row[c_ops] = (running - hidden) / running if running > 0 else NAN
