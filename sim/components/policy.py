"""Policy ``set`` events: from a date, change scenario values (the timeline's general lever).

``action: set`` with ``values: {dotted.key: number}`` changes the model's copy of the scenario
from that day on; every component then recomputes what it derives from the scenario
(``Component.refresh``). Keys that are read only when the run starts (``FIXED_AT_START`` and
the components' ``fixed_at_start``) are refused when the scenario is validated, as are unknown
keys and values outside a key's own bounds.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from sim.config.problems import within
from sim.config.schema import P, ScenarioBase, TimelineEvent, apply_set, check_settable
from sim.core.component import Component


class SetEvent(TimelineEvent):
    action: Literal["set"] = "set"
    date: dt.date = P(..., "Day from which the values apply")
    label: str = P("", "Free text shown in plots and the manifest")
    values: dict[str, float] = P(
        ..., "Dotted scenario keys and their new values, e.g. moderation.twitter.intensity"
    )

    def describe(self) -> str:
        return ", ".join(f"{k}={v:g}" for k, v in self.values.items())

    def sets(self) -> dict[str, float]:
        return self.values

    def check(self, scenario: ScenarioBase) -> None:
        for key, value in self.values.items():
            try:
                check_settable(scenario, key, value)
            except ValueError as err:
                raise within(("values", key), err) from None


class Policy(Component):
    """Timeline ``set`` events."""

    name = "policy"
    events: ClassVar = (SetEvent,)
    rules: ClassVar = {
        "timeline[]": (
            "The keys of a `set` must be existing numeric keys of the scenario (named sections "
            "by their names, e.g. `moderation.twitter.intensity`), each value within that "
            "key's valid values."
        )
    }

    def handle(self, event: TimelineEvent) -> None:
        assert isinstance(event, SetEvent)
        for key, value in event.values.items():
            apply_set(self.model.sc, key, value)
        self.model.refresh()
