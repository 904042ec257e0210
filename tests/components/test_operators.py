"""The operators component (``sim.components.operators``): the day's decisions on suspended
accounts follow ``Operator.decide``, draw for draw."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_scenario

from sim.core.model import PropagandaModel


@pytest.mark.parametrize("pull", [0.0, 0.2, 1.0])
@pytest.mark.parametrize("compiled", [True, False])
def test_batch_decisions_are_operator_decide_in_turn(pull: float, compiled: bool) -> None:
    """The day's decisions on a batch of suspended accounts (the compiled ``decide_batch``, or
    the rule written out in ``_decide_batch``'s loop) decide, draw and schedule exactly what
    ``Operator.decide`` and the per-account code it replaced do, account by account (the same
    account's operator several times included): two models built alike, one deciding account
    by account, the other by batch."""
    sc = make_scenario(platforms__telegram__pull=pull)
    ref, m = PropagandaModel(sc, 5), PropagandaModel(sc, 5)
    comp = m.component("operators")
    ops_cfg = m.sc.accounts.operators
    active = m.accounts.active_ids()
    rng0 = np.random.default_rng(1)
    ids = rng0.choice(active, size=min(300, active.size), replace=False)
    ids = np.concatenate([ids, ids[:50]])  # (operators decide again: more suspensions each)
    sizes = rng0.integers(0, 5, ids.size)
    bounds = np.r_[0, np.cumsum(sizes)]
    lost = rng0.integers(0, m.users.n, bounds[-1]).astype(np.int32)

    # expected: the per-account rule on the operators and the stream of ``ref``
    rng = ref.streams["operators"]
    enc = ref.component("encrypted")
    pulls = enc.pull
    expected = []
    migrated = 0
    for j, acc in enumerate(ids.tolist()):
        op = ref.operators[int(ref.accounts.operator[acc])]
        op.open_accounts -= 1
        choice = op.decide(ops_cfg, enc.pull_total, rng)
        if choice == "recreate":
            delay = max(1, round(rng.exponential(ops_cfg.recreate_delay_days)))
            expected.append((3 + delay, acc, op.index, lost[bounds[j] : bounds[j + 1]]))
        elif choice == "migrate" and not op.migrated:
            op.migrated = True
            migrated += 1
            expected.append((-1, acc, op.index, int(rng.choice(pulls.size, p=pulls / pulls.sum()))))

    assert any(e[0] >= 0 for e in expected) or pull == 1.0  # (it sees re-creations ...)
    assert migrated > 0 or pull == 0.0  # (... and migrations where there is a pull)
    comp._recreations.clear()
    comp.migrated = 0
    n_channels = m.channels.n
    if compiled:
        comp._decide_compiled(3, ids, lost, bounds, m.streams.handle("operators"), ops_cfg)
    else:
        comp._decide_batch(3, ids, lost, bounds, m.streams["operators"], ops_cfg)

    got = []
    for day, due in sorted(comp._recreations.items()):
        for old, users, n in due:
            parts = np.split(users, np.cumsum(n)[:-1])
            for a, f in zip(old.tolist(), parts, strict=True):
                got.append((day, a, int(m.accounts.operator[a]), f))
    want = sorted((e for e in expected if e[0] >= 0), key=lambda e: e[0])
    assert [(a, b, c) for a, b, c, _ in got] == [(a, b, c) for a, b, c, _ in want]
    for (_, _, _, f_got), (_, _, _, f_want) in zip(got, want, strict=True):
        np.testing.assert_array_equal(f_got, f_want)
    assert comp.migrated == migrated
    channels = [(int(m.channels.operator[c]), int(m.channels.platform[c])) for c in
                range(n_channels, m.channels.n)]  # fmt: skip
    assert channels == [(op, e) for day, _, op, e in expected if day < 0]
    for name in ("suspensions", "evasion", "open_accounts", "migrated"):  # (channels: above)
        np.testing.assert_array_equal(
            m.operator_table.column(name), ref.operator_table.column(name), err_msg=name
        )
    assert m.operators[7].suspensions == m.operator_table.suspensions[7]  # (the agents' view)
    assert m.streams["operators"].bit_generator.state == rng.bit_generator.state
