"""A growable table of numpy columns, indexed by row id (accounts, channels).

Rows are only appended (ids stay valid for the whole run); capacity doubles when full, so
appends are amortised O(1). Subclasses declare their columns in ``FIELDS``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


class Table:
    FIELDS: ClassVar[dict[str, Any]] = {}
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        for name, dtype in self.FIELDS.items():
            setattr(self, name, np.zeros(capacity, dtype=dtype))

    def add(self, **columns: Any) -> np.ndarray:
        """Append rows given column values (arrays of equal length or scalars); returns ids."""
        # (len of arrays and lists, not np.size/np.ndim: this runs for every batch of new rows)
        m = -1
        for v in columns.values():
            if isinstance(v, list | tuple) or (isinstance(v, np.ndarray) and v.ndim > 0):
                if m >= 0 and len(v) != m:
                    lengths = sorted({len(x) for x in columns.values() if np.ndim(x) > 0})
                    raise ValueError(f"columns must have one common length, got {lengths}")
                m = len(v)
        if m < 0:
            raise ValueError("columns must have one common length, got only scalars")
        lo, need = self.n, self.n + m
        self._make_room(need)
        for name, value in self.DEFAULTS.items():
            if name not in columns:
                getattr(self, name)[lo:need] = value
        for name, value in columns.items():
            getattr(self, name)[lo:need] = value
        self.n = need
        return np.arange(lo, need)

    def _make_room(self, need: int) -> None:
        """Grow every column to hold at least ``need`` rows (doubling)."""
        cap = getattr(self, next(iter(self.FIELDS))).size
        if need > cap:
            size = max(need, 2 * cap)
            for name in self.FIELDS:
                arr = getattr(self, name)
                grown = np.zeros(size, dtype=arr.dtype)
                grown[: self.n] = arr[: self.n]
                setattr(self, name, grown)

    def column(self, name: str) -> np.ndarray:
        """The filled part of a column."""
        return getattr(self, name)[: self.n]

    def active_ids(self, platform: int | None = None) -> np.ndarray:
        """Ids of active rows (optionally on one platform); for tables with those columns."""
        mask = self.column("active")
        if platform is not None:
            mask = mask & (self.column("platform") == platform)
        return np.flatnonzero(mask)
