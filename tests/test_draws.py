"""Draws inside compiled code (``sim.core.draws``): the same stream as numpy, exact
distributions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.core import draws
from sim.core.rng import STREAMS
from sim.core.rng import Streams as _Streams
from sim.scenario import Scenario

# every stream the model uses: its own and those its components declare
ALL = tuple(dict.fromkeys((*STREAMS, *(s for c in Scenario.components for s in c.streams))))


def Streams(seed: int) -> _Streams:  # noqa: N802 - stands in for the class in these tests
    return _Streams(seed, ALL)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**63), n=st.integers(0, 500), m=st.integers(0, 50))
def test_uniforms_are_the_generators_own_and_advance_it(seed: int, n: int, m: int) -> None:
    gen, twin = np.random.default_rng(seed), np.random.default_rng(seed)
    h = draws.handle(gen)
    np.testing.assert_array_equal(draws.uniforms(h, n), twin.random(n))
    # numpy then continues where the compiled draws left off, and the other way round
    np.testing.assert_array_equal(gen.random(m), twin.random(m))
    np.testing.assert_array_equal(draws.uniforms(h, 3), twin.random(3))


@pytest.mark.parametrize("bits", [np.random.PCG64, np.random.MT19937, np.random.Philox])
def test_pcg64_is_stepped_inline_other_generators_are_called(bits: type) -> None:
    gen, twin = np.random.Generator(bits(17)), np.random.Generator(bits(17))
    h = draws.handle(gen)
    assert (h[0] == 0) == (bits is np.random.PCG64)  # 0: the inline PCG64 step
    np.testing.assert_array_equal(draws.uniforms(h, 1000), twin.random(1000))
    np.testing.assert_array_equal(gen.random(5), twin.random(5))


def test_stream_handles_draw_from_the_named_stream() -> None:
    streams, twin = Streams(9), Streams(9)
    h = streams.handle("exposure")
    assert streams.handle("exposure") == h
    np.testing.assert_array_equal(draws.uniforms(h, 5), twin["exposure"].random(5))
    np.testing.assert_array_equal(streams["exposure"].random(2), twin["exposure"].random(2))
    # other streams are untouched
    np.testing.assert_array_equal(streams["posting"].random(4), twin["posting"].random(4))


def test_a_copied_model_stream_finds_its_own_addresses() -> None:
    import pickle

    streams = Streams(3)
    h = streams.handle("posting")
    copy = pickle.loads(pickle.dumps(streams))
    assert copy._handles == {}
    assert copy.handle("posting") != h  # another generator object, another state address


@pytest.mark.parametrize("lam", [0.05, 0.7, 3.0, 9.99, 10.0, 31.4, 850.0])
def test_poisson_counts_fit_the_poisson_distribution(lam: float) -> None:
    gen = np.random.default_rng(int(lam * 100))
    x = draws.poissons(draws.handle(gen), np.full(60_000, lam))
    assert x.min() >= 0
    # chi-square over bins with at least 50 expected counts each
    dist = stats.poisson(lam)
    lo, hi = int(dist.ppf(1e-4)), int(dist.isf(1e-4))
    edges = np.arange(lo, hi + 2)
    expected = np.diff(dist.cdf(edges - 1)) * x.size
    observed = np.histogram(x, bins=np.r_[edges[:-1], np.inf])[0]
    expected[-1] += x.size - expected.sum()  # the upper tail
    keep = expected >= 50
    obs = np.r_[observed[keep], observed[~keep].sum()]
    exp = np.r_[expected[keep], expected[~keep].sum()]
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    exp *= obs.sum() / exp.sum()
    assert stats.chisquare(obs, exp).pvalue > 1e-3
    assert abs(x.mean() - lam) < 5 * np.sqrt(lam / x.size)


def test_poisson_of_rate_zero_draws_nothing() -> None:
    gen, twin = np.random.default_rng(1), np.random.default_rng(1)
    assert draws.poissons(draws.handle(gen), np.array([0.0, -1.0, np.nan])).tolist() == [0, 0, 0]
    assert gen.random() == twin.random()


@pytest.mark.parametrize("shape", [0.3, 1.0, 2.5, 40.0])
def test_gamma_fits_the_gamma_distribution(shape: float) -> None:
    gen = np.random.default_rng(int(shape * 10))
    x = draws.gammas(draws.handle(gen), shape, 40_000)
    assert stats.kstest(x, stats.gamma(shape).cdf).pvalue > 1e-3


def test_same_seed_same_draws() -> None:
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    lam = np.linspace(0.0, 40.0, 300)
    np.testing.assert_array_equal(
        draws.poissons(draws.handle(a), lam), draws.poissons(draws.handle(b), lam)
    )
    np.testing.assert_array_equal(
        draws.gammas(draws.handle(a), 0.7, 50), draws.gammas(draws.handle(b), 0.7, 50)
    )


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**63), n=st.integers(0, 3000), m=st.integers(0, 20))
def test_numpy_exponentials_are_the_generators_own_interleaved_with_uniforms(
    seed: int, n: int, m: int
) -> None:
    """``numpy_exponential`` is numpy's ziggurat (its rare paths included: about 1.2% of
    draws take a second number), number for number, and leaves the stream where numpy does,
    also between uniforms."""
    assert draws.numpy_exponential_ok()
    gen, twin = np.random.default_rng(seed), np.random.default_rng(seed)
    h = draws.handle(gen)
    np.testing.assert_array_equal(draws.numpy_exponentials(h, n), twin.standard_exponential(n))
    np.testing.assert_array_equal(draws.uniforms(h, m), twin.random(m))
    np.testing.assert_array_equal(draws.numpy_exponentials(h, 7), twin.exponential(1.0, 7))
    assert gen.bit_generator.state == twin.bit_generator.state
