"""Account roles, the network among pro accounts, and the gradual return of audiences.

Its scenario section is ``roles``. Everything is off by default (every account ordinary, no
follows among accounts, former followers re-follow on the day of re-creation as before); the
``roles`` random stream draws all of its randomness, so switching it on shifts no other stream.

- **Roles** (``roles.<role>``, roles ``sim.core.state.accounts.ROLES``): ordinary supporters,
  official/media accounts, shout-out accounts and bots/apps. A new account's role is drawn with
  the roles' ``share`` when operators open it (``assign``, called by the operators component);
  a re-created account keeps its predecessor's. By role: initial followers (median times
  ``followers``), posting rate (times ``posting``), moderation hazard (times ``hazard``, through
  ``accounts.role_hazard``), discovery per post (times ``discovery``, through
  ``accounts.role_discovery``), attractiveness as a follow target in the network
  (``attract``), and extra shout-outs (``shoutouts``: share of the role's posts that announce a
  young account to its followers, on top of ``accounts.shoutout_share``).
- **Network among accounts** (``roles.in_network_follows`` > 0): each new account follows
  Poisson(``in_network_follows / w``) active accounts of its platform, chosen with weight
  ``attract[role] * (followers + 1)`` (preferential attachment). Edges are kept in two
  ``FollowerGraph`` slab pools (account -> follower accounts, ``model.network``; account ->
  accounts followed, the reverse index). Each follower account counts as ``w`` real-world
  followers, ``w = max(scale, in_network_follows / MAX_NETWORK_FOLLOWS)`` (so a simulated
  account follows at most 50 others on average, whatever the scale; ``model.follower_counts``),
  so the follower metrics and the moderation visibility include them. When an account ends its
  in- and out-edges go; in-network followers of a suspended account look for its successor as
  audience followers do, and a successor follows again the accounts its predecessor followed.
- **Gradual return** (``roles.returns``, on when ``days`` > 0 or ``share`` < 1): each former
  follower of a suspended account looks for its successor with probability ``share`` and finds
  it after an exponential delay of mean ``days / (1 + shoutout_speedup * S)`` (S the share of
  active accounts of the platform that are shout-out accounts), then follows with
  ``accounts.refollow_prob`` times engagement and room (``PropagandaModel.add_follows``). A queue
  of (follower, successor) arrays by due day is processed at ``start``.

Metrics per open platform: followers of accounts re-created 7 days earlier (mean, and as a share
of their predecessors' followers when suspended), and the share of followers that are accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ClassVar

import numpy as np
from numba import njit
from pydantic import model_validator

from sim.components.exposure import random_account_of_language
from sim.config.problems import problem
from sim.config.schema import P, ScenarioBase, Strict
from sim.core import draws
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel
from sim.core.kernels import followers_of
from sim.core.model import DayTally, FollowCandidates
from sim.core.state.accounts import ROLES
from sim.core.state.graph import USER_DTYPE, FollowerGraph
from sim.core.state.users import draw_weighted

NAN = float("nan")
KEY = np.int64(2**31)  # keys ``account * KEY + member`` of the network's slab pools
SHOUTOUT = ROLES.index("shoutout")
WEEK = 7  # days after re-creation at which regained followers are measured
MAX_NETWORK_FOLLOWS = 50.0  # simulated follows of a new account among accounts, at most (mean)
# searchers by the day they find the successors: day -> [(followers, successors)]
Queue = dict[int, list[tuple[np.ndarray, np.ndarray]]]


class Role(Strict):
    """One account role: its share of new accounts and its multipliers."""

    share: float = P(0.0, "Share of new accounts that have this role", "", ge=0, le=1)
    followers: float = P(
        1.0, "Multiplier on the median followers of an initial account", "", ge=0.01, le=100
    )
    posting: float = P(1.0, "Multiplier on the posting rate", "", ge=0, le=100)
    hazard: float = P(
        1.0, "Multiplier on the moderation hazard (and purge weight)", "", ge=0, le=100
    )
    discovery: float = P(1.0, "Multiplier on search/hashtag discovery per post", "", ge=0, le=100)
    attract: float = P(
        1.0, "Multiplier on the chance to be followed by other pro accounts", "", ge=0, le=100
    )
    shoutouts: float = P(
        0.0,
        "Share of the role's posts that are extra shout-outs for a young account",
        "",
        ge=0,
        le=1,
    )


class OrdinaryRole(Role):
    """The ordinary supporter's role (all new accounts unless other roles have shares)."""

    share: float = P(1.0, "Share of new accounts that have this role", "", ge=0, le=1)


