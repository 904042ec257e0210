"""Results folders: the one protocol every command writes its outputs by.

1. ``reserve(out_dir, base)`` makes the hidden folder ``<out_dir>/.<base>.partial`` (``base`` is
   ``stamped(name, started)``: ``<name>-<YYYYmmdd-HHMMSS>``, with ``-2``, ``-3``, ... appended if
   that final name or its partial folder exists). Nothing with a final name exists yet, so no
   reader (``is_partial``, ``sim.io.results.read_results``, ``propsim report``) takes it for
   finished.
2. The command writes into it: ``manifest.json`` first (``base_manifest``: format version, kind,
   name, package version, git commit, Python/numpy/pandas versions, start time, command line),
   then its data. A command that resumes (sweeps) holds ``locked(folder)`` while it works, so two
   processes never work on one folder; a command that does not resume removes the partial folder
   if writing fails (``discard``).
3. ``complete(folder, updates, reproduce, post)`` writes the final manifest (duration, finish
   time, the command that reproduces the folder), removes the lock and renames the folder to its
   final name in one ``os.rename``: the data is then complete and safe. Only after the rename
   do the post-processing steps run (plots, reports) in the final folder; a step that fails is
   recorded in the manifest (``post_processing``) and raises ``PostProcessingFailed``, which
   carries the finished folder's path: the finished runs are never discarded because a later
   step failed.

Leftovers: the process that reserves a partial folder holds a lock on its ``.owner`` file for
as long as it lives (released by ``complete`` and ``discard``, or by the system when the process
dies, however). ``reserve`` first removes the partial folders of ``out_dir`` that no live
process owns and that cannot be resumed (``clean_stale``: a killed ``propsim run``, a sweep
killed before its manifest was written, legacy ``.<name>.partial-<pid>`` folders of dead pids);
unfinished sweep and sensitivity folders stay for ``--resume``.

``plots/`` is where every command draws its figures (``PLOTS_DIR``).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import platform
import shlex
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sim.config.names import check_name
from sim.errors import FolderError, PostProcessingFailed
from sim.version import git_state, package_version

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PLOTS_DIR = "plots"
LOCK = ".lock"
OWNER = ".owner"  # locked by the process that reserved the folder, while it lives
RESUMABLE = ("sweep", "sensitivity")  # kinds whose unfinished folders --resume finishes
_owned: dict[str, int] = {}  # partial folder -> fd of its locked .owner file
PARTIAL = ".partial"
_LEGACY_PARTIAL = ".partial-"  # run folders of format 1 before this module: .<name>.partial-<pid>
MAX_SUFFIX = 1000

PostStep = Callable[[Path, dict[str, Any]], None]


# --- names -------------------------------------------------------------------------------------


def stamped(name: str, started: dt.datetime) -> str:
    """``<name>-<YYYYmmdd-HHMMSS>`` (the start time as given, normally local)."""
    return f"{name}-{started:%Y%m%d-%H%M%S}"


def candidates(base: str) -> Iterator[str]:
    """``base``, then ``base-2``, ``base-3``, ... (same-second collisions)."""
    yield base
    for k in range(2, MAX_SUFFIX):
        yield f"{base}-{k}"


def partial_name(final: str) -> str:
    return f".{final}{PARTIAL}"


def is_partial(folder: Path) -> bool:
    """True for a folder still being written, or left unfinished by a killed command."""
    name = Path(folder).name
    return name.startswith(".") and (name.endswith(PARTIAL) or _LEGACY_PARTIAL in name)


def final_path(folder: Path) -> Path:
    """``<out>/.<name>.partial`` -> ``<out>/<name>``."""
    folder = Path(folder)
    if not is_partial(folder):
        raise FolderError(f"{folder}: not an unfinished results folder (no '.…{PARTIAL}' name)")
    name = folder.name.removeprefix(".")
    name = name.removesuffix(PARTIAL) if name.endswith(PARTIAL) else name.split(_LEGACY_PARTIAL)[0]
    return folder.parent / name


def reserve(out_dir: Path, base: str) -> Path:
    """Make and return the hidden partial folder of the first free name of ``base``."""
    check_name(base, "folder name")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clean_stale(out_dir)
    for name in candidates(base):
        if (out_dir / name).exists():
            continue
        folder = out_dir / partial_name(name)
        try:
            folder.mkdir()
        except FileExistsError:  # another command is writing it
            continue
        fd = os.open(folder / OWNER, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # (a new folder: nobody else has it)
        _owned[str(folder)] = fd
        return folder
    raise FileExistsError(
        f"no free folder name for {base!r} in {out_dir}: {MAX_SUFFIX} exist; use another --out"
    )


def discard(folder: Path) -> None:
    """Remove an unfinished folder (a command that cannot resume, after a failure)."""
    if is_partial(folder):
        _release(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _release(folder: Path) -> None:
    fd = _owned.pop(str(folder), None)
    if fd is not None:
        os.close(fd)


def _owned_elsewhere(owner: Path) -> bool:
    """Whether a live process holds the lock of the ``.owner`` file ``owner``."""
    try:
        fd = os.open(owner, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # (releases the lock if this call took it)
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out_dir: Path) -> list[Path]:
    """Remove the partial folders in ``out_dir`` left by processes that have died and that no
    command can resume (see the module's text); returns them."""
    removed: list[Path] = []
    try:
        entries = list(Path(out_dir).iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not is_partial(entry) or not entry.is_dir() or str(entry) in _owned:
            continue
        if not entry.name.endswith(PARTIAL):  # legacy .<name>.partial-<pid>
            pid = entry.name.rsplit(_LEGACY_PARTIAL, 1)[1]
            stale = pid.isdigit() and not _pid_alive(int(pid))
        else:
            owner = entry / OWNER
            stale = owner.exists() and not _owned_elsewhere(owner)
            if stale and (entry / MANIFEST).is_file():
                with suppress(FolderError):  # (a damaged manifest: nothing can resume it)
                    stale = read_manifest(entry).get("kind") not in RESUMABLE
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


# --- manifest ----------------------------------------------------------------------------------


def provenance() -> dict[str, Any]:
    """What made a folder: package version, git commit, Python, numpy and pandas versions."""
    import numpy as np
    import pandas as pd

    commit, dirty = git_state()
    return {
        "package_version": package_version(),
        "git_commit": commit,
        "git_dirty": dirty,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "pandas_version": pd.__version__,
    }


def base_manifest(
    kind: str, name: str, command_line: str | Sequence[str], started: dt.datetime
) -> dict[str, Any]:
    """The fields every manifest starts with; the command adds its own."""
    if not isinstance(command_line, str):
        command_line = shlex.join(command_line)
    return {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "name": name,
        "started": started.isoformat(timespec="seconds"),
        "command_line": command_line,
        **provenance(),
    }


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON under a temporary name and rename it: never a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_manifest(folder: Path) -> dict[str, Any]:
    """A folder's manifest; ``FolderError`` naming the folder if it has none or it is broken."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FolderError(f"{folder}: not a results folder (no {MANIFEST})") from None
    except (OSError, ValueError) as err:
        raise FolderError(f"{folder}: cannot read {MANIFEST} ({err})") from None
    if not isinstance(data, dict):
        raise FolderError(f"{folder}: {MANIFEST} is not a JSON object")
    return data


# --- working on a folder -----------------------------------------------------------------------


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock (``fcntl.flock``); a second process gets ``FolderError``."""
    fd = os.open(Path(folder) / LOCK, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderError(f"{folder}: another propsim process is working on it") from None
        yield
    finally:
        os.close(fd)


def _failure_text(err: BaseException) -> str:
    if isinstance(err, KeyboardInterrupt):
        return "interrupted"
    return f"{type(err).__name__}: {err}"


def complete(
    folder: Path,
    updates: Mapping[str, Any] | None = None,
    reproduce: Callable[[Path], str] | None = None,
    post: Mapping[str, PostStep] | None = None,
    *,
    seconds: float | None = None,
) -> Path:
    """Finish a partial folder: final manifest, atomic rename, then the post-processing steps.

    ``updates`` go into the manifest; ``reproduce(final)`` gives its ``reproduce`` command;
    ``seconds`` its ``duration_seconds``. Each ``post`` step (name -> ``step(final, manifest)``)
    runs in the finished folder and may add to the manifest (e.g. the plot files). Returns the
    finished folder; raises ``PostProcessingFailed`` (after recording it) if a step failed, and
    re-raises a ``KeyboardInterrupt`` of a step once the folder is saved.
    """
    folder = Path(folder)
    final = final_path(folder)
    manifest = read_manifest(folder)
    manifest.update(updates or {})
    if seconds is not None:
        manifest["duration_seconds"] = round(float(seconds), 3)
    manifest["finished"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    if reproduce is not None:
        manifest["reproduce"] = reproduce(final.resolve())
    if post:
        manifest["post_processing"] = {step: "pending" for step in post}
    write_json(folder / MANIFEST, manifest)
    (folder / LOCK).unlink(missing_ok=True)
    (folder / OWNER).unlink(missing_ok=True)
    _release(folder)
    if final.exists():
        raise FileExistsError(
            f"{final} exists; the finished results stay in {folder}: move that folder away and "
            "rename this one"
        )
    os.rename(folder, final)
    if post:
        _run_steps(final, manifest, post)
    return final


def post_process(folder: Path, post: Mapping[str, PostStep]) -> None:
    """Run post-processing steps in an already finished folder (a calibration's fit report),
    recorded in its manifest exactly as ``complete`` records its own steps."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    manifest.setdefault("post_processing", {}).update({step: "pending" for step in post})
    _run_steps(folder, manifest, post)


def _run_steps(final: Path, manifest: dict[str, Any], post: Mapping[str, PostStep]) -> None:
    """Run each step in the finished folder, record its outcome in the manifest, and raise
    ``PostProcessingFailed`` for the failures (a ``KeyboardInterrupt`` is re-raised as it is)."""
    failures: dict[str, str] = {}
    interrupted: BaseException | None = None
    for step, run in post.items():
        try:
            run(final, manifest)
        except BaseException as err:  # recorded and raised below: the data is safe
            failures[step] = _failure_text(err)
            manifest["post_processing"][step] = f"failed: {failures[step]}"
            if not isinstance(err, Exception):
                interrupted = err
                break
        else:
            manifest["post_processing"][step] = "done"
    write_json(final / MANIFEST, manifest)
    if interrupted is not None:
        raise interrupted
    if failures:
        raise PostProcessingFailed(final, failures)
