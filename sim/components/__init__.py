"""The model's mechanisms, one component per file, in the order their hooks run within a phase.

The order matters where two components act in the same phase: within ``expose``, the feed and
outside views (exposure) come before channel views (encrypted) and counter views
(counter-messaging); within ``start``, audience churn (which replaces users) comes before
re-created accounts' re-follows (operators); within ``update``, attitudes and follows come
before new operators;
within ``record``, posting's sums come first and observation, which reads the true figures of
the others, last. Random streams are separate per mechanism, so the order changes no draw of
another stream.

To add a mechanism: write one file here with a ``Component`` subclass and add it to
``COMPONENTS`` (see docs/architecture.md).
"""

from __future__ import annotations

from sim.components.attitudes import Attitudes
from sim.components.audience import Audience
from sim.components.counter_messaging import CounterMessaging
from sim.components.encrypted import Encrypted
from sim.components.exposure import Exposure
from sim.components.moderation import ModerationComponent
from sim.components.observation import ObservationComponent
from sim.components.operators import OperatorsComponent
from sim.components.policy import Policy
from sim.components.posting import Posting
from sim.components.redirect import Redirect
from sim.core.component import Component

COMPONENTS: tuple[type[Component], ...] = (
    Policy,
    ModerationComponent,
    Posting,
    Exposure,
    Encrypted,
    CounterMessaging,
    Redirect,
    Attitudes,
    Audience,
    OperatorsComponent,
    ObservationComponent,
)
