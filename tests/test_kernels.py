"""Compiled loops of ``sim.kernels`` against plain numpy on random inputs (hypothesis).

Most kernels are tested through the modules that call them (population, network, model); these
are the ones whose results only reach the metrics.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import kernels


@settings(max_examples=60, deadline=None)
@given(
    n_accounts=st.integers(1, 60),
    n_platforms=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    day=st.integers(-60, 1_000),
)
def test_account_and_post_sums_equal_numpy(
    n_accounts: int, n_platforms: int, seed: int, day: int
) -> None:
    rng = np.random.default_rng(seed)
    platform = rng.integers(0, n_platforms, n_accounts).astype(np.int8)
    length = rng.integers(0, 3_000, n_accounts)
    created = rng.integers(-400, day + 1, n_accounts).astype(np.int32)
    evasion = rng.random(n_accounts).astype(np.float32)
    active = rng.random(n_accounts) < 0.7
    ids = np.flatnonzero(active)
    operator = rng.integers(0, 20, n_accounts)
    got, running = kernels.account_sums(
        active, platform, length, created, evasion, operator, day, n_platforms, 20
    )
    np.testing.assert_array_equal(np.flatnonzero(running), np.unique(operator[ids]))
    posts = rng.poisson(3.0, ids.size)
    loss = float(rng.random())
    got_posts = kernels.post_sums(ids, posts, platform, evasion, loss, n_platforms)
    assert got.shape == (n_platforms, 4) and got_posts.shape == (n_platforms, 2)
    for i in range(n_platforms):
        on = ids[platform[ids] == i]
        want = [on.size, length[on].sum(), (day - created[on]).sum(), evasion[on].sum()]
        np.testing.assert_allclose(got[i], want, rtol=1e-6)
        k = posts[platform[ids] == i]
        visible = (k * (1.0 - loss * evasion[on].astype(np.float64))).sum()
        np.testing.assert_allclose(got_posts[i], [k.sum(), visible], rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    n_accounts=st.integers(1, 30),
    n_pairs=st.integers(0, 400),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_pairs_dedupes_and_finds_the_slabs_to_grow(
    n_accounts: int, n_pairs: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n_users = 50
    pair_acc, pair_usr = rng.integers(0, n_accounts, n_pairs), rng.integers(0, 9, n_pairs)
    keys = np.sort(pair_acc * n_users + pair_usr)
    length = rng.integers(0, 20, n_accounts)
    cap = length + rng.integers(0, 6, n_accounts)
    acc, usr, grow, new_cap = kernels.split_pairs(pair_acc, pair_usr, n_users, length, cap)
    distinct = np.unique(keys)
    np.testing.assert_array_equal(acc, distinct // n_users)
    np.testing.assert_array_equal(usr, distinct % n_users)
    uniq, counts = np.unique(acc, return_counts=True)
    need = length[uniq] + counts
    too_small = need > cap[uniq]
    np.testing.assert_array_equal(grow, uniq[too_small])
    want_cap = np.maximum(np.maximum(need[too_small], 2 * cap[uniq][too_small]), 8)
    np.testing.assert_array_equal(new_cap, want_cap)
