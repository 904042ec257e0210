"""How much memory a run needs, checked before anything is allocated.

``estimate_bytes`` is a deliberately generous estimate of one run's peak memory from the
figures that size the model: simulated users (``population.users / scale``; about 120 bytes
each with the temporaries of drawing them), initial accounts (``accounts.initial / scale``;
their table and operators) and their follows (accounts times their mean followers, capped at
the users, kept in a pool that doubles as it grows and grows during the run: 16 bytes per
initial follow), on top of the interpreter with numpy, pandas and the compiled kernels.

``check_fits`` (called by the scenario's validation) refuses a run whose estimate exceeds the
memory this machine has available now (``MemAvailable`` of ``/proc/meminfo``; no check where
that is unknown), naming the estimate and the finest scale that fits.
"""

from __future__ import annotations

import math

BASE_BYTES = 400 * 2**20  # the interpreter, numpy, pandas, numba and the kernels
BYTES_PER_USER = 120
BYTES_PER_FOLLOW = 16
BYTES_PER_ACCOUNT = 2000


def estimate_bytes(
    users: float, accounts: float, followers_median: float, followers_sigma: float, scale: float
) -> float:
    """Peak bytes of one run (see the module's text)."""
    n_users = max(1.0, users / scale)
    n_accounts = accounts / scale
    mean_followers = followers_median * math.exp(followers_sigma**2 / 2)
    follows = n_accounts * min(mean_followers, n_users)
    return (
        BASE_BYTES
        + BYTES_PER_USER * n_users
        + BYTES_PER_FOLLOW * follows
        + BYTES_PER_ACCOUNT * n_accounts
    )


def available_bytes() -> float | None:
    """Memory available to a new run on this machine now, or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def finest_scale(
    users: float, accounts: float, followers_median: float, followers_sigma: float, room: float
) -> float | None:
    """The smallest scale (1 = full) whose estimate fits in ``room`` bytes, or None."""

    def fits(s: float) -> bool:
        return estimate_bytes(users, accounts, followers_median, followers_sigma, s) <= room

    lo, hi = 1.0, 1e6
    if fits(lo):
        return lo
    if not fits(hi):
        return None
    for _ in range(60):  # bisection on a log scale
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return math.ceil(hi)


def gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"
