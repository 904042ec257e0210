"""``FollowerGraph`` against a plain dict-of-multisets oracle under random operation sequences.

The oracle keeps, per account, the multiset of its followers: ``add_edges`` drops pairs repeated
within one call, but (as documented) does not look for pairs added by earlier calls, so those
count again; ``remove_accounts`` empties an account and returns its followers.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sim.core.state.graph import FollowerGraph

N_USERS = 40


def followers_of(g: FollowerGraph, account: int) -> Counter:
    return Counter(g.followers(account).tolist())


def assert_matches(g: FollowerGraph, oracle: dict[int, Counter]) -> None:
    assert g.n_accounts == len(oracle)
    for a, want in oracle.items():
        assert followers_of(g, a) == want, a
    assert g.n_edges == sum(c.total() for c in oracle.values())
    ids = np.arange(len(oracle))
    np.testing.assert_array_equal(g.degree(ids), [oracle[a].total() for a in ids.tolist()])


def oracle_add(oracle: dict[int, Counter], accounts, users) -> Counter:
    """Apply one add_edges call to the oracle; returns the users of the edges added."""
    added: Counter = Counter()
    for a, u in set(zip(accounts, users, strict=True)):
        oracle[a][u] += 1
        added[u] += 1
    return added


class GraphMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.g = FollowerGraph(expected_edges=1, expected_accounts=1)
        self.oracle: dict[int, Counter] = {}
        self.rng = np.random.default_rng(0)

    @rule(n=st.integers(0, 5))
    def add_accounts(self, n: int) -> None:
        first = len(self.oracle)
        ids = self.g.add_accounts(n)
        assert ids.tolist() == list(range(first, first + n))
        for a in ids.tolist():
            self.oracle[a] = Counter()

    @precondition(lambda self: self.oracle)
    @rule(data=st.data())
    def add_edges(self, data: st.DataObject) -> None:
        n_acc = len(self.oracle)
        pairs = data.draw(
            st.lists(st.tuples(st.integers(0, n_acc - 1), st.integers(0, N_USERS - 1)), max_size=60)
        )
        acc = np.array([p[0] for p in pairs], dtype=np.int64)
        usr = np.array([p[1] for p in pairs], dtype=np.int64)
        added = self.g.add_edges(acc, usr, N_USERS)
        want = oracle_add(self.oracle, acc.tolist(), usr.tolist())
        assert Counter(np.asarray(added).tolist()) == want

    @precondition(lambda self: self.oracle)
    @rule(data=st.data())
    def remove_accounts(self, data: st.DataObject) -> None:
        accounts = data.draw(
            st.lists(st.integers(0, len(self.oracle) - 1), unique=True, max_size=4)
        )
        lost, bounds = self.g.remove_accounts(np.array(accounts, dtype=np.int64))
        want: Counter = Counter()
        for i, a in enumerate(accounts):
            want += self.oracle[a]
            assert Counter(lost[bounds[i] : bounds[i + 1]].tolist()) == self.oracle[a]
            self.oracle[a] = Counter()
        assert Counter(np.asarray(lost).tolist()) == want

    @invariant()
    def matches_oracle(self) -> None:
        assert_matches(self.g, self.oracle)


GraphMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestGraphMachine = GraphMachine.TestCase


def test_random_sequences_with_growth_and_compaction() -> None:
    """Thousands of edges, many removals: slabs move, the pool grows and is compacted."""
    rng = np.random.default_rng(42)
    n_users = 5_000
    g = FollowerGraph()
    compactions = 0
    original = getattr(g, "_compact", None)
    if original is not None:

        def counting() -> None:
            nonlocal compactions
            compactions += 1
            original()

        g._compact = counting  # type: ignore[method-assign]
    oracle: dict[int, Counter] = {}
    for step in range(150):
        new = g.add_accounts(int(rng.integers(0, 20)))
        for a in new.tolist():
            oracle[a] = Counter()
        if oracle:
            m = int(rng.integers(0, 3_000))
            # skewed towards recent accounts, with deliberate repeats of pairs
            acc = (len(oracle) - 1 - rng.geometric(0.05, m) % len(oracle)).astype(np.int64)
            usr = rng.integers(0, n_users, m)
            dup = np.flatnonzero(rng.random(m) < 0.1)
            dup = dup[dup > 0]
            acc[dup], usr[dup] = acc[dup - 1], usr[dup - 1]
            added = g.add_edges(acc, usr, n_users)
            assert Counter(np.asarray(added).tolist()) == oracle_add(
                oracle, acc.tolist(), usr.tolist()
            )
        if oracle and step % 3 == 0:
            k = int(rng.integers(0, max(1, len(oracle) // 4)))
            gone = rng.choice(len(oracle), size=min(k, len(oracle)), replace=False)
            lost, _ = g.remove_accounts(gone.astype(np.int64))
            want: Counter = Counter()
            for a in gone.tolist():
                want += oracle[a]
                oracle[a] = Counter()
            assert Counter(np.asarray(lost).tolist()) == want
        if step % 10 == 0:
            assert_matches(g, oracle)
    assert_matches(g, oracle)
    if original is not None:
        assert compactions > 0, "the sequence was meant to trigger a compaction"


def test_explicit_compaction_preserves_followers() -> None:
    rng = np.random.default_rng(1)
    g = FollowerGraph()
    oracle: dict[int, Counter] = {}
    for a in g.add_accounts(50).tolist():
        oracle[a] = Counter()
    for _ in range(20):
        acc = rng.integers(0, 50, 500)
        usr = rng.integers(0, 1_000, 500)
        oracle_add(oracle, acc.tolist(), usr.tolist())
        g.add_edges(acc, usr, 1_000)
    gone = np.arange(0, 50, 3)
    g.remove_accounts(gone)
    for a in gone.tolist():
        oracle[a] = Counter()
    compact = getattr(g, "_compact", None)
    if compact is not None:
        compact()
    assert_matches(g, oracle)
    # and appending after a compaction still works
    oracle_add(oracle, [1, 1, 2], [7, 7, 8])
    g.add_edges(np.array([1, 1, 2]), np.array([7, 7, 8]), 1_000)
    assert_matches(g, oracle)


def test_duplicates_within_one_call_are_dropped() -> None:
    g = FollowerGraph()
    g.add_accounts(3)
    added = g.add_edges(np.array([0, 0, 0, 1, 2, 2]), np.array([5, 5, 5, 5, 6, 7]), 10)
    assert sorted(np.asarray(added).tolist()) == [5, 5, 6, 7]
    assert followers_of(g, 0) == Counter({5: 1})
    assert g.n_edges == 4
    # a pair repeated in a later call is not looked for: it counts again (documented)
    g.add_edges(np.array([0]), np.array([5]), 10)
    assert followers_of(g, 0) == Counter({5: 2})


def test_empty_calls() -> None:
    g = FollowerGraph()
    assert g.add_accounts(0).size == 0
    g.add_accounts(2)
    assert np.asarray(g.add_edges(np.zeros(0, np.int64), np.zeros(0, np.int64), 10)).size == 0
    lost, bounds = g.remove_accounts(np.zeros(0, np.int64))
    assert lost.size == 0 and bounds.tolist() == [0]
    assert g.n_edges == 0


def test_compaction_in_place_with_slabs_out_of_account_order() -> None:
    """A slab that grew was moved behind later accounts' slabs; compacting in place must copy
    the slabs in pool order, or the first copies overwrite slabs not yet copied."""
    g = FollowerGraph()
    g.add_accounts(3)
    oracle: dict[int, Counter] = {a: Counter() for a in range(3)}
    for acc, usr in (([0, 1, 2], [10, 11, 12]), ([0] * 40, list(range(100, 140)))):
        oracle_add(oracle, acc, usr)
        g.add_edges(np.array(acc), np.array(usr), 1_000)
    assert g.start[0] > g.start[1], "account 0's slab was meant to move behind account 1's"
    g.remove_accounts(np.array([2]))
    oracle[2] = Counter()
    g._compact()
    assert_matches(g, oracle)
    assert g.start[1] < g.start[0]  # pool order kept


def test_pool_grows_in_place_or_by_copy_keeping_every_follower() -> None:
    g = FollowerGraph()
    g.add_accounts(3)
    n = 10_000
    g.add_keys(np.arange(2_000, dtype=np.int64), n)  # account 0: users 0..1999
    pool_id = id(g.pool)
    g.add_keys(np.arange(n, n + 3_000, dtype=np.int64), n)  # account 1: grows the pool
    assert id(g.pool) == pool_id  # resized in place (nothing else held the pool)
    view = g.followers(0)  # a view of the pool: growing now must copy, not move the memory
    g.add_keys(np.arange(2 * n, 2 * n + 9_000, dtype=np.int64), n)
    assert id(g.pool) != pool_id
    np.testing.assert_array_equal(view, np.arange(2_000))
    np.testing.assert_array_equal(g.followers(0), np.arange(2_000))
    np.testing.assert_array_equal(g.followers(1), np.arange(3_000))
    np.testing.assert_array_equal(g.followers(2), np.arange(9_000))
