"""Problems found by validators, with their location as data (not written into the message).

A validator of the scenario schema (or of another YAML data file read by ``sim.config.loader``)
that finds a problem pydantic cannot describe by itself raises :func:`problem`::

    raise problem("end 2015-01-01 is before start 2016-01-01", at=("end",))
    raise problem(f"... {name!r} ...", at=("moderation", name), value=name, choices=names)

The result is a ``pydantic_core.PydanticCustomError`` (a ``ValueError``, so code that calls a
check outside validation can catch it as one; ``str(err)`` is the message) of type
:data:`PROBLEM_TYPE` whose context (``err.context``, ``ValidationError.errors()[i]["ctx"]``) is::

    {
        "message": str,                 # for analysts, without any location prefix
        "at": tuple[str | int, ...],    # key the problem is about, relative to the model that
                                        # validates (pydantic's ``loc`` of the error)
        "value": Any,                   # optional: the offending value
        "choices": tuple[str, ...],     # optional: valid values, for a did-you-mean of ``value``
        "explain_set": True,            # optional: the loader may explain the value of a
                                        # timeline ``set`` more precisely (``at`` ends with
                                        # "values", <dotted key>)
    }

A check that runs inside a larger model (a timeline event's ``check``, a component's rules)
gives its location relative to its own object; the caller prefixes it with :func:`within`.
The loader joins ``loc`` and ``at`` into the dotted key and line it reports
(``sim.config.loader``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import PydanticCustomError

__all__ = ["PROBLEM_TYPE", "Part", "is_problem", "problem", "within"]

PROBLEM_TYPE = "propsim"
Part = str | int


def problem(
    message: str,
    at: Sequence[Part] = (),
    *,
    value: Any = None,
    choices: Sequence[str] | None = None,
    explain_set: bool = False,
) -> PydanticCustomError:
    """The error to raise from a validator: ``message`` about the key at ``at`` (relative)."""
    context: dict[str, Any] = {"message": message, "at": tuple(at)}
    if value is not None:
        context["value"] = value
    if choices is not None:
        context["choices"] = tuple(str(c) for c in choices)
    if explain_set:
        context["explain_set"] = True
    return PydanticCustomError(PROBLEM_TYPE, "{message}", context)


def is_problem(err: BaseException) -> bool:
    """Whether ``err`` was made by :func:`problem`."""
    return isinstance(err, PydanticCustomError) and err.type == PROBLEM_TYPE


def within(prefix: Sequence[Part], err: ValueError) -> PydanticCustomError:
    """``err`` located below ``prefix``: a :func:`problem` gets ``prefix`` before its ``at``;
    any other ``ValueError`` (a check not written with :func:`problem`) becomes a problem about
    ``prefix`` itself, with its text as the message."""
    if is_problem(err):
        assert isinstance(err, PydanticCustomError)
        context = dict(err.context or {})
        context["at"] = (*prefix, *context.get("at", ()))
        return PydanticCustomError(PROBLEM_TYPE, "{message}", context)
    return problem(str(err), prefix)
