"""The dialogue files' schema: typed, frozen structs that msgspec validates, entry by entry."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, field

Ident = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
Kind = Literal["scale", "single", "multi", "text", "date"]
RecordField = Literal["decision", "reasons", "owner", "channels", "domain", "revisit", "pilot_scope", "reconsider"]
DECISIONS = ("go", "pilot", "not_now")
END = "end"
MAX_OPTIONS = 12


class _Model(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The base of every entry: unknown keys are an error (a typo is never silently ignored)."""


class OptionDef(_Model, frozen=True, kw_only=True):
    value: Ident
    score: Annotated[int, Meta(ge=1, le=5)] | None = None


class Condition(_Model, frozen=True, kw_only=True):
    question: Ident | None = None
    is_: tuple[str, ...] | None = field(default=None, name="is")
    unanswered: Ident | None = None

    def __post_init__(self) -> None:
        if self.unanswered is not None and self.question is None and self.is_ is None:
            return
        if self.unanswered is None and self.question is not None and self.is_:
            return
        raise ValueError("a condition is either {question: Q, is: [values]} or {unanswered: Q}")


class NextRule(_Model, frozen=True, kw_only=True):
    when: Condition | None = None
    goto: Ident


class QuestionDef(_Model, frozen=True, kw_only=True):
    id: Ident
    phase: Ident
    theme: Ident
    kind: Kind
    covers: Annotated[tuple[str, ...], Meta(min_length=1)]
    options: tuple[OptionDef, ...] = ()
    next: Ident | tuple[NextRule, ...] | None = None
    record: RecordField | None = None

    def __post_init__(self) -> None:
        if self.kind in ("text", "date"):
            if self.options:
                raise ValueError(f"a {self.kind} question has no options")
            return
        if not 2 <= len(self.options) <= MAX_OPTIONS:
            raise ValueError(f"a {self.kind} question needs 2 to {MAX_OPTIONS} options")
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError("option values must be unique")
        if self.kind == "scale":
            scores = [o.score for o in self.options]
            if any(s is None for s in scores):
                raise ValueError("every option of a scale question needs a score (1..5)")
            if scores != sorted(scores):  # type: ignore[type-var]
                raise ValueError("scale options go from the lowest score to the highest")


class FlowDef(_Model, frozen=True, kw_only=True):
    id: Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_-]{0,40}$")]
    version: Annotated[int, Meta(ge=1)]
    languages: Annotated[tuple[Annotated[str, Meta(pattern=r"^[a-z]{2}$")], ...], Meta(min_length=1)]
    start: Ident
    revisit_defaults: dict[Literal["go", "pilot", "not_now"], str]
    phases: Annotated[tuple[Ident, ...], Meta(min_length=1)]
    themes: Annotated[tuple[Ident, ...], Meta(min_length=1)]
    questions: Annotated[tuple[QuestionDef, ...], Meta(min_length=1)]


Short = Annotated[str, Meta(min_length=1, max_length=60)]


class QuestionText(_Model, frozen=True, kw_only=True):
    text: Annotated[str, Meta(min_length=1, max_length=300)]
    help: Annotated[str, Meta(max_length=400)] = ""
    options: dict[str, Short] = {}


class TextsDef(_Model, frozen=True, kw_only=True):
    language: str
    title: Annotated[str, Meta(min_length=1, max_length=80)]
    intro: Annotated[str, Meta(min_length=1, max_length=600)]
    phases: dict[str, Short]
    themes: dict[str, Short]
    questions: dict[str, QuestionText]
