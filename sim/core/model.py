"""The Mesa model: owns the run, its random streams, its scheduled events and the day's loop.

Data flow: validated ``Scenario`` -> ``PropagandaModel`` (users, follower graph, accounts,
operators, counter campaigns, channels) -> one row of metrics per reported day ->
``simulate`` returns them as a DataFrame in real-world units.

Scale: the model holds ``users / scale`` users and ``accounts / scale`` accounts, with real-world
degrees (followers per account, impressions per post). Every count it reports is multiplied back
by ``scale``; per-account and per-user figures are reported as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import mesa
import numpy as np
import pandas as pd

from sim import moderation as mod
from sim.config.schema import Operators, PurgeEvent, Scenario, SetEvent, TakedownEvent, apply_set
from sim.core import allocator, kernels
from sim.core.rng import Streams
from sim.core.state.accounts import AccountTable, Operator, sample_posting_rates
from sim.core.state.channels import ChannelTable, pick_channels
from sim.core.state.graph import FollowerGraph, scatter_add
from sim.core.state.users import NEUTRAL, OPPOSED, SUPPORTER, SYMPATHIZER, Users, draw_weighted
from sim.counter import CounterCampaign
from sim.daily_params import PlatformParams
from sim.metrics import column_names
from sim.observation import observed_anti, observed_pro_from_visible

MOBILIZATION_DAYS = 30  # averaging window of campaign volume that mobilises opposed users
INITIAL_MAX_AGE = 365  # initial accounts were created up to this many days before warm-up


@dataclass(slots=True)
class FollowCandidates:
    """Users who may follow an account, with one base probability (``_decide_follows``).

    ``accounts`` gives, for the indices (into ``users``) of those who do follow, the accounts
    they follow: chosen only for them, since most candidates do not follow.
    """

    users: np.ndarray
    p_base: float
    accounts: Callable[[np.ndarray], np.ndarray]


@dataclass(slots=True)
class Exposure:
    """What step 3 produced for the rest of the day (besides the doses, which it counts into
    the users' pro and counter doses as it draws the views)."""

    follows: list[FollowCandidates] = field(default_factory=list)
    invite_platform: list[np.ndarray] = field(default_factory=list)  # invite-link views
    invite_user: list[np.ndarray] = field(default_factory=list)


@dataclass
class DayTally:
    """The day's counts per open platform (and takedowns per encrypted one) for the metrics."""

    impressions: np.ndarray
    shares: np.ndarray
    shares_observed_weight: np.ndarray
    susp_n: np.ndarray
    susp_followers: np.ndarray
    susp_age: np.ndarray
    takedowns: np.ndarray

    def clear(self) -> None:
        for counts in vars(self).values():
            counts.fill(0)

    @classmethod
    def zeros(cls, n_open: int, n_enc: int) -> DayTally:
        z = np.zeros
        return cls(
            z(n_open, np.int64),
            z(n_open, np.int64),
            z(n_open),
            z(n_open, np.int64),
            z(n_open),
            z(n_open),
            z(n_enc, np.int64),
        )


class _Action:
    """A scheduled callable that stays alive until it fires (Mesa keeps weak references)."""

    def __init__(self, model: PropagandaModel, fn: Callable[[], None]) -> None:
        self.model, self.fn = model, fn
        model._pending_actions.add(self)

    def fire(self) -> None:
        self.model._pending_actions.discard(self)
        self.fn()


class PropagandaModel(mesa.Model):
    """Pro-IS propaganda on open and encrypted platforms under countermeasures.

    One day, in order (SPEC 2.3); ``step`` calls the methods in this order:

    1. Policy events of the timeline fire: Mesa events scheduled half a day before the step
       (``set`` values, purges, takedowns, campaign starts/ends, channel re-openings); then
       ``_recreate``: accounts whose re-creation is due today (after their operators' delays)
       come back, and followers of their predecessors follow them again.
    2. ``_post``: pro accounts draw their posts (heavy-tailed rates, bursty days); counter
       campaigns and opposed users post.
    3. ``_expose``: views of posts by followers (shout-outs and invite links among them), shares
       by sympathizers to users of their language, search/hashtag discovery by non-followers,
       channel posts seen by members, counter posts seen by their audiences; every view is
       counted into its viewer's pro or counter dose as it is drawn.
    4. ``_update_users``: attitudes move with the day's pro and counter doses; states change;
       sympathizers follow accounts they discovered; new recruits and outside operators open
       accounts.
    5. ``_moderate``: suspensions by hazard and automated flagging; followers are cut off.
    6. ``_operators_decide``: each suspended account's operator re-creates it (after a delay),
       migrates to an encrypted platform (opening a channel), or quits it; ``_abandon``:
       operators abandon some accounts.
    7. ``_encrypted``: invite-link views turn into channel joins; channel takedowns.
    8. ``_record``: the day's metrics (reported days only; warm-up days are not recorded).
    """

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        seed = scenario.seed if seed is None else seed
        allocator.tune()  # keep the day's freed temporaries for the next day (see there)
        self.streams = Streams(seed)
        super().__init__(rng=self.streams["mesa"])
        self.seed = seed
        self.sc = scenario.model_copy(deep=True)  # timeline ``set`` events mutate this copy
        sc = self.sc
        self.scale = sc.scale
        self.warmup = sc.warmup_days
        self.n_days = sc.days
        self.open_names = sc.platform_names("open")
        self.enc_names = sc.platform_names("encrypted")
        self.columns = column_names(self.open_names, self.enc_names)
        self.params = PlatformParams.build(sc)
        # where each metric goes in a row of ``table``: by platform (short names) and overall
        self._col = {c: j for j, c in enumerate(self.columns)}
        self._record_index: tuple[list[np.ndarray], np.ndarray] | None = None
        self._no_operators = np.zeros(0, dtype=np.int64)
        self._open_cols = [self._columns_of(n) for n in self.open_names]
        self._enc_cols = [self._columns_of(n) for n in self.enc_names]
        self.table = np.full((self.n_days, len(self.columns)), np.nan)
        self._pending_actions: set[_Action] = set()
        # accounts to re-create before a day's step: day -> [(old id, operator, lost followers)]
        self._recreations: dict[int, list[tuple[int, Operator, np.ndarray | None]]] = {}

        rng = self.streams["init"]
        self.users = Users(max(1, round(sc.population.users / self.scale)), sc.population, rng)
        self.users.last_update[:] = -self.warmup  # attitudes are at baseline on the first day
        self.accounts = AccountTable()
        self.graph = FollowerGraph()
        self.channels = ChannelTable(capacity=64)
        self.operators: list[Operator] = []
        self.campaigns = [CounterCampaign(self, n, g) for n, g in sc.counter.items()]

        # bookkeeping for metrics
        self.cum_suspensions = np.zeros(len(self.open_names))
        self.cum_recruits = 0
        self.migrated_operators = 0
        self.campaign_volume_avg = 0.0
        self._tally = DayTally.zeros(len(self.open_names), len(self.enc_names))
        self._untallied = DayTally.zeros(len(self.open_names), len(self.enc_names))  # (scratch)
        self._new_fresh = np.zeros(len(self.open_names))  # accounts opened today, by platform
        self._new_recreated = np.zeros(len(self.open_names))
        self._reset_day()

        self._seed_accounts(rng)
        self._schedule_timeline()

    def _columns_of(self, platform: str) -> dict[str, int]:
        """Column positions of one platform's metrics, by metric name without the platform."""
        prefix = platform + "."
        return {c[len(prefix) :]: j for c, j in self._col.items() if c.startswith(prefix)}

    # --- time ---------------------------------------------------------------------------
    def _time_of(self, day: int) -> float:
        """Mesa time at which events of ``day`` fire: half a day before that day's step."""
        return day + self.warmup + 0.5

    @property
    def day(self) -> int:
        """Current day index: 0 is the scenario's start, warm-up days are negative."""
        return self.steps - 1 - self.warmup

    def _at(self, day: int, fn: Callable[[], None]) -> None:
        self.schedule_event(_Action(self, fn).fire, at=max(self._time_of(day), self.time))

    def _apply_values(self, values: dict[str, float]) -> None:
        """A timeline ``set``: change the model's copy of the scenario from today on."""
        for key, value in values.items():
            apply_set(self.sc, key, value)
        self.params = PlatformParams.build(self.sc)

    def _schedule_timeline(self) -> None:
        for ev in self.sc.timeline:
            d = self.sc.day_index(ev.date)
            if isinstance(ev, SetEvent):
                self._at(d, partial(self._apply_values, ev.values))
            elif isinstance(ev, PurgeEvent):
                self._at(d, partial(self._purge, ev.platform, ev.accounts))
            elif isinstance(ev, TakedownEvent):
                self._at(d, partial(self._takedown, ev.platform, ev.channels))
        for c in self.campaigns:
            start = self.sc.day_index(c.group.start) if c.group.start else 0
            self._at(max(start, -self.warmup), c.start)
            if c.group.end is not None:
                self._at(self.sc.day_index(c.group.end) + 1, c.stop)

    # --- initial state ------------------------------------------------------------------
    def _seed_accounts(self, rng: np.random.Generator) -> None:
        a = self.sc.accounts
        n = round(a.initial / self.scale)
        if n == 0:
            return
        ids = self._new_operators_with_accounts(n_accounts=n, rng=rng, day=-self.warmup)
        # accounts of various ages, with log-normal followers chosen among engaged users
        self.accounts.created[ids] = -self.warmup - rng.integers(0, INITIAL_MAX_AGE, ids.size)
        draws = rng.lognormal(np.log(a.initial_followers_median), a.initial_followers_sigma, n)
        followers = np.minimum(draws.round().astype(np.int64), self.users.n // 2)
        u = self.users
        weight = np.exp(3.0 * u.attitude.astype(np.float64)) * np.where(
            u.state == OPPOSED, 0.05, 1.0
        )
        cum = np.cumsum(weight)
        acc = np.repeat(ids, followers)
        users = draw_weighted(cum, rng.random(acc.size) * cum[-1])
        scatter_add(u.n_following, self.graph.add_edges(acc, users, u.n), 1)

    def _new_operators_with_accounts(
        self,
        rng: np.random.Generator,
        day: int,
        n_accounts: int | None = None,
        languages: np.ndarray | None = None,
    ) -> np.ndarray:
        """Create operators (one per language given, or enough for ``n_accounts``) and their
        fresh accounts; returns the new account ids."""
        a = self.sc.accounts
        if languages is None:
            assert n_accounts is not None
            per_op = 1 + rng.poisson(a.operators.accounts_per_operator - 1, n_accounts)
            per_op = per_op[: np.searchsorted(np.cumsum(per_op), n_accounts) + 1]
            per_op[-1] -= per_op.sum() - n_accounts
            languages = rng.choice(3, size=per_op.size, p=self.params.account_languages)
        else:
            per_op = 1 + rng.poisson(a.operators.accounts_per_operator - 1, languages.size)
        if per_op.size == 0:
            return np.zeros(0, dtype=np.int64)
        platforms = rng.choice(
            len(self.open_names), size=per_op.size, p=self.params.new_account_platform
        )
        first_op = len(self.operators)
        for lang, plat, k in zip(languages, platforms, per_op, strict=True):
            op = Operator(self, int(lang), int(plat), 0.0)
            op.index = len(self.operators)
            op.open_accounts = int(k)
            self.operators.append(op)
        op_idx = np.repeat(np.arange(first_op, len(self.operators)), per_op)
        ids = self.accounts.add(
            platform=np.repeat(platforms, per_op),
            language=np.repeat(languages, per_op),
            operator=op_idx,
            rate=sample_posting_rates(op_idx.size, a.posting, rng),
            evasion=0.0,
            created=day,
            recreated=False,
        )
        self.graph.add_accounts(ids.size)
        return ids

    # --- the day ------------------------------------------------------------------------
    def _reset_day(self) -> None:
        """Clear the day's tallies (after recording; events before the next step add to them)."""
        self._tally.clear()
        self._new_fresh.fill(0.0)
        self._new_recreated.fill(0.0)
        # today's suspensions, in order: (account ids, their lost followers, bounds per account)
        self._suspended_today: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def step(self) -> None:
        d = self.day
        self._recreate(d)
        posts = self._post(d)
        exposure = self._expose(d, posts)
        recruits, reached = self._update_users(d, exposure)
        self._moderate(d, posts)
        self._operators_decide(d)
        self._abandon(d)
        self._encrypted(d, exposure)
        if d >= 0:
            self._record(d, posts, recruits, reached)
        self._reset_day()

    def _post(self, d: int) -> dict[str, np.ndarray | float]:
        """Step 2: posts of pro accounts (per active account), campaigns and opposed users."""
        a = self.sc.accounts
        act, k = kernels.daily_posts(
            self.accounts.column("active"),
            self.accounts.rate,
            a.posting.multiplier,
            a.posting.burstiness,
            self.streams.handle("posting"),
        )
        campaign = {"government": 0.0, "credible": 0.0}
        for c in self.campaigns:
            campaign[c.group.kind] += c.posts_today()
        volume = campaign["government"] + campaign["credible"]
        alpha = 1.0 / MOBILIZATION_DAYS
        self.campaign_volume_avg += alpha * (volume - self.campaign_volume_avg)
        p = self.sc.population
        organic = (
            int(self.users.counts[OPPOSED])
            * self.scale
            * p.organic_counter_rate
            * (1.0 + p.mobilization * math.log1p(self.campaign_volume_avg / 1000.0))
        )
        return {
            "act": act,
            "k": k,
            "government": campaign["government"],
            "credible": campaign["credible"],
            "organic": float(organic),
        }

    def _expose(self, d: int, posts: dict) -> Exposure:
        """Step 3: who sees what today.

        Draws are skipped only where they would be empty (a size-0 or rate-0 draw consumes no
        random numbers), so skipping never shifts a stream.
        """
        sc, u, acc_t, pp = self.sc, self.users, self.accounts, self.params
        rng = self.streams["exposure"]
        ex = Exposure()
        act, k = posts["act"], posts["k"]
        plat = acc_t.platform[act]
        lang = acc_t.language[act]

        # feed views: each (post, follower) pair is seen with probability view_prob; a share
        # of posts are shout-outs for young accounts or carry invite links to encrypted
        # platforms; ordinary posts seen by sympathizers may be shared on
        p = sc.population
        g = self.graph
        v_local, v_user, v_kind = kernels.feed_views(
            g.pool,
            g.start,
            g.length,
            act,
            k,
            acc_t.platform,
            pp.view_prob,
            pp.kind_edges,
            pp.share_p,
            u.pro_dose,
            u.dosed,
            self._tally.impressions,
            self.streams.handle("exposure"),
        )
        s_local = v_local[:0]  # shared posts
        n_share_views = np.zeros(0, dtype=np.int64)
        if v_kind.size:
            self._special_views(d, act, lang, v_local, v_user, v_kind, ex, rng)
            # shares by sympathizers and supporters, seen by users of the sharer's language
            shared = np.flatnonzero(v_kind == -1)
            shared = shared[u.state[v_user[shared]] >= SYMPATHIZER]
            s_local = v_local[shared]
        if s_local.size:
            langs = u.language[v_user[shared]]
            reach = np.full(s_local.size, p.share_reach)
            n_share_views = self._outside_views(act[s_local], langs, reach, ex)
        # search/hashtag discovery by non-followers (evasion hides hashtags)
        loss = sc.observation.evasion_recall_loss
        n_disc = None
        if pp.has_discovery:
            ev = acc_t.evasion[act].astype(np.float64)
            mean = k * pp.discovery[plat] * (1.0 - loss * ev)
            n_disc = self._outside_views(act, lang, mean, ex)

        # channel posts seen by members of encrypted channels
        if self.channels.n:
            members = u.members
            if members.size:
                mean = pp.channel_views[self.channels.platform[u.member_channel[members]]]
                u.add_pro_views(np.repeat(members, rng.poisson(mean)))

        self._counter_views(posts["organic"])
        self._tally_views(act, plat, n_disc, s_local, n_share_views, loss)
        return ex

    def _tally_views(
        self,
        act: np.ndarray,
        plat: np.ndarray,
        n_disc: np.ndarray | None,
        s_local: np.ndarray,
        n_share_views: np.ndarray,
        loss: float,
    ) -> None:
        """Per-platform impressions (besides the feed views, which ``feed_views`` counts),
        shares and what the classifier sees of the shares."""
        tally = self._tally
        n_open = tally.impressions.size
        if n_disc is not None:
            tally.impressions += np.bincount(plat, n_disc, minlength=n_open).astype(np.int64)
        if s_local.size == 0:
            return
        # what full recall would find of each share (evasion of the shared account hides some)
        seen = 1.0 - loss * self.accounts.evasion[act[s_local]].astype(np.float64)
        s_plat = plat[s_local]
        tally.impressions += np.bincount(s_plat, n_share_views, minlength=n_open).astype(np.int64)
        tally.shares[:] = np.bincount(s_plat, minlength=n_open)
        tally.shares_observed_weight[:] = np.bincount(s_plat, seen, minlength=n_open)

    def _special_views(
        self,
        d: int,
        act: np.ndarray,
        lang: np.ndarray,
        v_local: np.ndarray,
        v_user: np.ndarray,
        v_kind: np.ndarray,
        ex: Exposure,
        rng: np.random.Generator,
    ) -> None:
        """Shout-outs (follow candidates for a young account) and invite-link views."""
        acc_t, a_cfg = self.accounts, self.sc.accounts
        is_shout = v_kind == 0
        young = act[(d - acc_t.created[act]) < a_cfg.shoutout_window_days]
        if young.size and is_shout.any():
            # the account a shout-out promotes: a young one of the poster's language, chosen
            # for the viewers who follow it
            wanted = lang[v_local[is_shout]]
            promoted = partial(
                self._random_account_of_language, young, acc_t.language[young], rng=rng
            )
            ex.follows.append(
                FollowCandidates(
                    v_user[is_shout],
                    a_cfg.shoutout_follow_prob,
                    lambda i: promoted(wanted[i]),
                )
            )
        for e_idx in range(len(self.enc_names)):
            sel = v_kind == e_idx + 1
            ex.invite_platform.append(np.full(int(sel.sum()), e_idx))
            ex.invite_user.append(v_user[sel])

    def _outside_views(
        self,
        accounts: np.ndarray,
        languages: np.ndarray,
        mean: np.ndarray,
        ex: Exposure,
    ) -> np.ndarray:
        """Views of pro posts outside the feed (shares, discovery); returns their number per
        source: ``Poisson(mean[i])`` views of a post of ``accounts[i]`` by random users of
        ``languages[i]``, counted into the pro doses here (``kernels.outside_views``).

        Each view is a pro dose and, with chance ``population.follow_prob``, a follow
        candidate (for whom engagement and room then decide). By Poisson splitting the
        candidate views and the others are two independent counts, so the follow gate sees
        only the candidates (four in ten at the default), not every view.
        """
        u = self.users
        cand_users, cand_acc, total = kernels.outside_views(
            accounts,
            languages,
            mean,
            self.sc.population.follow_prob,
            u.lang_start,
            u.n,
            u.pro_dose,
            u.dosed,
            self.streams.handle("exposure"),
        )
        if cand_users.size:
            ex.follows.append(FollowCandidates(cand_users, 1.0, cand_acc.__getitem__))
        return total

    def _counter_views(self, organic: float) -> None:
        """Counter messages seen today, counted into the counter doses: campaigns' posts, and
        organic counter speech (``kernels.counter_views``)."""
        u, p = self.users, self.sc.population
        crng = self.streams["counter"]
        h = self.streams.handle("counter")
        for c in self.campaigns:
            if not c.active:
                continue
            n = c.n_views(self.params.mean_open_view, self.scale, crng)
            kernels.counter_views(
                n,
                c.group.targeting,
                c.language,
                c.group.credibility,
                p.language_mismatch,
                u.lang_start,
                u.language,
                u.counter_dose,
                u.dosed,
                h,
            )
        n_org = crng.poisson(organic / self.scale * p.organic_reach) if organic > 0 else 0
        if n_org:  # (any users: no targeting, no language)
            kernels.counter_views(
                n_org, 0.0, 0, p.organic_credibility, 1.0, u.lang_start, u.language,
                u.counter_dose, u.dosed, h,
            )  # fmt: skip

    @staticmethod
    def _random_account_of_language(
        pool: np.ndarray, pool_lang: np.ndarray, langs: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """For each wanted language, a random account of ``pool`` in it (any, if none is)."""
        order = np.argsort(pool_lang, kind="stable")
        pool = pool[order]
        n_lang = np.bincount(pool_lang, minlength=3)
        first = np.r_[0, np.cumsum(n_lang)[:-1]]
        n = np.where(n_lang > 0, n_lang, pool.size)[langs]  # no account in that language: any
        lo = np.where(n_lang > 0, first, 0)[langs]
        return pool[lo + (rng.random(langs.size) * n).astype(np.int64)]

    def _update_users(self, d: int, ex: Exposure) -> tuple[int, int]:
        """Step 4: attitudes, states, follows, recruits starting to operate."""
        u, p = self.users, self.sc.population
        reached, recruits = u.apply_doses(d, p)

        # follows: engaged users with room in their follow budget
        if ex.follows:
            self._decide_follows(ex.follows)

        # new operators: some recruits, and supporters from outside the modelled audience
        orng = self.streams["operators"]
        ops = self.sc.accounts.operators
        n_rec_ops = orng.binomial(recruits.size, p.recruit_operate_prob) if recruits.size else 0
        rec_langs = u.language[orng.choice(recruits, n_rec_ops, replace=False)] if n_rec_ops else []
        # (a Poisson draw of rate 0 consumes no random numbers: skipping it shifts nothing)
        n_out = orng.poisson(ops.inflow_per_day / self.scale) if ops.inflow_per_day > 0 else 0
        if n_rec_ops or n_out:  # (an empty draw would consume no random numbers either)
            out_langs = orng.choice(3, size=n_out, p=self.params.account_languages)
            langs = np.concatenate([np.asarray(rec_langs, dtype=np.int64), out_langs])
            ids = self._new_operators_with_accounts(orng, d, languages=langs)
            self._new_fresh += np.bincount(
                self.accounts.platform[ids], minlength=len(self.open_names)
            )
        if d >= 0:
            self.cum_recruits += recruits.size
        return int(recruits.size), reached

    def _decide_follows(self, runs: list[FollowCandidates]) -> None:
        """The candidates follow with ``p_base * engagement * room`` (``kernels.gate_follows``);
        the follows are added to the graph and to the users' follow counts."""
        u = self.users
        if len(runs) == 1:  # (re-follows: few numpy calls for a small day)
            users = runs[0].users
            run_end = np.array([users.size], dtype=np.int64)
        else:
            users = np.concatenate([r.users for r in runs])
            run_end = np.cumsum([r.users.size for r in runs], dtype=np.int64)
        idx = kernels.gate_follows(
            self.streams.handle("follow"),
            run_end,
            np.array([r.p_base for r in runs], dtype=np.float64),
            users,
            u.state,
            u.follows,
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
        scatter_add(u.n_following, self.graph.add_keys(keys, u.n), 1)

    def _moderate(self, d: int, posts: dict) -> None:
        """Step 5: suspensions by hazard and flagging on each open platform."""
        act, t = posts["act"], self.accounts
        gone = mod.suspended(
            act,
            posts["k"],
            t.platform,
            self.graph.length,
            t.evasion,
            t.created,
            d,
            self.params.hazard,
            self.streams.handle("moderation"),
        )
        self._suspend(gone, d)

    def _abandon(self, d: int) -> None:
        """Operators abandon some accounts (they go silent; followers drift away)."""
        gone = kernels.pick_active(
            self.accounts.column("active"),
            self.sc.accounts.abandon_rate,
            self.streams.handle("operators"),
        )
        if gone.size == 0:
            return
        self._end_accounts(gone, d, self._untallied)  # (abandonments are not suspensions)
        for op in self.accounts.operator[gone].tolist():
            self.operators[op].open_accounts -= 1

    def _purge(self, platform: str, real_accounts: float) -> None:
        """Timeline purge: suspend ``real_accounts`` (real-world) accounts, visible ones first."""
        rng = self.streams["moderation"]
        i = self.open_names.index(platform)
        act = self.accounts.active_ids(i)
        m = self.sc.moderation_for(platform)
        w = mod.visibility(self.accounts.rate[act], self.graph.length[act], m) * (
            1.0 - m.evasion_protection * self.accounts.evasion[act]
        )
        n = mod.stochastic_round(real_accounts / self.scale, rng)
        self._suspend(act[mod.choose_purged(w, n, rng)], self.day + 1)

    def _suspend(self, ids: np.ndarray, d: int) -> None:
        if ids.size == 0:
            return
        lost, bounds = self._end_accounts(ids, d, self._tally)
        # kept until the operator decides: a re-created account's network looks for it;
        # account ids[j] lost the users lost[bounds[j]:bounds[j + 1]]
        self._suspended_today.append((ids, lost, bounds))

    def _end_accounts(
        self, ids: np.ndarray, d: int, tally: DayTally
    ) -> tuple[np.ndarray, np.ndarray]:
        """Accounts ``ids`` end on day ``d``: their follow edges go, their followers' follow
        counts fall, and ``tally`` counts them as suspensions. Returns the users who lost a
        follow, account ``ids[j]``'s in ``lost[bounds[j]:bounds[j + 1]]``, and ``bounds``."""
        t = self.accounts
        lost, bounds = self.graph.remove_accounts(ids)
        kernels.end_accounts(
            ids,
            d,
            t.active,
            t.ended,
            t.created,
            t.platform,
            bounds,
            tally.susp_n,
            tally.susp_followers,
            tally.susp_age,
        )
        scatter_add(self.users.n_following, lost, -1)
        return lost, bounds

    def _operators_decide(self, d: int) -> None:
        """Step 6: per suspended account, its operator re-creates, migrates or quits."""
        if not self._suspended_today:
            return
        rng = self.streams["operators"]
        ops = self.sc.accounts.operators
        pulls = self.params.pull
        for ids, lost_all, bounds in self._suspended_today:
            operator_of = self.accounts.operator[ids].tolist()
            b = bounds.tolist()
            for j, acc in enumerate(ids.tolist()):
                self._operator_decides(
                    d,
                    acc,
                    self.operators[operator_of[j]],
                    lost_all[b[j] : b[j + 1]],
                    rng,
                    ops,
                    pulls,
                )

    def _operator_decides(
        self,
        d: int,
        acc: int,
        op: Operator,
        lost: np.ndarray,
        rng: np.random.Generator,
        ops: Operators,
        pulls: np.ndarray,
    ) -> None:
        """One suspended account's operator: re-create it (after a delay), migrate or quit."""
        op.open_accounts -= 1
        choice = op.decide(ops, self.params.pull_total, rng)
        if choice == "recreate":
            delay = max(1, round(rng.exponential(ops.recreate_delay_days)))
            self._schedule_recreation(d + delay, acc, op, lost)
        elif choice == "migrate" and not op.migrated:  # (never chosen when no pull)
            op.migrated = True
            self.migrated_operators += int(d >= 0)  # counted from the first reported day
            e = int(rng.choice(pulls.size, p=pulls / pulls.sum()))
            self._open_channel(op, e, d)

    def _schedule_recreation(
        self, day: int, old: int, op: Operator, lost: np.ndarray | None
    ) -> None:
        """Re-create account ``old`` before day ``day``'s step (``step`` re-creates all the
        accounts due that day, in the order they were scheduled)."""
        due = self._recreations.get(day)
        if due is None:
            due = self._recreations[day] = []
        due.append((old, op, lost))

    def _recreate(self, day: int) -> None:
        """Suspended operators' new accounts; part of each old network follows them again."""
        due = self._recreations.pop(day, None)
        if due is None:
            return
        t = self.accounts
        old = np.array([acc for acc, _, _ in due], dtype=np.int64)
        ids = t.recreate(old, np.array([op.evasion for _, op, _ in due]), day)
        self.graph.add_accounts(ids.size)
        for _, op, _ in due:
            op.open_accounts += 1
        if len(self.open_names) == 1:
            self._new_recreated[0] += ids.size
        else:
            self._new_recreated += np.bincount(t.platform[old], minlength=len(self.open_names))
        # followers of the old accounts find the new ones (shout-outs within the network)
        lost = [np.zeros(0, np.int32) if f is None else f for _, _, f in due]
        sizes = [f.size for f in lost]
        users = np.concatenate(lost)
        if users.size:
            successor = np.repeat(ids, sizes)
            self._decide_follows(
                [FollowCandidates(users, self.sc.accounts.refollow_prob, successor.__getitem__)]
            )

    def _open_channel(self, op: Operator, platform: int, d: int) -> None:
        op.channels += 1
        self.channels.add(platform=[platform], operator=op.index, created=d)

    def _encrypted(self, d: int, ex: Exposure) -> None:
        """Step 7: channel joins through invite links; channel takedowns by hazard."""
        if not self.enc_names:
            return
        u, ch = self.users, self.channels
        frng = self.streams["follow"]
        if ex.invite_user and ch.n:
            plat = np.concatenate(ex.invite_platform)
            usr = np.concatenate(ex.invite_user)
            join_p = self.params.join_prob[plat]
            ok = (u.member_channel[usr] < 0) & (frng.random(usr.size) < join_p * u.engagement(usr))
            usr, plat = usr[ok], plat[ok]
            usr, first = np.unique(usr, return_index=True)
            plat = plat[first]
            for e in range(len(self.enc_names)):
                sel = usr[plat == e]
                chosen = pick_channels(ch, ch.active_ids(e), sel.size, frng)
                if chosen.size:
                    u.join_channels(sel, chosen)
                    scatter_add(ch.members, chosen, 1)
        mrng = self.streams["moderation"]
        for e, name in enumerate(self.enc_names):
            rate = self.sc.moderation_for(name).channel_takedown_rate
            cands = ch.active_ids(e)
            if rate > 0 and cands.size:
                self._remove_channels(cands[mrng.random(cands.size) < rate], name)

    def _takedown(self, platform: str, real_channels: float) -> None:
        rng = self.streams["moderation"]
        e = self.enc_names.index(platform)
        cands = self.channels.active_ids(e)
        w = self.channels.members[cands] + 1.0
        n = mod.stochastic_round(real_channels / self.scale, rng)
        self._remove_channels(cands[mod.choose_purged(w, n, rng)], platform)

    def _remove_channels(self, ids: np.ndarray, platform: str) -> None:
        if ids.size == 0:
            return
        ch, u = self.channels, self.users
        ch.active[ids] = False
        u.leave_channels(ids)
        ch.members[ids] = 0
        self._tally.takedowns[self.enc_names.index(platform)] += ids.size
        rng = self.streams["operators"]
        ops = self.sc.accounts.operators
        for c in ids.tolist():
            op = self.operators[int(ch.operator[c])]
            op.channels -= 1
            if rng.random() >= ops.quit_base:  # most channel owners simply open a new one
                delay = max(1, round(rng.exponential(ops.recreate_delay_days)))
                e = int(ch.platform[c])
                when = self.day + 1 + delay
                self._at(when, partial(self._open_channel, op, e, when))

    # --- metrics ------------------------------------------------------------------------
    # the order in which ``_record`` computes the metrics of an open platform, then the global
    # ones: each row is filled with one assignment per platform and one for the rest
    _OPEN_ORDER = (
        "pro_posts_true",
        "pro_posts_observed",
        "anti_posts_true",
        "anti_posts_observed",
        "anti_pro_ratio",
        "active_accounts",
        "new_accounts_fresh",
        "new_accounts_recreated",
        "suspensions",
        "cumulative_suspensions",
        "mean_followers_suspended",
        "mean_lifetime_suspended",
        "impressions",
        "mean_followers",
        "mean_account_age",
        "mean_evasion",
    )
    _GLOBAL_ORDER = (
        "counter_posts_government",
        "counter_posts_credible",
        "counter_posts_organic",
        "users_reached",
        "users_reached_30d",
        "opposed",
        "neutral",
        "sympathizers",
        "supporters",
        "new_recruits",
        "cumulative_recruits",
        "active_operators",
        "migrated_operators",
    )

    def _record(self, d: int, posts: dict, recruits: int, reached: int) -> None:
        """Step 8: one row of metrics in real-world units."""
        s, obs, t, tally = self.scale, self.sc.observation, self.accounts, self._tally
        row = self.table[d]
        n_open = len(self._open_cols)
        if self._record_index is None:
            self._record_index = (
                [np.array([c[m] for m in self._OPEN_ORDER]) for c in self._open_cols],
                np.array([self._col[m] for m in self._GLOBAL_ORDER]),
            )
        open_index, global_index = self._record_index
        # per platform: active accounts and their summed followers, ages and evasion; posts and
        # posts weighted by what the classifier's recall keeps; and the operators running
        # an account or a channel
        ch = self.channels
        with_channel = ch.operator[ch.active_ids()] if self._enc_cols else self._no_operators
        sums, n_running = kernels.record_sums(
            t.column("active"),
            t.platform,
            self.graph.length,
            t.created,
            t.evasion,
            t.operator,
            d,
            n_open,
            len(self.operators),
            posts["act"],
            posts["k"],
            obs.evasion_recall_loss,
            with_channel,
        )
        campaign_real = posts["government"] + posts["credible"] + posts["organic"]
        nan = float("nan")
        shares, seen_shares = tally.shares.tolist(), tally.shares_observed_weight.tolist()
        susp_n, susp_followers = tally.susp_n.tolist(), tally.susp_followers.tolist()
        susp_age, impressions = tally.susp_age.tolist(), tally.impressions.tolist()
        new_fresh, new_recreated = self._new_fresh.tolist(), self._new_recreated.tolist()
        for i, (n_act, followers, age, evasion, n_posts, visible) in enumerate(sums.tolist()):
            pro_true = (n_posts + shares[i]) * s
            anti_true = campaign_real * float(self.params.anti_share[i])
            visible += seen_shares[i]
            obs_pro = float(observed_pro_from_visible(visible, 0.0, obs)) * s
            obs_pro += obs.pro_false_positive * anti_true
            obs_anti = float(observed_anti(anti_true, pro_true, obs))
            n_susp = susp_n[i]
            self.cum_suspensions[i] += n_susp * s
            row[open_index[i]] = (
                pro_true,
                obs_pro,
                anti_true,
                obs_anti,
                obs_anti / obs_pro if obs_pro > 0 else nan,
                n_act * s,
                new_fresh[i] * s,
                new_recreated[i] * s,
                n_susp * s,
                self.cum_suspensions[i],
                susp_followers[i] / n_susp if n_susp else nan,
                susp_age[i] / n_susp if n_susp else nan,
                impressions[i] * s,
                followers / n_act if n_act else nan,
                age / n_act if n_act else nan,
                evasion / n_act if n_act else nan,
            )
        for e, c in enumerate(self._enc_cols):
            live = ch.active_ids(e)
            row[c["members"]] = float(ch.members[live].sum()) * s
            row[c["channels"]] = live.size * s
            row[c["channel_posts"]] = live.size * self.params.channel_posts[e] * s
            row[c["channel_takedowns"]] = tally.takedowns[e] * s
        u = self.users
        counts = u.counts.tolist()
        row[global_index] = (
            posts["government"],
            posts["credible"],
            posts["organic"],
            reached * s,
            u.reached_30d() * s,
            counts[OPPOSED] * s,
            counts[NEUTRAL] * s,
            counts[SYMPATHIZER] * s,
            counts[SUPPORTER] * s,
            recruits * s,
            self.cum_recruits * s,
            int(n_running) * s,
            self.migrated_operators * s,
        )

    # --- running ------------------------------------------------------------------------
    def run(self, progress: Callable[[int], None] | None = None) -> pd.DataFrame:
        """Simulate warm-up and all reported days; returns the daily metrics table."""
        for _ in range(self.warmup + self.n_days):
            self.step()
            if progress is not None:
                progress(1)
        index = pd.date_range(self.sc.start, periods=self.n_days, freq="D", name="date")
        return pd.DataFrame(self.table, index=index, columns=self.columns)


def simulate(
    scenario: Scenario, seed: int | None = None, progress: Callable[[int], None] | None = None
) -> pd.DataFrame:
    """Run one replicate of ``scenario`` with ``seed`` (default: the scenario's seed)."""
    return PropagandaModel(scenario, seed).run(progress)
