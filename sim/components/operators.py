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
from numba import njit

from sim.config.schema import Operators
from sim.core import draws, kernels
from sim.core.component import Component, MetricSpec
from sim.core.model import DayTally, FollowCandidates
from sim.core.state.accounts import sample_posting_rates
from sim.core.state.users import OPPOSED, draw_follow_keys

if TYPE_CHECKING:
    from sim.core.model import PropagandaModel

INITIAL_MAX_AGE = 365  # initial accounts were created up to this many days before warm-up
Decision = Literal["recreate", "migrate", "quit"]


def _column(name: str, kind: type) -> Any:
    """An attribute of an operator kept in its row of the model's ``operator_table``."""

    def get(self: Operator) -> Any:
        return kind(getattr(self.model.operator_table, name)[self.index])

    def put(self: Operator, value: Any) -> None:
        getattr(self.model.operator_table, name)[self.index] = value

    return property(get, put, doc=f"The operator's ``{name}`` (``OperatorTable``).")


class Operator(mesa.Agent):
    """A supporter who runs one or more pro accounts over time. Its place in the model's
    operator list is ``index``; what changes over the run (suspensions, evasion, open accounts,
    channels, migrated) is row ``index`` of ``model.operator_table``, where the day's compiled
    decisions (``decide_batch``) read and write it."""

    model: PropagandaModel
    suspensions = _column("suspensions", int)
    evasion = _column("evasion", float)
    open_accounts = _column("open_accounts", int)
    channels = _column("channels", int)
    migrated = _column("migrated", bool)

    def __init__(
        self,
        model: PropagandaModel,
        language: int,
        platform: int,
        evasion: float,
        index: int | None = None,
    ):
        """Adds itself to ``model.operators``; ``index`` is its row of the operator table where
        the caller has added it (for operators made by the thousand), else a row is added."""
        super().__init__(model)
        self.language = language
        self.platform = platform
        if index is None:
            index = int(model.operator_table.add(evasion=[evasion])[0])
        assert index == len(model.operators), "operators and their table rows out of step"
        self.index = index  # position in the model's operator list and row of its table
        model.operators.append(self)

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


