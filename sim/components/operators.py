"""Operators: the supporters who run pro accounts, open new ones, and respond to suspensions.

Operators are Mesa agents (their decisions are rare and individual); their accounts are rows of
the shared account table. Parameters: ``accounts.operators`` (and the account languages and
platform shares). Through the day:

- ``init``: the initial accounts (``accounts.initial``, of various ages, with log-normal
  follower counts among engaged users) and their operators (1 + Poisson accounts each);
- ``start``: accounts whose re-creation is due today come back (same platform, language and
  rate; the operator's evasion); followers of their predecessors follow them again with
  ``accounts.refollow_prob`` (shout-outs within the network);
- ``update``: some of the day's recruits start operating (``population.recruit_operate_prob``)
  and supporters join from outside the modelled audience (``inflow_per_day``);
- ``decide``: each suspended account's operator re-creates it (after an exponential delay),
  migrates to an encrypted platform (opening a channel), or quits it, with probabilities that
  grow with the operator's suspensions and the encrypted platforms' pull; operators abandon
  some accounts (``accounts.abandon_rate``: they go silent, their followers drift away).
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import mesa
import numpy as np

from sim.config.schema import Operators
from sim.core import kernels
from sim.core.component import Component, MetricSpec
from sim.core.model import DayTally, FollowCandidates
from sim.core.state.accounts import sample_posting_rates
from sim.core.state.users import OPPOSED, draw_weighted

if TYPE_CHECKING:
    from sim.core.model import PropagandaModel

INITIAL_MAX_AGE = 365  # initial accounts were created up to this many days before warm-up
Decision = Literal["recreate", "migrate", "quit"]


class Operator(mesa.Agent):
    """A supporter who runs one or more pro accounts over time."""

    model: PropagandaModel

    def __init__(self, model: PropagandaModel, language: int, platform: int, evasion: float):
        super().__init__(model)
        self.language = language
        self.platform = platform
        self.evasion = evasion
        self.suspensions = 0
        self.open_accounts = 0
        self.channels = 0
        self.migrated = False
        self.index = -1  # position in the model's operator list

    @property
    def active(self) -> bool:
        return self.open_accounts > 0 or self.channels > 0

    def decide(self, p: Operators, pull: float, rng: np.random.Generator) -> Decision:
        """What to do after a suspension; more suspensions mean more quitting and migrating.
        ``pull`` is the summed pull of the encrypted platforms. (The day's loop,
        ``OperatorsComponent._decide_batch``, writes this rule out: keep the two alike.)"""
        self.suspensions += 1
        self.evasion = min(1.0, self.evasion + p.evasion_learning)
        p_quit = min(1.0, p.quit_base + p.quit_per_suspension * (self.suspensions - 1))
        p_migrate = (1.0 - p_quit) * min(
            1.0, pull * (1.0 + p.migrate_per_suspension * self.suspensions)
        )
        u = rng.random()
        if u < p_quit:
            return "quit"
        if u < p_quit + p_migrate:
            return "migrate"
        return "recreate"


class OperatorsComponent(Component):
    """Operators opening, re-creating, migrating and abandoning accounts."""

    name = "operators"
    streams: ClassVar = ("operators",)
    metrics: ClassVar = (
        MetricSpec(
            "new_accounts_fresh", "open", "accounts/day", "Accounts opened by new operators"
        ),
        MetricSpec(
            "new_accounts_recreated",
            "open",
            "accounts/day",
            "Accounts re-created by operators after a suspension",
        ),
        MetricSpec(
            "active_operators", "global", "operators", "Operators with an open account or channel"
        ),
        MetricSpec(
            "migrated_operators",
            "global",
            "operators",
            "Operators who moved to an encrypted platform since the first reported day",
        ),
    )

    def refresh(self) -> None:
        sc = self.model.sc
        share = np.array([sc.platforms[n].account_share for n in self.model.open_names], float)
        weights = share if share.sum() > 0 else np.ones_like(share)  # no shares given: even
        self.new_account_platform = weights / weights.sum()
        languages = np.asarray(sc.accounts.languages.as_array())
        self.account_languages = languages / languages.sum()

    def init(self) -> None:
        super().init()
        m = self.model
        self.migrated = 0
        # accounts to re-create before a day's step: day -> [(old id, operator, lost followers)]
        self._recreations: dict[int, list[tuple[int, Operator, np.ndarray | None]]] = {}
        self._cols = [self.columns("new_accounts_fresh"), self.columns("new_accounts_recreated")]
        self._c_global = (self.column("active_operators"), self.column("migrated_operators"))
        self._encrypted: Any = m.component("encrypted")  # migrants open channels there
        self._untallied = DayTally.zeros(len(m.open_names), len(m.enc_names))  # (scratch)
        self._roles: Any = m.components.get("roles")  # roles of new accounts, gradual return
        self._seed_accounts(m.streams["init"])

    # --- initial state ------------------------------------------------------------------
    def _seed_accounts(self, rng: np.random.Generator) -> None:
        m = self.model
        a = m.sc.accounts
        n = round(a.initial / m.scale)
        if n == 0:
            return
        ids = self.new_operators_with_accounts(n_accounts=n, rng=rng, day=-m.warmup)
        # accounts of various ages, with log-normal followers chosen among engaged users
        m.accounts.created[ids] = -m.warmup - rng.integers(0, INITIAL_MAX_AGE, ids.size)
        draws = rng.lognormal(np.log(a.initial_followers_median), a.initial_followers_sigma, n)
        if self._roles is not None and self._roles.roles_on:  # median times the role's factor
            draws *= self._roles.followers_factor(ids)
        followers = np.minimum(draws.round().astype(np.int64), m.users.n // 2)
        u = m.users
        weight = np.exp(3.0 * u.attitude.astype(np.float64)) * np.where(
            u.state == OPPOSED, 0.05, 1.0
        )
        cum = np.cumsum(weight)
        acc = np.repeat(ids, followers)
        users = draw_weighted(cum, rng.random(acc.size) * cum[-1])
        u.follow(m.graph.add_edges(acc, users, u.n), 1)

    def new_operators_with_accounts(
        self,
        rng: np.random.Generator,
        day: int,
        n_accounts: int | None = None,
        languages: np.ndarray | None = None,
    ) -> np.ndarray:
        """Create operators (one per language given, or enough for ``n_accounts``) and their
        fresh accounts; returns the new account ids."""
        m = self.model
        a = m.sc.accounts
        if languages is None:
            assert n_accounts is not None
            per_op = 1 + rng.poisson(a.operators.accounts_per_operator - 1, n_accounts)
            per_op = per_op[: np.searchsorted(np.cumsum(per_op), n_accounts) + 1]
            per_op[-1] -= per_op.sum() - n_accounts
            languages = rng.choice(3, size=per_op.size, p=self.account_languages)
        else:
            per_op = 1 + rng.poisson(a.operators.accounts_per_operator - 1, languages.size)
        if per_op.size == 0:
            return np.zeros(0, dtype=np.int64)
        platforms = rng.choice(len(m.open_names), size=per_op.size, p=self.new_account_platform)
        first_op = len(m.operators)
        for lang, plat, k in zip(languages, platforms, per_op, strict=True):
            op = Operator(m, int(lang), int(plat), 0.0)
            op.index = len(m.operators)
            op.open_accounts = int(k)
            m.operators.append(op)
        op_idx = np.repeat(np.arange(first_op, len(m.operators)), per_op)
        ids = m.accounts.add(
            platform=np.repeat(platforms, per_op),
            language=np.repeat(languages, per_op),
            operator=op_idx,
            rate=sample_posting_rates(op_idx.size, a.posting, rng),
            evasion=0.0,
            created=day,
            recreated=False,
        )
        if self._roles is not None:
            self._roles.assign(ids)  # (their roles, on the roles stream)
        m.graph.add_accounts(ids.size)
        return ids

    # --- the day ------------------------------------------------------------------------
    def start(self, day: int) -> None:
        """Suspended operators' new accounts; part of each old network follows them again."""
        due = self._recreations.pop(day, None)
        if due is None:
            return
        m = self.model
        t = m.accounts
        old = np.array([acc for acc, _, _ in due], dtype=np.int64)
        ids = t.recreate(old, np.array([op.evasion for _, op, _ in due]), day)
        m.graph.add_accounts(ids.size)
        for _, op, _ in due:
            op.open_accounts += 1
        if len(m.open_names) == 1:
            m.today.new_recreated[0] += ids.size
        else:
            m.today.new_recreated += np.bincount(t.platform[old], minlength=len(m.open_names))
        # followers of the old accounts find the new ones (shout-outs within the network)
        lost = [np.zeros(0, np.int32) if f is None else f for _, _, f in due]
        sizes = [f.size for f in lost]
        users = np.concatenate(lost)
        if users.size:
            successor = np.repeat(ids, sizes)
            if self._roles is not None and self._roles.enqueue(users, successor, day):
                return  # they find the successors over the coming days (roles.returns)
            m.add_follows(
                [FollowCandidates(users, m.sc.accounts.refollow_prob, successor.__getitem__)]
            )

    def update(self, d: int) -> None:
        """New operators: some recruits, and supporters from outside the modelled audience."""
        m = self.model
        u, p, recruits = m.users, m.sc.population, m.today.recruits
        ops = m.sc.accounts.operators
        if p.recruit_operate_prob <= 0.0 and ops.inflow_per_day <= 0:
            return  # (nothing to draw: a binomial of chance 0 draws no random number)
        orng = m.streams["operators"]
        n_rec_ops = orng.binomial(recruits.size, p.recruit_operate_prob) if recruits.size else 0
        rec_langs: Any = (
            u.language[orng.choice(recruits, n_rec_ops, replace=False)] if n_rec_ops else []
        )
        # (a Poisson draw of rate 0 consumes no random numbers: skipping it shifts nothing)
        n_out = orng.poisson(ops.inflow_per_day / m.scale) if ops.inflow_per_day > 0 else 0
        if n_rec_ops or n_out:  # (an empty draw would consume no random numbers either)
            out_langs = orng.choice(3, size=n_out, p=self.account_languages)
            langs = np.concatenate([np.asarray(rec_langs, dtype=np.int64), out_langs])
            ids = self.new_operators_with_accounts(orng, d, languages=langs)
            m.today.new_fresh += np.bincount(m.accounts.platform[ids], minlength=len(m.open_names))

    def decide(self, d: int) -> None:
        """Per suspended account, its operator re-creates, migrates or quits; then operators
        abandon some accounts."""
        m = self.model
        if m.today.suspended:
            rng = m.streams["operators"]
            ops = m.sc.accounts.operators
            for ids, lost_all, bounds in m.today.suspended:
                self._decide_batch(d, ids, lost_all, bounds, rng, ops)
        self._abandon(d)

    def _decide_batch(
        self,
        d: int,
        ids: np.ndarray,
        lost_all: np.ndarray,
        bounds: np.ndarray,
        rng: np.random.Generator,
        ops: Operators,
    ) -> None:
        """The suspended accounts ``ids``, in order: each one's operator re-creates it (after a
        delay), migrates or quits (``Operator.decide``, here written out in the loop with the
        parameters read once: at full scale thousands of accounts are suspended a day, and
        the calls and look-ups cost more than the decisions; same draws, same order). The
        followers account ``ids[j]`` lost are ``lost_all[bounds[j]:bounds[j + 1]]``."""
        m = self.model
        operators = m.operators
        encrypted = self._encrypted
        pull = encrypted.pull_total
        learning, quit_base = ops.evasion_learning, ops.quit_base
        quit_per, migrate_per = ops.quit_per_suspension, ops.migrate_per_suspension
        delay_mean = ops.recreate_delay_days
        random, exponential = rng.random, rng.exponential
        cdf: list[float] | None = None  # (of the encrypted platforms' pulls: see below)
        b = bounds.tolist()
        for j, (acc, o) in enumerate(
            zip(ids.tolist(), m.accounts.operator[ids].tolist(), strict=True)
        ):
            op = operators[o]
            op.open_accounts -= 1
            # (``Operator.decide``)
            # (``min(1.0, x)`` as conditional expressions: the same values, NaN included,
            # without the calls)
            n = op.suspensions = op.suspensions + 1
            e = op.evasion + learning
            op.evasion = e if e < 1.0 else 1.0
            q = quit_base + quit_per * (n - 1)
            p_quit = q if q < 1.0 else 1.0
            g = pull * (1.0 + migrate_per * n)
            p_migrate = (1.0 - p_quit) * (g if g < 1.0 else 1.0)
            u = random()
            if u < p_quit:  # quit
                continue
            if u < p_quit + p_migrate:  # migrate (never chosen when no pull)
                if not op.migrated:
                    op.migrated = True
                    self.migrated += int(d >= 0)  # counted from the first reported day
                    if cdf is None:
                        # ``rng.choice(n, p=pulls / pulls.sum())`` as numpy computes it (the
                        # cumulated shares, normalised, searched for one uniform), without its
                        # checks of ``p`` (some microseconds a call)
                        pulls = encrypted.pull
                        c = (pulls / pulls.sum()).cumsum()
                        c /= c[-1]
                        cdf = c.tolist()
                    e = bisect.bisect_right(cdf, random())
                    encrypted.open_channel(op, e, d)
                continue
            delay = max(1, round(exponential(delay_mean)))
            self.schedule_recreation(d + delay, acc, op, lost_all[b[j] : b[j + 1]])

    def schedule_recreation(
        self, day: int, old: int, op: Operator, lost: np.ndarray | None
    ) -> None:
        """Re-create account ``old`` before day ``day``'s step (``start`` re-creates all the
        accounts due that day, in the order they were scheduled)."""
        due = self._recreations.get(day)
        if due is None:
            due = self._recreations[day] = []
        due.append((old, op, lost))

    def _abandon(self, d: int) -> None:
        """Operators abandon some accounts (they go silent; followers drift away)."""
        m = self.model
        rate = m.sc.accounts.abandon_rate
        if rate <= 0.0:  # (``pick_active`` picks nothing and draws nothing then)
            return
        gone = kernels.pick_active(m.accounts.column("active"), rate, m.streams.handle("operators"))
        if gone.size == 0:
            return
        m.end_accounts(gone, d, self._untallied)  # (abandonments are not suspensions)
        for op in m.accounts.operator[gone].tolist():
            m.operators[op].open_accounts -= 1

    def record(self, d: int, row: np.ndarray) -> None:
        m = self.model
        s, today = m.scale, m.today
        new_fresh, new_recreated = today.new_fresh.tolist(), today.new_recreated.tolist()
        c_fresh, c_rec = self._cols
        for i in range(len(m.open_names)):
            row[c_fresh[i]] = new_fresh[i] * s
            row[c_rec[i]] = new_recreated[i] * s
        c_active, c_migrated = self._c_global
        row[c_active] = today.n_running * s
        row[c_migrated] = self.migrated * s
