"""The Mesa model: owns the run, its shared state, its random streams, its calendar and the day's
loop over the components' phase hooks.

Data flow: validated scenario (its class lists the components that assembled it) ->
``PropagandaModel`` (users, follower graph, account table, channels, operators; one instance of
each component) -> one row of metrics per reported day, filled by the components by name ->
``simulate`` returns them as a DataFrame in real-world units.

Scale: the model holds ``users / scale`` users and ``accounts / scale`` accounts, with real-world
degrees (followers per account, impressions per post). Every count it reports is multiplied back
by ``scale``; per-account and per-user figures are reported as they are.

The mechanisms live in ``sim.components`` (one file each); this module knows none of them. It
holds what several of them share: the state, the day's blackboard (``Day``), and the operations
on shared state that several mechanisms perform (ending accounts, adding follows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.config.schema import ScenarioBase, TimelineEvent
from sim.core import allocator, kernels
from sim.core.component import PHASE_NAMES, PHASES, Component, MetricSpec
from sim.core.rng import Streams
from sim.core.state.accounts import AccountTable
from sim.core.state.channels import ChannelTable
from sim.core.state.graph import FollowerGraph
from sim.core.state.operators import OperatorTable
from sim.core.state.users import Users


@dataclass(slots=True)
class FollowCandidates:
    """Users who may follow an account, with one base probability (``add_follows``).

    ``accounts`` gives, for the indices (into ``users``) of those who do follow, the accounts
    they follow: chosen only for them, since most candidates do not follow.
    """

    users: np.ndarray
    p_base: float
    accounts: Callable[[np.ndarray], np.ndarray]


@dataclass
class DayTally:
    """The day's counts per open platform (and takedowns per encrypted one) for the metrics."""

    impressions: np.ndarray
    shares: np.ndarray
    shares_observed_weight: np.ndarray
    shares_by_language: np.ndarray  # (open platform, language of the shared post's account)
    susp_n: np.ndarray
    susp_followers: np.ndarray
    susp_age: np.ndarray
    takedowns: np.ndarray

    def clear(self) -> None:
        for counts in vars(self).values():
            counts.fill(0)

    @classmethod
    def zeros(cls, n_open: int, n_enc: int) -> DayTally:
        return cls(*_views(cls.buffers(n_open, n_enc), n_open, n_enc))

    @staticmethod
    def buffers(n_open: int, n_enc: int) -> tuple[np.ndarray, np.ndarray]:
        """Zeroed storage for a tally's counts (integers, floats): ``_views`` lays the fields
        out in them, so that one ``fill`` per buffer clears a tally (``Day.clear``)."""
        return np.zeros(6 * n_open + n_enc, np.int64), np.zeros(3 * n_open)


def _views(buffers: tuple[np.ndarray, np.ndarray], n_open: int, n_enc: int) -> list[np.ndarray]:
    """A ``DayTally``'s fields, in order, as views of ``DayTally.buffers``."""
    ints, floats = buffers
    n = n_open
    return [
        ints[:n],
        ints[n : 2 * n],
        floats[:n],
        ints[2 * n : 5 * n].reshape(n, 3),
        ints[5 * n : 6 * n],
        floats[n : 2 * n],
        floats[2 * n : 3 * n],
        ints[6 * n : 6 * n + n_enc],
    ]


