"""The dialogue files' schema: typed models that pydantic validates, entry by entry."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
Kind = Literal["scale", "single", "multi", "text", "date"]
RecordField = Literal["decision", "reasons", "owner", "channels", "domain", "revisit", "pilot_scope", "reconsider"]
DECISIONS = ("go", "pilot", "not_now")
END = "end"
MAX_OPTIONS = 12


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class OptionDef(_Model):
    value: Ident
    score: int | None = Field(None, ge=1, le=5)


class Condition(_Model):
    question: Ident | None = None
    is_: tuple[str, ...] | None = Field(None, alias="is")
    unanswered: Ident | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        if self.unanswered is not None and self.question is None and self.is_ is None:
            return self
        if self.unanswered is None and self.question is not None and self.is_:
            return self
        raise ValueError("a condition is either {question: Q, is: [values]} or {unanswered: Q}")


class NextRule(_Model):
    when: Condition | None = None
    goto: Ident


class QuestionDef(_Model):
    id: Ident
    phase: Ident
    theme: Ident
    kind: Kind
    covers: tuple[str, ...] = Field(min_length=1)
    options: tuple[OptionDef, ...] = ()
    next: Ident | tuple[NextRule, ...] | None = None
    record: RecordField | None = None

    @model_validator(mode="after")
    def _options_fit_kind(self) -> QuestionDef:
        if self.kind in ("text", "date"):
            if self.options:
                raise ValueError(f"a {self.kind} question has no options")
            return self
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
        return self


class FlowDef(_Model):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,40}$")]
    version: int = Field(ge=1)
    languages: tuple[Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")], ...] = Field(min_length=1)
    start: Ident
    revisit_defaults: dict[Literal["go", "pilot", "not_now"], str]
    phases: tuple[Ident, ...] = Field(min_length=1)
    themes: tuple[Ident, ...] = Field(min_length=1)
    questions: tuple[QuestionDef, ...] = Field(min_length=1)


Short = Annotated[str, StringConstraints(min_length=1, max_length=60)]


class QuestionText(_Model):
    text: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    help: Annotated[str, StringConstraints(max_length=400)] = ""
    options: dict[str, Short] = {}


class TextsDef(_Model):
    language: str
    title: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    intro: Annotated[str, StringConstraints(min_length=1, max_length=600)]
    phases: dict[str, Short]
    themes: dict[str, Short]
    questions: dict[str, QuestionText]
