"""Build the neutral views (question cards, header, status) from a session record. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date

from bot.core import tally
from bot.core.dialogue.flow import Flow
from bot.core.dialogue.load import Dialogue, Question
from bot.core.messages import (
    CardMode,
    HeaderCard,
    OptionView,
    QuestionCard,
    QuestionView,
    Spread,
    TextAnswerView,
)
from bot.core.session import CANCELLED, END, FINISHED, SessionRecord
from bot.core.texts import phrase


@dataclass(frozen=True)
class Lens:
    """A dialogue and its flow seen in one session's language."""

    dialogue: Dialogue
    flow: Flow
    language: str

    @property
    def ui(self) -> Mapping[str, str]:
        return self.dialogue.ui[self.language]

    def t(self, key: str, **values: object) -> str:
        return phrase(self.ui, key, self.language, **values)

    def decision_label(self, value: str | None) -> str:
        return self.t(f"decision_{value}") if value else self.t("undecided")

    def format_date(self, value: date) -> str:
        return format_date(value, format="long", locale=self.language)


def position(lens: Lens, record: SessionRecord, question_id: str) -> tuple[int, int]:
    """(number, total): where ``question_id`` stands on the path, and the path's expected length."""
    path = record.meta.path
    number = path.index(question_id) + 1 if question_id in path else len(path)
    if record.meta.state == END or not path:
        return number, len(path)
    ahead = lens.flow.remaining(record.meta.state, tally.SessionFacts(lens.dialogue, record))
    return number, len(path) + ahead


def names_of(record: SessionRecord, users: list[str]) -> tuple[str, ...]:
    if record.meta.anonymous:
        return ()
    return tuple(record.display_name(u) for u in users)


def spread_of(lens: Lens, question: Question, record: SessionRecord) -> Spread:
    answers = record.answers_to(question.id)
    flagged, reason_key, gap = tally.disagreement(question, answers)
    reason = lens.t(reason_key, gap=gap) if flagged else ""
    if question.kind == "scale":
        positions = tally.scores(question, answers)
        if positions:
            return Spread(
                respondents=len(answers),
                average=round(sum(positions) / len(positions), 2),
                minimum=min(positions),
                maximum=max(positions),
                disagreement=flagged,
                reason=reason,
            )
    return Spread(respondents=len(answers), disagreement=flagged, reason=reason)


def option_views(lens: Lens, question: Question, record: SessionRecord) -> tuple[OptionView, ...]:
    answers = record.answers_to(question.id)
    views = []
    for number, option in enumerate(question.options, start=1):
        voters = [u for u, a in sorted(answers.items(), key=lambda kv: (kv[1].at, kv[0])) if number in a.choices]
        views.append(
            OptionView(
                number=number,
                value=option.value,
                label=lens.dialogue.option_label(lens.language, question.id, option.value),
                count=len(voters),
                voters=names_of(record, voters),
                selected_by_all=bool(answers) and len(voters) == len(answers),
            )
        )
    return tuple(views)


def text_answers(lens: Lens, question: Question, record: SessionRecord) -> tuple[TextAnswerView, ...]:
    answers = sorted(record.answers_to(question.id).items(), key=lambda kv: (kv[1].at, kv[0]))
    result = []
    for user, answer in answers:
        if answer.text is None:
            continue
        text = answer.text
        if question.kind == "date":
            text = lens.format_date(date.fromisoformat(text))
        author = None if record.meta.anonymous else record.display_name(user)
        result.append(TextAnswerView(author=author, text=text))
    return tuple(result)


