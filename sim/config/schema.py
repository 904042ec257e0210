"""Scenario schema, base part: the shared state's sections and the scenario's own fields.

The root scenario schema is assembled from this base and the sections and timeline event kinds
that the components declare (``sim.core.component.assemble_scenario``; the assembled class is
``sim.scenario.Scenario``). Here: the time span, scale and seeds, the users (``population``),
the platforms and the pro accounts (``accounts``), the base of timeline events, the rules that
involve several of these, and the timeline's ``set`` machinery.

Data flow: YAML file -> ``sim.config.loader`` (extends, ``--set`` overrides, line numbers) ->
``Scenario.model_validate`` here -> ``sim.core.model.PropagandaModel``.

All counts of people and accounts are in **real-world units**; the model divides them by
``scale``. Per-account and per-user quantities (followers per account, posts per account per day,
impressions per post) are not scaled: a 1:20 world is a miniature with the same degrees.
Each field's ``description`` is the reference text used in ``docs/ODD.md``; ``unit`` is given in
``json_schema_extra``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, get_args, get_origin

import annotated_types as at
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.config import keys
from sim.config.names import EVENT_NAME_FIELD_PATTERN, NAME_PATTERN
from sim.config.problems import Part, problem, within

LANGUAGES = ("arabic", "english", "other")
Language = Literal["arabic", "english", "other"]


def P(default: Any, description: str, unit: str = "", **kw: Any) -> Any:
    """A documented parameter: default, description and unit (shown in the JSON Schema)."""
    return Field(default, description=description, json_schema_extra={"unit": unit}, **kw)


# Limits of the scenario's own fields, stated in the schema and in docs/reliability.md.
FIRST_DATE, LAST_DATE = dt.date(2000, 1, 1), dt.date(2100, 12, 31)  # of start and end
MAX_RUN_DAYS = 3653  # reported days of one run (ten years)
MAX_REPLICATES = 1000
# seed + replicate must fit numpy's legacy 32-bit seeding (SALib's Morris design) and Parquet
MAX_SEED = 2**32 - 1 - MAX_REPLICATES
MAX_TIMELINE_EVENTS = 2000
MIN_SIMULATED_USERS = 100  # population.users / scale: fewer is no population to speak of


def _is_number_type(tp: Any) -> bool:
    """Whether a field's annotation means a number (int, float, a list of them, or None)."""
    if tp in (int, float):
        return True
    if getattr(tp, "__origin__", None) is dict:  # dict[str, float]: the values are numbers
        return _is_number_type(tp.__args__[1])
    args = [a for a in getattr(tp, "__args__", ()) if a is not type(None)]
    return bool(args) and all(_is_number_type(a) for a in args)


