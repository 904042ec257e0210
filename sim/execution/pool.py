"""Worker pools: the start method, and the fork server that loads the model once for them.

Light on purpose (standard library only): the sweep and sensitivity commands start the fork
server (``start_server``) right after parsing their arguments, before this process imports
pandas, the loader or anything else, so that the server's preload (``sim.execution._preload``: the
model
and its compiled kernels, about two seconds) overlaps with this process's own imports and its
checking of the input instead of following them.

Clean-up however this process ends: the workers are children of the fork server, not of this
process, and block on queues whose both ends they hold, so they would outlive a ``kill -9``, and
with them the fork server (which lives while any of its children does) and the resource
tracker. So every worker and manager process runs ``watch_parent`` (the pool's initializer): a
thread that waits on a pidfd of this process and ends the worker the moment it has gone; the
fork server then ends by itself (its last child gone), and the resource tracker with it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import select
import threading
import time
from typing import Any

PRELOAD = ["__main__", "sim.execution._preload"]
POLL_SECONDS = 0.5  # how often a watch checks the parent where there is no pidfd


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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone (or the pid reused by someone else)
        return False
    return True


def watch_parent(pid: int) -> None:
    """End this process (a pool worker or manager) as soon as process ``pid`` has ended.

    The initializer of every process a pool starts, with the pid of the process that owns the
    pool: a daemon thread waits on a pidfd of that process (Linux), else polls it every
    ``POLL_SECONDS``, and then ends this process at once (``os._exit``): a worker never outlives
    the sweep that started it, whether that ended by SIGKILL, SIGTERM or a crash.
    """
    fd: int | None = None
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:  # already gone (killed while this worker was being started)
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd here: poll
        if not _alive(pid):
            os._exit(1)

    def wait() -> None:
        if fd is not None:
            select.select([fd], [], [])  # readable once the process has ended
        else:
            while _alive(pid):
                time.sleep(POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=wait, name="propsim-parent-watch", daemon=True).start()


def watched_manager() -> Any:
    """A started ``SyncManager`` of ``pool_context`` whose server process ends with this one."""
    from multiprocessing.managers import SyncManager

    manager = SyncManager(ctx=pool_context())
    manager.start(watch_parent, (os.getpid(),))
    return manager


_watching = False


def end_with_parent() -> None:
    """In a process started by ``multiprocessing`` (a worker of pyabc's own multicore sampler,
    forked from this command), start ``watch_parent`` on its parent, once; elsewhere nothing."""
    global _watching
    parent = mp.parent_process()
    if _watching or parent is None or parent.pid is None:
        return
    _watching = True
    watch_parent(parent.pid)