class Returns(Strict):
    """How former followers of a suspended account find its successor."""

    share: float = P(1.0, "Share of former followers who look for the successor", "", ge=0, le=1)
    days: float = P(
        0.0,
        "Mean days until a former follower finds the successor (0: on the day of re-creation, "
        "all at once, as without gradual return)",
        "days",
        ge=0,
        le=365,
    )
    shoutout_speedup: float = P(
        0.0,
        "Speed-up of finding per unit share of shout-out accounts among active accounts "
        "(mean delay days / (1 + speedup * share))",
        "",
        ge=0,
        le=1000,
    )


class RolesSection(Strict):
    """Account roles, the network among accounts and the return of audiences."""

    ordinary: OrdinaryRole = P(OrdinaryRole(), "Ordinary supporter accounts")
    official: Role = P(Role(), "Official provincial and media accounts (few, large)")
    shoutout: Role = P(Role(), "Shout-out accounts, which announce new accounts")
    bot: Role = P(Role(), "Bots and apps (high posting, few followers)")
    in_network_follows: float = P(
        0.0,
        "Real-world pro accounts each new account follows (0: no network among accounts)",
        "accounts",
        ge=0,
        le=100_000,
    )
    returns: Returns = P(Returns(), "Return of former followers to re-created accounts")

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> RolesSection:
        total = sum(getattr(self, r).share for r in ROLES)
        if abs(total - 1.0) > 1e-6:
            raise problem(f"role shares must sum to 1, they sum to {total:g}")
        return self


NOT_TARGET = -2  # (``remove_members``' scratch: an account not being removed from a slab)
HUB_REMOVALS, HUB_SLAB = 4, 64  # (removals from one slab and its length from which one pass)


@njit(cache=True)
def _remove_by_scan(pool, s, length, a, m):  # pragma: no cover - compiled
    """Remove the first ``m`` from account ``a``'s slab (at ``s``): the last entry takes its
    place; nothing if ``m`` is not in it."""
    n = length[a]
    for k in range(n):
        if pool[s + k] == m:
            pool[s + k] = pool[s + n - 1]
            length[a] = n - 1
            break


@njit(cache=True)
def remove_members(pool, start, length, accounts, members, scratch):  # pragma: no cover
    """Remove ``members[i]`` from the slab of ``accounts[i]``, in order: the first entry equal
    to it is found, and the slab's last entry takes its place (a member not in the slab, e.g.
    of an account already ended, is skipped).

    ``scratch`` has two rows of an entry per account id (above every account, member and slab
    entry): ``NOT_TARGET`` and 0 on entry, and left so. Removals from different slabs do not
    interact. A slab with few removals or a short one is scanned per removal, as they come. A
    hub's (at least ``HUB_REMOVALS`` removals from a slab of at least ``HUB_SLAB`` entries: many
    accounts that followed it end the same day; a scan per removal made the cost grow with
    the square of the accounts) are taken together, in order (a stable sort by account): the
    positions of its members to remove are noted in one pass over the slab (row 0) and kept
    as entries move, which leaves the slab exactly as the removals one by one would. (If a
    member to remove is in the slab more than once, the slab is scanned per removal: the first
    copy goes first.)
    """
    n = len(accounts)
    where, count = scratch[0], scratch[1]
    for q in range(n):
        count[accounts[q]] += 1
    hub = np.empty(n, np.int64)  # (the hubs' removals, in order)
    n_hub = 0
    for q in range(n):
        a = accounts[q]
        if count[a] >= HUB_REMOVALS and length[a] >= HUB_SLAB:  # (no removal yet: fixed)
            hub[n_hub] = q
            n_hub += 1
        else:
            _remove_by_scan(pool, start[a], length, a, members[q])
    for q in range(n):
        count[accounts[q]] = 0
    if n_hub == 0:
        return
    hub = hub[:n_hub]
    order = hub[np.argsort(accounts[hub], kind="mergesort")]  # (stable)
    i = 0
    while i < n_hub:
        a = accounts[order[i]]
        j = i + 1
        while j < n_hub and accounts[order[j]] == a:
            j += 1
        s = start[a]
        for q in range(i, j):
            where[members[order[q]]] = -1  # (to remove, not seen yet)
        repeated = False
        for k in range(length[a]):
            w = where[pool[s + k]]
            if w == -1:
                where[pool[s + k]] = k
            elif w >= 0:
                repeated = True
        if repeated:
            for q in range(i, j):
                where[members[order[q]]] = NOT_TARGET
            for q in range(i, j):
                _remove_by_scan(pool, s, length, a, members[order[q]])
            i = j
            continue
        for q in range(i, j):
            m = members[order[q]]
            k = where[m]
            if k < 0:
                continue  # (not in the slab, or removed already)
            last = length[a] - 1
            moved = pool[s + last]
            pool[s + k] = moved
            length[a] = last
            where[m] = -1
            if moved != m and where[moved] >= 0:
                where[moved] = k  # (a member still to remove took the free place)
        for q in range(i, j):
            where[members[order[q]]] = NOT_TARGET
        i = j


