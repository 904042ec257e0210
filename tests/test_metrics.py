"""Summaries of daily tables (``sim.metrics``): distinct accounts used in a window."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import make_scenario

from sim.core.model import PropagandaModel
from sim.metrics import distinct_accounts


@pytest.mark.parametrize(
    ("start", "end"), [("2015-01-10", "2015-02-20"), ("2015-02-01", "2015-02-01")]
)
def test_distinct_accounts_counts_every_account_used_in_the_window(start: str, end: str) -> None:
    """From the daily table: as many accounts as the account table says were active at some
    time in the window (active when it began, or opened in it)."""
    sc = make_scenario(end="2015-03-01", moderation__twitter__intensity=0.01)
    model = PropagandaModel(sc, 4)
    daily = model.run()
    first, last = (
        sc.day_index(dt.date.fromisoformat(start)),
        sc.day_index(dt.date.fromisoformat(end)),
    )
    t = model.accounts
    created, ended = t.column("created"), t.column("ended")
    still = (ended == t.ACTIVE_END) | (ended >= first)
    used = ((created < first) & still) | ((created >= first) & (created <= last))
    got = distinct_accounts(
        daily, "twitter", dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    )
    assert got == pytest.approx(used.sum() * sc.scale)
    # more than were active on any one day of the window (accounts come and go)
    window = daily.loc[start:end, "twitter.active_accounts"]
    assert got >= window.max()


def test_distinct_accounts_needs_the_day_before_the_window() -> None:
    daily = PropagandaModel(make_scenario(end="2015-01-20"), 1).run()
    assert np.isnan(distinct_accounts(daily, "twitter", dt.date(2015, 1, 1), dt.date(2015, 1, 5)))
