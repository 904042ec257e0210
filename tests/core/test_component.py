"""The component contract (``sim.core.component``): declarations, schema assembly, the phase
loop, event delivery, metrics by name, and the checks that catch a broken component."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

import numpy as np
import pytest
from conftest import SMALL, make_scenario

from sim.components import COMPONENTS
from sim.config.schema import P, Strict, TimelineEvent
from sim.core.component import PHASE_NAMES, PHASES, Component, MetricSpec, assemble_scenario
from sim.core.model import PropagandaModel, simulate
from sim.scenario import Scenario


class Counting(Strict):
    per_day: float = P(1.0, "Things counted per day", "things/day", ge=0)


class BumpEvent(TimelineEvent):
    action: Literal["bump"] = "bump"
    by: float = P(1.0, "Added to per_day from the event's date", "things/day")

    def describe(self) -> str:
        return f"bump by {self.by:g}"


class Counter(Component):
    """A test component: counts ``per_day`` things a day and logs the phases it sees."""

    name = "counting"
    section = "counting"
    section_type = Counting
    events: ClassVar = (BumpEvent,)
    streams: ClassVar = ("counting",)
    metrics: ClassVar = (MetricSpec("things", "global", "things/day", "Things counted"),)
    log: ClassVar[list[tuple[str, int]]] = []

    def init(self) -> None:
        super().init()
        self.draws = self.model.streams["counting"].random(3)

    def start(self, d: int) -> None:
        self.log.append(("start", d))

    def moderate(self, d: int) -> None:
        self.log.append(("moderate", d))

    def handle(self, event: TimelineEvent) -> None:
        assert isinstance(event, BumpEvent)
        self.pars.per_day += event.by

    def record(self, d: int, row: np.ndarray) -> None:
        row[self.column("things")] = self.pars.per_day * self.model.scale


WithCounter = assemble_scenario((*COMPONENTS, Counter))


def counted(**changes: object) -> object:
    data = {**SMALL, "end": "2015-01-20", **changes}
    return WithCounter.model_validate(data)


def test_phases_are_the_spec_order_and_the_model_docstring_lists_them() -> None:
    assert PHASE_NAMES == (
        "start", "post", "expose", "update", "moderate", "decide", "channels", "record"
    )  # fmt: skip
    doc = PropagandaModel.__doc__ or ""
    positions = [doc.index(f"``{p.name}``") for p in PHASES]
    assert positions == sorted(positions)


def test_every_shipped_component_declares_a_valid_contract() -> None:
    names = [c.name for c in COMPONENTS]
    assert len(set(names)) == len(names)
    metric_names = [m.name for c in COMPONENTS for m in c.metrics]
    assert len(set(metric_names)) == len(metric_names), "a metric declared twice"
    for c in COMPONENTS:
        hooks = {p for p in PHASE_NAMES if getattr(c, p, None) is not None}
        assert hooks or c.events, f"{c.name} does nothing"
        if any(m for m in c.metrics):
            assert "record" in hooks, f"{c.name} declares metrics but never records them"


def test_assembled_schema_has_each_section_and_event_kind() -> None:
    fields = list(WithCounter.model_fields)
    assert fields[-1] == "timeline"
    assert "counting" in fields
    sc = counted(timeline=[{"action": "bump", "date": "2015-01-10", "by": 2.0}])
    assert isinstance(sc.timeline[0], BumpEvent)
    assert sc.counting.per_day == 1.0
    assert WithCounter.components[-1] is Counter


def test_component_runs_in_its_phases_draws_its_stream_and_records_by_name() -> None:
    Counter.log.clear()
    sc = counted(timeline=[{"action": "bump", "date": "2015-01-10", "by": 2.0}])
    model = PropagandaModel(sc, 3)
    df = model.run()
    days = sc.warmup_days + sc.days
    assert [p for p, _ in Counter.log].count("start") == days
    assert Counter.log[:2] == [("start", -sc.warmup_days), ("moderate", -sc.warmup_days)]
    things = df["things"]
    assert (things.loc[:"2015-01-09"] == 1.0 * sc.scale).all()
    assert (things.loc["2015-01-10":] == 3.0 * sc.scale).all()  # the event, on its date
    # its own stream: the same draws whatever else happens
    again = PropagandaModel(counted(scale=100), 3)
    assert np.array_equal(model.components["counting"].draws, again.components["counting"].draws)


def test_adding_a_component_leaves_every_other_metric_identical() -> None:
    """Streams are per mechanism: a component that draws from its own stream changes nothing
    else (common random numbers)."""
    plain = simulate(make_scenario(end="2015-01-20"), 5)
    with_counter = simulate(counted(), 5)
    assert with_counter.drop(columns="things").equals(plain)


def test_a_forgotten_super_init_is_caught() -> None:
    class Careless(Counter):
        name = "careless"
        section = "careless"
        events = ()

        def init(self) -> None:  # no super().init()
            pass

    schema = assemble_scenario((*COMPONENTS, Careless))
    with pytest.raises(TypeError, match="careless.*super\\(\\).init"):
        PropagandaModel(schema.model_validate(SMALL), 1)


def test_bad_declarations_are_refused_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="must set a name"):

        class Nameless(Component):
            pass

    with pytest.raises(TypeError, match="needs a section_type"):

        class NoType(Component):
            name = "no_type"
            section = "no_type"

    with pytest.raises(TypeError, match="not a TimelineEvent"):

        class BadEvent(Component):
            name = "bad_event"
            events: ClassVar = (dict,)

    with pytest.raises(TypeError, match="declares timeline events but no handle"):

        class Unhandled(Component):
            name = "unhandled"
            events: ClassVar = (BumpEvent,)


def test_assembly_refuses_clashes() -> None:
    class Clash(Component):
        name = "clash"
        section = "moderation"
        section_type = Counting

    with pytest.raises(TypeError, match="already defined"):
        assemble_scenario((*COMPONENTS, Clash))
    with pytest.raises(TypeError, match="named 'policy'"):
        assemble_scenario((*COMPONENTS, COMPONENTS[0]))

    class SameTag(Component):
        name = "same_tag"

        class Purge2(TimelineEvent):
            action: Literal["purge"] = "purge"

        events: ClassVar = (Purge2,)

        def handle(self, event: TimelineEvent) -> None:
            pass

    with pytest.raises(TypeError, match="declared twice"):
        assemble_scenario((*COMPONENTS, SameTag))


def test_a_model_needs_an_assembled_scenario() -> None:
    from sim.config.schema import ScenarioBase

    with pytest.raises(TypeError, match="assembled from components"):
        PropagandaModel(ScenarioBase.model_construct(), 1)


def test_unknown_component_lookup_names_the_known_ones() -> None:
    model = PropagandaModel(make_scenario(end="2015-01-02"), 1)
    assert model.component("moderation").name == "moderation"
    with pytest.raises(KeyError, match="known: policy"):
        model.component("moderaton")


def test_today_names_the_missing_field() -> None:
    model = PropagandaModel(make_scenario(end="2015-01-02"), 1)
    with pytest.raises(AttributeError, match="today.act is not set"):
        _ = model.today.act


def test_the_shipped_schema_is_the_assembled_one() -> None:
    assert Scenario.components == COMPONENTS
    assert isinstance(Scenario().timeline, list)
    dt.date.fromisoformat(str(Scenario().start))


def test_every_component_of_a_family_says_how_to_switch_it_off() -> None:
    """``propsim attribute`` switches families off through the components (``switch_off``); a
    component that declares a family must say how, and switching it off must leave a valid
    scenario."""

    base = make_scenario(
        timeline=[{"action": "purge", "date": "2015-01-10", "platform": "twitter", "accounts": 10}]
    )
    for c in COMPONENTS:
        if c.family is None:
            continue
        assert c.switchable(), f"component {c.name} (family {c.family}) defines no switch_off"
        data = base.model_dump(mode="python")
        c.switch_off(data)
        Scenario.model_validate(data)
    assert not Component.switchable()


def test_drop_events_and_set_values() -> None:
    from sim.core.component import drop_events, drop_set_values

    data = {
        "timeline": [
            {"action": "purge", "date": "2015-01-01"},
            {"action": "set", "values": {"a.b": 1.0, "c.d": 2.0}},
            {"action": "set", "values": {"a.x": 1.0}},
        ]
    }
    drop_events(data, "purge")
    drop_set_values(data, lambda k: k.startswith("a."))
    assert data["timeline"] == [{"action": "set", "values": {"c.d": 2.0}}]


# --- idle components ---------------------------------------------------------------------------


def _hooked(model: PropagandaModel) -> set[str]:
    """Names of the components whose hooks the model calls today."""
    fns = [fn for hooks in model._phases for fn in hooks] + model._record_hooks
    return {fn.__self__.name for fn in fns}  # type: ignore[attr-defined]


def test_switched_off_mechanisms_are_idle_and_record_zeros() -> None:
    model = PropagandaModel(make_scenario(end="2015-01-20"), 1)
    idle = {c.name for c in model.components.values() if c.idle()}
    assert {"coordination", "outside_events", "targeting", "redirect"} <= idle
    assert not idle & _hooked(model)
    daily = model.run()
    for name in idle:
        for spec in model.components[name].metrics:
            cols = [c for c in daily.columns if c.rsplit(".", 1)[-1] == spec.name]
            assert (daily[cols] == 0).all().all(), spec.name


def test_a_timeline_set_wakes_an_idle_component_from_its_date() -> None:
    sc = make_scenario(
        end="2015-02-28",
        coordination__languages=["arabic", "english", "other"],
        timeline=[
            {
                "action": "set",
                "date": "2015-02-01",
                "values": {"coordination.campaigns_per_day": 5.0},
            }
        ],
    )
    model = PropagandaModel(sc, 3)
    assert "coordination" not in _hooked(model)
    daily = model.run()
    assert "coordination" in _hooked(model)
    campaigns = daily["twitter.coordinated_campaigns"]
    assert (campaigns[:"2015-01-31"] == 0).all()
    assert campaigns["2015-02-01":].sum() > 0


def test_idle_is_asked_again_after_events() -> None:
    """A component idle until its first event runs its hooks from then on."""
    calls: list[int] = []

    class Sleeper(Component):
        name = "sleeper"
        events: ClassVar = (_Nudge,)

        def init(self) -> None:
            super().init()
            self.awake = False

        def idle(self) -> bool:
            return not self.awake

        def handle(self, event: TimelineEvent) -> None:
            self.awake = True

        def post(self, d: int) -> None:
            calls.append(d)

    schema = assemble_scenario((*COMPONENTS, Sleeper))
    data = {**SMALL, "end": "2015-01-10", "timeline": [{"action": "nudge", "date": "2015-01-06"}]}
    PropagandaModel(schema.model_validate(data), 1).run()
    assert calls == [5, 6, 7, 8, 9]


class _Nudge(TimelineEvent):
    action: Literal["nudge"] = "nudge"
    date: dt.date = P(..., "Day")
    label: str = P("", "Free text")

    def describe(self) -> str:
        return "nudge"
