"""The component contract: one mechanism of the model in one class, on the model of Starsim's
``Module`` and Covasim's ``Intervention``.

A component declares, as class attributes, everything the rest of propsim needs to know about
it, and does its work in hooks that the model calls at named phases of the day:

- ``section``, ``section_type``, ``section_default``: its part of the scenario (a pydantic
  model with defaults, units and bounds, or a dict of them keyed by platform or group name);
  the root scenario schema is assembled from the components (``assemble_scenario``).
- ``events``: the timeline event kinds it handles (``TimelineEvent`` subclasses, each with its
  ``action`` tag, its validation and its plot label); the model delivers each event on its
  date to ``handle`` (when is the model's business, what the event does is the component's).
- ``streams``: the named random streams it draws from (``sim.core.rng``).
- ``metrics``: its daily metrics (``MetricSpec``: name, scope, unit, meaning); the model lays
  out the daily table from them and the component fills its own columns by name in ``record``.
- ``family``: the family of countermeasures it belongs to (for attribution), if any; such a
  component says how to switch its countermeasure off (``switch_off``, on the scenario as plain
  data), so that ``propsim attribute`` finds the families here and hard-codes none.
- ``figures``: the figures of its metrics drawn with every run's results (``FigureSpec``, data
  only: ``sim.io.plots`` draws them, with uncertainty bands, events and targets).
- ``rules``, ``placeholders``, ``fixed_at_start``: documentation of cross-field rules, names
  shown for dict entries, keys a timeline ``set`` may not change.

Lifecycle: ``__init__(model)`` (the shared state exists), ``init()`` (in component order:
draw initial state, create agents), ``schedule()`` (after the timeline is scheduled: the
component's own dated events), then each day the phase hooks in ``PHASES`` order, and
``refresh()`` whenever a timeline ``set`` changed scenario values. A subclass that overrides
``init`` must call ``super().init()``; the model checks it (as Starsim's ``@required`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import Field, create_model

from sim.config.schema import ScenarioBase, TimelineEvent

if TYPE_CHECKING:
    import numpy as np

    from sim.core.model import PropagandaModel

Scope = Literal["global", "open", "encrypted"]


@dataclass(frozen=True)
class Phase:
    """One phase of the day: its hook name and what happens in it (SPEC 2.3)."""

    name: str
    text: str


# The day, in order. Written once: the model runs these phases in this order, its docstring and
# ODD section 3 are generated from (and checked against) this list.
PHASES: tuple[Phase, ...] = (
    Phase(
        "start",
        "Policy events of the timeline fire (Mesa events scheduled half a day before the step); "
        "then what is due at the start of the day happens (re-created accounts come back).",
    ),
    Phase("post", "Pro accounts, counter-messengers and opposed users post."),
    Phase(
        "expose",
        "Exposure: posts reach followers, shares reach users of the sharer's language, search "
        "and hashtag discovery reach non-followers, channel posts reach members, counter posts "
        "reach their audiences; every view is counted into its viewer's pro or counter dose.",
    ),
    Phase(
        "update",
        "Users update attitudes from the day's doses; states change; engaged users follow "
        "accounts they discovered; recruits and outside supporters start operating accounts.",
    ),
    Phase("moderate", "Moderation suspends accounts; followers of suspended accounts are cut off."),
    Phase(
        "decide",
        "Operators of suspended accounts decide: re-create (after a delay), migrate, or quit; "
        "operators abandon some accounts.",
    ),
    Phase(
        "channels",
        "Encrypted channels gain members through invite links seen on the open platforms, "
        "search for public channels and successors of removed channels; takedowns there.",
    ),
    Phase("record", "Daily metrics are recorded (reported days only, not the warm-up)."),
)
PHASE_NAMES: tuple[str, ...] = tuple(p.name for p in PHASES)


@dataclass(frozen=True)
class MetricSpec:
    """A daily metric: one column (``global``) or one per open or encrypted platform
    (``<platform>.<name>``), in real-world units."""

    name: str
    scope: Scope
    unit: str
    description: str


Stat = Literal["value", "mean", "ratio", "weighted"]


@dataclass(frozen=True)
class Line:
    """One line of a panel: a metric drawn for every platform of its scope (or once, global).

    ``stat``: ``value`` (as recorded), ``mean`` (rolling mean over ``days``), ``ratio`` (rolling
    sum of the metric over the rolling sum of ``over``), ``weighted`` (rolling mean weighted by
    ``over``). ``label`` follows the platform's name in the legend.
    """

    metric: str
    label: str = ""
    stat: Stat = "value"
    days: int = 1
    over: str | None = None


@dataclass(frozen=True)
class Panel:
    """One panel of a figure: its title, lines, and the metrics whose calibration targets are
    drawn on it; ``unit`` defaults to the first line's metric's unit."""

    title: str
    lines: tuple[Line, ...]
    targets: tuple[str, ...] = ()
    unit: str | None = None
    ratio: bool = False  # a y-axis with decimals instead of thousands


@dataclass(frozen=True)
class FigureSpec:
    """A figure a component draws of its metrics: one PNG, ``file``.png, of one or more panels
    (a figure whose lines have no platform to draw, e.g. no encrypted platform, is left out)."""

    file: str
    title: str
    panels: tuple[Panel, ...]


class Component:
    """Base class of the model's mechanisms (see the module docstring for the contract)."""

    name: ClassVar[str] = ""
    family: ClassVar[str | None] = None
    section: ClassVar[str | None] = None
    section_type: ClassVar[Any] = None
    section_default: ClassVar[Callable[[], Any] | None] = None
    section_doc: ClassVar[str] = ""
    events: ClassVar[tuple[type[TimelineEvent], ...]] = ()
    streams: ClassVar[tuple[str, ...]] = ()
    metrics: ClassVar[tuple[MetricSpec, ...]] = ()
    figures: ClassVar[tuple[FigureSpec, ...]] = ()
    rules: ClassVar[dict[str, str]] = {}
    placeholders: ClassVar[dict[str, str]] = {}
    fixed_at_start: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if not cls.name:
            raise TypeError(f"component {cls.__qualname__} must set a name")
        if cls.section is not None and cls.section_type is None:
            raise TypeError(f"component {cls.name}: section {cls.section!r} needs a section_type")
        for e in cls.events:
            if not (isinstance(e, type) and issubclass(e, TimelineEvent)):
                raise TypeError(f"component {cls.name}: {e!r} is not a TimelineEvent subclass")
        if cls.events and cls.handle is Component.handle:
            raise TypeError(f"component {cls.name} declares timeline events but no handle()")

    def __init__(self, model: PropagandaModel) -> None:
        self.model = model
        self._initialised = False

    # --- lifecycle ----------------------------------------------------------------------
    def init(self) -> None:
        """Initial state (the shared state exists). Overrides must call ``super().init()``."""
        self._initialised = True

    def schedule(self) -> None:
        """Schedule the component's own dated events (after the timeline's)."""

    def refresh(self) -> None:
        """Recompute what is derived from scenario values (after a timeline ``set``)."""

    def idle(self) -> bool:
        """True while the mechanism does nothing at all: no hook would change state or draw a
        random number, and its metrics are 0. The model then skips its hooks and writes 0 in
        its metric columns (a switched-off mechanism costs nothing a day). Asked when the model
        is built, after every ``refresh`` and after every timeline event; default False."""
        return False

    def handle(self, event: TimelineEvent) -> None:
        """Carry out one of the component's timeline events (on its date)."""
        raise NotImplementedError(f"component {self.name} declares {event.action} but no handle")

    @classmethod
    def switch_off(cls, data: dict[str, Any]) -> None:
        """Switch this component's countermeasure off in ``data``, a scenario as plain data
        (``model_dump(mode="python")``), edited in place: for the whole run it must then do
        nothing (its section's levers at zero, its timeline events and the ``set`` values that
        would turn it back on removed: ``drop_events``, ``drop_set_values``), and everything
        else stay as it was. Components with a ``family`` define it (``switchable``); the
        attribution (``sim.analysis.attribution``) switches families off with it."""
        raise NotImplementedError(f"component {cls.name} does not say how to switch it off")

    @classmethod
    def switchable(cls) -> bool:
        """True if the component belongs to a family and defines ``switch_off``."""
        own = cls.switch_off.__func__  # type: ignore[attr-defined]
        return cls.family is not None and own is not Component.switch_off.__func__  # type: ignore[attr-defined]

    @classmethod
    def check(cls, scenario: ScenarioBase) -> None:
        """Rules across sections; raise ``sim.config.problems.problem(...)`` with a message for
        analysts and the key it is about (relative to the scenario)."""

    # --- helpers ------------------------------------------------------------------------
    @property
    def pars(self) -> Any:
        """The component's section of the model's (current) scenario."""
        assert self.section is not None
        return getattr(self.model.sc, self.section)

    def column(self, metric: str) -> int:
        """Position of a global metric in the daily table's rows."""
        return self.model.column(metric)

    def columns(self, metric: str) -> list[int]:
        """Positions of a per-platform metric, one per platform of its scope, in order."""
        return self.model.platform_columns(metric)

    def hooks(self) -> dict[str, Callable[..., None]]:
        """The phase hooks this component defines (methods named after ``PHASES``). Asked
        whenever the model arranges the day (as ``idle``: when built, after every ``refresh``
        and timeline event); a component may override it to leave out a hook that would do
        nothing under the current values (no state change, no draw), so it costs nothing a
        day."""
        return {
            p: getattr(self, p) for p in PHASE_NAMES if getattr(type(self), p, None) is not None
        }

    # phase hooks (``start``, ``post``, ``expose``, ``update``, ``moderate``, ``decide``,
    # ``channels``: ``(day)``; ``record``: ``(day, row)``) are defined by subclasses only.
    if TYPE_CHECKING:

        def record(self, day: int, row: np.ndarray) -> None: ...