@njit(cache=True)
def decide_batch(op_of, table, params, cdf, h):  # pragma: no cover - compiled
    """``Operator.decide`` for the suspended accounts of operators ``op_of``, in order, on the
    operator table's columns ``table`` (suspensions, evasion, open accounts, migrated), with
    ``params`` (evasion learning, quit base, quit per suspension, migrate per suspension, the
    encrypted platforms' summed pull, mean re-creation delay) and the draws of
    ``OperatorsComponent._decide_batch``, number for number, from the stream ``h`` (an inline
    ``PCG64`` handle: ``draws.numpy_exponential`` is numpy's exponential). Per account: its
    re-creation delay in days (at least 1); ``-2 - e`` for an operator's first migration, to
    encrypted platform ``e`` (``cdf``: the platforms' cumulated pull shares); 0 otherwise (quit,
    or migrated before)."""
    suspensions, evasion, open_accounts, migrated = table
    learning, quit_base, quit_per, migrate_per, pull, delay_mean = params
    out = np.zeros(len(op_of), np.int64)
    for j in range(len(op_of)):
        o = op_of[j]
        open_accounts[o] -= 1
        n = suspensions[o] + 1
        suspensions[o] = n
        e = evasion[o] + learning
        evasion[o] = e if e < 1.0 else 1.0
        q = quit_base + quit_per * (n - 1)
        p_quit = q if q < 1.0 else 1.0
        g = pull * (1.0 + migrate_per * n)
        p_migrate = (1.0 - p_quit) * (g if g < 1.0 else 1.0)
        u = draws.uniform(h)
        if u < p_quit:  # quit
            continue
        if u < p_quit + p_migrate:  # migrate (never chosen when no pull)
            if not migrated[o]:
                migrated[o] = True
                out[j] = -2 - np.searchsorted(cdf, draws.uniform(h), side="right")
            continue
        delay = np.rint(delay_mean * draws.numpy_exponential(h))  # (``round``: half to even)
        out[j] = max(1, np.int64(delay))
    return out


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
        # accounts to re-create before a day's step: day -> chunks of (old ids, the followers
        # they lost, how many each), in the order they were decided
        self._recreations: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
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
        keys = draw_follow_keys(ids, followers, cum, u.n, rng)
        u.follow(m.graph.add_keys(keys, u.n), 1)

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
        m.operator_table.add(open_accounts=per_op)  # (evasion 0, no suspensions, ...)
        for i, (lang, plat) in enumerate(zip(languages.tolist(), platforms.tolist(), strict=True)):
            Operator(m, lang, plat, 0.0, index=first_op + i)
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
        t, ot = m.accounts, m.operator_table
        if len(due) == 1:
            old, users, sizes = due[0]
        else:
            old, users, sizes = (np.concatenate(x) for x in zip(*due, strict=True))
        ops = t.operator[old]
        ids = t.recreate(old, ot.evasion[ops], day)  # (the operators' evasion today)
        m.graph.add_accounts(ids.size)
        np.add.at(ot.open_accounts, ops, 1)
        if len(m.open_names) == 1:
            m.today.new_recreated[0] += ids.size
        else:
            m.today.new_recreated += np.bincount(t.platform[old], minlength=len(m.open_names))
        # followers of the old accounts find the new ones (shout-outs within the network)
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
            h = m.streams.handle("operators")
            compiled = h[0] == 0 and draws.numpy_exponential_ok()
            for ids, lost_all, bounds in m.today.suspended:
                if compiled:
                    self._decide_compiled(d, ids, lost_all, bounds, h, ops)
                else:
                    self._decide_batch(d, ids, lost_all, bounds, rng, ops)
        self._abandon(d)

    def _cdf(self) -> np.ndarray:
        """The cumulated shares of the encrypted platforms' pulls, as numpy's ``rng.choice(n,
        p=pulls / pulls.sum())`` computes them (normalised by the last), to search for one
        uniform without ``choice``'s checks of ``p`` (some microseconds a call)."""
        pulls = self._encrypted.pull
        c = (pulls / pulls.sum()).cumsum()
        c /= c[-1]
        return c

    def _decide_compiled(
        self,
        d: int,
        ids: np.ndarray,
        lost_all: np.ndarray,
        bounds: np.ndarray,
        h: tuple[int, int],
        ops: Operators,
    ) -> None:
        """``_decide_batch`` in one compiled call (``decide_batch``: the same rule, the same
        draws in the same order, on the operator table's columns), then the channels of the
        first-time migrants and the re-creations by due day."""
        m = self.model
        ot = m.operator_table
        encrypted = self._encrypted
        pull = encrypted.pull_total
        cdf = self._cdf() if pull > 0 else np.ones(1)  # (no migration without a pull)
        params = np.array(
            [
                ops.evasion_learning,
                ops.quit_base,
                ops.quit_per_suspension,
                ops.migrate_per_suspension,
                pull,
                ops.recreate_delay_days,
            ],
            dtype=np.float64,
        )
        op_of = m.accounts.operator[ids]
        what = decide_batch(
            op_of, (ot.suspensions, ot.evasion, ot.open_accounts, ot.migrated), params, cdf, h
        )
        migrants = np.flatnonzero(what < -1)
        if migrants.size:
            if d >= 0:  # (counted from the first reported day)
                self.migrated += migrants.size
            encrypted.open_channels(op_of[migrants], -2 - what[migrants], d)
        again = np.flatnonzero(what > 0)
        if again.size == 0:
            return
        # by due day (in the order decided within a day), each with the followers lost
        due = d + what[again]
        order = np.argsort(due, kind="stable")
        again, due = again[order], due[order]
        # the followers lost by the accounts ``again``, in that order (runs of ``lost_all``)
        sizes = bounds[again + 1] - bounds[again]
        begin = np.cumsum(sizes) - sizes  # (where each account's run begins in ``users``)
        total = int(begin[-1] + sizes[-1])
        users = lost_all[np.repeat(bounds[again] - begin, sizes) + np.arange(total)]
        # the due days and where each begins (read off the sorted days)
        first = np.flatnonzero(np.diff(due, prepend=due[:1] - 1))
        cut = [*first.tolist(), due.size]
        u_cut = [*begin[first].tolist(), total]
        old = ids[again]
        for j, day in enumerate(due[first].tolist()):
            lo, hi = cut[j], cut[j + 1]
            chunk = (old[lo:hi], users[u_cut[j] : u_cut[j + 1]], sizes[lo:hi])
            self._recreations.setdefault(day, []).append(chunk)

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
        parameters read once; same draws, same order). The followers account ``ids[j]`` lost
        are ``lost_all[bounds[j]:bounds[j + 1]]``. (Where the stream can be drawn from
        compiled code as numpy draws, ``_decide_compiled`` does this in one call.)"""
        m = self.model
        operators = m.operators
        encrypted = self._encrypted
        pull = encrypted.pull_total
        learning, quit_base = ops.evasion_learning, ops.quit_base
        quit_per, migrate_per = ops.quit_per_suspension, ops.migrate_per_suspension
        delay_mean = ops.recreate_delay_days
        random, exponential = rng.random, rng.exponential
        cdf: list[float] | None = None  # (of the encrypted platforms' pulls: ``_cdf``)
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
                        cdf = self._cdf().tolist()
                    e = bisect.bisect_right(cdf, random())
                    encrypted.open_channel(op, e, d)
                continue
            delay = max(1, round(exponential(delay_mean)))
            lost = lost_all[b[j] : b[j + 1]]
            self._recreations.setdefault(d + delay, []).append(
                (np.array([acc]), lost, np.array([lost.size]))
            )

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
        np.subtract.at(m.operator_table.open_accounts, m.accounts.operator[gone], 1)

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
