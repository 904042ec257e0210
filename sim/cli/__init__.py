"""The ``propsim`` command line, one small module per command (the top layer: nothing below
imports ``sim.cli``).

``main`` (returns the exit code), ``entry`` (the console script) and ``build_parser`` come from
``sim.cli.main``; ``python -m sim.cli`` runs ``entry``.
"""

from sim.cli.main import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    build_parser,
    entry,
    main,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "build_parser",
    "entry",
    "main",
]
