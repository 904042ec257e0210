"""Worker pools: the start method, and the fork server that loads the model once for them.

Light on purpose (standard library only): the sweep and sensitivity commands start the fork
server (``start_server``) right after parsing their arguments, before this process imports
pandas, the loader or anything else, so that the server's preload (``sim.execution._preload``: the
model
and its compiled kernels, about two seconds) overlaps with this process's own imports and its
checking of the input instead of following them.
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

PRELOAD = ["__main__", "sim.execution._preload"]


def pool_context() -> Any:
    """The multiprocessing context of worker pools (``sim.execution.runner``, ``sim.analysis``).

    Forkserver where there is one, with the model preloaded in the server
    (``sim.execution._preload``),
    so that workers start without importing it and loading its compiled kernels each.
    """
    # not "fork": this process may run threads (a queue's manager, numba), which fork breaks
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def start_server() -> None:
    """Start the fork server of ``pool_context`` now, if it has one and it is not running.

    Returns at once: the server preloads the model in its own process while this one goes on.
    Nothing waits for it, so a command that then stops on bad input still ends at once (the
    server ends by itself when this process has gone).
    """
    if pool_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
