"""What people can take back: ``forget-me`` (one person, every check of the team) and ``purge``
(everything stored about one channel). Both ask first: a button, or the same command with ``confirm``.

:class:`Privacy` is the service side of bot.store.privacy, the way :class:`bot.followups.FollowUps`
is for reminders: it reads the store, decides, writes once per check, and returns neutral messages.
Tallies, summaries and the chart are derived from the record every time they are shown, so removing a
person's rows is enough for them to be recomputed without that person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from bot.core.engine.plans import Context
from bot.core.followup_views import COMMAND
from bot.core.messages import Action, Audience, ChannelKey, Event, EventKind, Message, Notice, TallyChanged, Tone
from bot.core.session import RUNNING, SessionRecord, user_key
from bot.core.views import Lens

log = logging.getLogger(__name__)

EVENTS = frozenset({EventKind.FORGET_ME, EventKind.PURGE})


class ForgottenLike(Protocol):
    """bot.store.privacy.Forgotten: what was removed from one check."""

    @property
    def status(self) -> str: ...
    @property
    def answers(self) -> int: ...
    @property
    def notes(self) -> int: ...
    @property
    def checkins(self) -> int: ...
    @property
    def found(self) -> bool: ...
    @property
    def questions(self) -> tuple[str, ...]: ...


class PurgedLike(Protocol):
    @property
    def checks(self) -> int: ...
    @property
    def reminders(self) -> int: ...


class PrivacyStoreLike(Protocol):
    """bot.store.privacy.PrivacyStore, as the service uses it."""

    def team_checks(self, channel: str) -> list[SessionRecord]: ...
    def channel_checks(self, channel: str) -> list[tuple[str, SessionRecord | None]]: ...
    def forget(self, record: SessionRecord, user: str) -> ForgottenLike: ...
    def purge(self, channel: str, session_ids: Iterable[str], questions: Iterable[str]) -> PurgedLike: ...


class PrivacyHost(Protocol):
    """What :class:`Privacy` needs of bot.store.store.Store."""

    @property
    def privacy(self) -> PrivacyStoreLike: ...
    def load_running(self, channel: str) -> SessionRecord | None: ...
    def history(self, channel: str, limit: int = 20, offset: int = 0) -> list[SessionRecord]: ...


class Privacy:
    def __init__(self, store: PrivacyHost, context: Callable[[ChannelKey | None], Context]) -> None:
        self._store = store
        self._context = context

    def handle(self, channel: ChannelKey, event: Event) -> list[Message]:
        ctx = self._context(channel)
        lens = ctx.lens(self._language(channel, event))
        if event.kind is EventKind.FORGET_ME:
            return self._forget_me(lens, channel, event)
        return self._purge(ctx, lens, channel, event)

    def _language(self, channel: ChannelKey, event: Event) -> str | None:
        """The language of the channel's running check, else of its last finished one."""
        record = self._store.load_running(str(channel))
        if record is None:
            last = self._store.history(str(channel), limit=1)
            record = last[0] if last else None
        return record.meta.language if record is not None else event.language

    # --- forget-me ------------------------------------------------------------------------------

    def _forget_me(self, lens: Lens, channel: ChannelKey, event: Event) -> list[Message]:
        team = self._store.privacy.team_checks(str(channel))
        checks = [(record, user_key(record.meta, event.user)) for record in team]
        # A running check needs its facilitator to steer it: they finish or cancel it first.
        if any(r.meta.status == RUNNING and key == r.meta.facilitator for r, key in checks):
            return [_refusal(lens, "forget_me_steering")]
        if not event.confirm:
            button = Action(
                EventKind.FORGET_ME,
                lens.t("forget_me_button"),
                "danger",
                "confirm",
                f"{COMMAND} {EventKind.FORGET_ME.value} confirm",
            )
            return [Notice(lens.t("forget_me_confirm"), Audience.EPHEMERAL, actions=(button,))]
        answers = notes = touched = 0
        refresh: list[Message] = []
        for record, key in checks:
            done = self._store.privacy.forget(record, key)
            if done.status == "conflict":  # moved by its facilitator again and again: never seen in practice
                log.warning("forget-me could not finish check %s (it kept moving); ask again", record.id)
            if done.status != "ok" or not done.found:
                continue
            touched += 1
            answers += done.answers + done.checkins
            notes += done.notes
            # The running check's posts here show their tallies again, without them. Posts of finished
            # checks are left as they are: editing every past question could keep a channel's
            # ordered outbox busy for minutes under the platforms' rate limits.
            if record.meta.channel == str(channel) and record.meta.status == RUNNING:
                shown = set(record.meta.path)
                refresh += [TallyChanged(record.id, q) for q in done.questions if q in shown]
        log.info("forget-me in %s: %d answers and %d notes from %d checks", channel, answers, notes, touched)
        if not touched:
            return [Notice(lens.t("forget_me_nothing"), Audience.EPHEMERAL, Tone.SUCCESS)]
        text = lens.t(
            "forget_me_done",
            answers=lens.t("count_answers", n=answers),
            notes=lens.t("count_notes", n=notes),
            checks=lens.t("count_checks", n=touched),
        )
        return [Notice(text, Audience.EPHEMERAL, Tone.SUCCESS), *refresh]

    # --- purge ------------------------------------------------------------------------------------

    def _purge(self, ctx: Context, lens: Lens, channel: ChannelKey, event: Event) -> list[Message]:
        found = self._store.privacy.channel_checks(str(channel))
        records = [record for _, record in found if record is not None]
        if not _may_purge(ctx, records, event):
            return [_refusal(lens, "purge_nothing" if not records else "purge_not_yours")]
        if not event.confirm:
            typed = f"{COMMAND} {EventKind.PURGE.value} confirm"
            button = Action(EventKind.PURGE, lens.t("purge_button"), "danger", "confirm", typed)
            text = lens.t("purge_confirm", checks=lens.t("count_checks", n=len(records)))
            return [Notice(text, Audience.EPHEMERAL, actions=(button,))]
        questions = set(ctx.dialogue.questions) | {q for record in records for q in record.meta.path}
        done = self._store.privacy.purge(str(channel), [sid for sid, _ in found], questions)
        log.info("purged %s: %d checks, %d open reminders", channel, done.checks, done.reminders)
        text = lens.t(
            "purge_done",
            name=event.user_name or event.user,
            checks=lens.t("count_checks", n=done.checks),
            reminders=lens.t("count_reminders", n=done.reminders),
        )
        return [Notice(text, Audience.CHANNEL, Tone.SUCCESS)]


def _may_purge(ctx: Context, records: Sequence[SessionRecord], event: Event) -> bool:
    """An admin; or whoever facilitated every check of the channel (a check whose facilitator was
    forgotten names nobody, and does not count)."""
    if event.user in ctx.admins:
        return True
    led = [record for record in records if record.meta.facilitator]
    return bool(led) and all(user_key(record.meta, event.user) == record.meta.facilitator for record in led)


def _refusal(lens: Lens, key: str) -> Notice:
    return Notice(lens.t(key), Audience.EPHEMERAL, Tone.REFUSAL, key=key)