class Strict(BaseModel):
    """Base for all schema sections: unknown keys are errors, assignments are validated.

    Numbers: NaN and infinities are refused everywhere (``allow_inf_nan=False``), so is a
    ``true``/``false`` where a number is meant, and ``-0.0`` is read as 0; every numeric field
    also has finite bounds (``tests/config/test_bounds.py`` walks the assembled schema).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_number(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, v in data.items():
                field = cls.model_fields.get(key) if isinstance(key, str) else None
                if field is None or not _is_number_type(field.annotation):
                    continue
                items = list(v.values()) if isinstance(v, dict) else v
                items = items if isinstance(items, list) else [items]
                if any(isinstance(x, bool) for x in items):
                    raise problem(f"expected a number, got {str(v).lower()}", at=(key,))
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _positive_zero(cls, v: Any) -> Any:
        if isinstance(v, float) and v == 0:
            return 0.0  # -0.0 -> 0.0 (1/-0.0 is -inf)
        if isinstance(v, list) and any(isinstance(x, float) and x == 0 for x in v):
            return [0.0 if isinstance(x, float) and x == 0 else x for x in v]
        return v


def finite_bounds(model: type[BaseModel]) -> dict[str, tuple[Any, Any]]:
    """The (lower, upper) bounds of each numeric field of ``model`` (None where missing); for
    a list of numbers, the bounds of its items."""
    out: dict[str, tuple[Any, Any]] = {}
    for name, info in model.model_fields.items():
        tp = info.annotation
        if not _is_number_type(tp) or get_origin(tp) is dict:
            continue  # (a dict of numbers: timeline values, checked against their own keys)
        metadata = list(info.metadata)
        if get_origin(tp) is list:  # list[Annotated[float, Field(ge=, le=)]]
            item = get_args(tp)[0]
            for extra in get_args(item)[1:]:
                metadata += list(getattr(extra, "metadata", [extra]))
        lo = hi = None
        for m in metadata:
            if isinstance(m, at.Ge | at.Gt):
                lo = m.ge if isinstance(m, at.Ge) else m.gt
            elif isinstance(m, at.Le | at.Lt):
                hi = m.le if isinstance(m, at.Le) else m.lt
        out[name] = (lo, hi)
    return out


class LanguageShares(Strict):
    arabic: float = P(0.6, "Share of Arabic speakers", "fraction", ge=0, le=1)
    english: float = P(0.25, "Share of English speakers", "fraction", ge=0, le=1)
    other: float = P(0.15, "Share of speakers of other languages", "fraction", ge=0, le=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> LanguageShares:
        total = self.arabic + self.english + self.other
        if abs(total - 1.0) > 1e-6:
            raise problem(f"language shares must sum to 1, they sum to {total:g}")
        return self

    def as_array(self) -> list[float]:
        return [self.arabic, self.english, self.other]


class Population(Strict):
    users: float = P(5_000_000, "Reachable audience on the open platform(s)", "users", gt=0, le=1e9)
    languages: LanguageShares = Field(default_factory=LanguageShares)
    attitude_mean: float = P(
        -0.15, "Mean initial attitude toward IS (-1 hostile .. +1 devoted)", "attitude", ge=-1, le=1
    )
    attitude_sd: float = P(0.3, "Spread of initial attitudes", "attitude", gt=0, le=2)
    opposed_below: float = P(
        -0.3, "Attitude below which a user is opposed", "attitude", ge=-1, le=1
    )
    sympathizer_above: float = P(
        0.3, "Attitude above which a user is a sympathizer", "attitude", ge=-1, le=1
    )
    supporter_above: float = P(
        0.8,
        "Attitude above which a user is recruited (supporter; absorbing)",
        "attitude",
        ge=-1,
        le=2,
    )
    susceptibility_shape: float = P(
        1.5, "Gamma shape of susceptibility (mean 1; smaller = more unequal)", "", ge=0.01, le=100
    )
    pro_effect: float = P(
        0.0025,
        "Attitude gain per unit of log pro exposure, times susceptibility",
        "attitude",
        ge=0,
        le=1,
    )
    counter_effect: float = P(
        0.006,
        "Attitude loss per unit of log(1 + counter dose), times susceptibility; the dose sums "
        "each counter view weighted by its credibility and language match",
        "attitude",
        ge=0,
        le=1,
    )
    language_mismatch: float = P(
        0.15,
        "Relative effect of a counter message in a language other than the user's",
        "",
        ge=0,
        le=1,
    )
    relaxation: float = P(
        0.02,
        "Daily pull of attitude back to the user's initial attitude (applied when next exposed)",
        "1/day",
        ge=0,
        le=1,
    )
    share_prob: float = P(
        0.02, "Probability that a sympathizer shares a pro post they see", "", ge=0, le=1
    )
    share_reach: float = P(
        8.0, "Users of the same language who see one share", "impressions/share", ge=0, le=10_000
    )
    follow_prob: float = P(
        0.4,
        "Probability that a sympathizer follows a pro account seen outside their feed "
        "(neutral users follow at a tenth of it)",
        "",
        ge=0,
        le=1,
    )
    follow_budget: float = P(
        100.0, "Mean number of pro accounts a user will follow at most", "accounts", ge=1, le=10_000
    )
    organic_counter_rate: float = P(
        0.16,
        "Counter posts per opposed user per day before mobilisation",
        "posts/user/day",
        ge=0,
        le=100,
    )
    mobilization: float = P(
        0.3,
        "Extra organic counter posting per unit of log(1 + campaign posts per day / 1,000), "
        "the campaign volume averaged exponentially with weight 1/30 per day (anti-IS "
        "audiences growing vocal)",
        "",
        ge=0,
        le=100,
    )
    organic_reach: float = P(
        2.0, "Users who see one organic counter post", "impressions/post", ge=0, le=10_000
    )
    organic_credibility: float = P(
        0.5, "Credibility of a counter post by an ordinary opposed user", "0..1", ge=0, le=1
    )
    recruit_operate_prob: float = P(
        0.01, "Probability that a new recruit starts operating a pro account", "", ge=0, le=1
    )


class Platform(Strict):
    kind: Literal["open", "encrypted"] = P("open", "open (public, searchable) or encrypted")
    view_prob: float = P(
        0.005,
        "Probability that a follower (open) or channel member (encrypted) sees a given post",
        "",
        ge=0,
        le=1,
    )
    discovery: float = P(
        2.0,
        "Search/hashtag impressions on non-followers per pro post",
        "impressions/post",
        ge=0,
        le=10_000,
    )
    share_factor: float = P(
        1.0, "Multiplier on shares of posts seen on this open platform", "", ge=0, le=100
    )
    account_share: float = P(
        1.0, "Weight of this platform when a new open account is created", "", ge=0, le=1e6
    )
    pull: float = P(
        0.0,
        "Attraction of this encrypted platform for operators after suspension (0 = none)",
        "",
        ge=0,
        le=1,
    )
    invite_share: float = P(
        0.0,
        "Share of open-platform pro posts that carry an invite link to this encrypted platform",
        "",
        ge=0,
        le=0.2,
    )
    join_prob: float = P(
        0.05, "Probability that a sympathizer who sees an invite link joins", "", ge=0, le=1
    )
    channel_posts_per_day: float = P(
        5.0, "Posts per encrypted channel per day", "posts/day", ge=0, le=10_000
    )


class PostingRates(Strict):
    """Heavy-tailed posting rates: log-uniform between knots, shares per bracket (SPEC 5 inputs)."""

    knots: list[Annotated[float, Field(gt=0, le=10_000)]] = P(
        [0.05, 1.0, 5.0, 50.0, 150.0], "Bracket edges of posts per account per day", "posts/day"
    )
    shares: list[Annotated[float, Field(ge=0, le=1)]] = P(
        [0.40, 0.29, 0.287, 0.023], "Share of accounts in each bracket", "fraction"
    )
    multiplier: float = P(
        1.0, "Multiplier on all posting rates (activity surges)", "", ge=0, le=100
    )
    burstiness: float = P(
        1.0,
        "Gamma shape of day-to-day posting variation (smaller = burstier)",
        "",
        ge=0.01,
        le=1000,
    )

    @model_validator(mode="after")
    def _check(self) -> PostingRates:
        if len(self.knots) != len(self.shares) + 1:
            raise problem("knots must have exactly one more entry than shares", at=("knots",))
        if (
            any(b <= a for a, b in zip(self.knots, self.knots[1:], strict=False))
            or self.knots[0] <= 0
        ):
            raise problem("knots must be positive and increasing", at=("knots",))
        if abs(sum(self.shares) - 1) > 1e-6 or min(self.shares) < 0:
            raise problem("shares must be non-negative and sum to 1", at=("shares",))
        return self


class Operators(Strict):
    inflow_per_day: float = P(
        40.0,
        "New operators joining from outside the modelled audience",
        "operators/day",
        ge=0,
        le=100_000,
    )
    accounts_per_operator: float = P(
        1.6, "Mean accounts an operator runs at once (1 + Poisson)", "accounts", ge=1, le=100
    )
    recreate_delay_days: float = P(
        2.0, "Mean delay before a suspended operator's new account appears", "days", ge=0, le=365
    )
    quit_base: float = P(0.05, "Probability of quitting after a first suspension", "", ge=0, le=1)
    quit_per_suspension: float = P(
        0.03, "Added quitting probability per earlier suspension", "", ge=0, le=1
    )
    migrate_per_suspension: float = P(
        0.05,
        "Added migration propensity per earlier suspension (times platform pull)",
        "",
        ge=0,
        le=1,
    )
    evasion_learning: float = P(
        0.15, "Evasion gained by an operator per suspension (0..1 scale)", "", ge=0, le=1
    )


class Accounts(Strict):
    initial: float = P(
        20_000, "Active pro accounts at the start of warm-up", "accounts", ge=0, le=1e8
    )
    languages: LanguageShares = Field(
        default_factory=lambda: LanguageShares(arabic=0.73, english=0.18, other=0.09)
    )
    initial_followers_median: float = P(
        500.0, "Median followers of an initial account", "followers", ge=1, le=1e7
    )
    initial_followers_sigma: float = P(1.2, "Log-sd of initial follower counts", "", gt=0, le=4)
    posting: PostingRates = Field(default_factory=PostingRates)
    abandon_rate: float = P(
        0.002,
        "Daily probability that an operator abandons an active account (not a suspension)",
        "1/day",
        ge=0,
        le=1,
    )
    shoutout_share: float = P(
        0.15, "Share of pro posts that are shout-outs for a young account", "", ge=0, le=0.5
    )
    shoutout_window_days: float = P(
        30.0, "Age until which an account receives shout-outs", "days", ge=1, le=3650
    )
    shoutout_follow_prob: float = P(
        1.0, "Probability that a sympathizer who sees a shout-out follows", "", ge=0, le=1
    )
    refollow_prob: float = P(
        1.0,
        "Probability that an engaged follower of a suspended account follows its re-created "
        "successor (shout-outs within the network)",
        "",
        ge=0,
        le=1,
    )
    operators: Operators = Field(default_factory=Operators)


def _default_platforms() -> dict[str, Platform]:
    return {
        "twitter": Platform(kind="open"),
        "telegram": Platform(kind="encrypted", discovery=0.0, view_prob=0.3),
    }


class TimelineEvent(Strict):
    """Base of the timeline's event kinds (each component declares its own, with a ``Literal``
    ``action`` tag)."""

    action: str
    name: str = P(
        "",
        "Name of the entry: addresses it in keys (timeline.<name>.date) and in a variant's "
        "timeline_changes; unique in the timeline",
        pattern=EVENT_NAME_FIELD_PATTERN,
    )
    date: dt.date = P(..., "Day of the event")
    label: str = P("", "Free text shown in plots and the manifest")

    def describe(self) -> str:
        """What the event does, for plots when it has no ``label``."""
        return self.action

    def plot_label(self) -> str:
        return self.label or self.describe()

    def sets(self) -> dict[str, float]:
        """Scenario values the event changes from its date on (a ``set``), else nothing."""
        return {}

    def check(self, scenario: ScenarioBase) -> None:
        """Raise ``sim.config.problems.problem(...)`` if the event does not fit the scenario,
        located relative to the event (e.g. ``at=("platform",)``)."""


class PlatformEvent(TimelineEvent):
    """A timeline event aimed at one platform of a given kind (``platform_kind``)."""

    platform_kind: ClassVar[Literal["open", "encrypted"]] = "open"
    platform: str = P(..., "Platform the event acts on")

    def check(self, scenario: ScenarioBase) -> None:
        p = scenario.platforms.get(self.platform)
        if p is None or p.kind != self.platform_kind:
            kind = self.platform_kind
            choices = [n for n, q in scenario.platforms.items() if q.kind == kind]
            raise problem(
                f"{self.action} needs an {kind} platform; "
                f"{self.platform!r} is not one (choose from {choices})",
                at=("platform",),
                value=self.platform,
                choices=choices if p is None else None,  # a typo: did you mean?
            )


class DateSpan(Strict):
    """A section active between two optional dates, ``start`` and ``end`` (declared by the
    subclass with its own descriptions); ``end`` may not be before ``start``."""

    @model_validator(mode="after")
    def _span(self) -> DateSpan:
        start, end = getattr(self, "start", None), getattr(self, "end", None)
        if start and end and end < start:
            raise problem(f"end {end} is before start {start}", at=("end",))
        return self


class ScenarioBase(Strict):
    """A scenario: what is simulated, for how long, at what scale, under which policies."""

    # the components that assembled this schema (set by ``assemble_scenario``), in order
    components: ClassVar[tuple[Any, ...]] = ()

    name: str = P("scenario", "Short name used for the results folder", pattern=NAME_PATTERN)
    description: str = P("", "What question the scenario answers")
    start: dt.date = P(dt.date(2014, 1, 1), "First reported day", ge=FIRST_DATE, le=LAST_DATE)
    end: dt.date = P(dt.date(2016, 6, 30), "Last reported day", ge=FIRST_DATE, le=LAST_DATE)
    warmup_days: int = P(
        60, "Days simulated before start to form the network", "days", ge=0, le=3650
    )
    scale: float = P(
        20.0, "Real users/accounts per simulated one (1 = full scale)", "", ge=1, le=1e6
    )
    seed: int = P(1, "Root seed; replicate r uses seed + r", "", ge=0, le=MAX_SEED)
    replicates: int = P(
        3, "Independent runs with seeds seed, seed+1, ...", "", ge=1, le=MAX_REPLICATES
    )
    population: Population = Field(default_factory=Population)
    platforms: dict[str, Platform] = Field(default_factory=_default_platforms)
    accounts: Accounts = Field(default_factory=Accounts)
    if TYPE_CHECKING:  # (the field is the assembled schema's: its items are the components'
        timeline: list[TimelineEvent]  # event kinds, and it comes last)

    @field_validator("platforms")
    @classmethod
    def _platforms(cls, v: dict[str, Platform]) -> dict[str, Platform]:
        if not any(p.kind == "open" for p in v.values()):
            raise ValueError("at least one platform must be of kind 'open'")
        for name in v:
            if not name.isidentifier():
                raise problem(f"platform name {name!r} must be a simple identifier", at=(name,))
        return v

    @model_validator(mode="after")
    def _consistency(self) -> ScenarioBase:
        if self.end < self.start:
            # about the end, unless only the start was given (the end is its default)
            given = self.model_fields_set
            at = "start" if "start" in given and "end" not in given else "end"
            raise problem(f"end {self.end} is before start {self.start}", at=(at,))
        if self.days > MAX_RUN_DAYS:
            raise problem(
                f"the run from {self.start} to {self.end} has {self.days} days; at most "
                f"{MAX_RUN_DAYS} (ten years) are simulated",
                at=("end",),
            )
        if self.population.users / self.scale < MIN_SIMULATED_USERS:
            at = "scale" if "scale" in self.model_fields_set else "population"
            raise problem(
                f"population.users / scale = {self.population.users:g} / {self.scale:g} gives "
                f"{self.population.users / self.scale:.3g} simulated users; at least "
                f"{MIN_SIMULATED_USERS} are needed (scale at most "
                f"{self.population.users / MIN_SIMULATED_USERS:g})",
                at=(at,),
            )
        self._check_memory()
        if len(self.timeline) > MAX_TIMELINE_EVENTS:
            raise problem(
                f"the timeline has {len(self.timeline)} events; at most {MAX_TIMELINE_EVENTS}",
                at=("timeline",),
            )
        self._check_post_shares()
        for component in self.components:  # rules of the components' sections
            component.check(self)
        named: dict[str, int] = {}
        for i, ev in enumerate(self.timeline):
            if ev.name in named:
                raise problem(
                    f"the name {ev.name!r} is already taken by timeline entry {named[ev.name]}; "
                    "names must be unique in the timeline",
                    at=("timeline", i, "name"),
                )
            if ev.name:
                named[ev.name] = i
        for i, ev in enumerate(self.timeline):
            first = self.start - dt.timedelta(days=self.warmup_days)
            if ev.date < first:
                raise problem(
                    f"date {ev.date} is before the warm-up begins ({first}); "
                    "events after the end are allowed and ignored",
                    at=("timeline", i, "date"),
                )
            try:
                ev.check(self)
            except ValueError as err:
                raise within(("timeline", i), err) from None
        return self

    def _check_memory(self) -> None:
        """A run that would not fit in this machine's memory is refused before it starts."""
        from sim.config import memory

        room = memory.available_bytes()
        if room is None:
            return
        a, p = self.accounts, self.population
        sizes = (p.users, a.initial, a.initial_followers_median, a.initial_followers_sigma)
        need = memory.estimate_bytes(*sizes, self.scale)
        if need <= room:
            return
        finest = memory.finest_scale(*sizes, room)
        hint = f"the finest scale that fits is {finest:g}" if finest else "no scale fits"
        at = "scale" if "scale" in self.model_fields_set else "population"
        raise problem(
            f"a run at scale {self.scale:g} with {p.users:g} users and {a.initial:g} accounts "
            f"needs about {memory.gib(need)} of memory; this machine has "
            f"{memory.gib(room)} available ({hint})",
            at=(at,),
        )

    def _check_post_shares(self) -> None:
        """Shout-outs and invite links are shares of the same posts: at every date of the
        timeline their sum must stay below 0.95."""
        enc = self.platform_names("encrypted")
        keys = ["accounts.shoutout_share", *(f"platforms.{n}.invite_share" for n in enc)]
        current = {k: float(getattr(*resolve_parent(self, k))) for k in keys}
        when = ""
        at: tuple[Part, ...] = ("accounts", "shoutout_share")
        sets = sorted((ev.date, i, ev) for i, ev in enumerate(self.timeline) if ev.sets())
        for step in [None, *sets]:
            if step is not None:
                _, i, ev = step
                changed = {k: v for k, v in ev.sets().items() if k in current}
                if not changed:
                    continue
                current.update(changed)
                when, at = f"from {ev.date}, ", ("timeline", i, "values", next(iter(changed)))
            if sum(current.values()) >= 0.95:
                raise problem(
                    f"{when}accounts.shoutout_share plus the encrypted platforms' "
                    f"invite_share come to {sum(current.values()):g}; they are shares of the "
                    "same posts and must stay below 0.95",
                    at=at,
                )

    # --- helpers used by the model -------------------------------------------------------
    def platform_names(self, kind: Literal["open", "encrypted"]) -> list[str]:
        """Names of the platforms of one kind, in scenario order."""
        return [name for name, p in self.platforms.items() if p.kind == kind]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def day_index(self, date: dt.date) -> int:
        """Day number of a date: 0 is ``start``; warm-up days are negative."""
        return (date - self.start).days


