"""Named random streams (``sim.core.rng``): reproducible, independent, and strict about names."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.rng import STREAMS
from sim.core.rng import Streams as _Streams
from sim.scenario import Scenario

# every stream the model uses: its own and those its components declare
ALL = tuple(dict.fromkeys((*STREAMS, *(s for c in Scenario.components for s in c.streams))))


def Streams(seed: int) -> _Streams:  # noqa: N802 - stands in for the class in these tests
    return _Streams(seed, ALL)


def test_same_name_gives_the_same_generator_object() -> None:
    s = Streams(7)
    assert s["posting"] is s["posting"]
    assert s["posting"] is not s["exposure"]


@pytest.mark.parametrize("name", ALL)
def test_streams_are_reproducible_from_the_seed(name: str) -> None:
    a, b = Streams(11), Streams(11)
    np.testing.assert_array_equal(a[name].random(100), b[name].random(100))


@pytest.mark.parametrize("name", ALL)
def test_different_seeds_give_different_streams(name: str) -> None:
    assert not np.array_equal(Streams(11)[name].random(20), Streams(12)[name].random(20))


def test_names_give_different_draws() -> None:
    s = Streams(3)
    draws = {name: s[name].random(50) for name in ALL}
    for i, a in enumerate(ALL):
        for b in ALL[i + 1 :]:
            assert not np.array_equal(draws[a], draws[b]), (a, b)


def test_consuming_one_stream_leaves_the_others_untouched() -> None:
    """Common random numbers: how much one process draws does not shift another's draws."""
    fresh = Streams(5)
    busy = Streams(5)
    busy["moderation"].random(123_457)  # e.g. a policy that suspends many more accounts
    busy["posting"].poisson(3.0, 999)
    for name in ALL:
        if name in ("moderation", "posting"):
            continue
        np.testing.assert_array_equal(busy[name].random(10), fresh[name].random(10))


def test_order_of_first_use_does_not_matter() -> None:
    a, b = Streams(9), Streams(9)
    xa = [a[n].random(5) for n in ALL]
    xb = {n: b[n].random(5) for n in reversed(ALL)}
    for n, x in zip(ALL, xa, strict=True):
        np.testing.assert_array_equal(x, xb[n])


def test_streams_look_uncorrelated() -> None:
    s = Streams(2024)
    x = np.array([s[n].random(20_000) for n in ALL])
    corr = np.corrcoef(x)
    off = corr[~np.eye(len(ALL), dtype=bool)]
    # sd of a sample correlation of 20,000 independent pairs is about 0.007
    assert np.abs(off).max() < 0.035


def test_stream_keys_do_not_collide() -> None:
    seqs = [Streams(0).seed_sequence(n) for n in ALL]
    assert len({q.spawn_key for q in seqs}) == len(ALL)


def test_unknown_stream_raises_key_error_listing_the_names() -> None:
    s = Streams(1)
    with pytest.raises(KeyError) as err:
        s["posts"]
    message = str(err.value.args[0])
    assert "posts" in message
    for name in ALL:
        assert name in message
    with pytest.raises(KeyError):
        s.seed_sequence("")
