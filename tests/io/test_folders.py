"""``sim.io.folders``: the results-folder protocol every command writes by."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from sim.io import folders

STARTED = dt.datetime(2016, 7, 1, 12, 30, 45)


def _folder(out: Path, base: str = "x-20160701-123045") -> Path:
    folder = folders.reserve(out, base)
    folders.write_json(
        folder / folders.MANIFEST, folders.base_manifest("run", "x", ["a b"], STARTED)
    )
    (folder / "data.csv").write_text("1\n")
    return folder


def test_names_stamp_and_partial() -> None:
    assert folders.stamped("baseline", STARTED) == "baseline-20160701-123045"
    assert list(folders.candidates("b"))[:3] == ["b", "b-2", "b-3"]
    partial = Path("out/.b-1.partial")
    assert folders.is_partial(partial) and folders.final_path(partial) == Path("out/b-1")
    assert folders.is_partial(Path(".b.partial-123"))  # a run folder of the previous layout
    assert not folders.is_partial(Path("b-1")) and not folders.is_partial(Path(".hidden"))
    with pytest.raises(folders.FolderError, match="not an unfinished"):
        folders.final_path(Path("out/b-1"))


def test_reserve_skips_taken_names_and_partial_folders(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / ".x-2.partial").mkdir()  # another command is writing x-2
    assert folders.reserve(tmp_path, "x").name == ".x-3.partial"
    with pytest.raises(ValueError, match="folder name"):
        folders.reserve(tmp_path, "../escape")


def test_complete_renames_and_writes_the_final_manifest(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / folders.LOCK).write_text("")
    final = folders.complete(folder, {"extra": 1}, lambda f: f"propsim run {f}", seconds=2.5)
    assert final == tmp_path / "x-20160701-123045" and not folder.exists()
    assert os.listdir(tmp_path) == [final.name] and not (final / folders.LOCK).exists()
    manifest = folders.read_manifest(final)
    assert manifest["extra"] == 1 and manifest["duration_seconds"] == 2.5
    assert manifest["reproduce"] == f"propsim run {final.resolve()}"
    assert manifest["format_version"] == folders.FORMAT_VERSION and manifest["kind"] == "run"
    assert manifest["command_line"] == "'a b'" and manifest["started"] == "2016-07-01T12:30:45"
    assert {"package_version", "git_commit", "python_version", "finished"} <= set(manifest)


def test_a_failing_post_step_keeps_the_folder_and_the_other_steps(tmp_path: Path) -> None:
    def plots(final: Path, manifest: dict[str, Any]) -> None:
        raise OSError("disk full")

    def report(final: Path, manifest: dict[str, Any]) -> None:
        (final / "report.html").write_text("ok")
        manifest["report"] = "report.html"

    folder = _folder(tmp_path)
    with pytest.raises(folders.PostProcessingFailed, match="plots: OSError: disk full") as err:
        folders.complete(folder, post={"plots": plots, "report": report})
    final = err.value.folder
    assert final == tmp_path / "x-20160701-123045" and (final / "data.csv").is_file()
    assert err.value.failures == {"plots": "OSError: disk full"}
    manifest = json.loads((final / folders.MANIFEST).read_text())
    assert manifest["post_processing"] == {"plots": "failed: OSError: disk full", "report": "done"}
    assert manifest["report"] == "report.html"


def test_an_existing_final_name_leaves_the_partial_folder(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (tmp_path / "x-20160701-123045").mkdir()
    with pytest.raises(FileExistsError, match="stay in"):
        folders.complete(folder)
    assert folder.is_dir() and (folder / "data.csv").is_file()


def test_the_lock_admits_one_process_at_a_time(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    with (
        folders.locked(folder),
        pytest.raises(folders.FolderError, match="another propsim"),
        folders.locked(folder),
    ):
        pass
    with folders.locked(folder):  # released
        pass


def test_read_manifest_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(folders.FolderError, match="no manifest.json"):
        folders.read_manifest(tmp_path)
    (tmp_path / folders.MANIFEST).write_text("[1, 2]")
    with pytest.raises(folders.FolderError, match="not a JSON object"):
        folders.read_manifest(tmp_path)


def test_hidden_leftovers_of_dead_processes_are_removed(tmp_path: Path) -> None:
    """Issue 17.8: the partial folder of a killed ``propsim run`` (owned by no live process) is
    removed when a folder is next reserved in the same place; a live process's folder, an
    unfinished sweep (resumable) and a legacy folder of a live pid stay."""
    import signal
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import sys, time
        from sim.io import folders
        folder = folders.reserve({str(tmp_path)!r}, sys.argv[1])
        if sys.argv[2] == "sweep":
            folders.write_json(folder / folders.MANIFEST, {{"kind": "sweep"}})
        print(folder, flush=True)
        time.sleep(60)
        """
    )
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", code, name, kind], stdout=subprocess.PIPE, text=True
        )
        for name, kind in [("killed-run", "run"), ("killed-sweep", "sweep"), ("alive", "run")]
    }
    made = {name: Path(p.stdout.readline().strip()) for name, p in procs.items()}  # type: ignore
    for name in ("killed-run", "killed-sweep"):
        procs[name].send_signal(signal.SIGKILL)
        procs[name].wait()
    legacy_dead = tmp_path / ".old-20200101-000000.partial-999999999"
    legacy_alive = tmp_path / f".old-20200101-000001.partial-{os.getpid()}"
    legacy_dead.mkdir()
    legacy_alive.mkdir()
    try:
        new = folders.reserve(tmp_path, "next")
        assert new.is_dir()
        assert not made["killed-run"].exists() and not legacy_dead.exists()
        assert made["killed-sweep"].is_dir() and made["alive"].is_dir() and legacy_alive.is_dir()
        folders.write_json(new / folders.MANIFEST, {"kind": "run"})
        final = folders.complete(new)
        assert not (final / folders.OWNER).exists()
    finally:
        procs["alive"].kill()
        procs["alive"].wait()