@njit(cache=True)
def active_counts(active, platform, role, n_open):  # pragma: no cover - compiled
    """Per open platform, the active accounts and the active shout-out accounts (two rows):
    one compiled pass over the account table's columns instead of masks and copies of them
    (the table keeps every account ever opened)."""
    out = np.zeros((2, n_open), np.int64)
    for a in range(len(active)):
        if active[a]:
            out[0, platform[a]] += 1
            out[1, platform[a]] += role[a] == SHOUTOUT
    return out


@njit(cache=True)
def network_followers(active, platform, network, weight, out):  # pragma: no cover - compiled
    """``out[p]`` = the in-network followers of the active accounts of open platform ``p``,
    each follower account counting ``weight``, summed in account order (as ``np.bincount``
    with those weights sums them)."""
    out[:] = 0.0
    for a in range(len(active)):
        if active[a]:
            out[platform[a]] += weight * network[a]


@njit(cache=True)
def regained(lo, hi, accounts, followers, end_followers, out):  # pragma: no cover - compiled
    """Per open platform, over the accounts ``lo .. hi - 1`` (re-created a week ago;
    ``accounts`` = (active, platform, predecessor) columns): their number, their followers now
    (``followers``: the parts of ``kernels.followers_of``; or their followers at their end if
    they ended since) and their predecessors' followers when
    these ended (``end_followers``, a column of the account table), as the rows of ``out``
    (filled here: an array a compiled function returns costs about a microsecond to hand back
    to Python)."""
    active, platform, predecessor = accounts
    audience, network, weight = followers
    out[:] = 0.0
    for a in range(lo, hi):
        p = platform[a]
        out[0, p] += 1.0
        out[1, p] += followers_of(audience, network, weight, a) if active[a] else end_followers[a]
        out[2, p] += end_followers[predecessor[a]]


