"""Compiled inner loops (numba) of the day's hot path: views, doses, attitudes, follow gating.

Why compiled: these loops touch every view and every reached user each day (hundreds of
thousands at the default scale). In numpy each of them is a chain of 10-20 full-array passes
with temporaries; fused into one loop each, they run several times faster and keep the day's work
proportional to what happens (views, reached users), never to the population size.

Random numbers come from the model's named numpy streams: either the caller draws them and
passes them in, or a kernel takes a stream's handle (``sim.core.draws``) and draws from the same
generator itself, which saves the arrays and numpy's fixed cost per call.
``cache=True`` stores the compiled code next to this file after the first call.

The kernels are grouped by the mechanism they serve: ``posting`` (posts, abandonment, ending
accounts, the metrics' sums), ``views`` (exposure and counter views), ``doses`` (counting views
into doses), ``attitudes`` (attitude update, follow gate), ``churn`` (users leaving the
audience), ``counter`` (targeted counter-messaging), ``graph`` (the follower pool, the sort of
follow keys, weighted draws of users). This package re-exports them, so callers write
``kernels.feed_views``.
"""

from __future__ import annotations

from sim.core.kernels.attitudes import (  # noqa: F401
    ENGAGEMENT,
    LOG1P_FINE,
    LOG1P_FINE_STEP,
    LOG1P_TABLE,
    _log1p_fine,
    decay_table,
    exposure_horizon,
    gate_follows,
    keep_table,
    update_attitudes,
)
from sim.core.kernels.churn import drop_followers, set_marks  # noqa: F401
from sim.core.kernels.counter import backfire_views, target_users  # noqa: F401
from sim.core.kernels.doses import (  # noqa: F401
    _DEBRUIJN,
    DEBRUIJN_POS,
    DOSE_DTYPE,
    DOSE_MAX,
    _mark,
    _popcount,
    _prefetch_user,
    accumulate,
    count_into,
    marked_users,
    new_marks,
)
from sim.core.kernels.graph import (  # noqa: F401
    add_pairs,
    copy_slabs,
    draw_keys,
    empty_slabs,
    scatter_add,
    scatter_add_count,
    search_right,
    sort_keys,
)
from sim.core.kernels.posting import (  # noqa: F401
    _gap,
    daily_posts,
    end_accounts,
    followers_of,
    pick_active,
    record_row,
    record_sums,
    recreate_rows,
)
from sim.core.kernels.views import (  # noqa: F401
    _side,
    _side_widths,
    _user_of_language,
    campaign_views,
    counter_views,
    feed_views,
    outside_views,
)
