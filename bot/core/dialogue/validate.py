"""Validate a dialogue file's data against its schema, and name where the first problem is."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from bot.core.dialogue.yaml_lines import Loc

T = TypeVar("T")

# msgspec names the first problem's place as a path: "... - at `$.questions[3].options`" (a mapping's
# key: "... - at `key` in `$.phases`"); a mapping's value is "[...]", its key unnamed; no path at all
# when the problem is the whole file.
_AT = re.compile(r"^(?P<problem>.*?)(?: - at (?:`key` in )?`\$(?P<path>[^`]*)`)?$", re.DOTALL)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|(\[\.\.\.\])")
_UNKNOWN = re.compile(r"^Object contains unknown field `([^`]+)`$")


class SchemaProblem(ValueError):
    def __init__(self, problem: str, loc: Loc) -> None:
        super().__init__(problem)
        self.problem = problem
        self.loc = loc


def validate(model: type[T], data: Any) -> T:
    """``data`` as ``model``; a :class:`SchemaProblem` with the place in ``data`` when it is not one."""
    try:
        return msgspec.convert(data, model)
    except msgspec.ValidationError as exc:
        message = str(exc)
    found = _AT.match(message)
    problem, path = (found["problem"], found["path"] or "") if found else (message, "")
    loc: Loc = ()
    for key, index, unnamed in _STEP.findall(path):
        if unnamed:
            named = _culprit(model, data, loc, message)
            if named is None:
                break
            loc = (*loc, named)
        else:
            loc = (*loc, key if key else int(index))
    if unknown := _UNKNOWN.match(problem):  # point at the stray key itself, not at its parent
        loc = (*loc, unknown[1])
    raise SchemaProblem(problem[:1].lower() + problem[1:], loc)


def _culprit(model: type[Any], data: Any, loc: Loc, message: str) -> str | None:
    """The key of the mapping at ``loc`` whose entry alone fails the same way (msgspec does not name it)."""
    node = _at(data, loc)
    if not isinstance(node, dict):
        return None
    for key, value in node.items():
        try:
            msgspec.convert(_with(data, loc, {key: value}), model)
        except msgspec.ValidationError as exc:
            if str(exc) == message:
                return str(key)
    return None


def _at(data: Any, loc: Loc) -> Any:
    for part in loc:
        data = data[part]
    return data


def _with(data: Any, loc: Loc, new: Any) -> Any:
    """A copy of ``data`` with the node at ``loc`` replaced (only the path to it is copied)."""
    if not loc:
        return new
    head, rest = loc[0], loc[1:]
    if isinstance(data, dict):
        return {**data, head: _with(data[head], rest, new)}
    copy = list(data)
    copy[int(head)] = _with(data[int(head)], rest, new)
    return copy
