"""The check service: load -> engine -> atomic write -> messages. The one place that orders I/O.

Adapters call :meth:`CheckService.handle_command` (slash-command text) or :meth:`CheckService.handle`
(buttons, dialogs) and render the returned messages. The engine stays pure; the store does every
write atomically in Redis, so several bot processes can serve the same channel.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, tzinfo

from bot.core.commands import CommandError, parse_command
from bot.core.dialogue.flow import Flow
from bot.core.dialogue.load import Dialogue
from bot.core.engine import dispatch as engine
from bot.core.engine.dispatch import SYSTEM_USER, Context, Plan
from bot.core.engine.moves import nudge
from bot.core.engine.plans import AddNote, CreateCheck, RecordAnswer, ReplaceCheck, Reply, SaveMove
from bot.core.messages import (
    Audience,
    ChannelKey,
    Event,
    EventKind,
    Message,
    Notice,
    SummaryCard,
    Tone,
)
from bot.core.session import SessionMeta, SessionRecord
from bot.errors import StoreError
from bot.exports import ChartMaker, Exports
from bot.followups import FollowUps
from bot.ports import Delivery
from bot.privacy import EVENTS as PRIVACY_EVENTS
from bot.privacy import Privacy
from bot.runtime import logs
from bot.runtime.metrics import NO_METRICS, Metrics
from bot.runtime.observe import Observer, platform_of, where
from bot.service_cards import QuestionCards, branch_fields
from bot.service_store import SessionStore, WriteResultLike, moved_notice, write_refusal

log = logging.getLogger(__name__)

META_CACHE_SIZE = 2048


class CheckService(QuestionCards):
    def __init__(
        self,
        dialogue: Dialogue,
        store: SessionStore,
        *,
        admins: frozenset[str] = frozenset(),
        default_language: str = "en",
        max_text: int = 1000,
        session_ttl_days: int = 30,
        clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
        zone: tzinfo = UTC,
        nudge_after: float = 2 * 86400.0,
        summary_grace: float = 120.0,
        chart: ChartMaker | None = None,  # the chart an HTML export embeds (bot.exports)
        metrics: Metrics = NO_METRICS,  # checks, answers, duplicates and refusals counted for /metrics
    ) -> None:
        self.dialogue = dialogue
        self.flow = Flow(dialogue)  # one machine per dialogue definition, shared by every request
        self._store = store
        self._admins = admins
        self._default_language = default_language
        self._max_text = max_text
        self._ttl_days = session_ttl_days
        self._clock = clock
        self._zone = zone
        self._nudge_after = nudge_after
        self._summary_grace = summary_grace
        self.metrics = metrics
        self._observe = Observer(metrics)  # refusals, and a check's start and end: counted and logged
        self.followups = FollowUps(store, self._context, self._start_like)
        self.privacy = Privacy(store, self._context)  # forget-me and purge (bot.privacy)
        self.exports = Exports(store, self._context, self.followups.with_previous, chart)
        # Immutable facts of a session (language, anonymity, salt, channel) let a button answer be
        # validated and recorded in one round trip. They never change, so caching them is safe
        # across replicas; a miss just costs one read.
        self._metas: OrderedDict[str, SessionMeta] = OrderedDict()
        self._branch_fields = branch_fields(self.flow)  # what a tally's snapshot carries (bot.service_cards)

    # --- entry points ---------------------------------------------------------------------

    def ui(self, language: str | None) -> Mapping[str, str]:
        return self._context(None).lens(language).ui

    def handle_command(self, channel: ChannelKey, text: str, user: str, user_name: str = "") -> list[Message]:
        if not _usable_user(user):
            return self._observe.handled(channel, None, [self._no_user(channel, user)])
        parsed = parse_command(text, user, user_name)
        if isinstance(parsed, CommandError):
            try:
                return self._observe.handled(channel, None, [self._command_error(channel, parsed)])
            except StoreError as exc:
                return self._observe.handled(channel, None, [self._store_down(channel, None, exc)])
        return self.handle(channel, parsed)

    def handle(self, channel: ChannelKey, event: Event, delivery: Delivery | None = None) -> list[Message]:
        """``delivery``: the click's dedup mark and guard (bot.ports.Delivery); an answer claims them in
        its own atomic write, anything else claims them first. Nothing happens for a repeat."""
        if not _usable_user(event.user):
            return self._observe.handled(channel, event, [self._no_user(channel, event.user)])
        # every line logged while this event is handled says where (bot.runtime.logs)
        with logs.bound(**where(channel), check=event.session_id, event=event.kind.value):
            try:
                if delivery is not None and not _answers_a_question(event):
                    if not self._store.claim(delivery):
                        self.metrics.duplicate_dropped(channel.platform, _repeat_kind(delivery))
                        return []
                    delivery = None
                messages = self._handle(channel, event, delivery)
            except StoreError as exc:
                messages = [self._store_down(channel, event.session_id, exc)]
            return self._observe.handled(channel, event, messages)

    def _no_user(self, channel: ChannelKey, user: object) -> Notice:
        """The one place every platform's events without a usable user id are refused; nothing is recorded."""
        log.warning("refused an event in %s without a usable user id: %r", channel, user)
        return Notice(self._context(channel).lens(None).t("no_user"), Audience.EPHEMERAL, Tone.REFUSAL, key="no_user")

    def _store_down(self, channel: ChannelKey, session_id: str | None, exc: StoreError) -> Notice:
        """Redis is unavailable: say privately that nothing was recorded, in the check's language if known."""
        log.error("not recorded in %s, the store is unavailable: %s", channel, exc)
        meta = self._metas.get(session_id) if session_id else None
        lens = self._context(channel).lens(meta.language if meta else None)
        return Notice(lens.t("store_down"), Audience.EPHEMERAL, Tone.ERROR)

    def _handle(self, channel: ChannelKey, event: Event, delivery: Delivery | None = None) -> list[Message]:
        if event.kind is EventKind.EXPORT:
            return self.exports.handle(channel, event)
        if event.kind in _FOLLOW_UPS:
            return self.followups.handle(channel, event)
        if event.kind in PRIVACY_EVENTS:
            return self.privacy.handle(channel, event)
        return self._with_previous(self._handle_check(channel, event, delivery))

    def _handle_check(self, channel: ChannelKey, event: Event, delivery: Delivery | None = None) -> list[Message]:
        ctx = self._context(channel)
        if _answers_a_question(event):
            assert event.session_id is not None
            meta = self._metas.get(event.session_id)
            if meta is not None and meta.channel == str(channel):
                return self._fast_answer(ctx, meta, event, delivery)
        record = self._store.load_running(str(channel))
        if record is None:
            record = self._last_relevant(channel, event)
        if record is not None:
            self._remember(record.meta)
        return self._execute(ctx, record, event, engine.plan(ctx, record, event), delivery=delivery)

    # --- internals ----------------------------------------------------------------------------

    def _context(self, channel: ChannelKey | None) -> Context:
        return Context(
            dialogue=self.dialogue,
            flow=self.flow,
            now=self._clock(),
            channel=str(channel) if channel else "",
            admins=self._admins,
            default_language=self._default_language,
            max_text=self._max_text,
            session_ttl_days=self._ttl_days,
            zone=self._zone,
            nudge_after=self._nudge_after,
            summary_grace=self._summary_grace,
        )

    def _remember(self, meta: SessionMeta) -> None:
        self._metas[meta.id] = meta
        self._metas.move_to_end(meta.id)
        while len(self._metas) > META_CACHE_SIZE:
            self._metas.popitem(last=False)

    def _last_relevant(self, channel: ChannelKey, event: Event) -> SessionRecord | None:
        """No check runs: the check a button belongs to, or the last finished one for a summary."""
        if event.session_id:
            record = self._store.load(event.session_id)
            return record if record is not None and record.meta.channel == str(channel) else None
        if event.kind is EventKind.SUMMARY:
            last = self._store.history(str(channel), limit=1)
            return last[0] if last else None
        return None

    def _command_error(self, channel: ChannelKey, error: CommandError) -> Notice:
        running = self._store.load_running(str(channel))
        lens = self._context(channel).lens(running.meta.language if running else None)
        return Notice(lens.t(error.key, detail=error.detail), Audience.EPHEMERAL, Tone.REFUSAL, key=error.key)

    def _fast_answer(
        self, ctx: Context, meta: SessionMeta, event: Event, delivery: Delivery | None = None
    ) -> list[Message]:
        lens = ctx.lens(meta.language)
        assert event.question_id is not None
        return self._execute(
            ctx,
            None,
            event,
            engine.prepare_answer(ctx, lens, meta, event, event.question_id),
            session_id=meta.id,
            language=meta.language,
            delivery=delivery,
        )

    def _record(self, sid: str, plan: RecordAnswer, delivery: Delivery | None) -> WriteResultLike:
        """The answer's write: with a delivery, its claims and the tally window in the same script."""
        if delivery is None:
            return self._store.record_answer(sid, plan.question_id, plan.user, plan.answer, plan.name, plan.toggle)
        fields = self.tally_fields(plan.question_id) if delivery.window_ms > 0 else ()
        return self._store.record_click(
            sid, plan.question_id, plan.user, plan.answer, plan.name, plan.toggle, delivery, fields
        )

    def _execute(
        self,
        ctx: Context,
        record: SessionRecord | None,
        event: Event,
        plan: Plan,
        *,
        session_id: str | None = None,
        language: str | None = None,
        delivery: Delivery | None = None,
    ) -> list[Message]:
        lens = ctx.lens(language or (record.meta.language if record else event.language))
        if delivery is not None and not isinstance(plan, RecordAnswer):  # claimed in the answer's write
            if not self._store.claim(delivery):
                self.metrics.duplicate_dropped(platform_of(ctx.channel), _repeat_kind(delivery))
                return []
            delivery = None
        match plan:
            case Reply():
                return plan.messages
            case CreateCheck():
                result = self._store.create(plan.record)
                if result.status != "ok":  # another process started one a moment ago: show that one
                    shown = engine.plan(ctx, result.record, event)
                    return shown.messages if isinstance(shown, Reply) else []
                self._started(ctx, plan.record)
                return plan.messages
            case ReplaceCheck():
                result = self._store.replace_running(plan.record, plan.replaces)
                if result.status != "ok":
                    return [moved_notice(lens, result.record)]
                self._started(ctx, plan.record, replaced=record)
                return plan.messages
            case RecordAnswer():
                sid = session_id or (record.id if record else "")
                result = self._record(sid, plan, delivery)
                if result.status in ("duplicate", "guarded"):  # a repeated delivery, a double click
                    repeat = "click" if result.status == "guarded" else "delivery"
                    self.metrics.duplicate_dropped(platform_of(ctx.channel), repeat)
                    if delivery is not None and delivery.refused is not None:
                        delivery.refused(result.status)  # the adapter logs it
                    return []
                if result.status != "ok":
                    return [write_refusal(lens, result, event)]
                self.metrics.answer_recorded(platform_of(ctx.channel))
                meta = record.meta if record is not None else self._metas[sid]
                messages, advance = engine.after_answer(ctx, meta, event, plan, result.count)
                messages = self._led(messages, result)
                if advance:
                    messages += self._auto_advance(ctx, sid, plan.question_id)
                return messages
            case AddNote():
                if record is None:  # the engine plans a note only on a loaded check
                    return [Notice(lens.t("no_check"), Audience.EPHEMERAL, Tone.REFUSAL, key="no_check")]
                result = self._store.add_note(record.id, plan.note, plan.name)
                if result.status != "ok":
                    return [write_refusal(lens, result, event)]
                return engine.after_note(ctx, record, plan)
            case SaveMove():
                result = self._store.save_meta(plan.record, plan.expected_version, plan.reminders)
                if result.status != "ok":
                    return [moved_notice(lens, result.record)]
                self._observe.moved(ctx.channel, record, plan.record)
                return plan.messages

    def _auto_advance(self, ctx: Context, session_id: str, question_id: str) -> list[Message]:
        """The quorum is reached: move on as the system (once, even if several answers reach it)."""
        record = self._store.load(session_id)
        if record is None:
            return []
        system = Event(EventKind.NEXT, user=SYSTEM_USER, question_id=question_id, session_id=record.id)
        plan = engine.plan(ctx, record, system)
        if not isinstance(plan, SaveMove):
            return []
        result = self._store.save_meta(plan.record, plan.expected_version, plan.reminders)
        if result.status != "ok":
            return []  # someone else moved it on: fine
        self._observe.moved(ctx.channel, record, plan.record)
        return plan.messages

    def _started(self, ctx: Context, record: SessionRecord, replaced: SessionRecord | None = None) -> None:
        """A new check is stored: remember it, and plan the nudge of its first question (and settle the
        open question's nudge of the check it replaced)."""
        self._remember(record.meta)
        self._observe.started(ctx.channel, record, replaced)
        planned = [nudge(ctx, record, record.meta.state)]
        if replaced is not None:
            planned.append(nudge(ctx, replaced, replaced.meta.state, done=True))
        try:
            self._store.reminders.schedule(planned)
        except StoreError:  # the check itself is stored; a lost nudge is no reason to refuse it
            log.exception("could not schedule the first nudge of check %s", record.id)

    def _start_like(self, channel: ChannelKey, event: Event) -> tuple[list[Message], bool]:
        """Start a check (from a reminder's button); True when a new one was created."""
        before = self._store.load_running(str(channel))
        messages = self._handle_check(channel, event)
        after = self._store.load_running(str(channel))
        return messages, after is not None and (before is None or after.id != before.id)

    def _with_previous(self, messages: list[Message]) -> list[Message]:
        """Summaries show the channel's previous finished check beside them (one read, only for a summary)."""
        out: list[Message] = []
        for message in messages:
            if isinstance(message, SummaryCard):
                record = self._store.load(message.summary.session_id)
                if record is not None:
                    lens = self._context(None).lens(record.meta.language)
                    message = replace(message, summary=self.followups.with_previous(lens, message.summary, record))
            out.append(message)
        return out


_FOLLOW_UPS = frozenset({EventKind.REVISIT, EventKind.REMINDERS, EventKind.REMINDER, EventKind.HISTORY})


def _answers_a_question(event: Event) -> bool:
    """A button or dialog answer: its claims go into the answer's own write (one round trip)."""
    return event.kind is EventKind.ANSWER and bool(event.session_id) and bool(event.question_id)


def _repeat_kind(delivery: Delivery) -> str:
    """A delivery the store refused: a repeated click (its guard) or a repeated delivery (its mark)."""
    return "click" if delivery.guard else "delivery"


def _usable_user(user: object) -> bool:
    """A user id the bot can record: a non-blank string (platform ids, console names)."""
    return isinstance(user, str) and bool(user.strip()) and user.isprintable()
