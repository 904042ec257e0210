"""Operators' changing state as arrays: ``OperatorTable``, one row per operator (the row of
``Operator.index``; the operators themselves are Mesa agents of the operators component,
``sim.components.operators``). The day's decisions on suspended accounts, thousands a day at
full scale, read and write these columns in one compiled call instead of one Python object
per account.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim.core.state.table import Table


class OperatorTable(Table):
    """Every operator ever created, indexed by operator index (``accounts.operator``)."""

    suspensions: np.ndarray
    evasion: np.ndarray
    open_accounts: np.ndarray
    channels: np.ndarray
    migrated: np.ndarray
    FIELDS: ClassVar[dict[str, Any]] = {
        "suspensions": np.int64,  # accounts of the operator suspended so far
        "evasion": np.float64,  # given to its re-created accounts (0 .. 1)
        "open_accounts": np.int64,
        "channels": np.int64,  # open channels on encrypted platforms
        "migrated": bool,  # has opened a channel after a suspension
    }