def drop_events(data: dict[str, Any], *actions: str) -> None:
    """Remove the timeline events of the given ``action`` tags from a scenario's plain data."""
    data["timeline"] = [e for e in data.get("timeline", []) if e.get("action") not in actions]


def drop_set_values(data: dict[str, Any], match: Callable[[str], bool]) -> None:
    """Remove the values whose dotted key ``match``es from the timeline's ``set`` events of a
    scenario's plain data (an event left with no value goes too)."""
    kept = []
    for e in data.get("timeline", []):
        if e.get("action") == "set":
            e = {**e, "values": {k: v for k, v in e["values"].items() if not match(k)}}
            if not e["values"]:
                continue
        kept.append(e)
    data["timeline"] = kept


def keyed_field(key: str, section: str, fields: tuple[str, ...]) -> bool:
    """True for a dotted key ``<section>.<name>.<field>`` (a section keyed by name, such as
    ``moderation.twitter.intensity``) with one of ``fields``: for ``drop_set_values``."""
    parts = key.split(".")
    return len(parts) == 3 and parts[0] == section and parts[2] in fields


def assemble_scenario(
    components: Sequence[type[Component]], base: type[ScenarioBase] = ScenarioBase
) -> type[ScenarioBase]:
    """The root scenario schema: ``base`` plus every component's section, and a timeline whose
    items are the components' event kinds (told apart by ``action``)."""
    fields: dict[str, Any] = {}
    names: set[str] = set()
    for c in components:
        if c.name in names:
            raise TypeError(f"two components are named {c.name!r}")
        names.add(c.name)
        if c.section is None:
            continue
        if c.section in fields or c.section in base.model_fields:
            raise TypeError(f"component {c.name}: section {c.section!r} is already defined")
        factory = c.section_default or c.section_type
        fields[c.section] = (c.section_type, Field(default_factory=factory))
    kinds = [e for c in components for e in c.events]
    tags = [e.model_fields["action"].default for e in kinds]
    if len(set(tags)) != len(tags):
        raise TypeError(f"timeline event kinds declared twice: {tags}")
    item: Any = TimelineEvent
    if kinds:
        union: Any = kinds[0] if len(kinds) == 1 else Union[tuple(kinds)]  # noqa: UP007
        item = Annotated[union, Field(discriminator="action")]
    fields["timeline"] = (list[item], Field(default_factory=list))
    model = create_model("Scenario", __base__=base, __module__="sim.scenario", **fields)
    model.components = tuple(components)
    model.__doc__ = base.__doc__
    return model
