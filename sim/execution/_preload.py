"""Imported by the fork server of worker pools (``sim.execution.runner.pool_context``), never by
hand.

It imports the model and loads its compiled kernels with a one-day run, once, in the fork
server; every worker process forked from the server then starts with them, instead of each
importing the model and loading the kernels again (about a second per worker). Any failure
here is ignored: the workers then do that work themselves, as without a preload.
"""

from __future__ import annotations

import datetime as _dt

try:
    from sim.core.model import simulate as _simulate
    from sim.scenario import Scenario as _Scenario

    _day = _dt.date(2014, 1, 1)
    _simulate(_Scenario(start=_day, end=_day, warmup_days=0, scale=1000), 0)
except Exception:  # noqa: BLE001 - a warm-up only; the workers will report real problems
    pass
