"""Build the neutral views (question cards, header, status) from a session record. Pure.

What a card prints is decided here, in the check's language, with every number formatted by
:mod:`bot.core.report`: a question's tally in its buttons' own numbering ("2 × Well, 1 × Partly ·
⌀ 2.7 of 3"), and where the check stands as a question number and a phase ("Question 22 · Decision
(phase 4 of 5)"). Both stay true when a branch drops questions; the card says which phase was skipped
and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.core import tally
from bot.core.dialogue.flow import Facts, Flow
from bot.core.dialogue.load import Dialogue, Question
from bot.core.dialogue.schema import Condition
from bot.core.messages import (
    CardMode,
    HeaderCard,
    OptionView,
    QuestionCard,
    QuestionView,
    Spread,
    TextAnswerView,
)
from bot.core.report import fmt_chosen, fmt_score
from bot.core.session import CANCELLED, END, FINISHED, Answer, SessionMeta, SessionRecord
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
        from babel.dates import format_date  # the whole locale's data: loaded when a date is first shown

        return format_date(value, format="long", locale=self.language)


def position(lens: Lens, record: SessionRecord, question_id: str) -> tuple[int, int]:
    """(number, total): where ``question_id`` stands on the path, and the path's expected length.

    The number never changes once a question is asked; the total is a projection that moves with the
    answers (a branch), so cards say the phase instead (:func:`progress_text`)."""
    path = record.meta.path
    number = path.index(question_id) + 1 if question_id in path else len(path)
    if record.meta.state == END or not path:
        return number, len(path)
    ahead = lens.flow.remaining(record.meta.state, tally.SessionFacts(lens.dialogue, record))
    return number, len(path) + ahead


def progress_text(lens: Lens, record: SessionRecord, question_id: str) -> str:
    """``Question 22 · Decision (phase 4 of 5)``: the question's own number and its phase among the
    dialogue's phases, which no branch renumbers (a skipped phase keeps its number)."""
    number, total = position(lens, record, question_id)
    phase = lens.dialogue.question(question_id).phase
    return lens.t(
        "progress",
        number=number,
        total=total,  # for a team's own catalogue that still says "of {total}"
        phase=lens.dialogue.texts[lens.language].phases[phase],
        phase_number=lens.dialogue.phases.index(phase) + 1,
        phases=len(lens.dialogue.phases),
    )


def skip_note(lens: Lens, record: SessionRecord, question_id: str) -> str:
    """Why a whole phase is passed over here, or empty: said on the first question after the jump
    ("What and how far (phase 3) skipped: the team answered “Not now” to question 21."), and ahead of
    it on the open question whose answers make Next jump."""
    facts = tally.SessionFacts(lens.dialogue, record)
    path = record.meta.path
    if question_id in path and path.index(question_id) > 0:
        note = _jump_note(lens, record, facts, path[path.index(question_id) - 1], question_id, ahead=False)
        if note:
            return note
    if record.meta.status not in (FINISHED, CANCELLED) and record.meta.state == question_id:
        target = lens.flow.next_of(question_id, facts)
        if target != END:
            return _jump_note(lens, record, facts, question_id, target, ahead=True)
    return ""


def _jump_note(lens: Lens, record: SessionRecord, facts: Facts, source: str, target: str, ahead: bool) -> str:
    phases = lens.dialogue.phases
    first = phases.index(lens.dialogue.question(source).phase)
    last = phases.index(lens.dialogue.question(target).phase)
    if last - first < 2:
        return ""
    titles = lens.dialogue.texts[lens.language].phases
    skipped = ", ".join(
        lens.t("phase_label", phase=titles[p], phase_number=phases.index(p) + 1) for p in phases[first + 1 : last]
    )
    rule = next((r for r in lens.dialogue.question(source).rules if r.when is None or _holds(r.when, facts)), None)
    why = rule.when if rule is not None and rule.goto == target else None
    if why is None or why.question is None:
        return "" if ahead else lens.t("phase_skipped_plain", phases=skipped)
    chosen = facts.result(why.question)
    answer = lens.dialogue.option_label(lens.language, why.question, chosen) if chosen else ""
    number, _ = position(lens, record, why.question)
    return lens.t("phase_skips" if ahead else "phase_skipped", phases=skipped, answer=answer, number=number)


def _holds(condition: Condition, facts: Facts) -> bool:
    """A branch condition of the dialogue, read as the flow reads it (bot.core.dialogue.flow)."""
    if condition.unanswered is not None:
        return not facts.answered(condition.unanswered)
    return facts.result(condition.question or "") in (condition.is_ or ())


def facilitator_label(lens: Lens, meta: SessionMeta) -> str:
    """The facilitator as the surfaces name them: not in an anonymous check (no name is stored there),
    nor once they had themselves forgotten (``forget-me``)."""
    name = "" if meta.anonymous else meta.facilitator_name
    return name or lens.t("facilitator_unnamed")


def names_of(record: SessionRecord, users: list[str]) -> tuple[str, ...]:
    if record.meta.anonymous:
        return ()
    return tuple(record.display_name(u) for u in users)


