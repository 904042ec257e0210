"""Sweep designs: parsing ``--vary`` texts, and the points of a full grid or a Latin hypercube.

Data flow: ``--vary key=VALUES`` texts -> ``parse_vary`` -> ``Vary`` (a key with its values, or
with bounds for a Latin hypercube) -> ``grid_points`` / ``lhs_points`` -> a list of points, each
a plain ``{dotted key: value}`` dict, in a stable order (point id = position in the list) ->
``sim.analysis.sweep``.

Values: ``a,b,c`` is a list (each item read as YAML, so ``0.1``, ``3``, ``2015-06-30``, ``true``
keep their types); ``start:stop:count`` is ``count`` evenly spaced numbers from ``start`` to
``stop`` inclusive; ``lo:hi`` is a pair of bounds (Latin hypercube only). Pure functions only.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import yaml

Design = Literal["grid", "lhs"]
MAX_POINTS = 100_000  # a grid larger than this is a typo, not a plan


class DesignError(ValueError):
    """A ``--vary`` text or design that cannot be used; the text is the message for the user."""


@dataclass(frozen=True)
class Vary:
    """One varied key: its values (grid) or its bounds (Latin hypercube)."""

    key: str
    values: tuple[Any, ...] = ()
    bounds: tuple[float, float] | None = None


def _number(text: str, what: str, arg: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DesignError(f"--vary {arg}: {what} {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise DesignError(f"--vary {arg}: {what} must be a finite number, got {text.strip()!r}")
    return value


def _scalar(text: str, arg: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, OverflowError):
        value = text.strip()
    if value is None or isinstance(value, dict | list):
        raise DesignError(f"--vary {arg}: {text.strip()!r} is not a single value")
    if isinstance(value, float) and not math.isfinite(value):
        raise DesignError(f"--vary {arg}: values must be finite, got {text.strip()!r}")
    return value


def parse_values(text: str, arg: str = "") -> tuple[Any, ...]:
    """Grid values of ``a,b,c`` (a list) or ``start:stop:count`` (evenly spaced, inclusive)."""
    arg = arg or text
    if ":" in text and "," not in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise DesignError(
                f"--vary {arg}: a range is start:stop:count, e.g. 0.001:0.01:5 "
                "(bounds lo:hi are for --design lhs)"
            )
        start, stop = (
            _number(p, w, arg) for p, w in zip(parts[:2], ("start", "stop"), strict=True)
        )
        try:
            count = int(parts[2])
        except ValueError:
            raise DesignError(f"--vary {arg}: count {parts[2]!r} is not a whole number") from None
        if not 1 <= count <= MAX_POINTS:
            raise DesignError(f"--vary {arg}: count must be between 1 and {MAX_POINTS}")
        if count == 1 and start != stop:
            raise DesignError(f"--vary {arg}: a range of one value needs start == stop")
        return tuple(_tidy(float(v)) for v in np.linspace(start, stop, count))
    items = text.split(",")
    if any(not item.strip() for item in items):
        raise DesignError(f"--vary {arg}: empty item in the list of values")
    values = tuple(_scalar(item, arg) for item in items)
    if len(set(map(repr, values))) != len(values):
        raise DesignError(f"--vary {arg}: a value is listed twice")
    return values


def _tidy(x: float) -> float | int:
    """Round away linspace noise (0.30000000000000004 -> 0.3) and keep whole numbers whole."""
    x = float(f"{x:.12g}")
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def parse_bounds(text: str, arg: str = "") -> tuple[float, float]:
    """Bounds ``lo:hi`` of a Latin hypercube key (lo < hi)."""
    arg = arg or text
    parts = text.split(":")
    if len(parts) != 2:
        raise DesignError(f"--vary {arg}: with --design lhs give bounds lo:hi, e.g. 0.001:0.01")
    lo, hi = (
        _number(p, w, arg) for p, w in zip(parts, ("lower bound", "upper bound"), strict=True)
    )
    if not lo < hi:
        raise DesignError(f"--vary {arg}: the lower bound must be below the upper bound")
    return lo, hi


def parse_vary(text: str, design: Design = "grid") -> Vary:
    """One ``--vary key=VALUES`` text; only the syntax is checked (keys: ``sweep.check_points``)."""
    key, eq, rest = text.partition("=")
    key = key.strip()
    if not eq or not key or any(not p for p in key.split(".")) or not rest.strip():
        raise DesignError(
            f"--vary {text}: expected key=VALUES with a dotted key, e.g. "
            "moderation.twitter.intensity=0.001,0.01 or ...=0.001:0.01:5"
        )
    arg = text
    if design == "lhs":
        return Vary(key, bounds=parse_bounds(rest.strip(), arg))
    return Vary(key, values=parse_values(rest.strip(), arg))


def parse_varies(texts: list[str], design: Design) -> list[Vary]:
    """All ``--vary`` texts; a key may be varied only once."""
    if not texts:
        raise DesignError("give at least one --vary key=VALUES")
    varies = [parse_vary(t, design) for t in texts]
    keys = [v.key for v in varies]
    for k in keys:
        if keys.count(k) > 1:
            raise DesignError(f"--vary {k}: the key is varied twice; give all its values at once")
    return varies


def grid_points(varies: list[Vary]) -> list[dict[str, Any]]:
    """Every combination of the values, the last key varying fastest."""
    size = math.prod(len(v.values) for v in varies)
    if size > MAX_POINTS:
        raise DesignError(f"the grid has {size:,} points, more than {MAX_POINTS:,}")
    keys = [v.key for v in varies]
    return [
        dict(zip(keys, combo, strict=True))
        for combo in itertools.product(*(v.values for v in varies))
    ]


def lhs_unit(dims: int, samples: int, seed: int) -> np.ndarray:
    """``samples`` x ``dims`` Latin hypercube in [0, 1): one point per stratum of every axis."""
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=dims, rng=np.random.default_rng(seed)).random(samples)


def lhs_points(varies: list[Vary], samples: int, seed: int) -> list[dict[str, Any]]:
    """A Latin hypercube of ``samples`` points within the bounds (reproducible from ``seed``)."""
    if not 1 <= samples <= MAX_POINTS:
        raise DesignError(f"--samples must be between 1 and {MAX_POINTS}")
    lo = np.array([v.bounds[0] for v in varies if v.bounds])
    hi = np.array([v.bounds[1] for v in varies if v.bounds])
    if len(lo) != len(varies):
        raise DesignError("a Latin hypercube needs bounds lo:hi for every --vary")
    x = lo + lhs_unit(len(varies), samples, seed) * (hi - lo)
    keys = [v.key for v in varies]
    return [{k: float(val) for k, val in zip(keys, row, strict=True)} for row in x]


def value_text(value: Any) -> str:
    """A value as ``--set`` reads it back (YAML), e.g. ``0.1``, ``2015-06-30``, ``true``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
