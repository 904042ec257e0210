"""A pyabc sampler that keeps the simulations of the generation under way on disk.

pyabc stores a generation only when it is complete, so a calibration stopped in the middle of
one (Ctrl-C, a machine shut down) loses every simulation of it: at 1:100 with 17 free
parameters a late generation takes one to two hours on two cores. ``KeepingSampler`` wraps the
sampler that runs the simulations (pyabc's single-core or multicore sampler): every evaluated
proposal is appended, as it finishes, to a file of its process in ``generation.partial/`` of the
calibration's folder (the particle if accepted, a mark if not), and ``--resume`` takes those
back when it samples the same generation again: same generation number, same epsilon (which
the previous generation fixes) and same proposal kernel and bandwidth, so the kept particles
were drawn from the very proposal the resumed run draws from and their importance weights hold.
The resumed run then needs only the particles still missing, and the generation's count of
simulations includes the kept ones. The folder is emptied when a later generation starts or the
calibration ends.

Written by hand: pyabc has no checkpoint inside a generation (its ``History`` stores whole
populations). The bias is negligible: simulations still running when the calibration stopped
are lost, which favours fast simulations among the kept ones by at most one per process.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pyabc.sampler import Sampler

from sim.io import folders

PARTIAL_DIR = "generation.partial"  # in the calibration's folder
KEY_NAME = "key.json"
NOT_ACCEPTED = None  # (what a rejected proposal leaves in a file: only that it was simulated)


class KeepingSampler(Sampler):
    """Runs ``inner``'s sampling and keeps each simulation of the generation under way (module
    docstring). ``key`` names what a kept generation must share with the resumed one (kernel,
    bandwidth); ``seed`` (or ``None``) reseeds numpy's generator when kept simulations are
    taken back, so that a seeded single-process run does not propose them again."""

    def __init__(
        self,
        inner: Sampler,
        folder: Path,
        key: dict[str, Any],
        seed: int | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.inner = inner
        self.sample_factory = inner.sample_factory
        self.folder = Path(folder) / PARTIAL_DIR
        self.key = key
        self.seed = seed
        self.log = log

    # pyabc asks these of its sampler: the inner one answers
    def set_analysis_id(self, analysis_id: str) -> None:
        super().set_analysis_id(analysis_id)
        self.inner.set_analysis_id(analysis_id)

    def check_analysis_variables(self, distance_function: Any, eps: Any, acceptor: Any) -> None:
        self.inner.check_analysis_variables(distance_function, eps, acceptor)

    def stop(self) -> None:
        self.inner.stop()

    def sample_until_n_accepted(
        self,
        n: int,
        simulate_one: Callable,
        t: int,
        *,
        max_eval: float = np.inf,
        all_accepted: bool = False,
        ana_vars: Any = None,
    ) -> Any:
        eps = float(ana_vars.eps(t)) if ana_vars is not None else float("nan")
        key = {"generation": t, "epsilon": repr(eps), **self.key}
        kept, evaluations = self._take_back(key)
        if evaluations and self.log is not None:
            self.log(
                f"generation {t}: {evaluations:,} simulations of the stopped run taken back "
                f"({len(kept)} accepted)"
            )
        if evaluations and self.seed is not None:
            # (a seeded run reseeds at each generation: without this, a single process would
            # propose the kept simulations again)
            np.random.seed(np.random.SeedSequence([self.seed, t, evaluations]).generate_state(1))
        kept = kept[:n]
        missing = n - len(kept)
        if missing > 0:
            keep_one = _Keep(simulate_one, self.folder)
            sample = self.inner.sample_until_n_accepted(
                missing,
                keep_one,
                t,
                max_eval=max_eval - evaluations,
                all_accepted=all_accepted,
                ana_vars=ana_vars,
            )
            done = self.inner.nr_evaluations_
        else:
            sample, done = self._create_empty_sample(), 0
        for particle in kept:
            sample.append(particle)
        self.nr_evaluations_ = evaluations + done
        return sample

    def _take_back(self, key: dict[str, Any]) -> tuple[list[Any], int]:
        """The kept accepted particles and the number of kept simulations of the generation
        ``key`` names; any other generation's files are removed and the key written."""
        key_file = self.folder / KEY_NAME
        try:
            same = json.loads(key_file.read_text(encoding="utf-8")) == key
        except (OSError, ValueError):
            same = False
        if not same:
            clear(self.folder.parent)
            self.folder.mkdir()
            folders.write_json(key_file, key)
            return [], 0
        kept: list[Any] = []
        evaluations = 0
        for path in sorted(self.folder.glob("*.pkl")):
            for particle in _records(path):
                evaluations += 1
                if particle is not NOT_ACCEPTED:
                    kept.append(particle)
        return kept, evaluations


class _Keep:
    """``simulate_one`` that appends what it simulated to its process's file (picklable, for
    samplers that pickle the function they run)."""

    def __init__(self, simulate_one: Callable, folder: Path) -> None:
        self.simulate_one = simulate_one
        self.folder = folder

    def __call__(self) -> Any:
        particle = self.simulate_one()
        record = pickle.dumps(particle if particle.accepted else NOT_ACCEPTED)
        with open(self.folder / f"{os.getpid()}.pkl", "ab") as file:
            file.write(record)
            file.flush()
            os.fsync(file.fileno())
        return particle


def _records(path: Path) -> list[Any]:
    """The records of one process's file, up to a damaged or cut-off one (a process stopped
    while it wrote)."""
    out = []
    with open(path, "rb") as file:
        while True:
            try:
                out.append(pickle.load(file))
            except Exception:  # (the end, or a record cut off: unpickling it may fail anyhow)
                break
    return out


def clear(calibration_folder: Path) -> None:
    """Remove the kept simulations of a calibration (when it ends, or a generation is
    complete)."""
    shutil.rmtree(Path(calibration_folder) / PARTIAL_DIR, ignore_errors=True)
