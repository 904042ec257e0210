"""The layers contract (SPEC section 1) in pyproject.toml, checked by import-linter.

``lint-imports`` runs in a subprocess (the same Python), once on the package as it is (the
contract must be kept) and once on a copy of the package with one deliberate upward import (the
same contract must then be broken, naming the import), so that a contract that checks nothing
cannot pass.
"""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import sim

REPO = Path(__file__).resolve().parents[1]
LINT = "from importlinter.cli import lint_imports\nraise SystemExit(lint_imports(no_cache=True))\n"


def lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the ``pyproject.toml`` of ``cwd``."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", LINT],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def contract() -> dict:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = config["tool"]["importlinter"]["contracts"]
    return layers


def test_the_layers_contract_is_kept() -> None:
    proc = lint(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 1 kept, 0 broken." in proc.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "sim"
    shutil.copytree(REPO / "sim", copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    with (copy / "errors.py").open("a", encoding="utf-8") as f:
        f.write("\nimport sim.cli.common  # noqa: E402  (the deliberate violation)\n")
    proc = lint(tmp_path, pythonpath=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Contracts: 0 kept, 1 broken." in proc.stdout
    assert "sim.errors -> sim.cli.common" in proc.stdout


def test_every_top_level_module_is_in_a_layer() -> None:
    """A new module under sim/ must be placed in a layer, or the contract would not check it."""
    names = set()
    for layer in contract()["layers"]:
        for part in layer.replace("|", ":").split(":"):
            names.add(part.strip().strip("()"))
    modules = {f"sim.{m.name}" for m in pkgutil.iter_modules(sim.__path__)}
    modules -= {"sim._build"}  # written by the build (setup.py), imports nothing
    assert modules - names == set(), "add these modules to a layer in pyproject.toml"


def test_no_import_is_excused() -> None:
    """The contract holds with no exceptions (the redesign removed the last ones)."""
    assert "ignore_imports" not in contract()
