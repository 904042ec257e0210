"""The one exception hierarchy of propsim, at the bottom of the layers (imports nothing from sim).

Every error meant for the user derives from :class:`PropsimError`; the command line turns each
into a message on standard error and an exit code (``exit_code``): 2 for bad input, 1 for a
failure. ``str(err)`` is always the complete message, written for analysts.

- :class:`BadInput`: a problem with the command's input found by the command itself (a missing
  file, a bad option combination, an unwritable output folder).
- :class:`ScenarioError`: a scenario (or targets, priors, parameter file) that cannot be loaded;
  one :class:`Problem` per reported line, each with its file, line and dotted key.
- :class:`FolderError`: a results folder that cannot be resumed (also a ``ValueError``).
- :class:`PostProcessingFailed`: a step after the data was saved (plots, a report) failed; the
  folder is complete and kept (exit code 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "BadInput",
    "FolderError",
    "Problem",
    "PostProcessingFailed",
    "PropsimError",
    "ScenarioError",
]

EXIT_FAILURE, EXIT_BAD_INPUT = 1, 2
MAX_REPORTED = 20  # problems listed in one ScenarioError message


class PropsimError(Exception):
    """Base of every propsim error meant for the user; ``exit_code`` is the command's."""

    exit_code: int = EXIT_FAILURE


class BadInput(PropsimError):
    """A problem with the user's input found by the CLI itself (exit code 2)."""

    exit_code = EXIT_BAD_INPUT


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located as precisely as we can."""

    message: str
    file: str | None = None  # file as the user named it (extended files: joined to that path)
    line: int | None = None  # 1-based
    key: str | None = None  # dotted key path, e.g. "moderation.twitter.intensity"
    override: str | None = None  # the ``--set`` text when the problem comes from an override

    def __str__(self) -> str:
        head: list[str] = []
        if self.file:
            head.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.override is not None:
            head.append(f"--set {self.override}")
        if self.key and not (
            self.override is not None and self.override.startswith(self.key + "=")
        ):
            head.append(self.key)
        return ": ".join([*head, self.message])


class ScenarioError(PropsimError):
    """A scenario that cannot be loaded. ``str(err)`` is the complete message for the user.

    One line per problem, the most useful first. ``path``, ``line`` and ``key`` describe the
    first problem (each may be None); ``problems`` holds them all. Exit code 2.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: Sequence[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems) or [Problem("invalid scenario")]
        first = self.problems[0]
        self.path: Path | None = Path(first.file) if first.file else None
        self.line: int | None = first.line
        self.key: str | None = first.key
        super().__init__(self._text())

    def _text(self) -> str:
        lines = [str(p) for p in self.problems[:MAX_REPORTED]]
        if len(self.problems) > MAX_REPORTED:
            lines.append(f"... and {len(self.problems) - MAX_REPORTED} more problems")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._text()


class FolderError(PropsimError, ValueError):
    """A ``--resume`` folder that cannot be resumed (the text is the message for the user)."""

    exit_code = EXIT_BAD_INPUT


class PostProcessingFailed(PropsimError, RuntimeError):
    """A step after the data was saved (plots, a report) failed; the folder is complete.

    ``folder`` is the finished folder, ``failures`` maps each failed step to its error text (also
    recorded under ``post_processing`` in the folder's manifest). Exit code 1: the work is done
    and kept, but not everything asked for was made.
    """

    exit_code = EXIT_FAILURE

    def __init__(self, folder: Path, failures: Mapping[str, str], manifest: str = "manifest.json"):
        self.folder = folder
        self.failures = dict(failures)
        steps = "; ".join(f"{step}: {why}" for step, why in self.failures.items())
        super().__init__(
            f"{steps}. The results are complete in {folder} (the failure is recorded in its "
            f"{manifest}); fix the cause and redraw, or use the data as it is"
        )