def spread_of(lens: Lens, question: Question, record: SessionRecord) -> Spread:
    """Who answered, the disagreement rule, and for a scale question the mean of the chosen buttons'
    numbers (1 = the first option): the scale people answered on, not the themes' hidden scores."""
    answers = record.answers_to(question.id)
    flagged, reason_key, gap = tally.disagreement(question, answers)
    reason = lens.t(reason_key, gap=gap, n=gap) if flagged else ""
    if question.kind == "scale":
        numbers = [step + 1 for step in tally.steps(question, answers)]
        if numbers:
            return Spread(
                respondents=len(answers),
                average=round(sum(numbers) / len(numbers), 2),
                minimum=min(numbers),
                maximum=max(numbers),
                disagreement=flagged,
                reason=reason,
            )
    return Spread(respondents=len(answers), disagreement=flagged, reason=reason)


def chosen_text(lens: Lens, options: Sequence[OptionView]) -> str:
    """``2 × Well, 1 × Partly``: what people chose, most chosen first."""
    return fmt_chosen([(o.label, o.count) for o in options], lens.language, lens.ui)


def mean_text(lens: Lens, question: Question, spread: Spread) -> str:
    """``⌀ 2.7 of 3`` for a scale question somebody answered, in its buttons' numbering; else empty."""
    if spread.average is None or question.kind != "scale":
        return ""
    return fmt_score(spread.average, len(question.options), lens.language, lens.ui)


def in_order(answers: Mapping[str, Answer]) -> list[tuple[str, Answer]]:
    """Who answered and what, first answer first."""
    return sorted(answers.items(), key=lambda kv: (kv[1].at, kv[0]))


def option_views(lens: Lens, question: Question, record: SessionRecord) -> tuple[OptionView, ...]:
    answers = record.answers_to(question.id)
    # One pass over the answers for all options: a card is drawn at every tally window's close,
    # with the whole crowd on the question.
    voters: dict[int, list[str]] = {number: [] for number in range(1, len(question.options) + 1)}
    for user, answer in in_order(answers):
        for choice in dict.fromkeys(answer.choices):  # an option counted once per person
            if choice in voters:
                voters[choice].append(user)
    return tuple(
        OptionView(
            number=number,
            value=option.value,
            label=lens.dialogue.option_label(lens.language, question.id, option.value),
            count=len(voters[number]),
            voters=names_of(record, voters[number]),
            selected_by_all=bool(answers) and len(voters[number]) == len(answers),
        )
        for number, option in enumerate(question.options, start=1)
    )


def text_answers(lens: Lens, question: Question, record: SessionRecord) -> tuple[TextAnswerView, ...]:
    answers = in_order(record.answers_to(question.id))
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
    respondents = [u for u, _ in in_order(answers)]
    running_here = record.meta.status not in (FINISHED, CANCELLED) and record.meta.state == question_id
    options = option_views(lens, question, record)
    spread = spread_of(lens, question, record)
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
        options=options,
        respondents=names_of(record, respondents),
        respondent_count=len(answers),
        text_answers=text_answers(lens, question, record) if question.kind in ("text", "date") else (),
        spread=spread,
        notes_count=sum(1 for n in record.notes if n.question == question_id),
        facilitator=facilitator_label(lens, record.meta),
        is_decision=question.is_decision,
        closed=not running_here,
        skipped=question_id in record.meta.skipped,
        anonymous=record.meta.anonymous,
        language=lens.language,
        ui=lens.ui,
        progress=progress_text(lens, record, question_id),
        progress_note=skip_note(lens, record, question_id),
        chosen=chosen_text(lens, options),
        mean=mean_text(lens, question, spread),
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
        line = lens.t("header_cancelled", name=cancelled_by or facilitator_label(lens, meta))
    else:
        number, total = position(lens, record, meta.state)
        line = lens.t(
            "header_running",
            progress=progress_text(lens, record, meta.state),
            number=number,
            total=total,
            count=len(record.participants()),
            facilitator=facilitator_label(lens, meta),
        )
    return HeaderCard(
        session_id=record.id,
        title=texts.title,
        intro=texts.intro,
        facilitator=facilitator_label(lens, meta),
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
            progress=progress_text(lens, record, meta.state),
            number=number,
            total=total,
            question=question,
            count=len(answers),
            facilitator=facilitator_label(lens, meta),
        )
    ordered = [u for u, _ in sorted(answers.items(), key=lambda kv: (kv[1].at, kv[0]))]
    names = ", ".join(record.display_name(u) for u in ordered) or "–"
    return lens.t(
        "status_body",
        progress=progress_text(lens, record, meta.state),
        number=number,
        total=total,
        question=question,
        count=len(answers),
        names=names,
        facilitator=facilitator_label(lens, meta),
    )


def closed_report(lens: Lens, record: SessionRecord, question_id: str) -> str:
    """One line after a question closes: how many answered, what they chose (with the mean in the
    buttons' numbering on a scale question), and any disagreement."""
    question = lens.dialogue.question(question_id)
    view_spread = spread_of(lens, question, record)
    answers = record.answers_to(question_id)
    number, _ = position(lens, record, question_id)
    if not answers:
        spread = lens.t("nobody_answered")
    elif question.has_options:
        chosen = chosen_text(lens, option_views(lens, question, record))
        spread = " · ".join(part for part in (chosen, mean_text(lens, question, view_spread)) if part)
    else:
        spread = lens.t("spread_text", n=len(answers))
    line = lens.t("closed_report", number=number, n=len(answers), spread=spread)
    if view_spread.disagreement:
        line += f" · ⚠ {lens.t('disagreement')}: {view_spread.reason}"
    return line
