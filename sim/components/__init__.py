"""The model's mechanisms, one component per file, in the order their hooks run within a phase.

The order matters where two components act in the same phase: within ``start``, outside events
set the day's factors (posting reads them at ``post``); within ``post``, coordination follows
posting (it adds campaign posts to today's posts); within ``expose``, the feed and
outside views (exposure) come before channel views (encrypted) and counter views
(counter-messaging); within ``start``, audience churn (which replaces users) comes before
re-created accounts' re-follows (operators) and the gradual return of audiences (roles);
within ``update``, attitudes and follows come before new operators;
within ``record``, posting's sums come first, displacement (which reads posting's sums and the
encrypted component's channel posts) after them, and observation, which reads the true figures
of the others, last. Random streams are separate per mechanism, so the order changes no draw of
another stream.

To add a mechanism: write one file here with a ``Component`` subclass and add it to
``COMPONENTS`` (see docs/architecture.md).
"""

from __future__ import annotations

from sim.components.attitudes import Attitudes
from sim.components.audience import Audience
from sim.components.coordination import Coordination
from sim.components.counter_messaging import CounterMessaging
from sim.components.displacement import Displacement
from sim.components.encrypted import Encrypted
from sim.components.exposure import Exposure
from sim.components.moderation import ModerationComponent
from sim.components.observation import ObservationComponent
from sim.components.operators import OperatorsComponent
from sim.components.outside_events import OutsideEvents
from sim.components.policy import Policy
from sim.components.posting import Posting
from sim.components.redirect import Redirect
from sim.components.roles import Roles
from sim.components.targeting import Targeting
from sim.core.component import Component

COMPONENTS: tuple[type[Component], ...] = (
    Policy,
    OutsideEvents,
    ModerationComponent,
    Targeting,
    Posting,
    Coordination,
    Exposure,
    Encrypted,
    CounterMessaging,
    Redirect,
    Attitudes,
    Audience,
    OperatorsComponent,
    Roles,
    Displacement,
    ObservationComponent,
)
