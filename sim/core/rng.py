"""Named random streams derived from one seed (common random numbers).

One ``numpy.random.SeedSequence`` per run is the root; each process of the model (posting,
exposure, moderation, operators, ...) draws from its own child stream, keyed by the stream's name.
Changing how much randomness one process consumes (say, a policy that suspends more accounts)
therefore leaves the draws of every other process untouched, and two scenarios that differ only
from day D onward are identical before D. There is no global random state anywhere.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from sim.core import draws

# The model's own streams; the components declare theirs (``Component.streams``), e.g.
# "posting", "exposure", "follow", "counter", "moderation", "operators".
STREAMS = (
    "mesa",  # the Mesa model's own generator (used by Mesa itself only)
    "init",  # population, initial accounts and network
    "follow",  # follow decisions (``PropagandaModel.add_follows``), shares and joins
)


def _key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Independent generators by name, all derived from ``seed``.

    >>> s = Streams(7); s["posting"] is s["posting"]
    True
    """

    def __init__(self, seed: int, names: Sequence[str] = ()) -> None:
        self.seed = int(seed)
        self.names = tuple(dict.fromkeys((*STREAMS, *names)))  # declared streams, in order
        self._gens: dict[str, np.random.Generator] = {}
        self._handles: dict[str, tuple[int, int]] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        if name not in self.names:
            raise KeyError(
                f"unknown random stream {name!r}; known: {', '.join(self.names)} (a component "
                "declares the streams it draws from in its ``streams``)"
            )
        return np.random.SeedSequence(entropy=self.seed, spawn_key=(_key(name),))

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._gens.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
            self._gens[name] = gen
        return gen

    def __getstate__(self) -> dict:
        # addresses are only valid in this process: a copy finds its own
        return {**self.__dict__, "_handles": {}}

    def handle(self, name: str) -> tuple[int, int]:
        """The stream ``name`` as compiled kernels draw from it (``sim.core.draws``): they advance
        the same generator as ``self[name]``."""
        h = self._handles.get(name)
        if h is None:
            h = self._handles[name] = draws.handle(self[name])
        return h
