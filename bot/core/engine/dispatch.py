"""The dialogue engine: pure. An event and the session as stored go in; what to write and what
to say come out. No Redis, no network, no platform SDK.

Writes are described, not done (:class:`Plan`), because the store performs them atomically:
answers and notes in one round trip each (the store checks that the question is still open),
facilitator moves with a version check (two ``next`` at the same moment advance once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from bot.core import tally
from bot.core.commands import parse_choices
from bot.core.dialogue.load import Question
from bot.core.engine import moves
from bot.core.engine.plans import (
    MAX_DATE_AHEAD,
    SYSTEM_USER,
    AddNote,
    Context,
    CreateCheck,
    Plan,
    RecordAnswer,
    ReplaceCheck,
    Reply,
    may_steer,
    not_facilitator,
    refuse,
)
from bot.core.messages import (
    Action,
    Audience,
    CardMode,
    Event,
    EventKind,
    Message,
    Notice,
    SummaryCard,
    TallyChanged,
    Tone,
)
from bot.core.numbers import has_non_ascii_digits
from bot.core.session import FINISHED, RUNNING, Answer, Note, SessionMeta, SessionRecord, user_key
from bot.core.summary import build_summary
from bot.core.views import Lens, facilitator_label, header_card, question_card, status_text

__all__ = ["SYSTEM_USER", "Context", "Lens", "Plan", "after_answer", "after_note", "plan", "prepare_answer"]


def plan(ctx: Context, record: SessionRecord | None, event: Event) -> Plan:
    """Decide what ``event`` does to the running check ``record`` (None when none runs)."""
    if event.kind is EventKind.HELP:
        lens = ctx.lens(event.language or (record.meta.language if record else None))
        return Reply([Notice(lens.t("help"), Audience.EPHEMERAL)])
    if record is None or record.meta.status != RUNNING:
        return _without_running(ctx, record, event)
    lens = ctx.lens(record.meta.language)
    if event.session_id and event.session_id != record.id:
        return refuse(lens, "stale_button")
    handler = _HANDLERS.get(event.kind)
    if handler is None:  # START / SHOW while one runs
        return _already_running(ctx, lens, record, event)
    return handler(ctx, lens, record, event)


def _without_running(ctx: Context, last: SessionRecord | None, event: Event) -> Plan:
    lens = ctx.lens(event.language or (last.meta.language if last else None))
    if event.kind in (EventKind.START, EventKind.SHOW, EventKind.RESTART):
        return _create(ctx, event, None)
    if event.session_id:  # a button of a check that is over
        return refuse(lens, "check_closed" if last and last.meta.status == FINISHED else "stale_button")
    if event.kind is EventKind.SUMMARY and last is not None and last.meta.status == FINISHED:
        return Reply([SummaryCard(build_summary(ctx.lens(last.meta.language), last), Audience.EPHEMERAL)])
    return refuse(lens, "no_check")


def _create(ctx: Context, event: Event, old: SessionRecord | None) -> CreateCheck | ReplaceCheck | Reply:
    language = event.language or (old.meta.language if old else None)
    lens = ctx.lens(language)
    now = ctx.now.timestamp()
    anonymous = event.anonymous or (old.meta.anonymous if old else False)
    channel = ctx.channel or (old.meta.channel if old else "")
    meta = SessionMeta(
        id=ctx.new_id(channel),
        channel=channel,
        dialogue=ctx.dialogue.id,
        language=lens.language,
        facilitator="",
        facilitator_name="" if anonymous else (event.user_name or event.user),  # no names in an anonymous check
        anonymous=anonymous,
        salt=ctx.new_salt() if anonymous else "",
        quorum=event.quorum if event.quorum is not None else (old.meta.quorum if old else None),
        state=ctx.dialogue.start,
        path=[ctx.dialogue.start],
        created_at=now,
        updated_at=now,
    )
    meta.facilitator = user_key(meta, event.user)
    record = SessionRecord(meta=meta)
    messages: list[Message] = []
    if old is not None:
        restarted = lens.t("restarted", name=event.user_name or event.user)
        messages.append(Notice(restarted, Audience.CHANNEL, session_id=old.id))
    messages += [
        header_card(lens, record, CardMode.POST),
        Notice(lens.t("started", name=event.user_name or event.user), Audience.THREAD, session_id=meta.id),
        question_card(lens, record, meta.state, CardMode.POST),
    ]
    if old is not None:
        return ReplaceCheck(record, old.id, messages)
    return CreateCheck(record, messages)


def _already_running(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    number = len(record.meta.path)
    text = lens.t(
        "already_running", number=number, total=_total(lens, record), facilitator=facilitator_label(lens, record.meta)
    )
    notice = Notice(text + "\n" + status_text(lens, record), Audience.EPHEMERAL)
    if event.kind is EventKind.START and may_steer(ctx, record, event):
        notice = replace(
            notice,
            text=notice.text + "\n" + lens.t("restart_hint"),
            actions=(Action(EventKind.RESTART, lens.t("restart_confirm_button"), "danger", "confirm"),),
            session_id=record.id,
        )
    return Reply([notice])


def _total(lens: Lens, record: SessionRecord) -> int:
    return len(record.meta.path) + lens.flow.remaining(record.meta.state, tally.SessionFacts(lens.dialogue, record))


def prepare_answer(ctx: Context, lens: Lens, meta: SessionMeta, event: Event, question_id: str) -> Plan:
    """Validate an answer against the question's definition. Needs only immutable session facts,
    so a button click can be recorded without reading the session first."""
    question = ctx.dialogue.questions.get(question_id)
    if question is None:
        return refuse(lens, "stale_button")
    number = len(meta.path) if meta.state == question_id else 0
    answer_or_error = _parse_answer(ctx, lens, question, event, number)
    if isinstance(answer_or_error, Reply):
        return answer_or_error
    return RecordAnswer(
        question_id=question_id,
        user=user_key(meta, event.user),
        name=None if meta.anonymous else (event.user_name or event.user),
        answer=answer_or_error,
        toggle=event.choices[0] if event.toggle and question.kind == "multi" and len(event.choices) == 1 else None,
    )


def _parse_answer(ctx: Context, lens: Lens, question: Question, event: Event, number: int) -> Answer | Reply:
    at = ctx.now.timestamp()
    text = event.text.strip()
    if question.has_options:
        choices = event.choices or parse_choices(text) or ()
        size = len(question.options)
        multi = question.kind == "multi"
        valid = bool(choices) and all(1 <= c <= size for c in choices) and (multi or len(choices) == 1)
        if not valid:
            hint = lens.t("range_multi" if multi else "range_single", max=size)
            return refuse(lens, "bad_choice", number=number or "", range=hint)
        return Answer(choices=tuple(sorted(set(choices))), at=at)
    if not text:
        return refuse(lens, "needs_text", number=number or "")
    if len(text) > ctx.max_text:
        return refuse(lens, "too_long", max=ctx.max_text)
    if question.kind == "date":
        parsed = parse_when(text, lens.language, ctx.now)
        if parsed is None:
            return refuse(lens, "bad_date", text=text[:80])
        if parsed <= ctx.now.date() or parsed - ctx.now.date() > MAX_DATE_AHEAD:
            return refuse(lens, "date_past")
        return Answer(text=parsed.isoformat(), at=at)
    return Answer(text=text, at=at)


def parse_when(text: str, language: str, now: datetime) -> date | None:
    """A date or a duration in the session's language (or English): "in 18 months", "over 2 jaar"."""
    import dateparser  # slow to import; only date questions need it

    if has_non_ascii_digits(text):  # only ASCII digits are numbers (bot.core.numbers)
        return None
    settings = {"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "future"}
    languages = list(dict.fromkeys([language, "en", "nl"]))
    for candidate in (text, f"in {text}" if language == "en" else f"over {text}"):
        parsed = dateparser.parse(candidate, languages=languages, settings=settings)
        if parsed is not None:
            found: date = parsed.date()
            return found
    return None


def _answer(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    question_id = event.question_id or record.meta.state
    if question_id != record.meta.state:
        return refuse(lens, "stale_button")
    return prepare_answer(ctx, lens, record.meta, event, question_id)


def after_answer(
    ctx: Context, meta: SessionMeta, event: Event, done: RecordAnswer, respondents: int
) -> tuple[list[Message], bool]:
    """Messages once the store recorded an answer; and whether the quorum now moves the check on."""
    lens = ctx.lens(meta.language)
    messages: list[Message] = [TallyChanged(meta.id, done.question_id)]
    if not event.via_button:
        number = len(meta.path) if meta.state == done.question_id else ""
        answer = describe_answer(lens, done.question_id, done.answer)
        messages.append(Notice(lens.t("recorded", number=number, answer=answer), Audience.EPHEMERAL, Tone.SUCCESS))
    question = ctx.dialogue.question(done.question_id)
    advance = bool(meta.quorum and not question.is_decision and respondents >= meta.quorum)
    return messages, advance


def describe_answer(lens: Lens, question_id: str, answer: Answer | None) -> str:
    if answer is None:
        return ""
    if answer.text is not None:
        question = lens.dialogue.question(question_id)
        return lens.format_date(date.fromisoformat(answer.text)) if question.kind == "date" else answer.text
    question = lens.dialogue.question(question_id)
    return ", ".join(
        f"{c}. {lens.dialogue.option_label(lens.language, question_id, question.options[c - 1].value)}"
        for c in answer.choices
        if 1 <= c <= len(question.options)
    )


def _note(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    question_id = event.question_id or record.meta.state
    if question_id not in record.meta.path:
        return refuse(lens, "stale_button")
    text = event.text.strip()
    if not text:
        return refuse(lens, "missing_text", detail="note")
    if len(text) > ctx.max_text:
        return refuse(lens, "too_long", max=ctx.max_text)
    user = user_key(record.meta, event.user)
    return AddNote(
        question_id=question_id,
        user=user,
        name=None if record.meta.anonymous else (event.user_name or event.user),
        note=Note(question=question_id, user=user, text=text, at=ctx.now.timestamp()),
    )


def after_note(ctx: Context, record: SessionRecord, done: AddNote) -> list[Message]:
    lens = ctx.lens(record.meta.language)
    number = record.meta.path.index(done.question_id) + 1
    return [
        Notice(lens.t("note_added", number=number), Audience.EPHEMERAL, Tone.SUCCESS),
        TallyChanged(record.id, done.question_id),
    ]


# --- facilitator moves ----------------------------------------------------------------------


def _restart(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    if not may_steer(ctx, record, event):
        return not_facilitator(lens, record, "action_restart")
    if not event.confirm:
        action = Action(EventKind.RESTART, lens.t("restart_confirm_button"), "danger", "confirm")
        return Reply([Notice(lens.t("restart_confirm"), Audience.EPHEMERAL, actions=(action,), session_id=record.id)])
    plan_ = _create(ctx, replace(event, language=None), record)
    plan_.messages.insert(
        0,
        header_card(
            lens, moves.cancelled_copy(record, ctx), CardMode.UPDATE, cancelled_by=event.user_name or event.user
        ),
    )
    return plan_


def _status(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    """Where the check stands; with ``repost`` (or its button) the open question is posted again, in
    the thread, for when a post was lost on the platform's side or is buried far up."""
    if event.confirm:
        return Reply(
            [
                question_card(lens, record, record.meta.state, CardMode.POST),
                Notice(lens.t("reposted"), Audience.EPHEMERAL, Tone.SUCCESS, session_id=record.id),
            ]
        )
    repost = Action(EventKind.STATUS, lens.t("repost_button"), "default", "confirm")
    return Reply([Notice(status_text(lens, record), Audience.EPHEMERAL, actions=(repost,), session_id=record.id)])


def _summary(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    return Reply([SummaryCard(build_summary(lens, record), Audience.EPHEMERAL)])


_HANDLERS: dict[EventKind, Callable[[Context, Lens, SessionRecord, Event], Plan]] = {
    EventKind.ANSWER: _answer,
    EventKind.NOTE: _note,
    EventKind.STATUS: _status,
    EventKind.NEXT: moves.next_question,
    EventKind.SKIP: moves.skip,
    EventKind.BACK: moves.back,
    EventKind.DECIDE: moves.decide,
    EventKind.SUMMARY: _summary,
    EventKind.CANCEL: moves.cancel,
    EventKind.RESTART: _restart,
}
