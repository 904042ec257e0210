"""Counter-messaging campaigns (Mesa agents) and the organic counter speech of opposed users.

A ``CounterCampaign`` is one group of the scenario's ``counter`` section: a pluggable
intervention with a start and an end date (switched on and off by scheduled Mesa events). While
active, its messengers post every day; each post is seen by ``view_prob`` of the messenger's
followers (real-world followers / scale simulated users), mostly users of the campaign's
language. The effect of a view on a user is ``credibility`` times 1 for a language match or
``language_mismatch`` otherwise (applied in ``model``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.config.schema import LANGUAGES, CounterGroup

if TYPE_CHECKING:
    from sim.core.model import PropagandaModel


class CounterCampaign(mesa.Agent):
    """One counter-messaging group, active between its start and end dates."""

    model: PropagandaModel

    def __init__(self, model: PropagandaModel, name: str, group: CounterGroup) -> None:
        super().__init__(model)
        self.name = name
        self.group = group
        self.language = LANGUAGES.index(group.language)
        self.active = False

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def posts_today(self) -> float:
        """Real-world posts by the campaign today (messengers are not scaled)."""
        g = self.group
        return g.messengers * g.posts_per_day if self.active else 0.0

    def n_views(self, view_prob: float, scale: float, rng: np.random.Generator) -> int:
        """How many simulated users see the campaign's posts today (Poisson); who they are is
        drawn by ``kernels.counter_views`` (``targeting`` of them among the campaign's
        language)."""
        g = self.group
        mean = self.posts_today() * g.followers / scale * view_prob
        return int(rng.poisson(mean)) if mean > 0 else 0
