"""``propsim init [DIR]``: copy the shipped scenarios and calibration files into a folder.

The copies are the analyst's to edit: every command reads ``scenarios/...`` and
``calibration/...`` of the working folder first, and the copied ``scenarios/baseline.yaml``
lays the copied ``calibration/calibrated.yaml`` over its own values (``overlay:``; ``propsim
calibrate`` rewrites it there).
Existing files are never overwritten without ``--force``; nothing is written if any would be.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

from sim.cli.common import EXIT_OK, FMT
from sim.errors import BadInput


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "init",
        help="copy the shipped scenarios and calibration files into a working folder",
        formatter_class=FMT,
        description=textwrap.dedent(
            """\
            Copy the scenarios (scenarios/*.yaml, scenarios/sensitivity/) and calibration
            files (targets, priors, calibrated overlay, discussion) that ship with propsim into
            DIR, to edit and run there: commands read these files from the working folder
            when they exist, and fall back to the shipped ones otherwise.

            Refuses to overwrite existing files (and then writes nothing) unless --force.
            """
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              propsim init                      # into the current folder
              propsim init study && cd study && propsim run scenarios/baseline.yaml
            """
        ),
    )
    p.add_argument(
        "dir", metavar="DIR", nargs="?", default=".", help="folder (default: the current one)"
    )
    p.add_argument("--force", action="store_true", help="overwrite files that exist in DIR")
    p.set_defaults(func=cmd_init)


def init_folder(target: Path, force: bool = False) -> list[Path]:
    """Copy every shipped file into ``target``; returns the files written.

    ``BadInput`` if ``target`` is a file, cannot be created, or (without ``force``) already
    holds any of the files; nothing is written then.
    """
    from sim.config.resources import data_root, shipped_files

    if target.exists() and not target.is_dir():
        raise BadInput(f"{target}: exists and is not a folder; give a folder")
    root = data_root()
    files = shipped_files()
    if not force:
        taken = [f for f in files if (target / f).exists()]
        if taken:
            listed = ", ".join(taken[:5]) + (
                f", ... ({len(taken) - 5} more)" if len(taken) > 5 else ""
            )
            raise BadInput(
                f"{target}: already holds {listed}; nothing was copied "
                "(use --force to overwrite them, or give another DIR)"
            )
    written = []
    try:
        for f in files:
            dest = target / f
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / f, dest)
            written.append(dest)
    except OSError as error:
        raise BadInput(f"{target}: cannot write {f} ({error.strerror or error})") from None
    return written


def cmd_init(args: argparse.Namespace, command_line: list[str]) -> int:
    target = Path(args.dir)
    written = init_folder(target, args.force)
    for path in written:
        print(path)
    print(
        f"Copied {len(written)} files into {target}; try: "
        f"propsim run {target / 'scenarios' / 'baseline.yaml'}",
        file=sys.stderr,
    )
    return EXIT_OK