class Day:
    """The day's blackboard: what one phase leaves for the later ones (cleared after ``record``;
    events that fire before the next step, such as a purge, already add to the next day's).

    Fields set by today's components (declared below; a new component declares its own there
    too, or keeps what only it needs on itself):
    ``act``, ``k`` (posting: the active accounts and their posts), ``campaign`` and
    ``organic`` (counter-messaging: real-world posts by kind), ``follows`` (exposure: follow
    candidates), ``invite_platform``/``invite_user`` (exposure: invite-link views),
    ``recruits``/``reached`` (attitudes), ``suspended`` (moderation: per suspension batch, the
    accounts, the users who lost them and the bounds per account), ``new_fresh``/
    ``new_recreated`` (operators, by open platform), ``tally`` (counts for the metrics),
    ``sums``/``n_running`` (posting's per-platform sums of the account table, for metrics:
    the six of ``kernels.record_sums``, then ``pro_true``).
    """

    # declared for readers and type checkers (set by the components named above)
    tally: DayTally
    new_fresh: np.ndarray
    new_recreated: np.ndarray
    suspended: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    follows: list[FollowCandidates]
    invite_platform: list[np.ndarray]
    invite_user: list[np.ndarray]
    act: np.ndarray
    k: np.ndarray
    campaign: dict[str, float]
    organic: float
    reached: int
    recruits: np.ndarray
    sums: list[list[float]]
    n_running: int
    pro_true: list[float]
    anti_true: list[float]
    # exposure's extension point for search interventions (the Redirect Method sets it): a
    # share of searches diverted per open platform and language, and the expected number
    # diverted per language that exposure leaves for them
    search_diverted: np.ndarray | None
    diverted_searches: np.ndarray | None
    # outside events' extension point (multipliers per open platform, 1 unless a component
    # that models outside events, e.g. an attack or a major release, sets them during
    # ``start``): on pro posting rates, on discovery impressions per post, on the moderation
    # hazard's intensity, and on user reports
    posting_factor: np.ndarray
    discovery_factor: np.ndarray
    moderation_factor: np.ndarray
    report_factor: np.ndarray
    # coordination's extension point (exposure multiplies it in): per poster of ``act``, a
    # multiplier on its discovery impressions (coordinated campaigns that trend), set during
    # ``post``; None when no campaign ran today
    discovery_boost: np.ndarray | None

    def __init__(self, n_open: int, n_enc: int) -> None:
        # the day's counts and factors live in a few buffers, each cleared by one ``fill``
        # (``clear`` runs every day; a ``fill`` per field cost several microseconds)
        tally_ints, tally_floats = DayTally.buffers(n_open, n_enc)
        counts = np.zeros(2 * n_open)
        ones = np.ones(4 * n_open)
        self._zeroed = (tally_ints, tally_floats, counts)
        self._ones = ones
        self._kept = (
            DayTally(*_views((tally_ints, tally_floats), n_open, n_enc)),
            counts[:n_open],
            counts[n_open:],
            tuple(ones[i * n_open : (i + 1) * n_open] for i in range(4)),
        )
        self.clear()

    def clear(self) -> None:
        """Start a new day: counts to zero, factors to 1, lists empty, every other field
        gone."""
        zeroed, ones, kept = self._zeroed, self._ones, self._kept
        self.__dict__.clear()
        for buffer in zeroed:
            buffer.fill(0)
        ones.fill(1.0)
        self._zeroed, self._ones, self._kept = zeroed, ones, kept
        self.tally, self.new_fresh, self.new_recreated, factors = kept
        (
            self.posting_factor,
            self.discovery_factor,
            self.moderation_factor,
            self.report_factor,
        ) = factors
        self.suspended = []
        self.follows = []
        self.invite_platform = []
        self.invite_user = []
        self.search_diverted = None
        self.diverted_searches = None
        self.discovery_boost = None

    def __getattr__(self, name: str) -> Any:
        # only reached for fields no component has set today
        raise AttributeError(
            f"today.{name} is not set: the component that provides it has not run yet today "
            "(check the phase order, sim.core.component.PHASES)"
        )


class _Action:
    """A scheduled callable that stays alive until it fires (Mesa keeps weak references)."""

    def __init__(self, model: PropagandaModel, fn: Callable[[], None]) -> None:
        self.model, self.fn = model, fn
        model._pending_actions.add(self)

    def fire(self) -> None:
        self.model._pending_actions.discard(self)
        self.fn()


def _day_docstring() -> str:
    lines = [f"    {i}. ``{p.name}``: {p.text}" for i, p in enumerate(PHASES, 1)]
    return "\n".join(lines)