def question_view(lens: Lens, record: SessionRecord, question_id: str) -> QuestionView:
    question = lens.dialogue.question(question_id)
    texts = lens.dialogue.text(lens.language, question_id)
    number, total = position(lens, record, question_id)
    answers = record.answers_to(question_id)
    respondents = [u for u, _ in sorted(answers.items(), key=lambda kv: (kv[1].at, kv[0]))]
    running_here = record.meta.status not in (FINISHED, CANCELLED) and record.meta.state == question_id
    return QuestionView(
        session_id=record.id,
        question_id=question_id,
        number=number,
        total=total,
        phase=lens.dialogue.texts[lens.language].phases[question.phase],
        theme=lens.dialogue.texts[lens.language].themes[question.theme],
        kind=question.kind,
        text=texts.text,
        help=texts.help,
        options=option_views(lens, question, record),
        respondents=names_of(record, respondents),
        respondent_count=len(answers),
        text_answers=text_answers(lens, question, record) if question.kind in ("text", "date") else (),
        spread=spread_of(lens, question, record),
        notes_count=sum(1 for n in record.notes if n.question == question_id),
        facilitator=record.meta.facilitator_name,
        is_decision=question.is_decision,
        closed=not running_here,
        skipped=question_id in record.meta.skipped,
        anonymous=record.meta.anonymous,
        language=lens.language,
        ui=lens.ui,
    )


def question_card(lens: Lens, record: SessionRecord, question_id: str, mode: CardMode) -> QuestionCard:
    return QuestionCard(view=question_view(lens, record, question_id), mode=mode)


def header_card(lens: Lens, record: SessionRecord, mode: CardMode, cancelled_by: str = "") -> HeaderCard:
    meta = record.meta
    texts = lens.dialogue.texts[lens.language]
    if meta.status == FINISHED:
        revisit = lens.format_date(date.fromisoformat(meta.revisit)) if meta.revisit else lens.t("not_set")
        line = lens.t("header_finished", decision=lens.decision_label(meta.decision), revisit=revisit)
    elif meta.status == CANCELLED:
        line = lens.t("header_cancelled", name=cancelled_by or meta.facilitator_name)
    else:
        number, total = position(lens, record, meta.state)
        line = lens.t(
            "header_running",
            number=number,
            total=total,
            count=len(record.participants()),
            facilitator=meta.facilitator_name,
        )
    return HeaderCard(
        session_id=record.id,
        title=texts.title,
        intro=texts.intro,
        facilitator=meta.facilitator_name,
        language=lens.language,
        anonymous=meta.anonymous,
        quorum=meta.quorum,
        state=meta.status,
        status_line=line,
        mode=mode,
        ui=lens.ui,
    )


def status_text(lens: Lens, record: SessionRecord) -> str:
    meta = record.meta
    number, total = position(lens, record, meta.state)
    question = lens.dialogue.text(lens.language, meta.state).text
    answers = record.answers_to(meta.state)
    if meta.anonymous:
        return lens.t(
            "status_body_anonymous",
            number=number,
            total=total,
            question=question,
            count=len(answers),
            facilitator=meta.facilitator_name,
        )
    ordered = [u for u, _ in sorted(answers.items(), key=lambda kv: (kv[1].at, kv[0]))]
    names = ", ".join(record.display_name(u) for u in ordered) or "–"
    return lens.t(
        "status_body",
        number=number,
        total=total,
        question=question,
        count=len(answers),
        names=names,
        facilitator=meta.facilitator_name,
    )


def closed_report(lens: Lens, record: SessionRecord, question_id: str) -> str:
    """One line after a question closes: how many answered, the spread, and any disagreement."""
    question = lens.dialogue.question(question_id)
    view_spread = spread_of(lens, question, record)
    answers = record.answers_to(question_id)
    number, _ = position(lens, record, question_id)
    if not answers:
        spread = lens.t("nobody_answered")
    elif question.kind == "scale" and view_spread.average is not None:
        spread = lens.t(
            "spread_scale", avg=f"{view_spread.average:.1f}", min=view_spread.minimum, max=view_spread.maximum
        )
    elif question.has_options:
        counted = tally.counts(question, answers).most_common()
        top_count = counted[0][1] if counted else 0
        top = ", ".join(
            lens.dialogue.option_label(lens.language, question_id, question.options[n - 1].value)
            for n, c in counted
            if c == top_count
        )
        spread = lens.t("spread_choice", top=top)
    else:
        spread = lens.t("spread_text", n=len(answers))
    line = lens.t("closed_report", number=number, n=len(answers), spread=spread)
    if view_spread.disagreement:
        line += f" · ⚠ {lens.t('disagreement')}: {view_spread.reason}"
    return line
