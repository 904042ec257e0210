"""A plain Mesa implementation of the model's core: the speed peer and the oracle of the real model.

``PropagandaModel`` (``sim/model.py``) keeps users, accounts and follow edges in numpy arrays and
vectorises the day. This module implements the same rules the way Mesa's own examples are
written (``mesa/examples/basic/virus_on_network``, ``boltzmann_wealth_model``): one Mesa
``Agent`` per user (``User``), per pro account (``ProAccount``) and per operator (``Operator``);
each account holds a Python list of its follower ``User`` objects; the day is a sequence of
``model.agents_by_type[...].shuffle_do(...)`` activations; draws are scalar draws from the
model's ``random`` (``random.Random``) and ``rng`` (``numpy.random.Generator``, for Poisson and
geometric variates, which the standard library lacks); no numpy vectorisation over agents;
re-created accounts come back through ``Model.schedule_event``; the daily figures are gathered
by a ``mesa.DataCollector``. It is deliberately the idiomatic, slow way.

Rules implemented (docs/ODD.md sections 5 and 7; parameters read from the same
``sim.config.schema.Scenario`` object as the real model, so both share one configuration):

- **Initialisation** (ODD 5): users with language, Gamma susceptibility, clipped normal baseline
  attitude, state from the thresholds, geometric follow cap; operators with ``1 + Poisson(m - 1)``
  accounts each (the last trimmed), language from ``accounts.languages``, log-uniform posting
  rates in brackets, creation day ``-warmup - U{0..364}``; initial followers: a log-normal number
  of draws per account (at most ``N // 2``) with replacement from all users with weight
  ``exp(3 a) * (0.05 if opposed else 1)``, a user drawn twice added once (the rule of
  ``PropagandaModel._seed_accounts``).
- **Posting** (ODD 7.2): ``k ~ Poisson(rate * multiplier * Gamma(b, 1/b))`` per account and day.
- **Feed views** (ODD 7.3): ``Poisson(followers * k * view_prob)`` views per account, spread over
  its followers. By default (``view_sampling="systematic"``) with the real model's systematic
  sampling (``kernels.feed_views``: one uniform phase per account, view ``m`` to the follower at
  position ``floor((phase + m) * f / c)``); ``view_sampling="uniform"`` draws each viewer
  uniformly with replacement instead, the textbook way, under which a follower can see several
  of an account's posts even when the account has fewer views than followers.
- **Attitudes** (ODD 7.6): for users with a pro dose ``n > 0`` today, relaxation toward the
  baseline since their last update, applied lazily, ``(1 - relaxation) ** elapsed``; then
  ``a += susceptibility * pro_effect * log1p(n)``, clipped to [-1, 1]; state from the
  thresholds, supporters absorbing. ``users_reached`` counts these users.
- **Suspension** (ODD 7.11, ``moderation.suspension_probability``): probability
  ``1 - exp(-h)`` with ``h = intensity * ((k + 0.5) / 5) ** post_weight * ((f + 1) / 1000) **
  follower_weight * (1 - evasion_protection * e) + flagging * [age < flag_window_days]``; a
  suspension cuts all follow edges (followers' follow counts go down).
- **Operators and re-creation** (ODD 7.13, ``accounts.Operator.decide`` with no encrypted
  pull): ``S += 1``, evasion ``+= evasion_learning`` (at most 1), quit with probability
  ``min(1, quit_base + quit_per_suspension * (S - 1))``, else re-create after
  ``max(1, round(Exponential(recreate_delay_days)))`` days: same language, operator and rate,
  the operator's evasion at that time, no followers.
- **Re-follows** (ODD 7.9): at the start of the day the account re-appears, each follower of
  the suspended account follows it with probability ``refollow_prob * E(u) * R(u)``
  (engagement and free share of the follow budget, all evaluated before any of the batch is
  added, as in the real model).

Left out (``check_supported`` rejects a scenario that uses them; ``build_shared_scenario``
switches them off in the configuration both implementations run): shares, search/hashtag
discovery, shout-outs and the follows they cause, counter-messaging (campaigns and organic
counter posts), encrypted platforms, channels and migration, abandonment, new operators (inflow
and recruits who operate), purges and timeline events, observed figures. Initial follower lists
have no duplicates and the only later follows are re-follows of a fresh account, so duplicate
follows (ODD 10) never arise here; follower lists need no set.

Reported (``run_reference``), per reported day, with the real model's column names and in its
real-world units (counts times ``scale``): ``<open>.suspensions``, ``<open>.mean_followers``
(active accounts at the end of the day), ``users_reached``, ``<open>.active_accounts``,
``sympathizers``.

Usage::

    from benchmarks.reference_mesa import build_shared_scenario, run_reference
    sc = build_shared_scenario(users=5000, accounts=60, days=60)
    daily = run_reference(sc, seed=1)           # and sim.core.model.simulate(sc, seed=1) to compare
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Literal

import mesa
import numpy as np
import pandas as pd
from mesa.agentset import AbstractAgentSet

from sim.components.moderation import Moderation, moderation_for
from sim.config.schema import Accounts, Operators, Platform, Population, PostingRates
from sim.scenario import Scenario

OPPOSED, NEUTRAL, SYMPATHIZER, SUPPORTER = 0, 1, 2, 3
INITIAL_MAX_AGE = 365  # initial accounts were created up to this many days before warm-up
REFERENCE_POSTS = 5.0  # the reference account of moderation.visibility
REFERENCE_FOLLOWERS = 1000.0
ViewSampling = Literal["systematic", "uniform"]


# --- the shared configuration ------------------------------------------------------------


def build_shared_scenario(
    users: int = 20_000,
    accounts: int = 200,
    days: int = 100,
    scale: float = 1,
    *,
    warmup_days: int = 0,
    seed: int = 1,
) -> Scenario:
    """A scenario for the real model with exactly the rules the reference implements.

    ``users`` and ``accounts`` are real-world counts (``users / scale`` users are simulated:
    scale 1 with 20,000 users gives 20,000 simulated users). Shares, discovery, shout-outs,
    abandonment, new operators, counter-messaging, encrypted platforms and timeline events are
    off; moderation (hazard and flagging) and re-creation with re-follows are on.
    """
    start = dt.date(2015, 1, 1)
    return Scenario(
        name="reference_shared",
        description="Core rules shared by sim.core.model and benchmarks/reference_mesa.py",
        start=start,
        end=start + dt.timedelta(days=days - 1),
        warmup_days=warmup_days,
        scale=scale,
        seed=seed,
        replicates=1,
        population=Population(
            users=users,
            share_prob=0.0,
            recruit_operate_prob=0.0,
            organic_counter_rate=0.0,
            counter_effect=0.0,
        ),
        platforms={"twitter": Platform(kind="open", view_prob=0.01, discovery=0.0)},
        accounts=Accounts(
            initial=accounts,
            initial_followers_median=300.0,
            initial_followers_sigma=1.2,
            posting=PostingRates(burstiness=1.0),
            abandon_rate=0.0,
            shoutout_share=0.0,
            refollow_prob=0.3,
            operators=Operators(inflow_per_day=0.0, recreate_delay_days=2.0),
        ),
        counter={},
        moderation={"twitter": Moderation(intensity=0.02, flagging=0.02, flag_window_days=7)},
        timeline=[],
    )


def check_supported(sc: Scenario) -> str:
    """Raise ``ValueError`` if ``sc`` uses rules the reference leaves out; returns the name of
    its one open platform."""
    problems: list[str] = []
    open_names = [n for n, p in sc.platforms.items() if p.kind == "open"]
    if len(open_names) != 1:
        problems.append(f"exactly one open platform is supported, not {open_names}")
    for name, p in sc.platforms.items():
        if p.kind == "open":
            if p.discovery != 0:
                problems.append(f"platforms.{name}.discovery must be 0")
        elif p.pull != 0 or p.invite_share != 0:
            problems.append(f"encrypted platform {name!r} must have pull 0 and invite_share 0")
    if sc.population.share_prob * max(p.share_factor for p in sc.platforms.values()) != 0:
        problems.append("population.share_prob (or the share_factor) must be 0")
    if sc.population.recruit_operate_prob != 0:
        problems.append("population.recruit_operate_prob must be 0")
    if sc.population.organic_counter_rate * sc.population.organic_reach != 0:
        problems.append("organic counter posts must be off (population.organic_counter_rate 0)")
    if sc.counter:
        problems.append("counter campaigns are not supported")
    if sc.accounts.shoutout_share != 0:
        problems.append("accounts.shoutout_share must be 0")
    if sc.accounts.abandon_rate != 0:
        problems.append("accounts.abandon_rate must be 0")
    if sc.accounts.operators.inflow_per_day != 0:
        problems.append("accounts.operators.inflow_per_day must be 0")
    if sc.timeline:
        problems.append("timeline events (sets, purges, takedowns) are not supported")
    if problems:
        raise ValueError("the reference cannot run this scenario: " + "; ".join(problems))
    return open_names[0]


# --- agents ------------------------------------------------------------------------------


class User(mesa.Agent):
    """One user of the reachable audience."""

    model: ReferenceModel

    def __init__(
        self,
        model: ReferenceModel,
        language: int,
        susceptibility: float,
        baseline: float,
        follow_cap: int,
    ) -> None:
        super().__init__(model)
        self.language = language
        self.susceptibility = susceptibility
        self.baseline = baseline
        self.attitude = baseline
        self.state = model.classify(baseline)
        self.last_update = -model.warmup  # attitude equals baseline until the first update
        self.follow_cap = follow_cap
        self.following = 0
        self.pro_dose = 0  # pro views today

    def engagement(self) -> float:
        """Willingness to follow: 1 for sympathizers and supporters, 0.1 neutral, 0 opposed."""
        if self.state >= SYMPATHIZER:
            return 1.0
        return 0.1 if self.state == NEUTRAL else 0.0

    def follow_room(self) -> float:
        """Free share of the follow budget (0..1)."""
        return min(1.0, max(0.0, 1.0 - self.following / self.follow_cap))

    def step(self) -> None:
        """Today's attitude update: lazy relaxation, then the pro dose (if any)."""
        if self.pro_dose == 0:
            return
        model, p = self.model, self.model.sc.population
        day = model.day
        keep = (1.0 - p.relaxation) ** (day - self.last_update)
        a = self.baseline + (self.attitude - self.baseline) * keep
        a += self.susceptibility * p.pro_effect * math.log1p(self.pro_dose)
        self.attitude = min(1.0, max(-1.0, a))
        self.last_update = day
        self.pro_dose = 0
        model.reached_today += 1
        if self.state != SUPPORTER:
            self.state = model.classify(self.attitude)