class PropagandaModel(mesa.Model):
    """Pro-IS propaganda on open and encrypted platforms under countermeasures.

        One day, in order (SPEC 2.3; ``sim.core.component.PHASES``). ``step`` calls, phase by phase,
        the hooks of the components that define one, in the components' order:

    {phases}
    """

    def __init__(self, scenario: ScenarioBase, seed: int | None = None) -> None:
        seed = scenario.seed if seed is None else seed
        allocator.tune()  # keep the day's freed temporaries for the next day (see there)
        classes: tuple[type[Component], ...] = type(scenario).components
        if not classes:
            raise TypeError(
                "the scenario's schema was not assembled from components: load it with "
                "sim.scenario.load_scenario or build it with sim.scenario.Scenario(...)"
            )
        self.streams = Streams(seed, [s for c in classes for s in c.streams])
        super().__init__(rng=self.streams["mesa"])
        self.seed = seed
        self.sc = scenario.model_copy(deep=True)  # timeline ``set`` events mutate this copy
        sc = self.sc
        self.scale = sc.scale
        self.warmup = sc.warmup_days
        self.n_days = sc.days
        self.open_names = sc.platform_names("open")
        self.enc_names = sc.platform_names("encrypted")
        self._pending_actions: set[_Action] = set()

        # shared state
        rng = self.streams["init"]
        self.users = Users(max(1, round(sc.population.users / self.scale)), sc.population, rng)
        self.users.last_update[:] = -self.warmup  # attitudes are at baseline on the first day
        self.accounts = AccountTable()
        self.graph = FollowerGraph()
        self.channels = ChannelTable(capacity=64)
        self.operators: list[Any] = []  # the operators of accounts (``accounts.operator``)
        self.operator_table = OperatorTable()  # their changing state, row ``Operator.index``
        # follows among pro accounts (account -> its follower accounts), each counting as
        # ``network_weight`` real-world followers; None unless a component (roles) sets up the
        # network
        self.network: FollowerGraph | None = None
        self.network_weight = float(self.scale)
        # called by ``end_accounts`` with (ids, day, tally) before the accounts' edges go (a
        # component registers only when it has something to do there: this runs most days)
        self.on_end: list[Callable[[np.ndarray, int, DayTally], None]] = []
        self.today = Day(len(self.open_names), len(self.enc_names))
        # (``add_follows``'s run bounds and probability for one run, reused: most calls)
        self._one_run = (np.zeros(1, np.int64), np.zeros(1))

        # components, the daily table's layout, the phase hooks
        self.components: dict[str, Component] = {c.name: c(self) for c in classes}
        self.metrics: list[MetricSpec] = [m for c in classes for m in c.metrics]
        self.columns = metric_columns(self.metrics, self.open_names, self.enc_names)
        self._col = {c: j for j, c in enumerate(self.columns)}
        self.table = np.full((self.n_days, len(self.columns)), np.nan)
        self._handler: dict[str, Component] = {
            e.model_fields["action"].default: comp
            for comp in self.components.values()
            for e in comp.events
        }
        for comp in self.components.values():
            comp.refresh()
        for comp in self.components.values():
            comp.init()
            if not comp._initialised:
                raise TypeError(f"component {comp.name}: init() must call super().init()")
        self._schedule_timeline()
        for comp in self.components.values():
            comp.schedule()
        self.arrange()

    def arrange(self) -> None:
        """The day's hooks, phase by phase in component order, of the components that are not
        idle (``Component.idle``), and the columns of the idle ones' metrics (0 while idle).
        Called when the model is built, after a ``refresh`` and after every timeline event."""
        hooks: dict[str, list[Callable[..., None]]] = {p: [] for p in PHASE_NAMES}
        idle_cols: list[int] = []
        for comp in self.components.values():
            if comp.idle():
                for spec in comp.metrics:
                    idle_cols += (
                        [self._col[spec.name]]
                        if spec.scope == "global"
                        else self.platform_columns(spec.name)
                    )
                continue
            for phase, fn in comp.hooks().items():
                hooks[phase].append(fn)
        self._phases = [hooks[p] for p in PHASE_NAMES if p != "record"]
        self._record_hooks = hooks["record"]
        self._idle_cols = np.array(idle_cols, dtype=np.int64)

    # --- layout of the daily table ------------------------------------------------------
    def column(self, metric: str) -> int:
        """Position of a global metric in a row of ``table``."""
        return self._col[metric]

    def platform_columns(self, metric: str) -> list[int]:
        """Positions of a per-platform metric, one per platform of its scope, in order."""
        spec = next(m for m in self.metrics if m.name == metric)
        names = self.open_names if spec.scope == "open" else self.enc_names
        return [self._col[f"{p}.{metric}"] for p in names]

    def component(self, name: str) -> Component:
        """The component called ``name`` (KeyError naming the known ones if none is)."""
        try:
            return self.components[name]
        except KeyError:
            known = ", ".join(self.components)
            raise KeyError(f"no component {name!r} in this model (known: {known})") from None

    # --- time ---------------------------------------------------------------------------
    def time_of(self, day: int) -> float:
        """Mesa time at which events of ``day`` fire: half a day before that day's step."""
        return day + self.warmup + 0.5

    @property
    def day(self) -> int:
        """Current day index: 0 is the scenario's start, warm-up days are negative."""
        return self.steps - 1 - self.warmup

    def at(self, day: int, fn: Callable[[], None]) -> None:
        """Call ``fn`` before day ``day``'s step (at once if that time has passed)."""
        self.schedule_event(_Action(self, fn).fire, at=max(self.time_of(day), self.time))

    def _schedule_timeline(self) -> None:
        """Deliver every timeline event on its date to the component that handles its kind."""
        for ev in self.sc.timeline:
            self.at(self.sc.day_index(ev.date), _Deliver(self._handler[ev.action], ev))

    def refresh(self) -> None:
        """Scenario values changed (a timeline ``set``): components recompute what they derive."""
        for comp in self.components.values():
            comp.refresh()
        self.arrange()

    # --- the day ------------------------------------------------------------------------
    def step(self) -> None:
        d = self.day
        for hooks in self._phases:
            for fn in hooks:
                fn(d)
        if d >= 0:
            row = self.table[d]
            for fn in self._record_hooks:
                fn(d, row)
            if self._idle_cols.size:
                row[self._idle_cols] = 0.0
        self.today.clear()

    # --- operations on shared state used by several components -----------------------------
    def end_accounts(
        self, ids: np.ndarray, d: int, tally: DayTally
    ) -> tuple[np.ndarray, np.ndarray]:
        """Accounts ``ids`` end on day ``d``: their follow edges go, their followers' follow
        counts fall, their audience followers are added to ``accounts.end_followers`` (after
        ``on_end``), and ``tally`` counts them as suspensions. Returns the users who lost a
        follow, account ``ids[j]``'s in ``lost[bounds[j]:bounds[j + 1]]``, and ``bounds``."""
        t, g, u = self.accounts, self.graph, self.users
        for fn in self.on_end:
            fn(ids, d, tally)
        lost, bounds, freed, change = kernels.end_accounts(
            np.asarray(ids, dtype=np.int64),
            d,
            (t.active, t.ended, t.created, t.platform, t.end_followers),
            (g.pool, g.start, g.length, g.cap),
            u.n_following,
            (tally.susp_n, tally.susp_followers, tally.susp_age),
        )
        # (one kernel for what ``graph.remove_accounts`` and ``users.follow(lost, -1)`` do)
        g.dead += freed
        u.n_followers_of_pro += change
        return lost, bounds

    def follower_counts(self, ids: np.ndarray | None = None) -> np.ndarray:
        """Followers of every account (indexed by id), or of the accounts ``ids`` (in their
        order): its audience followers, plus ``network_weight`` per follower account in the
        network among accounts when there is one. (Ask for the accounts you need: the account
        table keeps every account ever opened, at full scale ten to twenty times the active
        ones late in a run, and a pass over all of them costs milliseconds.)"""
        if self.network is None:
            return self.graph.length if ids is None else self.graph.length[ids]
        if ids is None:
            n = self.accounts.n
            out = self.graph.length[:n].astype(np.float64)
            out += self.network_weight * self.network.length[:n]
            return out
        out = self.graph.length[ids].astype(np.float64)
        out += self.network_weight * self.network.length[ids]
        return out

    def follower_parts(self) -> tuple[np.ndarray, np.ndarray, float]:
        """What ``follower_counts`` adds up, for compiled code that reads the accounts it needs
        (``kernels.followers_of``): (audience followers, follower accounts in the network,
        ``network_weight``); without a network (audience followers, the same again, 0.0), which
        adds exactly 0 to each count."""
        if self.network is None:
            return self.graph.length, self.graph.length, 0.0
        return self.graph.length, self.network.length, float(self.network_weight)

    def add_follows(self, runs: list[FollowCandidates]) -> None:
        """The candidates follow with ``p_base * engagement * room`` (``kernels.gate_follows``);
        the follows are added to the graph and to the users' follow counts."""
        u = self.users
        if len(runs) == 1:  # (re-follows: few numpy calls for a small day)
            users = runs[0].users
            run_end, p_base = self._one_run
            run_end[0], p_base[0] = users.size, runs[0].p_base
        else:
            users = np.concatenate([r.users for r in runs])
            run_end = np.cumsum([r.users.size for r in runs], dtype=np.int64)
            p_base = np.array([r.p_base for r in runs], dtype=np.float64)
        idx = kernels.gate_follows(
            self.streams.handle("follow"), run_end, p_base, users, u.state, u.follows
        )
        if len(runs) == 1:
            acc = runs[0].accounts(idx)
        else:  # the accounts followed, run by run (``idx`` is increasing)
            parts, lo, first = [], 0, 0
            cut = np.searchsorted(idx, run_end).tolist()
            for r, hi, end in zip(runs, cut, run_end.tolist(), strict=True):
                part = idx[lo:hi]
                parts.append(r.accounts(part - first if first else part))
                lo, first = hi, end
            acc = np.concatenate(parts)
        keys = acc.astype(np.int64, copy=False) * u.n
        keys += users[idx]
        u.follow(self.graph.add_keys(keys, u.n), 1)

    # --- running ------------------------------------------------------------------------
    def run(self, progress: Callable[[int], None] | None = None) -> pd.DataFrame:
        """Simulate warm-up and all reported days; returns the daily metrics table."""
        for _ in range(self.warmup + self.n_days):
            self.step()
            if progress is not None:
                progress(1)
        index = pd.date_range(self.sc.start, periods=self.n_days, freq="D", name="date")
        return pd.DataFrame(self.table, index=index, columns=self.columns)


