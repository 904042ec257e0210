"""The scenario: the base schema plus every component's section and timeline event kinds.

``Scenario`` is the root schema that scenario files are validated against (assembled from
``sim.components.COMPONENTS`` by ``sim.core.component.assemble_scenario``); the model reads the
components to run from it. ``load_scenario`` reads a YAML file (``extends``, ``--set``
overrides) into one (``sim.config.loader``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.components import COMPONENTS
from sim.config import loader
from sim.config.schema import ScenarioBase
from sim.core.component import assemble_scenario

Scenario: Any = assemble_scenario(COMPONENTS)


def load_scenario(path: str | Path, overrides: Sequence[str] | None = None) -> ScenarioBase:
    """Load, merge (``extends``), override (``--set`` texts) and validate a scenario file.

    Raises ``ScenarioError`` (and nothing else) for anything wrong with the file or overrides.
    """
    scenario: ScenarioBase = loader.load_scenario(path, overrides, schema=Scenario)
    return scenario


def event_kinds() -> dict[str, Any]:
    """The timeline event kinds by ``action``, with the component that handles each."""
    return {e.model_fields["action"].default: (e, c) for c in COMPONENTS for e in c.events}
