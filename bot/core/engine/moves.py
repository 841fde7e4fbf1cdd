"""Facilitator moves: next, skip, decide, back, cancel. Each is version-checked by the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.core import tally
from bot.core.dialogue.load import Question
from bot.core.engine.plans import SYSTEM_USER, Context, Plan, SaveMove, may_steer, not_facilitator, refuse
from bot.core.messages import Audience, CardMode, Event, Message, Notice, SummaryCard, Tone
from bot.core.reminders import Kind, Reminder, State, finish_reminders, for_check
from bot.core.session import CANCELLED, END, FINISHED, SessionRecord
from bot.core.summary import build_summary, revisit_date
from bot.core.views import Lens, closed_report, header_card, question_card


def moved_copy(record: SessionRecord) -> SessionRecord:
    """A copy to change; the store bumps the version when it writes."""
    meta = replace(record.meta, path=list(record.meta.path), skipped=list(record.meta.skipped))
    return replace(record, meta=meta)


def _advance(ctx: Context, lens: Lens, record: SessionRecord, event: Event, skip: bool) -> Plan:
    if not may_steer(ctx, record, event):
        return not_facilitator(lens, record, "action_skip" if skip else "action_next")
    current = record.meta.state
    if event.question_id and event.question_id != current:
        return refuse(lens, "stale_button")
    question = ctx.dialogue.question(current)
    new = moved_copy(record)
    if question.is_decision:
        if skip:
            return refuse(lens, "cannot_skip_decision")
        decision = event.value or new.meta.decision or tally.plurality(question, record.answers_to(current))
        if decision is None:
            return refuse(lens, "decision_needed", tally=_decision_tally(lens, question, record))
        new.meta.decision = decision
    elif skip and current not in new.meta.skipped:
        new.meta.skipped.append(current)
    new.meta.updated_at = ctx.now.timestamp()
    target = ctx.flow.next_of(current, tally.SessionFacts(ctx.dialogue, new))
    messages: list[Message] = []
    if question.is_decision:
        messages.append(
            Notice(
                lens.t("decided", decision=lens.decision_label(new.meta.decision)),
                Audience.THREAD,
                Tone.SUCCESS,
            )
        )
    if event.user == SYSTEM_USER:
        quorum = record.meta.quorum
        messages.append(Notice(lens.t("auto_advanced", quorum=quorum, n=quorum), Audience.THREAD))
    if target == END:
        new.meta.state = END
        new.meta.status = FINISHED
        new.meta.finished_at = ctx.now.timestamp()
        revisit = revisit_date(lens, new, ctx.now.date())
        new.meta.revisit = revisit.isoformat() if revisit else None
    else:
        new.meta.state = target
        new.meta.path.append(target)
    messages += [
        question_card(lens, new, current, CardMode.UPDATE),
        Notice(closed_report(lens, new, current), Audience.THREAD),
    ]
    reminders: list[Reminder]
    if target == END:
        reminders = finish_reminders(
            channel=new.meta.channel,
            session_id=new.id,
            decision=new.meta.decision,
            revisit=date.fromisoformat(new.meta.revisit) if new.meta.revisit else None,
            now=ctx.now.timestamp(),
            zone=ctx.zone,
            summary_grace=ctx.summary_grace,
        ) + [nudge(ctx, new, current, done=True)]
        summary = replace(build_summary(lens, new), revisit_scheduled=any(r.kind is Kind.REVISIT for r in reminders))
        messages += [
            Notice(lens.t("finished"), Audience.THREAD, Tone.SUCCESS),
            SummaryCard(summary, Audience.CHANNEL, outbox_job=reminders[0].id),
            header_card(lens, new, CardMode.UPDATE),
        ]
    else:
        reminders = [nudge(ctx, new, target), nudge(ctx, new, current, done=True)]
        messages += [question_card(lens, new, target, CardMode.POST), header_card(lens, new, CardMode.UPDATE)]
    return SaveMove(new, record.version, messages, reminders)


def nudge(ctx: Context, record: SessionRecord, question_id: str, done: bool = False) -> Reminder:
    """The one nudge a question gets if it is still open SMC_NUDGE_AFTER from now (same id every time);
    ``done``: the check left the question, so its nudge is settled (and never comes for it again)."""
    due = ctx.now.timestamp() + ctx.nudge_after
    planned = for_check(Kind.NUDGE, record.meta.channel, record.id, due, question_id)
    return replace(planned, state=State.DONE) if done else planned


def _decision_tally(lens: Lens, question: Question, record: SessionRecord) -> str:
    counted = tally.counts(question, record.answers_to(question.id))
    if not counted:
        return lens.t("no_votes")
    return ", ".join(f"{lens.decision_label(question.options[n - 1].value)}: {c}" for n, c in sorted(counted.items()))


def next_question(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    return _advance(ctx, lens, record, event, skip=False)


def skip(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    return _advance(ctx, lens, record, event, skip=True)


def decide(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    if not may_steer(ctx, record, event):
        return not_facilitator(lens, record, "action_decide")
    if not ctx.dialogue.question(record.meta.state).is_decision:
        return refuse(lens, "decide_not_here")
    return _advance(ctx, lens, record, event, skip=False)


def back(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    if not may_steer(ctx, record, event):
        return not_facilitator(lens, record, "action_back")
    current = record.meta.state
    if event.question_id and event.question_id != current:
        return refuse(lens, "stale_button")
    if len(record.meta.path) < 2:
        return refuse(lens, "at_start")
    new = moved_copy(record)
    new.meta.path.pop()
    previous = new.meta.path[-1]
    new.meta.state = previous
    new.meta.updated_at = ctx.now.timestamp()
    if previous in new.meta.skipped:
        new.meta.skipped.remove(previous)
    if ctx.dialogue.question(previous).is_decision:
        new.meta.decision = None  # going back to the decision reopens it
    messages: list[Message] = [
        question_card(lens, new, current, CardMode.UPDATE),
        question_card(lens, new, previous, CardMode.POST),
        header_card(lens, new, CardMode.UPDATE),
    ]
    return SaveMove(new, record.version, messages, [nudge(ctx, new, previous), nudge(ctx, new, current, done=True)])


def cancel(ctx: Context, lens: Lens, record: SessionRecord, event: Event) -> Plan:
    if not may_steer(ctx, record, event):
        return not_facilitator(lens, record, "action_cancel")
    new = moved_copy(record)
    new.meta.status = CANCELLED
    new.meta.updated_at = ctx.now.timestamp()
    name = event.user_name or event.user
    messages: list[Message] = [
        question_card(lens, new, record.meta.state, CardMode.UPDATE),
        header_card(lens, new, CardMode.UPDATE, cancelled_by=name),
        Notice(lens.t("cancelled", name=name, days=ctx.session_ttl_days, n=ctx.session_ttl_days), Audience.CHANNEL),
    ]
    return SaveMove(new, record.version, messages, [nudge(ctx, new, record.meta.state, done=True)])


def cancelled_copy(record: SessionRecord, ctx: Context) -> SessionRecord:
    new = moved_copy(record)
    new.meta.status = CANCELLED
    new.meta.updated_at = ctx.now.timestamp()
    return new
