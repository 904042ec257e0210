"""Posting by pro accounts: heavy-tailed rates, bursty days; the account table's daily summary.

Each active account posts Poisson(``rate * accounts.posting.multiplier * f * G``) times a day,
``f`` its platform's ``today.posting_factor`` (1 unless outside events or official media output
set it at ``start``), G a Gamma(``burstiness``) burst of mean 1 (``kernels.daily_posts``; rates
are drawn when an account is created, log-uniform within the brackets of
``accounts.posting``). The day's
posters and their counts go on the blackboard (``today.act``, ``today.k``) for exposure,
moderation and the metrics.

At ``record`` it sums the account table per open platform once (``kernels.record_sums``: active
accounts, followers, ages, evasion, posts, posts visible to a keyword classifier, operators
running an account or a channel), writes its metrics in the same compiled call
(``kernels.record_row``) and leaves the sums for the other components' metrics.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from sim.components.observation import observation_of
from sim.config.schema import LANGUAGES
from sim.core import kernels
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel


class Posting(Component):
    """Daily posts of pro accounts, and the metrics of the account table."""

    name = "posting"
    streams: ClassVar = ("posting",)
    metrics: ClassVar = (
        MetricSpec(
            "pro_posts_true",
            "open",
            "posts/day",
            "Pro-IS posts actually made: by pro accounts plus shares by users",
        ),
        MetricSpec(
            "active_accounts", "open", "accounts", "Pro accounts active at the end of the day"
        ),
        MetricSpec(
            "mean_followers",
            "open",
            "followers",
            "Mean followers of active pro accounts; NaN if there are none",
        ),
        MetricSpec(
            "mean_account_age",
            "open",
            "days",
            "Mean age of active pro accounts; NaN if there are none",
        ),
        MetricSpec(
            "mean_evasion",
            "open",
            "0..1",
            "Mean evasion of active pro accounts; NaN if there are none",
        ),
        *(
            spec
            for lang in LANGUAGES
            for spec in (
                MetricSpec(
                    f"pro_posts_{lang}",
                    "open",
                    "posts/day",
                    f"Pro posts actually made by {lang.title()}-language accounts, plus shares "
                    "of their posts by users",
                ),
                MetricSpec(
                    f"active_accounts_{lang}",
                    "open",
                    "accounts",
                    f"{lang.title()}-language pro accounts active at the end of the day",
                ),
                MetricSpec(
                    f"mean_followers_{lang}",
                    "open",
                    "followers",
                    f"Mean followers of active {lang.title()}-language pro accounts; NaN if "
                    "there are none",
                ),
            )
        ),
    )

    figures: ClassVar = (
        FigureSpec(
            "accounts",
            "Pro-IS accounts and suspensions (open platforms)",
            (
                Panel(
                    "Active pro accounts",
                    (Line("active_accounts"),),
                    ("active_accounts", "new_accounts_fresh"),
                ),
                Panel(
                    "Suspensions per day (7-day mean)",
                    (Line("suspensions", stat="mean", days=7),),
                    ("suspensions",),
                ),
            ),
        ),
        FigureSpec(
            "languages",
            "Pro-IS accounts by language (open platforms)",
            (
                Panel(
                    "Pro posts per day (7-day mean)",
                    tuple(
                        Line(f"pro_posts_{lang}", lang, stat="mean", days=7) for lang in LANGUAGES
                    ),
                ),
                Panel(
                    "Active pro accounts",
                    tuple(Line(f"active_accounts_{lang}", lang) for lang in LANGUAGES),
                ),
                Panel(
                    "Mean followers of active accounts",
                    tuple(Line(f"mean_followers_{lang}", lang) for lang in LANGUAGES),
                ),
            ),
        ),
    )

    def refresh(self) -> None:
        m = self.model
        self._recall_loss = observation_of(m.sc).evasion_recall_loss
        # the posting multiplier per open platform on days without outside factors (the
        # product with factors of 1 gives these same numbers; ``post`` then allocates nothing)
        n_open = len(m.open_names)
        self._ones = [1.0] * n_open
        self._multiplier = np.full(n_open, m.sc.accounts.posting.multiplier)

    def init(self) -> None:
        super().init()
        # per account: the posting mean and the logarithm ``daily_posts`` derives from it
        self._log_cache = (np.full(1024, np.nan), np.zeros(1024))
        self._no_operators = np.zeros(0, dtype=np.int64)
        # the columns of posting's metrics (``kernels.record_row``): per platform, then per
        # platform by language
        names = ["pro_posts_true", "active_accounts", "mean_followers", "mean_account_age"]
        names += ["mean_evasion"]
        names += [
            f"{x}_{lang}"
            for x in ("pro_posts", "active_accounts", "mean_followers")
            for lang in LANGUAGES
        ]
        self._cols = np.array([self.columns(x) for x in names], dtype=np.int64)

    def post(self, d: int) -> None:
        m = self.model
        a = m.sc.accounts
        factor = m.today.posting_factor  # (outside events; 1 unless set)
        mult = self._multiplier
        if factor.tolist() != self._ones:
            mult = a.posting.multiplier * factor
        cache = self._log_cache
        if m.accounts.n > cache[0].size:
            size = max(m.accounts.n, 2 * cache[0].size)
            cache = self._log_cache = (np.full(size, np.nan), np.zeros(size))
        m.today.act, m.today.k = kernels.daily_posts(
            m.accounts.column("active"),
            m.accounts.rate,
            m.accounts.platform,
            mult,
            a.posting.burstiness,
            m.streams.handle("posting"),
            cache,
        )

    def record(self, d: int, row: np.ndarray) -> None:
        m, t, today = self.model, self.model.accounts, self.model.today
        ch = m.channels
        with_channel = ch.operator[ch.active_ids()] if m.enc_names else self._no_operators
        tally = today.tally
        sums, n_running = kernels.record_row(
            (t.column("active"), t.platform, t.created, t.evasion, t.operator, t.language),
            m.follower_parts(),  # (audience, plus in-network followers if any)
            d,
            (len(m.open_names), len(m.operators)),
            (today.act, today.k),
            self._recall_loss,
            with_channel,
            (tally.shares, tally.shares_by_language),
            float(m.scale),
            self._cols,
            row,
        )
        today.sums, today.n_running = sums.tolist(), int(n_running)
        today.pro_true = [x[6] for x in today.sums]