class EndedEdges:
    """The network edges of ended accounts, kept for their successors: for each ended account
    with any, its follower accounts and the accounts it followed, and the day it ended.

    Two append-only pools (followers, followed) with each account's start and length in them,
    indexed by account id; ``take`` hands a predecessor's edges to its successor once. All
    vectorised: accounts end and return by the thousand a day at full scale. The pools are
    compacted when most of what they hold is no longer kept.
    """

    NONE = np.iinfo(np.int64).min  # (day of an account with nothing kept)

    def __init__(self) -> None:
        self.day = np.full(0, self.NONE, np.int64)
        self.start = np.zeros((2, 0), np.int64)  # (followers, followed) x account
        self.length = np.zeros((2, 0), np.int64)
        self.pools = [np.zeros(0, np.int64), np.zeros(0, np.int64)]
        self.used = [0, 0]

    def _room(self, n_accounts: int) -> None:
        if n_accounts > self.day.size:
            size = max(n_accounts, 2 * self.day.size, 1024)
            day = np.full(size, self.NONE, np.int64)
            day[: self.day.size] = self.day
            start, length = np.zeros((2, size), np.int64), np.zeros((2, size), np.int64)
            start[:, : self.day.size], length[:, : self.day.size] = self.start, self.length
            self.day, self.start, self.length = day, start, length

    def _append(self, k: int, values: np.ndarray) -> int:
        """Append ``values`` to pool ``k``; returns where they start."""
        at, pool = self.used[k], self.pools[k]
        if at + values.size > pool.size:
            grown = np.zeros(max(at + values.size, 2 * pool.size), np.int64)
            grown[:at] = pool[:at]
            self.pools[k] = pool = grown
        pool[at : at + values.size] = values
        self.used[k] = at + values.size
        return at

    def keep(
        self,
        ids: np.ndarray,
        d: int,
        followers: tuple[np.ndarray, np.ndarray],
        followed: tuple[np.ndarray, np.ndarray],
        n_accounts: int,
    ) -> None:
        """Accounts ``ids`` end on day ``d``; account ``ids[j]``'s follower accounts are
        ``values[bounds[j]:bounds[j + 1]]`` of ``followers`` = (values, bounds), the accounts
        it followed likewise in ``followed``. Accounts with neither are not kept."""
        self._room(n_accounts)
        lengths = [np.diff(followers[1]), np.diff(followed[1])]
        kept = (lengths[0] + lengths[1]) > 0
        acc = ids[kept]
        for k, (values, bounds) in enumerate((followers, followed)):
            at = self._append(k, values)
            self.start[k, acc] = at + bounds[:-1][kept]
            self.length[k, acc] = lengths[k][kept]
        self.day[acc] = d

    def take(
        self, new: np.ndarray, predecessor: np.ndarray
    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None:
        """New accounts ``new`` (in order) take over what is kept of their ``predecessor``s
        (-1: none; a predecessor's edges go to its first successor only). Returns ((follower
        accounts, the successor each follows), (successor of each, the account it followed)),
        in the order of ``new``; None if no new account had anything kept."""
        has = predecessor >= 0
        has[has] = self.day[predecessor[has]] != self.NONE
        if not has.any():
            return None
        pos = np.flatnonzero(has)
        _, first = np.unique(predecessor[pos], return_index=True)
        pos = pos[np.sort(first)]
        succ, pred = new[pos], predecessor[pos]
        self.day[pred] = self.NONE
        out = []
        for k in range(2):
            n = self.length[k, pred]
            values = self.pools[k][_ranges(self.start[k, pred], n)]
            out.append((values, np.repeat(succ, n)) if k == 0 else (np.repeat(succ, n), values))
        return out[0], out[1]

    def forget_before(self, day: int) -> None:
        """Forget what was kept of accounts that ended before ``day``; compact the pools when
        less than half of what they hold is still kept."""
        old = (self.day != self.NONE) & (self.day < day)
        self.day[old] = self.NONE
        live = np.flatnonzero(self.day != self.NONE)
        for k in range(2):
            n = self.length[k, live]
            if 2 * int(n.sum()) < self.used[k]:
                values = self.pools[k][_ranges(self.start[k, live], n)]
                self.start[k, live] = np.cumsum(n) - n
                self.pools[k], self.used[k] = values, values.size


@njit(cache=True)
def attachment_weights(  # pragma: no cover - compiled
    active, platform, p, role, attract, length, net_length, weight
):
    """The active accounts on open platform ``p`` (ids in order) and the cumulated weights
    ``attract[role] * (followers + 1)`` of attaching to each, followers as
    ``PropagandaModel.follower_counts`` computes them (``length + weight * net_length``: the
    arguments of ``follower_parts``), summed in order as ``np.cumsum``."""
    cand = np.empty(len(active), np.int64)
    k = 0
    for a in range(len(active)):
        if active[a] and platform[a] == p:
            cand[k] = a
            k += 1
    cand = cand[:k]
    cum = np.empty(k)
    total = 0.0
    for j in range(k):
        a = cand[j]
        followers = np.float64(length[a]) + weight * np.float64(net_length[a])
        total += attract[role[a]] * (followers + 1.0)
        cum[j] = total
    return cand, cum


@njit(cache=True)
def searchers_by_day(who, succ, platform, share, mean, h):  # pragma: no cover - compiled
    """The searchers ``who`` (of successors ``succ``, on open ``platform[succ]``) who look, each
    with chance ``share``, ordered by the day they find (stably): ``(who, succ, delay)``, each
    one's delay in days ``rint(E * mean[platform])`` with ``E`` standard exponential (all 0
    where ``mean`` is empty). The draws of ``random(n) < share`` and then of
    ``exponential(1.0, kept)`` on the stream ``h`` (an inline ``PCG64`` handle:
    ``draws.numpy_exponential`` is numpy's), number for number."""
    n = len(who)
    keep = np.empty(n, np.bool_)
    k = 0
    for i in range(n):
        keep[i] = draws.uniform(h) < share
        k += keep[i]
    w = np.empty(k, np.int64)
    s = np.empty(k, succ.dtype)
    delay = np.zeros(k, np.int64)
    j = 0
    for i in range(n):
        if keep[i]:
            w[j] = who[i]
            s[j] = succ[i]
            j += 1
    if len(mean) == 0:  # (no delays, no draws)
        return w, s, delay
    lo, hi = 0, 0
    for j in range(k):
        delay[j] = np.int64(np.rint(draws.numpy_exponential(h) * mean[platform[s[j]]]))
        lo, hi = min(lo, delay[j]), max(hi, delay[j])
    if lo < 0 or hi >= 2**15:  # (never with positive means: a merge sort, stable as well)
        order = np.argsort(delay, kind="mergesort")
        return w[order], s[order], delay[order]
    # a stable counting sort by delay
    count = np.zeros(hi + 2, np.int64)
    for j in range(k):
        count[delay[j] + 1] += 1
    for v in range(1, hi + 2):
        count[v] += count[v - 1]
    w2, s2, d2 = np.empty_like(w), np.empty_like(s), np.empty_like(delay)
    for j in range(k):
        at = count[delay[j]]
        count[delay[j]] += 1
        w2[at], s2[at], d2[at] = w[j], s[j], delay[j]
    return w2, s2, d2


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions ``starts[i], ..., starts[i] + lengths[i] - 1``, for each i in order."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(ends[-1] if ends.size else 0)


class Roles(Component):
    """Account roles, follows among accounts, gradual return of former followers."""

    name = "roles"
    section = "roles"
    section_type = RolesSection
    section_doc = "Account roles, the network among pro accounts and the return of audiences"
    streams: ClassVar = ("roles",)
    rules: ClassVar = {"roles": "The roles' `share`s must sum to 1."}
    fixed_at_start: ClassVar = ("roles.in_network_follows",)
    metrics: ClassVar = (
        MetricSpec(
            "followers_regained_week",
            "open",
            "followers",
            "Mean followers of the accounts re-created 7 days earlier (those ended since: at "
            "their end), audience plus in-network; NaN if none",
        ),
        MetricSpec(
            "regained_share_week",
            "open",
            "0..1",
            "Followers of the accounts re-created 7 days earlier over their predecessors' "
            "followers when suspended; NaN if none",
        ),
        MetricSpec(
            "in_network_share",
            "open",
            "0..1",
            "Share of the followers of active accounts that are other pro accounts; NaN if none",
        ),
    )
    figures: ClassVar = (
        FigureSpec(
            "network",
            "Re-created accounts and the network among accounts (open platforms)",
            (
                Panel(
                    "Followers regained 7 days after re-creation, share of predecessor's (30-day)",
                    (Line("regained_share_week", stat="mean", days=30),),
                    ratio=True,
                ),
                Panel(
                    "Share of followers that are pro accounts",
                    (Line("in_network_share"),),
                    ratio=True,
                ),
            ),
        ),
    )

    @classmethod
    def check(cls, scenario: ScenarioBase) -> None:
        section: RolesSection = getattr(scenario, "roles", RolesSection())
        a = scenario.accounts  # type: ignore[attr-defined]
        for name in ROLES:
            extra = getattr(section, name).shoutouts
            if extra > 0 and a.shoutout_share + extra >= 1.0:
                raise problem(
                    f"accounts.shoutout_share ({a.shoutout_share:g}) plus the {name} role's "
                    f"shoutouts ({extra:g}) must stay below 1",
                    at=("roles", name, "shoutouts"),
                    value=extra,
                )

    # --- set-up ---------------------------------------------------------------------------
    def refresh(self) -> None:
        m, r = self.model, self.pars
        roles = [getattr(r, name) for name in ROLES]
        shares = np.array([x.share for x in roles])
        self.shares = shares / shares.sum() if shares.sum() > 0 else np.eye(len(ROLES))[0]
        self.roles_on = bool(self.shares[0] < 1.0)
        self.follower_mult = np.array([x.followers for x in roles])
        self.posting_mult = np.array([x.posting for x in roles])
        self.attract = np.array([x.attract for x in roles])
        self.shoutouts = np.array([x.shoutouts for x in roles])
        m.accounts.role_hazard[:] = [x.hazard for x in roles]
        m.accounts.role_discovery[:] = [x.discovery for x in roles]
        self.gradual = r.returns.days > 0 or r.returns.share < 1.0
        # each simulated follow among accounts stands for ``network_weight`` real ones: the
        # scale, or more when a new account would otherwise follow more than
        # ``MAX_NETWORK_FOLLOWS`` accounts on average (the network would cost as much as the
        # audience graph at full scale)
        m.network_weight = max(float(m.scale), r.in_network_follows / MAX_NETWORK_FOLLOWS)
        self.follows_per_account = r.in_network_follows / m.network_weight

    def init(self) -> None:
        super().init()
        m = self.model
        self._rng = m.streams["roles"]
        self._recreated_rows: dict[int, tuple[int, int]] = {}
        # ended accounts' follower accounts and the accounts they followed, until a successor
        # takes them over (or a year passes)
        self._lost = EndedEdges()
        # queues by due day of (followers, successors): audience users and follower accounts
        self._q_users: Queue = {}
        self._q_accounts: Queue = {}
        self._share_day, self._share = -(10**9), np.zeros(len(m.open_names))
        self._cols = [self.columns(s.name) for s in self.metrics]
        self._regained = np.zeros((3, len(m.open_names)))  # (``regained``'s output)
        self._in_network = np.zeros(len(m.open_names))  # (``network_followers``' output)
        self.following: FollowerGraph | None = None
        self._scratch = np.zeros((2, 0), np.int64)  # (of ``remove_members``, ``_grow``)
        if self.follows_per_account > 0:
            m.network = FollowerGraph()
            self.following = FollowerGraph()
            m.on_end.append(self._on_end)  # (fixed at start: no network, nothing to do there)
        self._seen = 0
        self._new_accounts(-m.warmup)  # the initial accounts follow each other

    def assign(self, ids: np.ndarray) -> None:
        """Roles of new accounts ``ids`` (opened by operators), and their posting rates."""
        if not self.roles_on or ids.size == 0:
            return
        t = self.model.accounts
        role = self._rng_roles().choice(len(ROLES), size=ids.size, p=self.shares)
        t.role[ids] = role
        t.rate[ids] *= self.posting_mult[role]

    def _rng_roles(self) -> np.random.Generator:
        # (``assign`` runs for the initial accounts before this component's ``init``)
        return self.model.streams["roles"]

    def followers_factor(self, ids: np.ndarray) -> np.ndarray:
        """Multipliers of the initial followers of accounts ``ids``, by role."""
        return self.follower_mult[self.model.accounts.role[ids]]

    # --- network ------------------------------------------------------------------------
    def _grow(self) -> None:
        """Room in the network's pools for every account (when there is a network)."""
        m = self.model
        if m.network is not None and self.following is not None:
            n = m.accounts.n
            for g in (m.network, self.following):
                if n > g.n_accounts:
                    g.add_accounts(n - g.n_accounts)
            if n > self._scratch.shape[1]:  # (``remove_members``': entries per account)
                size = max(n, 2 * self._scratch.shape[1])
                self._scratch = np.zeros((2, size), np.int64)
                self._scratch[0] = NOT_TARGET

    def _add_edges(self, followers: np.ndarray, followed: np.ndarray) -> None:
        """Accounts ``followers[i]`` follow ``followed[i]`` (both active, not the same)."""
        m = self.model
        assert m.network is not None and self.following is not None
        t = m.accounts
        ok = (followers != followed) & t.active[followers] & t.active[followed]
        f, g = followers[ok].astype(np.int64), followed[ok].astype(np.int64)
        if f.size:
            m.network.add_keys(g * KEY + f, int(KEY))
            self.following.add_keys(f * KEY + g, int(KEY))

    def _new_accounts(self, d: int) -> None:
        """Fresh accounts since the last look follow active accounts of their platform."""
        m = self.model
        t = m.accounts
        lo, hi = self._seen, t.n
        self._seen = hi
        if m.network is None or hi == lo:
            return
        self._grow()
        new = np.arange(lo, hi)
        new = new[~t.recreated[new] & t.active[new]]
        k = self._rng.poisson(self.follows_per_account, new.size)
        for p in range(len(m.open_names)):
            mine = t.platform[new] == p
            src = np.repeat(new[mine], k[mine])
            if src.size == 0:
                continue
            # (``t.active_ids(p)`` and the cumulated ``attract[role] * (follower_counts + 1)``
            # in one pass over the account table: every account ever opened, ten to twenty
            # times the active ones late in a full-scale run)
            cand, cum = attachment_weights(
                t.column("active"), t.platform, p, t.role, self.attract, *m.follower_parts()
            )
            if cand.size < 2:
                continue
            if cum[-1] <= 0:
                continue
            tgt = cand[
                np.minimum(draw_weighted(cum, self._rng.random(src.size) * cum[-1]), cand.size - 1)
            ]
            self._add_edges(src, tgt)

    def _on_end(self, ids: np.ndarray, d: int, tally: DayTally) -> None:
        """Accounts ``ids`` end (registered with the model when there is a network): their
        in-network followers count in their followers at the end (``end_accounts`` adds the
        audience ones after this), their network edges go (kept for a successor), their
        in-network followers are tallied as followers."""
        m = self.model
        self._grow()
        net, following = m.network, self.following
        if net is None or following is None:
            return
        t = m.accounts
        t.end_followers[ids] = m.network_weight * net.length[ids]
        lost_in, b_in = net.remove_accounts(ids)
        tally.susp_followers += np.bincount(
            t.platform[ids],
            m.network_weight * np.diff(b_in),
            minlength=tally.susp_followers.size,
        )
        lost_out, b_out = following.remove_accounts(ids)
        per = np.diff(b_out)
        if lost_out.size:
            remove_members(
                net.pool,
                net.start,
                net.length,
                lost_out.astype(np.int64),
                np.repeat(ids, per),
                self._scratch,
            )
        self._lost.keep(ids, d, (lost_in, b_in), (lost_out, b_out), t.n)

    # --- gradual return -------------------------------------------------------------------
    def _delay_means(self, d: int) -> np.ndarray:
        """Mean days until a searcher finds a successor, per open platform (today's shout-out
        share speeds it up); empty when searchers find at once (``returns.days`` 0)."""
        r = self.pars.returns
        if r.days <= 0:
            return np.zeros(0)
        mean = np.full(len(self.model.open_names), r.days)
        if r.shoutout_speedup > 0:
            mean = mean / (1.0 + r.shoutout_speedup * self._shoutout_share(d))
        return mean

    def _delays(self, n: int, platform: np.ndarray, d: int) -> np.ndarray:
        """Days until each of ``n`` searchers (successors on ``platform``) finds it."""
        mean = self._delay_means(d)
        if mean.size == 0:
            return np.zeros(n, np.int64)
        return np.rint(self._rng.exponential(1.0, n) * mean[platform]).astype(np.int64)

    def _shoutout_share(self, d: int) -> np.ndarray:
        """Share of active accounts that are shout-out accounts, per open platform (today)."""
        if self._share_day != d:
            t = self.model.accounts
            n_act, n_sh = active_counts(
                t.column("active"), t.platform, t.role, len(self.model.open_names)
            )
            self._share = n_sh / np.maximum(n_act, 1)
            self._share_day = d
        return self._share

    def _queue(self, q: Queue, who: np.ndarray, succ: np.ndarray, d: int) -> None:
        """Queue the searchers who look (``returns.share``) by the day they find."""
        m = self.model
        h = m.streams.handle("roles")
        if h[0] == 0 and draws.numpy_exponential_ok():  # (the same draws, compiled)
            share, mean = float(self.pars.returns.share), self._delay_means(d)
            who, succ, delays = searchers_by_day(who, succ, m.accounts.platform, share, mean, h)
            self._by_day(q, who, succ, d + delays)
            return
        keep = self._rng.random(who.size) < self.pars.returns.share
        who, succ = who[keep].astype(np.int64), succ[keep]
        delays = self._delays(who.size, self.model.accounts.platform[succ], d)
        due = d + delays
        # (the same stable order; numpy sorts 16-bit keys by radix, several times faster)
        key = delays.astype(np.int16) if delays.size and delays.max() < 2**15 else delays
        order = np.argsort(key, kind="stable")
        self._by_day(q, who[order], succ[order], due[order])

    @staticmethod
    def _by_day(q: Queue, who: np.ndarray, succ: np.ndarray, due: np.ndarray) -> None:
        """Queue searchers ``who`` (of ``succ``) by their due days ``due`` (sorted)."""
        # (the days and where each starts: ``np.unique(due, return_index=True)``, read off the
        # sorted days without sorting them again)
        first = np.flatnonzero(np.diff(due, prepend=due[:1] - 1))
        days = due[first]
        cut = [*first.tolist(), due.size]
        for j, day in enumerate(days.tolist()):
            q.setdefault(day, []).append((who[cut[j] : cut[j + 1]], succ[cut[j] : cut[j + 1]]))

    @staticmethod
    def _due(q: Queue, d: int) -> tuple[np.ndarray, np.ndarray]:
        """The searchers who find their successors today (and any left from earlier days)."""
        parts = [x for day in [k for k in q if k <= d] for x in q.pop(day)]
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])

    def enqueue(self, users: np.ndarray, successor: np.ndarray, d: int) -> bool:
        """Former followers ``users`` of suspended accounts look for their successors
        (``successor[i]``, re-created on day ``d``) over the coming days; False (nothing
        queued) when the return is not gradual (the caller re-follows at once)."""
        if not self.gradual:
            return False
        self._queue(self._q_users, users, successor, d)
        return True

    def start(self, d: int) -> None:
        """Accounts re-created today (operators' ``start``): their network comes back; then
        the former followers due today find their successors."""
        m = self.model
        t = m.accounts
        lo, hi = self._seen, t.n
        if hi > lo:
            self._recreated_rows[d] = (lo, hi)
            self._seen = hi
            self._grow()
            if m.network is not None:
                self._network_returns(np.arange(lo, hi), d)
        if self.gradual:
            users, succ = self._due(self._q_users, d)
            alive = t.active[succ]
            users, succ = users[alive].astype(USER_DTYPE), succ[alive]
            if users.size:
                p_base = m.sc.accounts.refollow_prob
                m.add_follows([FollowCandidates(users, p_base, succ.__getitem__)])
        if m.network is not None:
            f, s = self._due(self._q_accounts, d)
            if f.size:
                self._add_edges(f, s)
        if d % 30 == 0:
            self._prune(d)

    def _network_returns(self, new: np.ndarray, d: int) -> None:
        taken = self._lost.take(new, self.model.accounts.predecessor[new])
        if taken is not None:
            (f, s), (src, outs) = taken
            # the operator follows again what the old account followed
            self._add_edges(src, outs)
            if self.gradual:
                self._queue(self._q_accounts, f, s, d)
            else:  # on the day of re-creation, with the refollow probability
                keep = self._rng.random(f.size) < self.model.sc.accounts.refollow_prob
                self._add_edges(f[keep], s[keep])

    def _prune(self, d: int) -> None:
        """Forget the networks of ended accounts not re-created within a year."""
        if self.model.network is not None:  # (else nothing is kept)
            self._lost.forget_before(d - 365)
        for day in [x for x in self._recreated_rows if x < d - WEEK]:
            del self._recreated_rows[day]

    # --- the day ------------------------------------------------------------------------
    def hooks(self) -> dict[str, Callable[..., None]]:
        hooks = super().hooks()
        if not self.roles_on or not self.shoutouts.any():
            del hooks["expose"]  # (no extra shout-outs by role)
        return hooks

    def expose(self, d: int) -> None:
        """Extra shout-outs by role: followers who see them may follow a young account."""
        if not self.roles_on or not self.shoutouts.any():
            return
        m = self.model
        t, g, today, a_cfg = m.accounts, m.graph, m.today, m.sc.accounts
        act, k = today.act, today.k
        s = self.shoutouts[t.role[act]]
        if not s.any():
            return
        young = act[(d - t.created[act]) < a_cfg.shoutout_window_days]
        if young.size == 0:
            return
        rng = self._rng
        n_sh = rng.binomial(k, s)
        view_prob = np.array([m.sc.platforms[n].view_prob for n in m.open_names])
        src = act[n_sh > 0]
        n_views = rng.binomial(n_sh[n_sh > 0] * g.length[src], view_prob[t.platform[src]])
        poster = np.repeat(src, n_views)
        if poster.size == 0:
            return
        viewers = g.pool[
            g.start[poster] + (rng.random(poster.size) * g.length[poster]).astype(np.int64)
        ]
        wanted = t.language[poster]
        promoted = partial(random_account_of_language, young, t.language[young], rng=rng)
        today.follows.append(
            FollowCandidates(
                viewers.astype(np.int64), a_cfg.shoutout_follow_prob, lambda i: promoted(wanted[i])
            )
        )

    def update(self, d: int) -> None:
        """New operators' fresh accounts (operators' ``update``) follow other accounts."""
        self._new_accounts(d)

    def record(self, d: int, row: np.ndarray) -> None:
        m = self.model
        t = m.accounts
        n_open = len(m.open_names)
        c_mean, c_share, c_net = self._cols
        # (per platform in plain Python: numpy costs microseconds per call on arrays this small)
        mean = share = [NAN] * n_open
        rows = self._recreated_rows.pop(d - WEEK, None)
        if rows is not None:
            out = self._regained
            regained(
                rows[0],
                rows[1],
                (t.active, t.platform, t.predecessor),
                m.follower_parts(),
                t.end_followers,
                out,
            )
            n, total, prior = out.tolist()
            mean = [total[i] / n[i] if n[i] > 0 else NAN for i in range(n_open)]
            share = [total[i] / prior[i] if prior[i] > 0 else NAN for i in range(n_open)]
        # followers of the active accounts per platform: posting's sums of the day (its record
        # runs first), audience and in-network followers together
        all_f = [sums[1] for sums in m.today.sums]
        if m.network is not None:
            per_platform = self._in_network
            network_followers(
                t.column("active"),
                t.platform,
                m.network.length,
                float(m.network_weight),
                per_platform,
            )
            in_net = per_platform.tolist()
        else:
            in_net = [0.0] * n_open
        for i in range(n_open):
            row[c_mean[i]] = mean[i]
            row[c_share[i]] = share[i]
            row[c_net[i]] = in_net[i] / all_f[i] if all_f[i] > 0 else NAN
