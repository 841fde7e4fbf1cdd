"""The summary of a check: per theme average and spread, disagreements, concerns, the decision."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.core import tally
from bot.core.dialogue.load import Question
from bot.core.messages import DecisionView, NoteView, QuestionResult, Summary, ThemeResult
from bot.core.session import FINISHED, Answer, SessionRecord
from bot.core.views import Lens, names_of, option_views, position, spread_of, text_answers

SCALE_MAX = 5


def build_summary(lens: Lens, record: SessionRecord) -> Summary:
    dialogue = lens.dialogue
    path = [q for q in record.meta.path if q in dialogue.questions]
    results = tuple(_question_result(lens, record, dialogue.question(q)) for q in path)
    themes = tuple(
        _theme_result(lens, record, theme, [dialogue.question(q) for q in path if dialogue.question(q).theme == theme])
        for theme in dialogue.themes
        # a theme gets a score only through its scale questions; the others are listed per question
        if any(dialogue.question(q).theme == theme and dialogue.question(q).kind == "scale" for q in path)
    )
    concerns = tuple(
        NoteView(
            author=None if record.meta.anonymous else record.display_name(note.user),
            question=dialogue.text(lens.language, note.question).text if note.question in dialogue.questions else "",
            text=note.text,
        )
        for note in record.notes
    )
    participants = record.participants()
    return Summary(
        session_id=record.id,
        title=dialogue.texts[lens.language].title,
        language=lens.language,
        final=record.meta.status == FINISHED,
        themes=themes,
        questions=results,
        concerns=concerns,
        decision=decision_view(lens, record),
        participants=names_of(record, participants),
        participant_count=len(participants),
        anonymous=record.meta.anonymous,
        ui=lens.ui,
        date_text=lens.format_date(check_day(record)),
    )


def check_day(record: SessionRecord) -> date:
    """The day a check finished (or, while it runs, was last moved on)."""
    meta = record.meta
    return datetime.fromtimestamp(meta.finished_at or meta.updated_at or meta.created_at, tz=UTC).date()


def _question_result(lens: Lens, record: SessionRecord, question: Question) -> QuestionResult:
    number, _ = position(lens, record, question.id)
    return QuestionResult(
        question_id=question.id,
        number=number,
        text=lens.dialogue.text(lens.language, question.id).text,
        kind=question.kind,
        theme=lens.dialogue.texts[lens.language].themes[question.theme],
        options=option_views(lens, question, record),
        text_answers=text_answers(lens, question, record),
        spread=spread_of(lens, question, record),
        unanswered=not record.answers_to(question.id),
        skipped=question.id in record.meta.skipped,
    )


def _theme_result(lens: Lens, record: SessionRecord, theme: str, questions: list[Question]) -> ThemeResult:
    scales = [q for q in questions if q.kind == "scale"]
    all_scores: list[int] = []
    per_person: dict[str, list[int]] = {}
    for question in scales:
        for user, answer in record.answers_to(question.id).items():
            score = _score(question, answer)
            if score is not None:
                all_scores.append(score)
                per_person.setdefault(user, []).append(score)
    person_means = [sum(v) / len(v) for v in per_person.values()]
    flagged = tuple(
        lens.dialogue.text(lens.language, q.id).text
        for q in questions
        if tally.disagreement(q, record.answers_to(q.id))[0]
    )
    return ThemeResult(
        theme_id=theme,
        title=lens.dialogue.texts[lens.language].themes[theme],
        average=round(sum(all_scores) / len(all_scores), 2) if all_scores else None,
        minimum=round(min(person_means), 2) if person_means else None,
        maximum=round(max(person_means), 2) if person_means else None,
        scale_max=SCALE_MAX,
        questions=len(questions),
        answered=sum(1 for q in questions if record.answers_to(q.id)),
        disagreements=flagged,
        scores=tuple(sorted(round(mean, 2) for mean in person_means)),
    )


def _score(question: Question, answer: Answer) -> int | None:
    if not answer.choices or not 1 <= answer.choices[0] <= len(question.options):
        return None
    return question.options[answer.choices[0] - 1].score


# --- the decision record ---------------------------------------------------------------------


def _record_questions(lens: Lens, record: SessionRecord, field: str) -> list[Question]:
    """Questions on the path that feed ``field`` of the decision record, latest first."""
    questions = [lens.dialogue.question(q) for q in record.meta.path if q in lens.dialogue.questions]
    return [q for q in reversed(questions) if q.record == field]


def _chosen_answer(record: SessionRecord, question: Question) -> Answer | None:
    """The facilitator's answer when they gave one, else the most recent answer."""
    answers = record.answers_to(question.id)
    if not answers:
        return None
    if record.meta.facilitator in answers:
        return answers[record.meta.facilitator]
    return max(answers.values(), key=lambda a: a.at)


def record_text(lens: Lens, record: SessionRecord, field: str) -> str:
    for question in _record_questions(lens, record, field):
        answer = _chosen_answer(record, question)
        if answer is not None and answer.text:
            return answer.text
    return ""


def record_choices(lens: Lens, record: SessionRecord, field: str) -> tuple[str, ...]:
    """Options chosen by at least half of those who answered (at least the most chosen one)."""
    for question in _record_questions(lens, record, field):
        answers = record.answers_to(question.id)
        if not answers:
            continue
        counted = tally.counts(question, answers)
        keep = [n for n, c in counted.items() if c * 2 >= len(answers)] or [counted.most_common(1)[0][0]]
        return tuple(
            lens.dialogue.option_label(lens.language, question.id, question.options[n - 1].value) for n in sorted(keep)
        )
    return ()


def revisit_date(lens: Lens, record: SessionRecord, today: date) -> date | None:
    """The chosen revisit date, or the dialogue's default for the decision, counted from ``today``."""
    chosen = record_text(lens, record, "revisit")
    if chosen:
        return date.fromisoformat(chosen)
    decision = record.meta.decision
    if decision and decision in lens.dialogue.revisit_defaults:
        revisit: date = today + lens.dialogue.revisit_defaults[decision]
        return revisit
    return None


def decision_view(lens: Lens, record: SessionRecord) -> DecisionView:
    meta = record.meta
    decision = meta.decision
    if decision is None:
        question = lens.dialogue.decision_question
        decision_guess = tally.plurality(question, record.answers_to(question.id))
    else:
        decision_guess = decision
    if meta.revisit:
        revisit: date | None = date.fromisoformat(meta.revisit)
    else:
        started = datetime.fromtimestamp(meta.updated_at or meta.created_at, tz=UTC).date()
        revisit = revisit_date(lens, record, started) if decision else None
    reasons_q = _record_questions(lens, record, "reasons")
    reasons = tuple(
        a.text for q in reasons_q for a in sorted(record.answers_to(q.id).values(), key=lambda a: a.at) if a.text
    )
    return DecisionView(
        value=decision_guess,
        label=lens.decision_label(decision_guess),
        confirmed=decision is not None,
        reasons=reasons,
        owner=record_text(lens, record, "owner"),
        channels=record_choices(lens, record, "channels"),
        domain=record_choices(lens, record, "domain"),
        pilot_scope=record_text(lens, record, "pilot_scope"),
        reconsider=record_text(lens, record, "reconsider"),
        revisit=revisit,
        revisit_text=lens.format_date(revisit) if revisit else lens.t("not_set"),
    )