def resolve_parent(root: BaseModel, key: str) -> tuple[Any, str]:
    """Walk a dotted key down to the object that holds it; returns (that object, last part).

    ``sim.config.keys.resolve_parent``: models by field, dict sections (platforms, moderation,
    counter) by key, lists by position. Raises ``keys.KeyPathError`` (a ``KeyError``) with the
    failing ``part``, its ``position`` and a message naming what exists there.
    """
    parent, slot = keys.resolve_parent(root, key)
    return parent, str(slot)


# Read only when the model is built: a timeline ``set`` of these would silently do nothing.
FIXED_AT_START = (
    "name",
    "description",
    "start",
    "end",
    "warmup_days",
    "scale",
    "seed",
    "replicates",
    "population.users",
    "population.languages",
    "population.attitude_mean",
    "population.attitude_sd",
    "population.susceptibility_shape",
    "population.follow_budget",
    "accounts.initial",
    "accounts.initial_followers_median",
    "accounts.initial_followers_sigma",
    "accounts.languages",
    "accounts.posting.knots",
    "accounts.posting.shares",
)


def check_settable(root: ScenarioBase, key: str, value: float) -> None:
    """A timeline ``set`` may change any numeric field the model reads day by day.

    Raises ``sim.config.problems.problem(...)`` (a ``ValueError``) about the assignment itself
    (``at=()``; a ``set`` event locates it at its ``values``).
    """
    fixed = FIXED_AT_START + tuple(k for c in type(root).components for k in c.fixed_at_start)
    if any(key == f or key.startswith(f + ".") for f in fixed):
        raise problem(
            f"{key!r} is fixed when the run starts and cannot be changed by the "
            "timeline; set it in the scenario itself",
            value=value,
        )
    if key == "timeline" or key.startswith("timeline."):
        raise problem(f"{key!r}: the timeline cannot change its own events", value=value)
    try:
        parent, last = resolve_parent(root, key)
    except keys.KeyPathError as err:
        raise problem(
            f"{key!r} is not a scenario key ({err})", value=value, explain_set=True
        ) from None
    if not isinstance(parent, BaseModel):
        raise problem(
            f"{key!r} is not a scenario key (no field {last!r})", value=value, explain_set=True
        )
    current = getattr(parent, last)
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise problem(f"{key!r} is not numeric and cannot be set by the timeline", value=value)
    # the value must satisfy the field's own bounds (checked on the field alone, so that
    # section-level checks of the scenario do not run again from inside this one)
    info = type(parent).model_fields[last]
    try:
        # Annotated[...] built at run time from the field: valid for pydantic, opaque to mypy
        TypeAdapter(Annotated[info.annotation, info]).validate_python(value)  # type: ignore[arg-type]
    except ValidationError as err:
        reason = "; ".join(e["msg"] for e in err.errors())
        raise problem(
            f"{key!r}={value!r} is invalid: {reason}", value=value, explain_set=True
        ) from None


def apply_set(root: ScenarioBase, key: str, value: float) -> None:
    """Apply one validated timeline assignment in place (used by the model at run time)."""
    keys.set(root, key, value)
