"""How much of the views' cost is the scatter of dose increments (issue 14, session 13).

Counts N views (uniform random users of 5 million, as views outside the feed land) into the
16-bit pro doses and the bit set of dosed users, three ways, and prints the median processor
time of 15 repeats: ``count_into`` in drawing order (what the kernels do), the same views first
partitioned by blocks of 2**shift users and then counted (``count_partitioned``: a counting
sort's two passes; bit-identical, since the counts do not depend on the order), and checks the
results are identical. Run: ``.venv/bin/python benchmarks/scatter_doses.py``.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from numba import njit

from sim.core.kernels.doses import DOSE_MAX, count_into, new_marks


@njit(cache=False)
def count_partitioned(users, dose, marks, shift):  # pragma: no cover - compiled
    """``count_into`` after a counting sort of ``users`` by ``users >> shift``."""
    n = len(users)
    nb = (len(dose) >> shift) + 1
    counts = np.zeros(nb + 1, np.int64)
    for i in range(n):
        counts[(users[i] >> shift) + 1] += 1
    for b in range(nb):
        counts[b + 1] += counts[b]
    out = np.empty(n, users.dtype)
    pos = counts[:nb].copy()
    for i in range(n):
        u = users[i]
        b = u >> shift
        out[pos[b]] = u
        pos[b] += 1
    for i in range(n):
        u = out[i]
        marks[u >> 6] |= np.uint64(1) << np.uint64(u & 63)
        d = dose[u]
        if d < DOSE_MAX:
            dose[u] = d + 1


def timed(fn, users: np.ndarray, dose: np.ndarray, marks: np.ndarray) -> float:
    """Median processor time (ms) of 15 counts of ``users`` from cleared doses and marks."""
    times = []
    for _ in range(15):
        dose[:] = 0
        marks[:] = 0
        t = time.thread_time()
        fn(users, dose, marks)
        times.append(time.thread_time() - t)
    return float(np.median(times)) * 1e3


def main() -> None:
    n_users = 5_000_000
    rng = np.random.default_rng(1)
    dose = np.zeros(n_users, np.int16)
    marks = new_marks(n_users)
    count_partitioned(np.arange(10, dtype=np.int32), dose, marks, 16)  # (compiled before timing)
    count_into(np.arange(10, dtype=np.int32), dose, marks)
    for n_views in (150_000, 500_000, 2_000_000):
        users = rng.integers(0, n_users, n_views).astype(np.int32)
        cases = {
            "drawing order": (count_into, users),
            "partitioned, 2**14 users a block": (
                lambda u, d, m: count_partitioned(u, d, m, 14),
                users,
            ),
            "partitioned, 2**16": (lambda u, d, m: count_partitioned(u, d, m, 16), users),
            # (not a way to count: views drawn in block order, as only draws that change could give)
            "drawn in blocks of 2**16 (argsort not timed)": (
                count_into,
                users[np.argsort(users >> 16, kind="stable")],
            ),
            "drawn in user order (sort not timed)": (count_into, np.sort(users)),
        }
        reference = None
        for name, (fn, arr) in cases.items():
            ms = timed(fn, arr, dose, marks)
            result = (dose.copy(), marks.copy())
            if reference is None:
                reference = result
            same = all(np.array_equal(a, b) for a, b in zip(result, reference, strict=True))
            print(f"{n_views:>9,} views  {name:<46} {ms:7.2f} ms  identical: {same}")


if __name__ == "__main__":
    main()