PropagandaModel.__doc__ = (PropagandaModel.__doc__ or "").format(phases=_day_docstring())


class _Deliver:
    """A timeline event's delivery to its component (a callable Mesa can schedule)."""

    __slots__ = ("component", "event")

    def __init__(self, component: Component, event: TimelineEvent) -> None:
        self.component, self.event = component, event

    def __call__(self) -> None:
        self.component.handle(self.event)
        self.component.model.arrange()  # (the event may have woken its component)


def metric_columns(
    metrics: list[MetricSpec], open_platforms: list[str], encrypted_platforms: list[str]
) -> list[str]:
    """Columns of the daily table: per-platform metrics first (open, then encrypted; each
    metric for every platform of its scope), then the global ones; in component order."""
    cols: list[str] = []
    for scope, names in (("open", open_platforms), ("encrypted", encrypted_platforms)):
        for m in metrics:
            if m.scope == scope:
                cols += [f"{p}.{m.name}" for p in names]
    cols += [m.name for m in metrics if m.scope == "global"]
    return cols


def simulate(
    scenario: ScenarioBase, seed: int | None = None, progress: Callable[[int], None] | None = None
) -> pd.DataFrame:
    """Run one replicate of ``scenario`` with ``seed`` (default: the scenario's seed)."""
    return PropagandaModel(scenario, seed).run(progress)
