"""Follow edges from users to pro accounts, stored as one pool of per-account slabs.

Each account owns a contiguous slab ``pool[start : start + cap]`` of which the first ``length``
entries are its followers' user ids. New follows are appended in place (a slab that fills up is
moved to the end of the pool with twice the room, so appends are amortised O(1)); a suspension
frees the slab at once. Dead space is reclaimed by compaction when it exceeds half the pool.
Nothing is rebuilt per day and there is no per-day copy of the edges: the day's work is
proportional to the follows, suspensions and views that happen, not to the number of edges.

Why hand-written: scipy.sparse matrices cannot append rows or drop columns in place, and a CSR
rebuild per day would cost O(edges) daily.
"""

from __future__ import annotations

import numpy as np

USER_DTYPE = np.int32


def _ranks_within_groups(sorted_keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal keys of a sorted array."""
    n = sorted_keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    run_lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, run_lengths)


def _segment_indices(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + l)`` for every (s, l) pair, vectorised."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
    return np.arange(total, dtype=np.int64) + offsets


class FollowerGraph:
    """Followers of every pro account (open platforms)."""

    def __init__(self, expected_edges: int = 1024, expected_accounts: int = 64) -> None:
        self.pool = np.zeros(max(expected_edges, 1024), dtype=USER_DTYPE)
        self.end = 0  # first free position at the end of the pool
        self.dead = 0  # pool entries no longer owned by any live slab
        self.start = np.zeros(max(expected_accounts, 64), dtype=np.int64)
        self.length = np.zeros_like(self.start)
        self.cap = np.zeros_like(self.start)
        self.n_accounts = 0

    # --- accounts -----------------------------------------------------------------------
    def add_accounts(self, n: int) -> np.ndarray:
        """Register ``n`` new accounts with no followers; returns their ids."""
        ids = np.arange(self.n_accounts, self.n_accounts + n)
        need = self.n_accounts + n
        if need > self.start.size:
            size = max(need, 2 * self.start.size)
            for name in ("start", "length", "cap"):
                arr = getattr(self, name)
                grown = np.zeros(size, dtype=arr.dtype)
                grown[: arr.size] = arr
                setattr(self, name, grown)
        self.n_accounts = need
        return ids

    def followers(self, account: int) -> np.ndarray:
        s = self.start[account]
        return self.pool[s : s + self.length[account]]

    def degree(self, accounts: np.ndarray) -> np.ndarray:
        return self.length[accounts]

    @property
    def n_edges(self) -> int:
        return int(self.length[: self.n_accounts].sum())

    def remove_accounts(self, accounts: np.ndarray) -> np.ndarray:
        """Drop all follow edges of ``accounts``; returns the users who lost a follow."""
        accounts = np.asarray(accounts, dtype=np.int64)
        if accounts.size == 0:
            return np.zeros(0, dtype=USER_DTYPE)
        idx = _segment_indices(self.start[accounts], self.length[accounts])
        users = self.pool[idx].copy()
        self.dead += int(self.cap[accounts].sum())
        self.length[accounts] = 0
        self.cap[accounts] = 0
        return users

    # --- edges --------------------------------------------------------------------------
    def _reserve(self, extra: int) -> None:
        if self.end + extra <= self.pool.size:
            return
        if self.dead > self.end // 2:
            self._compact()
            if self.end + extra <= self.pool.size:
                return
        size = max(self.end + extra, 2 * self.pool.size)
        grown = np.zeros(size, dtype=USER_DTYPE)
        grown[: self.end] = self.pool[: self.end]
        self.pool = grown

    def _compact(self) -> None:
        """Rewrite live slabs contiguously (each keeps its capacity)."""
        n = self.n_accounts
        live = np.flatnonzero(self.cap[:n] > 0)
        new_start = np.r_[0, np.cumsum(self.cap[live])[:-1]].astype(np.int64)
        src = _segment_indices(self.start[live], self.length[live])
        dst = _segment_indices(new_start, self.length[live])
        pool = np.zeros_like(self.pool)
        pool[dst] = self.pool[src]
        self.pool = pool
        self.start[live] = new_start
        self.end = int(self.cap[live].sum())
        self.dead = 0

    def add_edges(self, accounts: np.ndarray, users: np.ndarray) -> None:
        """Append follows (account, user). Duplicates are the caller's concern."""
        if accounts.size == 0:
            return
        order = np.argsort(accounts, kind="stable")
        acc = accounts[order].astype(np.int64)
        usr = users[order]
        uniq, first, counts = np.unique(acc, return_index=True, return_counts=True)
        need = self.length[uniq] + counts
        grow = need > self.cap[uniq]
        if grow.any():
            g = uniq[grow]
            new_cap = np.maximum(np.maximum(need[grow], 2 * self.cap[g]), 8)
            self._reserve(int(new_cap.sum()))
            new_start = self.end + np.r_[0, np.cumsum(new_cap)[:-1]]
            src = _segment_indices(self.start[g], self.length[g])
            dst = _segment_indices(new_start, self.length[g])
            self.pool[dst] = self.pool[src]
            self.dead += int(self.cap[g].sum())
            self.start[g] = new_start
            self.cap[g] = new_cap
            self.end += int(new_cap.sum())
        pos = self.start[acc] + self.length[acc] + _ranks_within_groups(acc)
        self.pool[pos] = usr
        self.length[uniq] += counts

    def sample_followers(
        self, accounts: np.ndarray, counts: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """``counts[i]`` uniformly random followers (with replacement) of ``accounts[i]``.

        Returns (position ``i`` in ``accounts`` of each draw, user of each draw). Accounts without
        followers give none.
        """
        deg = self.length[accounts]
        which = np.repeat(np.arange(accounts.size), np.where(deg > 0, counts, 0))
        if which.size == 0:
            return which, np.zeros(0, dtype=np.int64)
        acc = accounts[which]
        offset = (rng.random(which.size) * deg[which]).astype(np.int64)
        return which, self.pool[self.start[acc] + offset].astype(np.int64)
