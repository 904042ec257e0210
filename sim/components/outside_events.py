"""Outside events (attacks, major releases) and official media output: dated pulses and a dated
input series that scale pro posting, discovery, user reports and moderation.

An ``outside`` event of the timeline (an attack, a major release, another event) multiplies,
from its date for ``days`` days, the day's factors of the open platforms it names (all of them
if it names none): pro posting rates (``posting``), discovery impressions per post
(``discovery``), user reports (``reports``) and the moderation hazard (``moderation``). On day
``t = 0, 1, ..., days - 1`` after its date a multiplier ``x`` is in force as

    ``f(t) = 1 + (x - 1) * w(t)``,  ``w(t) = 1`` (``shape: flat``) or ``1 - t / days`` (``decay``)

and events in force together multiply. The optional section ``media_output`` gives the official
media output of the Islamic State as a dated series of levels relative to the start (1): pro
posting rates are multiplied by ``level ** elasticity`` on every open platform.

It sets the day's blackboard factors (``today.posting_factor``, ``discovery_factor``,
``report_factor``, ``moderation_factor``; 1 unless set) at ``start``, so before posting reads
them (posting multiplies the rates, exposure the discovery, moderation the hazard and the
reports). It draws no random numbers. Metrics: the change in force per open platform (factor
minus 1), so the plots show the pulses.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

import numpy as np
from pydantic import model_validator

from sim.config.problems import problem
from sim.config.schema import P, ScenarioBase, Strict, TimelineEvent
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel


class MediaLevel(Strict):
    """One point of the official media output series."""

    date: dt.date = P(..., "Day of this level")
    level: float = P(
        ...,
        "Official media output on that day, relative to its level at the start (1)",
        "",
        ge=0,
        le=20,
    )


class MediaOutput(Strict):
    """Official media output of the Islamic State: an optional dated input series that scales
    pro posting (empty: off)."""

    levels: list[MediaLevel] = P(
        [],
        "Dated levels of official output relative to the start (1), dates increasing; "
        "before the first date the level is 1 (empty: off)",
    )
    interpolation: Literal["step", "linear"] = P(
        "step",
        "`step`: a level holds from its date to the next one; `linear`: the level moves "
        "linearly between consecutive dates (after the last date it stays at the last level)",
    )
    elasticity: float = P(
        1.0,
        "Exponent e: pro posting rates are multiplied by level ** e (0: output does not "
        "matter; 1: posting follows official output one to one)",
        "",
        ge=0,
        le=3,
    )

    @model_validator(mode="after")
    def _increasing(self) -> MediaOutput:
        for i in range(1, len(self.levels)):
            before, this = self.levels[i - 1].date, self.levels[i].date
            if this <= before:
                raise problem(
                    f"dates of the media output series must increase: {this} is not after "
                    f"{before} (sort the levels by date, one level per date)",
                    at=("levels", i, "date"),
                )
        return self


Multiplier = float


def _multiplier(what: str) -> Multiplier:
    return P(
        1.0,
        f"Multiplier on {what} on the event's first day (1 = unchanged)",
        "",
        ge=0,
        le=100,
    )


class OutsideEvent(TimelineEvent):
    """An outside event (attack, major release, ...) that raises (or lowers) pro posting,
    discovery, user reports and moderation for some days."""

    action: Literal["outside"] = "outside"
    date: dt.date = P(..., "First day of the event's effects")
    label: str = P("", "Free text shown in plots and the manifest")
    kind: Literal["attack", "release", "other"] = P(
        "other", "What happened: an attack, a major release of official media, other"
    )
    days: int = P(7, "Days the effects last", "days", ge=1, le=365)
    shape: Literal["decay", "flat"] = P(
        "decay",
        "`decay`: the effects fall linearly to nothing over `days`; `flat`: they hold for `days`",
    )
    posting: Multiplier = _multiplier("pro posting rates")
    discovery: Multiplier = _multiplier("discovery impressions per pro post")
    reports: Multiplier = _multiplier("user reports of pro content")
    moderation: Multiplier = _multiplier("the moderation hazard")
    platforms: list[str] = P([], "Open platforms it acts on (empty: all of them)")

    def describe(self) -> str:
        parts = [
            f"{name} x{x:g}"
            for name, x in (
                ("posting", self.posting),
                ("discovery", self.discovery),
                ("reports", self.reports),
                ("moderation", self.moderation),
            )
            if x != 1.0
        ]
        return f"{self.kind} ({', '.join(parts) or 'no effect'}, {self.days} d)"

    def check(self, scenario: ScenarioBase) -> None:
        opens = scenario.platform_names("open")
        for i, name in enumerate(self.platforms):
            if name not in opens:
                raise problem(
                    f"{name!r} is not an open platform (choose from {opens})",
                    at=("platforms", i),
                    value=name,
                    choices=opens if name not in scenario.platforms else None,
                )

    def weight(self, t: int) -> float:
        """Share of the effects in force ``t`` days after the date (0 outside the event)."""
        if t < 0 or t >= self.days:
            return 0.0
        return 1.0 if self.shape == "flat" else 1.0 - t / self.days


def media_level(section: MediaOutput, days: np.ndarray, levels: np.ndarray, d: float) -> float:
    """The media output level on day ``d`` (``days``, ``levels``: the series as day indices)."""
    if days.size == 0 or d < days[0]:
        return 1.0
    if section.interpolation == "linear":
        return float(np.interp(d, days, levels))
    return float(levels[np.searchsorted(days, d, side="right") - 1])


FACTORS = ("posting", "discovery", "report", "moderation")


class OutsideEvents(Component):
    """Dated outside events and official media output, as multipliers on the day's rates."""

    name = "outside_events"
    section = "media_output"
    section_type = MediaOutput
    section_doc = (
        "Official media output of the Islamic State as a dated input series scaling pro posting"
    )
    events: ClassVar = (OutsideEvent,)
    metrics: ClassVar = tuple(
        MetricSpec(
            f"outside_{f}_change",
            "open",
            "share",
            f"Change of {what} in force from outside events"
            + (" and official media output" if f == "posting" else "")
            + ": the day's factor minus 1 (0 = none, 1 = doubled)",
        )
        for f, what in zip(
            FACTORS,
            ("pro posting rates", "discovery per pro post", "user reports", "moderation hazard"),
            strict=True,
        )
    )
    figures: ClassVar = (
        FigureSpec(
            "outside_events",
            "Outside events and official media output (open platforms)",
            (
                Panel(
                    "Change in force (factor minus 1)",
                    tuple(Line(f"outside_{f}_change", label=f) for f in FACTORS),
                    ratio=True,
                ),
            ),
        ),
    )
    rules: ClassVar = {"media_output": "The dates of `levels` must increase."}
    fixed_at_start: ClassVar = ("media_output.levels", "media_output.interpolation")

    def refresh(self) -> None:
        sc, mo = self.model.sc, self.pars
        self._days = np.array([sc.day_index(p.date) for p in mo.levels], dtype=np.float64)
        self._levels = np.array([p.level for p in mo.levels], dtype=np.float64)

    def idle(self) -> bool:
        # (once an event has come, the component stays awake: its pulses end by themselves)
        return not self._levels.size and not self._woken

    def init(self) -> None:
        super().init()
        self._woken = False
        self._pulses: list[tuple[int, OutsideEvent, np.ndarray]] = []
        self._cols = [self.columns(f"outside_{f}_change") for f in FACTORS]

    def handle(self, event: TimelineEvent) -> None:
        assert isinstance(event, OutsideEvent)
        m = self.model
        on = np.array([not event.platforms or n in event.platforms for n in m.open_names])
        self._pulses.append((m.sc.day_index(event.date), event, on))
        self._woken = True

    def start(self, d: int) -> None:
        today = self.model.today
        if self._days.size:
            level = media_level(self.pars, self._days, self._levels, d)
            if level != 1.0:
                today.posting_factor *= level**self.pars.elasticity
        if not self._pulses:
            return
        factors = (
            today.posting_factor,
            today.discovery_factor,
            today.report_factor,
            today.moderation_factor,
        )
        kept = []
        for d0, ev, on in self._pulses:
            t = d - d0
            if t >= ev.days:
                continue  # over: dropped
            kept.append((d0, ev, on))
            w = ev.weight(t)
            for f, x in zip(
                factors, (ev.posting, ev.discovery, ev.reports, ev.moderation), strict=True
            ):
                if x != 1.0 and w > 0.0:
                    f[on] *= 1.0 + (x - 1.0) * w
        self._pulses = kept

    def record(self, d: int, row: np.ndarray) -> None:
        today = self.model.today
        factors = (
            today.posting_factor,
            today.discovery_factor,
            today.report_factor,
            today.moderation_factor,
        )
        for cols, f in zip(self._cols, factors, strict=True):
            for c, x in zip(cols, f.tolist(), strict=True):
                row[c] = x - 1.0
