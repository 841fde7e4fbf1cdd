"""After the summary: revisit dates, reminders and their buttons, history, and what a due reminder says.

:class:`FollowUps` is the service side of bot.core.reminders and bot.core.followup_views, the way
:class:`bot.service.CheckService` is for a running check: it reads the store, decides with the pure
core, writes once, and returns neutral messages. The scheduler (bot.runtime.scheduler) asks it what a
due reminder posts; the chat commands ``revisit``, ``reminders``, ``reminder`` and ``history`` land here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from bot.core import followup_views as views
from bot.core.engine.plans import Context
from bot.core.messages import Audience, ChannelKey, Event, EventKind, Message, Notice, Summary, SummaryCard, Tone
from bot.core.reminders import (
    Kind,
    Reminder,
    State,
    check_moment,
    for_check,
    is_reminder_id,
    later,
    parse_moment,
    reminder_id,
)
from bot.core.session import FINISHED, RUNNING, SessionRecord, user_key
from bot.core.summary import build_summary, check_day
from bot.core.views import Lens

log = logging.getLogger(__name__)


class ReminderStoreLike(Protocol):
    """bot.store.reminders.ReminderStore, as the follow-ups use it."""

    def schedule(self, reminders: list[Reminder]) -> int: ...
    def reschedule(self, reminder: Reminder, due: float) -> bool: ...
    def settle(self, reminder_id: str, channel: str, state: State) -> bool: ...
    def get(self, reminder_id: str, channel: str = "") -> Reminder | None: ...
    def of_channel(self, channel: str) -> list[Reminder]: ...


class Written(Protocol):
    """What a store write answers (bot.store.results.WriteResult): "ok", or why not."""

    @property
    def status(self) -> str: ...


class FollowUpStore(Protocol):
    """What the follow-ups need of bot.store.store.Store."""

    @property
    def reminders(self) -> ReminderStoreLike: ...
    def load(self, session_id: str) -> SessionRecord | None: ...
    def history(self, channel: str, limit: int = 20, offset: int = 0) -> list[SessionRecord]: ...
    def history_size(self, channel: str) -> int: ...
    def record_checkin(self, session_id: str, question: str, user: str, choice: int) -> int: ...
    def save_meta(
        self, record: SessionRecord, expected_version: int, reminders: Sequence[Reminder] = ...
    ) -> Written: ...


# Starts a check like an earlier one (the same language and anonymity); True when it was created.
StartCheck = Callable[[ChannelKey, Event], tuple[list[Message], bool]]


class FollowUps:
    def __init__(
        self, store: FollowUpStore, context: Callable[[ChannelKey | None], Context], start: StartCheck
    ) -> None:
        self._store = store
        self._context = context
        self._start = start

    # --- chat commands and buttons ------------------------------------------------------------------

    def handle(self, channel: ChannelKey, event: Event) -> list[Message]:
        ctx = self._context(channel)
        if event.kind is EventKind.REVISIT:
            return self._revisit(ctx, channel, event)
        if event.kind is EventKind.REMINDERS:
            return self._reminders(ctx, channel, event)
        if event.kind is EventKind.HISTORY:
            return [self._history(ctx, channel, event)]
        return self._act(ctx, channel, event)

    def _lens(self, ctx: Context, record: SessionRecord | None, event: Event | None = None) -> Lens:
        return ctx.lens(record.meta.language if record else (event.language if event else None))

    def _last_finished(self, channel: ChannelKey) -> SessionRecord | None:
        last = self._store.history(str(channel), limit=1)
        return last[0] if last and last[0].meta.status == FINISHED else None

    def _revisit(self, ctx: Context, channel: ChannelKey, event: Event) -> list[Message]:
        record = self._last_finished(channel)
        lens = self._lens(ctx, record, event)
        if record is None:
            return [_refusal(lens, "revisit_no_decision")]
        now = ctx.now.astimezone(ctx.zone)
        moment = parse_moment(event.text, lens.language, now)
        if moment is None:
            return [_refusal(lens, "when_unknown", text=event.text[:80])]
        problem = check_moment(moment, now)
        if problem:
            return [_refusal(lens, problem)]
        due = moment.at.timestamp()
        changed = replace(record, meta=replace(record.meta, revisit=moment.at.date().isoformat()))
        planned = [for_check(Kind.REVISIT, record.meta.channel, record.id, due)]
        result = self._store.save_meta(changed, record.version, planned)
        if result.status != "ok":
            return [_refusal(lens, "moved_concurrently", number="")]
        existing = self._store.reminders.get(planned[0].id, record.meta.channel)
        if existing is not None and existing.due != due:
            self._store.reminders.reschedule(existing, due)
        self._move_checkin(record, ctx.now.timestamp(), due)
        when = views.format_moment(lens, due, ctx.zone) if not moment.dated else lens.format_date(moment.at.date())
        text = lens.t("revisit_changed", date=lens.format_date(check_day(record)), when=when)
        return [Notice(text, Audience.CHANNEL, Tone.SUCCESS)]

    def _move_checkin(self, record: SessionRecord, now: float, due: float) -> None:
        """A pilot's check-in stays half-way to its (new) evaluation date, if it has not come yet."""
        checkin = self._store.reminders.get(reminder_id(Kind.CHECKIN, record.id), record.meta.channel)
        if checkin is not None and checkin.state is State.SCHEDULED:
            self._store.reminders.reschedule(checkin, now + (due - now) / 2)

    def _reminders(self, ctx: Context, channel: ChannelKey, event: Event) -> list[Message]:
        if not event.value.startswith("cancel:"):
            lens = self._lens(ctx, self._last_finished(channel), event)
            return [views.reminders_list(lens, self._store.reminders.of_channel(str(channel)), ctx.zone)]
        found = self._reminder_of(channel, event.value.partition(":")[2])
        if isinstance(found, str):
            return [_refusal(self._lens(ctx, self._last_finished(channel), event), "reminder_unknown", id=found)]
        reminder, record = found
        lens = self._lens(ctx, record, event)
        if not self._may_manage(ctx, record, event):
            return [self._not_yours(lens, record, "action_cancel_reminder")]
        self._store.reminders.settle(reminder.id, reminder.channel, State.CANCELLED)
        return [Notice(lens.t("reminder_cancelled", id=reminder.id), Audience.CHANNEL, Tone.SUCCESS)]

    def _history(self, ctx: Context, channel: ChannelKey, event: Event) -> Notice:
        page = max(1, int(event.value or "1"))
        total = self._store.history_size(str(channel))
        pages = max(1, math.ceil(total / views.HISTORY_PAGE))
        lens = self._lens(ctx, self._last_finished(channel), event)
        if page > pages:
            return _refusal(lens, "history_bad_page", page=page, pages=pages, n=pages)
        records = self._store.history(str(channel), limit=views.HISTORY_PAGE, offset=(page - 1) * views.HISTORY_PAGE)
        return views.history_page(lens, records, page, pages)

    def _act(self, ctx: Context, channel: ChannelKey, event: Event) -> list[Message]:
        verb, _, rest = event.value.partition(":")
        target, _, argument = rest.partition(":")
        found = self._reminder_of(channel, target)
        if isinstance(found, str):
            return [_refusal(self._lens(ctx, None, event), "reminder_unknown", id=found)]
        reminder, record = found
        lens = self._lens(ctx, record, event)
        if reminder.state in (State.DONE, State.DISMISSED, State.CANCELLED) and verb != "answer":
            return [_refusal(lens, "reminder_done_already")]
        name = event.user_name or event.user
        if verb == "start":
            start = Event(
                EventKind.START,
                user=event.user,
                user_name=event.user_name,
                language=record.meta.language,
                anonymous=record.meta.anonymous,
            )
            messages, created = self._start(channel, start)
            if created:
                self._store.reminders.settle(reminder.id, reminder.channel, State.DONE)
                date_text = lens.format_date(check_day(record))
                messages.insert(0, Notice(lens.t("reminder_started", name=name, date=date_text), Audience.CHANNEL))
            return messages
        if verb in ("snooze1", "snooze3", "snooze"):
            due = self._snooze_until(ctx, lens, verb, event)
            if isinstance(due, Notice):
                return [due]
            self._store.reminders.reschedule(reminder, due)
            when = views.format_moment(lens, due, ctx.zone)
            return [Notice(lens.t("reminder_snoozed", date=when), Audience.CHANNEL, Tone.SUCCESS)]
        if verb == "dismiss":
            if not self._may_manage(ctx, record, event):
                return [self._not_yours(lens, record, "action_dismiss")]
            self._store.reminders.settle(reminder.id, reminder.channel, State.DISMISSED)
            text = lens.t("reminder_dismissed", name=name, date=lens.format_date(check_day(record)))
            return [Notice(text, Audience.CHANNEL)]
        if verb == "answer" and reminder.kind is Kind.CHECKIN:
            return [self._checkin_answer(lens, record, event, argument)]
        return [_refusal(lens, "reminder_unknown", id=reminder.id)]

    def _snooze_until(self, ctx: Context, lens: Lens, verb: str, event: Event) -> float | Notice:
        now = ctx.now.timestamp()
        if verb == "snooze1":
            return later(now, 1, ctx.zone)
        if verb == "snooze3":
            return later(now, 3, ctx.zone)
        moment = parse_moment(event.text, lens.language, ctx.now.astimezone(ctx.zone))
        if moment is None:
            return _refusal(lens, "when_unknown", text=event.text[:80])
        problem = check_moment(moment, ctx.now.astimezone(ctx.zone))
        return _refusal(lens, problem) if problem else moment.at.timestamp()

    def _checkin_answer(self, lens: Lens, record: SessionRecord, event: Event, argument: str) -> Notice:
        number, _, choice = argument.partition(":")
        if number not in ("1", "2") or choice not in ("1", "2", "3"):
            return _refusal(lens, "stale_button")
        user = user_key(record.meta, event.user)
        if self._store.record_checkin(record.id, number, user, int(choice)) < 0:
            return _refusal(lens, "check_closed")
        question = views.CHECKIN_QUESTIONS[int(number) - 1]
        return Notice(
            lens.t("checkin_recorded", answer=lens.t(f"checkin_{question}_{choice}")), Audience.EPHEMERAL, Tone.SUCCESS
        )

    def _reminder_of(self, channel: ChannelKey, target: str) -> tuple[Reminder, SessionRecord] | str:
        """The channel's reminder ``target`` and its check; else the id as typed (for the refusal)."""
        shown = target[:12]
        reminder = self._store.reminders.get(target, str(channel)) if is_reminder_id(target) else None
        if reminder is None or reminder.channel != str(channel):
            return shown
        record = self._store.load(reminder.session_id)
        return (reminder, record) if record is not None else shown

    def _may_manage(self, ctx: Context, record: SessionRecord, event: Event) -> bool:
        return event.user in ctx.admins or user_key(record.meta, event.user) == record.meta.facilitator

    def _not_yours(self, lens: Lens, record: SessionRecord, action: str) -> Notice:
        facilitator = (record.meta.facilitator_name if not record.meta.anonymous else "") or lens.t("the_facilitator")
        return _refusal(lens, "reminder_not_yours", facilitator=facilitator, action=lens.t(action))

    # --- what a due reminder posts ---------------------------------------------------------------------

    def due_messages(self, reminder: Reminder, now: float) -> list[Message] | None:
        """The messages a due reminder posts; None when it has nothing left to say (the check is gone,
        or a nudged question was answered and moved on)."""
        record = self._store.load(reminder.session_id)
        if record is None:
            return None
        ctx = self._context(ChannelKey.parse(reminder.channel))
        lens = ctx.lens(record.meta.language)
        if reminder.kind is Kind.REVISIT:
            return [views.revisit_post(lens, reminder, record, now, ctx.zone)]
        if reminder.kind is Kind.CHECKIN:
            return list(views.checkin_posts(lens, reminder, record, now, ctx.zone))
        if reminder.kind is Kind.NUDGE:
            if record.meta.status != RUNNING or record.meta.state != reminder.question_id:
                return None
            return [views.nudge_post(lens, record, reminder.question_id)]
        if record.meta.status != FINISHED:
            return None
        return [SummaryCard(self.with_previous(lens, build_summary(lens, record), record), Audience.CHANNEL)]

    @staticmethod
    def state_after_post(reminder: Reminder) -> State:
        """A revisit or check-in stays open for its buttons; a nudge or summary is done."""
        return State.POSTED if reminder.kind in (Kind.REVISIT, Kind.CHECKIN) else State.DONE

    # --- summaries -------------------------------------------------------------------------------------

    def with_previous(self, lens: Lens, summary: Summary, record: SessionRecord) -> Summary:
        """The summary with the channel's previous finished check beside it (and its own check-in)."""
        previous = next(
            (
                r
                for r in self._store.history(record.meta.channel, limit=3)
                if r.id != record.id and (r.meta.finished_at or 0) <= (record.meta.finished_at or math.inf)
            ),
            None,
        )
        return views.with_previous(lens, summary, record, previous)


def _refusal(lens: Lens, key: str, **values: object) -> Notice:
    return Notice(lens.t(key, **values), Audience.EPHEMERAL, Tone.REFUSAL, key=key)