class Operator(mesa.Agent):
    """A supporter who runs pro accounts; decides what to do when one is suspended."""

    model: ReferenceModel

    def __init__(self, model: ReferenceModel, language: int) -> None:
        super().__init__(model)
        self.language = language
        self.evasion = 0.0
        self.suspensions = 0
        self.open_accounts = 0
        self.waiting: list[ProAccount] = []  # suspended accounts about to be re-created

    def decide(self, account: ProAccount, lost: list[User]) -> None:
        """Quit or re-create (``accounts.Operator.decide`` with no encrypted pull)."""
        ops = self.model.sc.accounts.operators
        self.open_accounts -= 1
        self.suspensions += 1
        self.evasion = min(1.0, self.evasion + ops.evasion_learning)
        p_quit = min(1.0, ops.quit_base + ops.quit_per_suspension * (self.suspensions - 1))
        if self.random.random() < p_quit:
            return
        mean = ops.recreate_delay_days
        delay = max(1, round(self.random.expovariate(1.0 / mean))) if mean > 0 else 1
        account.lost_followers = lost
        self.waiting.append(account)  # keeps it alive for the (weakly referenced) event
        self.model.schedule_event(account.come_back, at=self.model.time_of(self.model.day + delay))


class ProAccount(mesa.Agent):
    """A pro-IS account on the open platform, with the list of its followers."""

    model: ReferenceModel

    def __init__(
        self,
        model: ReferenceModel,
        operator: Operator,
        language: int,
        rate: float,
        evasion: float,
        created: int,
    ) -> None:
        super().__init__(model)
        self.operator = operator
        self.language = language
        self.rate = rate
        self.evasion = evasion
        self.created = created
        self.followers: list[User] = []
        self.posts = 0  # today
        self.lost_followers: list[User] = []  # at suspension, for the successor

    def post(self) -> None:
        """Today's posts: Poisson of the rate times a Gamma day factor (burstiness)."""
        posting = self.model.sc.accounts.posting
        shape = posting.burstiness
        factor = self.random.gammavariate(shape, 1.0 / shape)
        self.posts = int(self.rng.poisson(self.rate * posting.multiplier * factor))

    def expose(self) -> None:
        """Feed views of today's posts, spread over the followers; each adds to a pro dose."""
        f = len(self.followers)
        views = int(self.rng.poisson(f * self.posts * self.model.platform.view_prob))
        if views == 0 or f == 0:
            return
        if self.model.view_sampling == "uniform":
            for user in self.random.choices(self.followers, k=views):
                user.pro_dose += 1
            return
        step = f / views  # systematic sampling, as kernels.feed_views
        x = self.random.random() * step
        for _ in range(views):
            self.followers[min(int(x), f - 1)].pro_dose += 1
            x += step

    def face_moderation(self) -> None:
        """Suspension by the daily hazard (visibility, evasion) and automated flagging."""
        m = self.model.moderation
        visibility = ((self.posts + 0.5) / REFERENCE_POSTS) ** m.post_weight * (
            (len(self.followers) + 1.0) / REFERENCE_FOLLOWERS
        ) ** m.follower_weight
        hazard = m.intensity * visibility * (1.0 - m.evasion_protection * self.evasion)
        if self.model.day - self.created < m.flag_window_days:
            hazard += m.flagging
        if self.random.random() < -math.expm1(-hazard):
            self.model.suspend(self)

    def come_back(self) -> None:
        """Scheduled event: the re-created successor appears; its old network may re-follow."""
        op = self.operator
        op.waiting.remove(self)
        new = ProAccount(
            self.model, op, self.language, self.rate, op.evasion, created=self.model.day + 1
        )
        op.open_accounts += 1
        if self.lost_followers:
            self.model.refollow_queue.append((new, self.lost_followers))
        self.lost_followers = []


