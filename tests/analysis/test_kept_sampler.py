"""The sampler that keeps a generation's simulations on disk (sim/analysis/kept_sampler.py)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pyabc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis import kept_sampler
from sim.analysis.kept_sampler import KeepingSampler


class Vars:
    """What pyabc hands the sampler: here only the generation's epsilon."""

    def __init__(self, eps: float) -> None:
        self.eps = lambda t: eps


class Proposals:
    """``simulate_one``: particles numbered in order, every third accepted; stops the
    calibration (KeyboardInterrupt) after ``stop_after`` calls if given."""

    def __init__(self, stop_after: int | None = None, start: int = 0) -> None:
        self.calls, self.stop_after, self.start = 0, stop_after, start

    def __call__(self) -> pyabc.Particle:
        if self.stop_after is not None and self.calls >= self.stop_after:
            raise KeyboardInterrupt
        k = self.start + self.calls
        self.calls += 1
        return pyabc.Particle(
            m=0,
            parameter=pyabc.Parameter({"x": float(k)}),
            weight=1.0,
            sum_stat={"y": float(k)},
            distance=float(k % 3),
            accepted=k % 3 == 0,
        )


def sampler(folder: Path, bandwidth: float = 0.5, seed: int | None = None) -> KeepingSampler:
    key = {"kernel": "per-parameter", "bandwidth": bandwidth}
    return KeepingSampler(pyabc.sampler.SingleCoreSampler(), folder, key, seed)


def xs(sample) -> list[float]:
    return sorted(p.parameter["x"] for p in sample.accepted_particles)


def test_a_stopped_generation_resumes_with_its_simulations(tmp_path: Path) -> None:
    # stopped after 10 simulations (4 accepted: 0, 3, 6, 9), then resumed for 6 particles
    with pytest.raises(KeyboardInterrupt):
        sampler(tmp_path).sample_until_n_accepted(6, Proposals(10), 3, ana_vars=Vars(1.2))
    again = sampler(tmp_path)
    fresh = Proposals(start=100)  # (new proposals, told apart by their numbers)
    sample = again.sample_until_n_accepted(6, fresh, 3, ana_vars=Vars(1.2))
    assert xs(sample) == [0.0, 3.0, 6.0, 9.0, 102.0, 105.0]
    # the kept simulations count: 10 before, 6 now (100 to 105)
    assert fresh.calls == 6 and again.nr_evaluations_ == 16
    # the resumed part is kept too, until a later generation starts
    assert len(kept_sampler._records(next((tmp_path / "generation.partial").glob("*.pkl")))) == 16
    sample = sampler(tmp_path).sample_until_n_accepted(2, Proposals(), 4, ana_vars=Vars(1.1))
    assert xs(sample) == [0.0, 3.0]  # generation 4 starts afresh


@pytest.mark.parametrize("change", ["epsilon", "bandwidth", "generation"])
def test_other_proposals_are_not_taken_back(tmp_path: Path, change: str) -> None:
    with pytest.raises(KeyboardInterrupt):
        sampler(tmp_path).sample_until_n_accepted(6, Proposals(10), 3, ana_vars=Vars(1.2))
    eps = 1.3 if change == "epsilon" else 1.2
    t = 4 if change == "generation" else 3
    again = sampler(tmp_path, bandwidth=0.25 if change == "bandwidth" else 0.5)
    sample = again.sample_until_n_accepted(2, Proposals(start=100), t, ana_vars=Vars(eps))
    assert xs(sample) == [102.0, 105.0] and again.nr_evaluations_ == 6


def test_more_kept_than_needed(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        sampler(tmp_path).sample_until_n_accepted(6, Proposals(10), 0, ana_vars=Vars(2.0))
    fresh = Proposals(start=100)
    again = sampler(tmp_path)
    sample = again.sample_until_n_accepted(3, fresh, 0, ana_vars=Vars(2.0))
    assert xs(sample) == [0.0, 3.0, 6.0] and fresh.calls == 0 and again.nr_evaluations_ == 10


def test_a_seeded_resume_proposes_anew(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        sampler(tmp_path, seed=5).sample_until_n_accepted(6, Proposals(4), 1, ana_vars=Vars(1.0))
    np.random.seed(5)  # (what the calibration does at the start of each generation)
    before = np.random.get_state()[1].copy()
    sampler(tmp_path, seed=5).sample_until_n_accepted(3, Proposals(), 1, ana_vars=Vars(1.0))
    assert not np.array_equal(np.random.get_state()[1], before)


@settings(max_examples=30, deadline=None)
@given(cut=st.integers(min_value=0, max_value=200))
def test_a_cut_off_file_keeps_the_whole_records_before_the_cut(cut: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "1.pkl"
        records = [Proposals(start=k)() for k in range(3)]
        blobs = [pickle.dumps(r if r.accepted else None) for r in records]
        data = b"".join(blobs)
        path.write_bytes(data[:cut])
        got = kept_sampler._records(path)
        whole = sum(1 for end in np.cumsum([len(b) for b in blobs]) if end <= cut)
        assert len(got) == whole
        assert [g is None for g in got] == [not r.accepted for r in records][:whole]


def test_pyabcs_multicore_sampler_keeps_from_its_processes(tmp_path: Path) -> None:
    inner = pyabc.sampler.MulticoreEvalParallelSampler(n_procs=2)
    keeping = KeepingSampler(inner, tmp_path, {"kernel": "joint", "bandwidth": 1.0})
    sample = keeping.sample_until_n_accepted(4, Proposals(), 2, ana_vars=Vars(1.0))
    assert sample.n_accepted == 4
    files = list((tmp_path / "generation.partial").glob("*.pkl"))
    records = [r for f in files for r in kept_sampler._records(f)]
    # every simulation of the worker processes is kept, and counted
    assert files and len(records) == keeping.nr_evaluations_ >= 4
    assert sum(r is not None for r in records) >= 4
