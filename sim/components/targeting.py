"""Targeted removals: suspend the top accounts of an open platform on a date.

Its timeline event is ``target``: on its date, the active accounts of the platform (of one role
only when ``by: role``) are ranked by followers (``by: followers`` or ``role``; audience plus
in-network followers, ``PropagandaModel.follower_counts``) or by in-network centrality
(``by: in_degree``: the number of other pro accounts following them, ``model.network``; all 0
without a network among accounts), and the top ``accounts`` (a real-world count, divided by the
scale and rounded at random on the ``targeting`` stream) or the top ``share`` of them are
suspended through the moderation component (``suspend``), so their operators decide as after
any suspension. Ties keep the order of account ids (older accounts first). The number suspended
is counted in the suspensions metrics and, per event, in ``targeted_suspensions``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import model_validator

from sim.components.moderation import stochastic_round
from sim.config.problems import problem
from sim.config.schema import P, PlatformEvent, TimelineEvent
from sim.core.component import Component, MetricSpec, drop_events
from sim.core.state.accounts import ROLES

RoleName = Literal["ordinary", "official", "shoutout", "bot"]


class TargetEvent(PlatformEvent):
    platform_kind: ClassVar[Literal["open", "encrypted"]] = "open"

    action: Literal["target"] = "target"
    date: dt.date = P(..., "Day of the targeted removal")
    label: str = P("", "Free text shown in plots and the manifest")
    platform: str = P(..., "Open platform the accounts are removed from")
    by: Literal["followers", "in_degree", "role"] = P(
        "followers",
        "Ranking: followers, in-network in-degree (pro accounts following), or followers "
        "within one role",
    )
    role: RoleName | None = P(None, "The role whose accounts are removed (with by: role)")
    accounts: float | None = P(
        None, "Accounts removed (real-world count)", "accounts", ge=0, le=10_000_000
    )
    share: float | None = P(None, "Share of the ranked accounts removed", "", ge=0, le=1)

    @model_validator(mode="after")
    def _one_size(self) -> TargetEvent:
        if (self.accounts is None) == (self.share is None):
            raise problem(
                "a target event needs exactly one of accounts and share", at=("accounts",)
            )
        if (self.by == "role") != (self.role is not None):
            raise problem(
                "role is needed with by: role, and only then", at=("role",), choices=list(ROLES)
            )
        return self

    def describe(self) -> str:
        size = f"{self.accounts:,.0f}" if self.accounts is not None else f"{self.share:.0%}"
        what = f"{self.role} accounts" if self.role else f"accounts by {self.by}"
        return f"remove top {size} {what} ({self.platform})"


class Targeting(Component):
    """Suspensions of the top accounts by followers, role or in-network centrality."""

    name = "targeting"
    family = "suspensions"
    events: ClassVar = (TargetEvent,)
    streams: ClassVar = ("targeting",)

    @classmethod
    def switch_off(cls, data: dict[str, Any]) -> None:
        """No targeted removals: no ``target`` events."""
        drop_events(data, "target")

    metrics: ClassVar = (
        MetricSpec(
            "targeted_suspensions",
            "open",
            "accounts/day",
            "Accounts suspended by targeted removals (target events) that day",
        ),
    )

    def idle(self) -> bool:
        return self._day < -(10**8)  # no target event yet

    def init(self) -> None:
        super().init()
        self.today = np.zeros(len(self.model.open_names))
        self._day = -(10**9)
        self._cols = self.columns("targeted_suspensions")

    def ranked(self, event: TargetEvent) -> np.ndarray:
        """The platform's active accounts (of the role, with by: role), top first."""
        m = self.model
        t = m.accounts
        act = t.active_ids(m.open_names.index(event.platform))
        if event.role is not None:
            act = act[t.role[act] == ROLES.index(event.role)]
        if event.by == "in_degree":
            key: Any = m.network.length[act] if m.network is not None else np.zeros(act.size)
        else:
            key = m.follower_counts()[act]
        return act[np.argsort(-np.asarray(key, dtype=np.float64), kind="stable")]

    def handle(self, event: TimelineEvent) -> None:
        assert isinstance(event, TargetEvent)
        m = self.model
        ranked = self.ranked(event)
        if event.accounts is not None:
            n = stochastic_round(event.accounts / m.scale, m.streams["targeting"])
        else:
            n = round((event.share or 0.0) * ranked.size)
        gone = ranked[: min(n, ranked.size)]
        d = m.day + 1  # (events fire before the day's step)
        if self._day != d:
            self.today[:] = 0
            self._day = d
        self.today[m.open_names.index(event.platform)] += gone.size
        m.component("moderation").suspend(gone, d)  # type: ignore[attr-defined]

    def record(self, d: int, row: np.ndarray) -> None:
        s = self.model.scale
        counts = self.today.tolist() if self._day == d else [0.0] * len(self._cols)
        for i, c in enumerate(self._cols):
            row[c] = counts[i] * s