# --- the model ---------------------------------------------------------------------------


class ReferenceModel(mesa.Model):
    """The model's core, one Mesa agent per user, account and operator.

    One day, in order (as ``PropagandaModel.step`` for the rules kept):

    1. Scheduled events (re-created accounts appear), then ``refollow``.
    2. ``ProAccount.post`` for every account (``shuffle_do``).
    3. ``ProAccount.expose``: feed views into the followers' pro doses.
    4. ``User.step`` for every user: attitudes of the users with a dose.
    5. ``ProAccount.face_moderation``: suspensions; followers are cut off.
    6. ``Operator.decide`` for each account suspended today, in order of suspension.
    7. ``DataCollector.collect`` (reported days only).
    """

    def __init__(
        self, scenario: Scenario, seed: int, view_sampling: ViewSampling = "systematic"
    ) -> None:
        super().__init__(rng=seed)
        self.sc = scenario.model_copy(deep=True)  # not ``self.scenario``: that is Mesa's own
        self.platform_name = check_supported(self.sc)
        self.platform = self.sc.platforms[self.platform_name]
        self.moderation = moderation_for(self.sc, self.platform_name)
        self.view_sampling = view_sampling
        self.scale = self.sc.scale
        self.warmup = self.sc.warmup_days
        self.reached_today = 0
        self.suspended_today: list[tuple[ProAccount, list[User]]] = []
        self.refollow_queue: list[tuple[ProAccount, list[User]]] = []

        self._create_users()
        self._create_accounts()
        self._seed_followers()

        name, s = self.platform_name, self.scale
        self.datacollector = mesa.DataCollector(
            model_reporters={
                f"{name}.suspensions": lambda m: len(m.suspended_today) * s,
                f"{name}.mean_followers": lambda m: m.mean_followers(),
                "users_reached": lambda m: m.reached_today * s,
                f"{name}.active_accounts": lambda m: len(m.accounts()) * s,
                "sympathizers": lambda m: (
                    sum(1 for u in m.agents_by_type[User] if u.state == SYMPATHIZER) * s
                ),
            }
        )

    # --- set-up ----------------------------------------------------------------------
    def classify(self, attitude: float) -> int:
        """State from attitude: opposed, neutral, sympathizer, supporter (ODD 7.6)."""
        p = self.sc.population
        edges = (p.opposed_below, p.sympathizer_above, max(p.supporter_above, p.sympathizer_above))
        return sum(1 for e in edges if attitude >= e)

    def _create_users(self) -> None:
        p = self.sc.population
        n = max(1, round(p.users / self.scale))
        k = p.susceptibility_shape
        shares = p.languages.as_array()
        User.create_agents(
            self,
            n,
            language=self.random.choices(range(3), weights=shares, k=n),
            susceptibility=[self.random.gammavariate(k, 1.0 / k) for _ in range(n)],
            baseline=[
                min(1.0, max(-1.0, self.random.gauss(p.attitude_mean, p.attitude_sd)))
                for _ in range(n)
            ],
            follow_cap=[int(self.rng.geometric(1.0 / p.follow_budget)) for _ in range(n)],
        )

    def _posting_rate(self) -> float:
        """Log-uniform within a bracket drawn with the brackets' shares (ODD 7.1)."""
        p = self.sc.accounts.posting
        j = self.random.choices(range(len(p.shares)), weights=p.shares)[0]
        lo, hi = math.log(p.knots[j]), math.log(p.knots[j + 1])
        return math.exp(lo + self.random.random() * (hi - lo))

    def _create_accounts(self) -> None:
        a = self.sc.accounts
        n = round(a.initial / self.scale)
        made = 0
        while made < n:
            k = min(1 + int(self.rng.poisson(a.operators.accounts_per_operator - 1)), n - made)
            language = self.random.choices(range(3), weights=a.languages.as_array())[0]
            op = Operator(self, language)
            for _ in range(k):
                created = -self.warmup - self.random.randrange(INITIAL_MAX_AGE)
                ProAccount(self, op, language, self._posting_rate(), 0.0, created)
            op.open_accounts = k
            made += k

    def _seed_followers(self) -> None:
        """Log-normal follower draws per account among users weighted by attitude."""
        a = self.sc.accounts
        users = list(self.agents_by_type[User])
        weights = [
            math.exp(3.0 * u.attitude) * (0.05 if u.state == OPPOSED else 1.0) for u in users
        ]
        cum = list(itertools.accumulate(weights))
        mu = math.log(a.initial_followers_median)
        for account in self.accounts():
            draws = min(
                round(self.random.lognormvariate(mu, a.initial_followers_sigma)), len(users) // 2
            )
            chosen = self.random.choices(users, cum_weights=cum, k=draws)
            account.followers = list(dict.fromkeys(chosen))  # a user drawn twice follows once
            for u in account.followers:
                u.following += 1

    # --- time ------------------------------------------------------------------------
    @property
    def day(self) -> int:
        """Current day: 0 is the scenario's start, warm-up days are negative."""
        return self.steps - 1 - self.warmup

    def time_of(self, day: int) -> float:
        """Mesa time of events of ``day``: half a day before its step (as the real model)."""
        return day + self.warmup + 0.5

    def accounts(self) -> AbstractAgentSet:
        return self.agents_by_type.get(ProAccount) or mesa.AgentSet([], random=self.random)

    # --- the day ---------------------------------------------------------------------
    def refollow(self) -> None:
        """Former followers of accounts re-created overnight follow them again."""
        q = self.sc.accounts.refollow_prob
        pairs = [(acc, u) for acc, lost in self.refollow_queue for u in lost]
        self.refollow_queue = []
        back = [
            (acc, u)
            for acc, u in pairs
            if self.random.random() < q * u.engagement() * u.follow_room()
        ]
        for acc, u in back:
            acc.followers.append(u)
            u.following += 1

    def suspend(self, account: ProAccount) -> None:
        """Deactivate an account and cut its follow edges (kept for its operator)."""
        lost = account.followers
        for u in lost:
            u.following -= 1
        account.followers = []
        account.remove()
        self.suspended_today.append((account, lost))

    def mean_followers(self) -> float:
        active = self.accounts()
        if len(active) == 0:
            return math.nan
        return sum(len(a.followers) for a in active) / len(active)

    def step(self) -> None:
        self.refollow()
        accounts = self.accounts()
        accounts.shuffle_do("post")
        accounts.shuffle_do("expose")
        self.reached_today = 0
        self.agents_by_type[User].shuffle_do("step")
        self.suspended_today = []
        accounts.shuffle_do("face_moderation")
        for account, lost in self.suspended_today:
            account.operator.decide(account, lost)
        if self.day >= 0:
            self.datacollector.collect(self)


def run_reference(
    scenario: Scenario, seed: int, view_sampling: ViewSampling = "systematic"
) -> pd.DataFrame:
    """Simulate warm-up and reported days; the daily figures, indexed by date like
    ``sim.core.model.simulate``."""
    model = ReferenceModel(scenario, seed, view_sampling)
    for _ in range(model.warmup + model.sc.days):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    df.index = pd.date_range(model.sc.start, periods=model.sc.days, freq="D", name="date")
    return df.astype(np.float64)
