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

from sim.core import kernels

USER_DTYPE = np.int32


def scatter_add(target: np.ndarray, index: np.ndarray, value: int) -> None:
    """``target[index] += value``, with repeated indices counted each time (O(len(index)))."""
    kernels.scatter_add(target, index, value)


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

    def remove_accounts(self, accounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Drop all follow edges of ``accounts``; returns the users who lost a follow, account
        ``accounts[i]``'s in ``users[bounds[i]:bounds[i + 1]]``, and ``bounds``."""
        accounts = np.asarray(accounts, dtype=np.int64)
        users, bounds, freed = kernels.empty_slabs(
            self.pool, self.start, self.length, self.cap, accounts
        )
        self.dead += freed
        return users, bounds

    # --- edges --------------------------------------------------------------------------
    def _reserve(self, extra: int) -> None:
        if self.end + extra <= self.pool.size:
            return
        if self.dead > self.end // 2:
            self._compact()
            if self.end + extra <= self.pool.size:
                return
        size = max(self.end + extra, 2 * self.pool.size)
        try:
            # in place where the allocator can (realloc, for a large pool a remapping of its
            # pages): no copy of the pool, and no second pool alive while copying
            self.pool.resize(size, refcheck=True)
        except ValueError:  # another array shares the pool's memory: copy instead
            grown = np.empty(size, dtype=USER_DTYPE)
            grown[: self.end] = self.pool[: self.end]
            self.pool = grown

    def _compact(self) -> None:
        """Rewrite live slabs contiguously (each keeps its capacity), in place.

        The slabs keep their order in the pool, so each moves toward the front or stays, and
        copying them forward, front slab first, never overwrites one not yet copied. (A second
        pool would double the pool's memory while copying, about 0.6 GB at full scale, and
        its pages would all be faulted in afresh.)
        """
        n = self.n_accounts
        live = np.flatnonzero(self.cap[:n] > 0)
        live = live[np.argsort(self.start[live], kind="stable")]
        new_start = np.r_[0, np.cumsum(self.cap[live])[:-1]].astype(np.int64)
        # (only the first ``length`` entries of a slab are read, so only they are copied)
        kernels.copy_slabs(self.pool, self.pool, self.start[live], new_start, self.length[live])
        self.start[live] = new_start
        self.end = int(self.cap[live].sum())
        self.dead = 0

    def add_edges(self, accounts: np.ndarray, users: np.ndarray, n_users: int) -> np.ndarray:
        """Append follows (account, user); pairs repeated within the call are added once.

        Returns the users of the follows actually added (for the callers' follow budgets).

        A pair that already exists from an earlier day is not looked for (the chance is the
        user's share of the account's audience, and looking would cost a search per follow).
        """
        return self.add_keys(np.asarray(accounts, dtype=np.int64) * n_users + users, n_users)

    def add_keys(self, keys: np.ndarray, n_users: int) -> np.ndarray:
        """``add_edges`` for follows given as keys ``account * n_users + user`` (sorted here,
        in place)."""
        if keys.size == 0:
            return np.zeros(0, dtype=USER_DTYPE)
        if keys.size < 1024:
            keys.sort()
        else:  # (a radix sort, several times numpy's for these keys: ``kernels.sort_keys``)
            kernels.sort_keys(keys)
        while True:
            users, extra, self.end, freed = kernels.add_pairs(
                keys, n_users, self.pool, self.start, self.length, self.cap, self.end
            )
            if extra == 0:
                self.dead += freed
                return users
            self._reserve(extra)
