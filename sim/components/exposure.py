"""Exposure on the open platforms: feed views, shout-outs, invite links, shares, discovery.

Each day (``expose``), for every post of the day (``today.act``, ``today.k``):

- **feed views**: each (post, follower) pair is seen with ``platforms.<p>.view_prob``
  (``kernels.feed_views``); a share of posts are shout-outs for young accounts
  (``accounts.shoutout_share``) or carry invite links to encrypted platforms
  (``platforms.<e>.invite_share``); ordinary posts seen by sympathizers may be shared on
  (``population.share_prob`` times the platform's ``share_factor``);
- **shares** are seen by ``population.share_reach`` users of the sharer's language;
- **search/hashtag discovery**: ``platforms.<p>.discovery`` impressions per post on random
  users of the post's language, fewer for evasive accounts (``observation.evasion_recall_loss``),
  times the platform's ``today.discovery_factor`` (outside events) and the poster's
  ``today.discovery_boost`` (trending coordinated campaigns), when set.
  Search interventions divert a share of searches per platform and language
  (``today.search_diverted``, an array of open platforms x languages set during ``post``; the
  Redirect Method does): those searches find no pro content, and the expected number diverted
  per language is left in ``today.diverted_searches``.

Every view is counted into the viewer's pro dose as it is drawn. Views outside the feed are
follow candidates with ``population.follow_prob``; shout-outs make their viewers candidates to
follow the promoted account; invite-link views go to the encrypted platforms (``today``).
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import numpy as np

from sim.components.observation import observation_of
from sim.core import kernels
from sim.core.component import Component, MetricSpec
from sim.core.model import FollowCandidates
from sim.core.state.users import SYMPATHIZER


class Exposure(Component):
    """Who sees which pro posts on the open platforms."""

    name = "exposure"
    streams: ClassVar = ("exposure",)
    metrics: ClassVar = (
        MetricSpec(
            "impressions",
            "open",
            "impressions/day",
            "Pro impressions (feed views, shares, discovery) on users",
        ),
    )

    def refresh(self) -> None:
        sc = self.model.sc
        op = [sc.platforms[n] for n in self.model.open_names]
        enc = [sc.platforms[n] for n in self.model.enc_names]
        self.view_prob = np.array([p.view_prob for p in op])
        self.discovery = np.array([p.discovery for p in op])
        self.share_p = sc.population.share_prob * np.array([p.share_factor for p in op])
        self.has_discovery = any(p.discovery > 0 for p in op)
        self.recall_loss = observation_of(sc).evasion_recall_loss  # evasion hides hashtags
        # cumulative shares of posts: shout-out, then an invite per encrypted platform
        self.kind_edges = np.cumsum([sc.accounts.shoutout_share, *(p.invite_share for p in enc)])
        if self.kind_edges[-1] >= 1.0:
            raise ValueError("shout-out and invite-link shares of posts add up to 1 or more")

    def init(self) -> None:
        super().init()
        self._role_ones = [1.0] * self.model.accounts.role_discovery.size
        self._cols = self.columns("impressions")

    def expose(self, d: int) -> None:
        """Draws are skipped only where they would be empty (a size-0 or rate-0 draw consumes
        no random numbers), so skipping never shifts a stream."""
        m = self.model
        sc, u, acc_t, today = m.sc, m.users, m.accounts, m.today
        act, k = today.act, today.k
        g = m.graph
        v_local, v_user, v_kind = kernels.feed_views(
            (g.pool, g.start, g.length),
            act,
            k,
            acc_t.platform,
            (self.view_prob, self.kind_edges, self.share_p),
            (u.pro_dose, u.dosed),
            today.tally.impressions,
            m.streams.handle("exposure"),
        )
        if not v_kind.size and not self.has_discovery:
            return  # (no special views, no shares, no discovery: nothing more today)
        rng = m.streams["exposure"]
        plat = acc_t.platform[act]
        lang = acc_t.language[act]
        p = sc.population
        s_local = v_local[:0]  # shared posts
        n_share_views = np.zeros(0, dtype=np.int64)
        if v_kind.size:
            self._special_views(d, act, lang, v_local, v_user, v_kind, rng)
            # shares by sympathizers and supporters, seen by users of the sharer's language
            shared = np.flatnonzero(v_kind == -1)
            shared = shared[u.state[v_user[shared]] >= SYMPATHIZER]
            s_local = v_local[shared]
        if s_local.size:
            langs = u.language[v_user[shared]]
            reach = np.full(s_local.size, p.share_reach)
            n_share_views = self._outside_views(act[s_local], langs, reach)
        # search/hashtag discovery by non-followers (evasion hides hashtags)
        loss = self.recall_loss
        n_disc = None
        if self.has_discovery:
            ev = acc_t.evasion[act].astype(np.float64)
            # (outside events scale a platform's discovery, roles an account's, trending
            # campaigns a poster's)
            mean = k * (self.discovery * today.discovery_factor)[plat] * (1.0 - loss * ev)
            if acc_t.role_discovery.tolist() != self._role_ones:  # by role (roles on)
                mean *= acc_t.role_discovery[acc_t.role[act]]
            if today.discovery_boost is not None:
                mean = mean * today.discovery_boost
            diverted = today.search_diverted
            if diverted is not None:
                lost = mean * diverted[plat, lang]
                today.diverted_searches = np.bincount(lang, lost, minlength=3)
                mean = mean - lost
            n_disc = self._outside_views(act, lang, mean)
        self._tally_views(act, plat, n_disc, s_local, n_share_views, loss)

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
        tally = self.model.today.tally
        n_open = tally.impressions.size
        if n_disc is not None:
            tally.impressions += np.bincount(plat, n_disc, minlength=n_open).astype(np.int64)
        if s_local.size == 0:
            return
        # what full recall would find of each share (evasion of the shared account hides some)
        seen = 1.0 - loss * self.model.accounts.evasion[act[s_local]].astype(np.float64)
        s_plat = plat[s_local]
        tally.impressions += np.bincount(s_plat, n_share_views, minlength=n_open).astype(np.int64)
        tally.shares[:] = np.bincount(s_plat, minlength=n_open)
        s_lang = self.model.accounts.language[act[s_local]]
        by_language = np.bincount(s_plat * 3 + s_lang, minlength=n_open * 3)
        tally.shares_by_language[:] = by_language.reshape(n_open, 3)
        tally.shares_observed_weight[:] = np.bincount(s_plat, seen, minlength=n_open)

    def _special_views(
        self,
        d: int,
        act: np.ndarray,
        lang: np.ndarray,
        v_local: np.ndarray,
        v_user: np.ndarray,
        v_kind: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """Shout-outs (follow candidates for a young account) and invite-link views."""
        m = self.model
        acc_t, a_cfg, today = m.accounts, m.sc.accounts, m.today
        is_shout = v_kind == 0
        young = act[(d - acc_t.created[act]) < a_cfg.shoutout_window_days]
        if young.size and is_shout.any():
            # the account a shout-out promotes: a young one of the poster's language, chosen
            # for the viewers who follow it
            wanted = lang[v_local[is_shout]]
            promoted = partial(random_account_of_language, young, acc_t.language[young], rng=rng)
            today.follows.append(
                FollowCandidates(
                    v_user[is_shout],
                    a_cfg.shoutout_follow_prob,
                    lambda i: promoted(wanted[i]),
                )
            )
        for e_idx in range(len(m.enc_names)):
            sel = v_kind == e_idx + 1
            today.invite_platform.append(np.full(int(sel.sum()), e_idx))
            today.invite_user.append(v_user[sel])

    def _outside_views(
        self, accounts: np.ndarray, languages: np.ndarray, mean: np.ndarray
    ) -> np.ndarray:
        """Views of pro posts outside the feed (shares, discovery); returns their number per
        source: ``Poisson(mean[i])`` views of a post of ``accounts[i]`` by random users of
        ``languages[i]``, counted into the pro doses here (``kernels.outside_views``).

        Each view is a pro dose and, with chance ``population.follow_prob``, a follow
        candidate (for whom engagement and room then decide). By Poisson splitting the
        candidate views and the others are two independent counts, so the follow gate sees
        only the candidates (four in ten at the default), not every view.
        """
        m = self.model
        u = m.users
        cand_users, cand_acc, total = kernels.outside_views(
            accounts,
            languages,
            mean,
            m.sc.population.follow_prob,
            u.lang_start,
            u.n,
            u.pro_dose,
            u.dosed,
            m.streams.handle("exposure"),
        )
        if cand_users.size:
            m.today.follows.append(FollowCandidates(cand_users, 1.0, cand_acc.__getitem__))
        return total

    def record(self, d: int, row: np.ndarray) -> None:
        impressions = self.model.today.tally.impressions.tolist()
        s = self.model.scale
        for i, c in enumerate(self._cols):
            row[c] = impressions[i] * s


def random_account_of_language(
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
