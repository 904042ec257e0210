"""The Redirect Method (Jigsaw and Moonshot CVE, 2016): searches for pro-IS content on the open
platforms are answered with counter content instead.

From ``redirect.start`` (or a ``redirect`` event of the timeline) a share ``redirect.share`` of
the day's search and hashtag discovery of pro posts in the redirect's languages is diverted:
those searches find no pro post (exposure draws the remaining discovery only, through its
``today.search_diverted`` hook, set here at ``post``), and each diverted search shows the
searcher, a random user of the searched post's language as for discovery, counter content
(videos by credible voices, in their language) of credibility ``redirect.credibility``, counted
into the counter dose at ``expose``. Metric: ``redirected_searches`` per day (real-world).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

import numpy as np

from sim.config.problems import problem
from sim.config.schema import LANGUAGES, DateSpan, Language, P, ScenarioBase, TimelineEvent
from sim.core import kernels
from sim.core.component import (
    Component,
    FigureSpec,
    Line,
    MetricSpec,
    Panel,
    drop_events,
    drop_set_values,
)


class RedirectSection(DateSpan):
    """The Redirect Method on the open platforms."""

    share: float = P(
        0.0,
        "Share of searches for pro-IS content shown counter content instead (0 = off)",
        "",
        ge=0,
        le=1,
    )
    credibility: float = P(
        0.6,
        "Credibility of the counter content shown (videos by credible voices)",
        "0..1",
        ge=0,
        le=1,
    )
    languages: list[Language] = P(
        ["arabic", "english"],
        "Languages the redirect runs in (searches in others are not redirected)",
    )
    platforms: list[str] = P([], "Open platforms it runs on (empty: all of them)")
    start: dt.date | None = P(None, "First day (default: from the start of the warm-up)")
    end: dt.date | None = P(None, "Last day (default: to the end)")


class RedirectEvent(TimelineEvent):
    action: Literal["redirect"] = "redirect"
    date: dt.date = P(..., "Day from which the redirect runs with these values")
    label: str = P("", "Free text shown in plots and the manifest")
    share: float = P(..., "Share of pro-IS searches redirected from that day", "", ge=0, le=1)
    credibility: float | None = P(
        None,
        "Credibility of the counter content (default: keep the current one)",
        "0..1",
        ge=0,
        le=1,
    )

    def describe(self) -> str:
        return f"redirect {self.share:.0%} of searches"


class Redirect(Component):
    """Searches for pro content redirected to counter content."""

    name = "redirect"
    family = "counter-messaging"
    section = "redirect"
    section_type = RedirectSection
    section_doc = "The Redirect Method: pro-IS searches answered with counter content"
    events: ClassVar = (RedirectEvent,)
    streams: ClassVar = ("redirect",)
    metrics: ClassVar = (
        MetricSpec(
            "redirected_searches",
            "global",
            "searches/day",
            "Searches for pro-IS content shown counter content instead (Redirect Method)",
        ),
    )
    figures: ClassVar = (
        FigureSpec(
            "redirect",
            "The Redirect Method",
            (
                Panel(
                    "Searches for pro-IS content shown counter content (7-day mean)",
                    (Line("redirected_searches", stat="mean", days=7),),
                ),
            ),
        ),
    )
    rules: ClassVar = {
        "redirect": "`end` may not be before `start`; `platforms` must name open platforms."
    }
    fixed_at_start: ClassVar = ("redirect.languages", "redirect.platforms")

    @classmethod
    def switch_off(cls, data: dict[str, Any]) -> None:
        """No redirect: share zero, no ``redirect`` events, no ``set`` of the section."""
        if "redirect" in data:
            data["redirect"]["share"] = 0.0
        drop_events(data, "redirect")
        drop_set_values(data, lambda k: k.startswith("redirect."))

    @classmethod
    def check(cls, scenario: ScenarioBase) -> None:
        section: RedirectSection = getattr(scenario, "redirect", RedirectSection())
        opens = scenario.platform_names("open")
        for i, name in enumerate(section.platforms):
            if name not in opens:
                raise problem(
                    f"{name!r} is not an open platform (choose from {opens})",
                    at=("redirect", "platforms", i),
                    value=name,
                    choices=opens if name not in scenario.platforms else None,
                )

    def refresh(self) -> None:
        m, r = self.model, self.pars
        on = np.array([not r.platforms or n in r.platforms for n in m.open_names], float)
        lang = np.array([lg in r.languages for lg in LANGUAGES], float)
        self._diverted = r.share * on[:, None] * lang[None, :]  # by open platform, language
        self._any = bool(self._diverted.any())
        self._credibility = r.credibility

    def idle(self) -> bool:
        return not self._any  # no search is diverted anywhere

    def init(self) -> None:
        super().init()
        self.active = False
        self.total = 0.0
        self._col = self.column("redirected_searches")

    def schedule(self) -> None:
        m, r = self.model, self.pars
        m.at(max(m.sc.day_index(r.start) if r.start else -m.warmup, -m.warmup), self._start)
        if r.end is not None:
            m.at(m.sc.day_index(r.end) + 1, self._stop)

    def _start(self) -> None:
        self.active = True

    def _stop(self) -> None:
        self.active = False

    def handle(self, event: TimelineEvent) -> None:
        assert isinstance(event, RedirectEvent)
        self.pars.share = event.share
        if event.credibility is not None:
            self.pars.credibility = event.credibility
        self.refresh()

    def post(self, d: int) -> None:
        if self.active and self._any:
            self.model.today.search_diverted = self._diverted

    def expose(self, d: int) -> None:
        """Counter content shown to the redirected searchers (``kernels.counter_views``)."""
        m = self.model
        self.total = 0.0
        diverted = m.today.diverted_searches
        if diverted is None:
            return
        u, rng = m.users, m.streams["redirect"]
        n_all = rng.poisson(diverted)
        for lang, n in enumerate(n_all.tolist()):
            if n:
                kernels.counter_views(
                    n, 1.0, lang, self._credibility, 1.0, u.lang_start, u.language,
                    u.counter_dose, u.dosed, m.streams.handle("redirect"),
                )  # fmt: skip
        self.total = float(n_all.sum())

    def record(self, d: int, row: np.ndarray) -> None:
        row[self._col] = self.total * self.model.scale
