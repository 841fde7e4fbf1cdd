"""Reminders on Slack, end to end: the revisit post and its buttons, the pilot check-in, nudges, the
summary outbox, and the platform failing — at the HTTP boundary on both sides.

A check is driven to its end with signed slash commands (bot.runtime.web → bolt → the real service
and Redis store); then the real :class:`ReminderScheduler` runs one round (``tick``) on a moved
clock and posts through the adapter's own outbox to the fake Slack Web API, which validates every
request against Slack's spec and Block Kit's limits. Buttons are clicked by sending back the
element exactly as the bot rendered it (its ``value``), signed, to ``/slack/events``.
The service and the scheduler share one hand-moved clock; nothing sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.adapters.slack import blocks as sb
from bot.core.dialogue.load import load_dialogue
from bot.core.messages import ChannelKey, EventKind
from bot.core.reminders import Kind, Reminder, State, later, reminder_id
from bot.core.session import SessionRecord
from bot.runtime.clock import ManualClock
from bot.runtime.scheduler import ReminderScheduler, SchedulerOptions
from bot.service import CheckService
from bot.store.store import Store
from tests.adapters.slack.test_slack_http import CHANNEL, FACILITATOR, NAMES, Env, _elements, _text, make_env
from tests.fakes.slack_api import TEAM_ID, Call, FakeSlackApi, Posted, check_message_blocks
from tests.fakes.slack_spec import check_request

DIALOGUE = load_dialogue()
KEY = ChannelKey("slack", TEAM_ID, CHANNEL)
START = datetime(2027, 3, 1, 10, 0, tzinfo=UTC).timestamp()  # the service's and the scheduler's "now"
BACKOFF = 60.0  # the scheduler's first retry after a failed post
OTHER = "U0USER002"  # not the facilitator
LAST_QUESTIONS = ("reconsider", "pilot_review")  # the last question of "not now" and of a pilot


class SlackWithOutages(FakeSlackApi):
    """The fake Web API, able to fail the next channel-level (unthreaded) posts with a 503, so the
    summary can fail while the check's thread notices before it still go through."""

    def __init__(self) -> None:
        super().__init__()
        self._down = 0

    def fail_channel_posts(self, times: int) -> None:
        with self._lock:
            self._down = times

    def _answer(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        if call.method == "chat.postMessage" and not call.params.get("thread_ts"):
            with self._lock:
                down, self._down = self._down > 0, max(self._down - 1, 0)
            if down:
                return 503, {"ok": False, "error": "service_unavailable"}, {}
        return super()._answer(call)


@dataclass
class World:
    env: Env
    clock: ManualClock
    service: CheckService
    scheduler: ReminderScheduler

    @property
    def fake(self) -> SlackWithOutages:
        assert isinstance(self.env.fake, SlackWithOutages)
        return self.env.fake

    def tick(self) -> int:
        """One scheduler round, and everything it handed to the outbox delivered (or failed)."""
        claimed = self.scheduler.tick()
        assert self.scheduler.wait_idle(30) and self.env.adapter.outbox.wait_idle(30)
        return claimed

    def move_to(self, epoch: float) -> None:
        self.clock.advance(max(epoch - self.clock.now(), 0.0))

    def reminder(self, kind: Kind, session_id: str, question_id: str = "") -> Reminder:
        found = self.env.store.reminders.get(reminder_id(kind, session_id, question_id))
        assert found is not None, (kind, session_id)
        return found

    def top(self) -> list[Posted]:
        return self.fake.channel_messages(CHANNEL)

    def wait(self, predicate: Callable[[], bool]) -> None:
        self.fake.wait_until(lambda _: predicate(), 15, poll=0.02)

    def click(self, user: str, message: Posted, label: str) -> None:
        element = next(e for e in _elements(message) if e["text"]["text"] == label)
        reply = self.env.sender.click(
            CHANNEL, user, message.ts, element, user_name=NAMES[user], trigger_id=self.fake.trigger_id()
        )
        assert reply.status == 200

    def slash(self, user: str, text: str) -> None:
        assert self.env.slash(user, text) == 200


@pytest.fixture
def world(store: Store) -> Iterator[World]:
    clock = ManualClock(start=START)
    service = CheckService(DIALOGUE, store, clock=lambda: datetime.fromtimestamp(clock.now(), tz=UTC))
    with SlackWithOutages() as fake:
        for env in make_env(fake, store, service=service):
            scheduler = ReminderScheduler(
                store.reminders,
                service.followups,
                {"slack": env.adapter.outbox},
                options=SchedulerOptions(backoff=BACKOFF),
                clock=clock.now,
            )
            yield World(env, clock, service, scheduler)
    assert fake.violations == []
    assert fake.mentions() == []


def finish_check(
    world: World,
    start: str = "start",
    leaning: str = "not_now",
    decision: str = "not-now",
    before_end: Callable[[], None] | None = None,
) -> SessionRecord:
    """The facilitator walks a check to its end with slash commands, each one's effect awaited in
    Redis; ``before_end`` runs just before the last ``next``."""
    env, key = world.env, str(KEY)
    before = len(world.top())
    world.slash(FACILITATOR, start)
    world.wait(lambda: env.store.load_running(key) is not None)
    started = env.store.load_running(key)
    assert started is not None
    for _ in range(80):
        record = env.store.load_running(key)
        if record is None:
            break
        question = DIALOGUE.question(record.meta.state)
        if question.id == "leaning":
            world.slash(FACILITATOR, f"answer {[o.value for o in question.options].index(leaning) + 1}")
            world.wait(lambda: bool((r := env.store.load_running(key)) and r.answers_to("leaning")))
        if before_end is not None and question.id in LAST_QUESTIONS:
            before_end()
        world.slash(FACILITATOR, f"decide {decision}" if question.is_decision else "next")
        steps = len(record.meta.path)
        world.wait(lambda: (r := env.store.load_running(key)) is None or len(r.meta.path) > steps)
    else:
        raise AssertionError("the check never ended")
    assert env.adapter.outbox.wait_idle(30)
    if before_end is None:
        assert len(world.top()) == before + 2  # the header and the summary
    finished = env.store.history(key, limit=1)[0]
    assert finished.id == started.id and finished.meta.status == "finished"
    return finished


def only_call(world: World, ts: str) -> Call:
    (call,) = [c for c in world.fake.calls("chat.postMessage") if c.response.get("ts") == ts]
    return call


def ephemeral_texts(world: World, user: str) -> list[str]:
    return [e["text"] for e in world.fake.ephemerals if e["user"] == user]


# --- the revisit post and its buttons ------------------------------------------------------------


def test_the_revisit_is_posted_in_the_channel_with_four_buttons_that_work(world: World) -> None:
    record = finish_check(world)
    header = world.top()[0]
    revisit = world.reminder(Kind.REVISIT, record.id)
    assert revisit.state is State.SCHEDULED and revisit.channel == str(KEY)

    world.move_to(revisit.due - 1)
    assert world.tick() == 0  # not yet
    world.move_to(revisit.due)
    assert world.tick() == 1
    post = world.top()[-1]
    assert len(world.top()) == 3 and post.thread_ts is None  # in the channel, not in the check's thread
    assert post.ts not in {m.ts for m in world.fake.thread(CHANNEL, header.ts)}
    text = _text(post)
    assert "Time to look again" in text and "fae" in text and "Not now" in text
    assert "This was due on" not in text  # on time: not marked late

    # the request as sent is valid against Slack's spec and Block Kit — and those checks do bite
    call = only_call(world, post.ts)
    ctype = call.headers.get("content-type", "")
    assert "thread_ts" not in call.params and call.params["channel"] == CHANNEL
    assert check_request(world.fake.spec, "chat.postMessage", call.params, ctype) == []
    assert check_message_blocks(call.blocks()) == []
    without_channel = {k: v for k, v in call.params.items() if k != "channel"}
    assert any(p.rejected for p in check_request(world.fake.spec, "chat.postMessage", without_channel, ctype))
    assert check_message_blocks([{"type": "actions", "elements": [_elements(post)[0]] * 2}])  # duplicate ids

    ui = world.service.ui("en")
    buttons = _elements(post)
    labels = [ui["reminder_start"], ui["reminder_snooze_1"], ui["reminder_snooze_3"], ui["reminder_dismiss"]]
    assert [b["text"]["text"] for b in buttons] == labels
    assert [b.get("style") for b in buttons] == ["primary", None, None, "danger"]
    refs = [sb.Ref.decode(b["value"]) for b in buttons]
    assert [(r.kind, r.value) for r in refs if r] == [
        (EventKind.REMINDER.value, f"{verb}:{revisit.id}") for verb in ("start", "snooze1", "snooze3", "dismiss")
    ]

    # snooze 1 month, then 3 months (anyone may): rescheduled from now, in the store
    for label, months, notices in ((labels[1], 1, 4), (labels[2], 3, 5)):
        world.click(OTHER, post, label)
        world.wait(lambda n=notices: len(world.top()) == n)
        snoozed = world.reminder(Kind.REVISIT, record.id)
        assert snoozed.state is State.SCHEDULED and snoozed.due == later(world.clock.now(), months, UTC)
        assert "Snoozed" in _text(world.top()[-1])
    assert world.tick() == 0  # the snoozed reminder is not due any more

    # dismiss: refused privately for someone else, done for the facilitator
    world.click(OTHER, post, labels[3])
    world.wait(lambda: bool(ephemeral_texts(world, OTHER)))
    assert "Only fae" in ephemeral_texts(world, OTHER)[-1]
    assert world.reminder(Kind.REVISIT, record.id).state is State.SCHEDULED
    world.click(FACILITATOR, post, labels[3])
    world.wait(lambda: world.reminder(Kind.REVISIT, record.id).state is State.DISMISSED)
    assert world.env.adapter.outbox.wait_idle(10)
    assert "dismissed the reminder" in _text(world.top()[-1]) and len(world.top()) == 6
    world.move_to(later(world.clock.now(), 4, UTC))
    assert world.tick() == 0  # dismissed: never comes back
    assert not any("failed" in t for t in ephemeral_texts(world, OTHER))


def test_start_a_new_check_from_the_revisit_keeps_language_and_anonymity(world: World) -> None:
    record = finish_check(world, start="start nl --anonymous")
    assert record.meta.language == "nl" and record.meta.anonymous
    revisit = world.reminder(Kind.REVISIT, record.id)
    world.move_to(revisit.due)
    assert world.tick() == 1
    post = world.top()[-1]
    assert "Tijd om opnieuw te kijken" in _text(post)
    assert "fae" not in _text(post)  # an anonymous check names nobody, not even its facilitator

    world.click(OTHER, post, world.service.ui("nl")["reminder_start"])  # anyone may start one
    world.wait(lambda: world.env.store.load_running(str(KEY)) is not None)
    assert world.env.adapter.outbox.wait_idle(20)
    running = world.env.store.load_running(str(KEY))
    assert running is not None and running.id != record.id
    assert running.meta.language == "nl" and running.meta.anonymous
    assert world.reminder(Kind.REVISIT, record.id).state is State.DONE
    new_header = next(m for m in world.top() if m.ts > post.ts and m.blocks and m.blocks[0]["type"] == "header")
    assert world.fake.thread(CHANNEL, new_header.ts), "the new check asks its questions in its own thread"


# --- the pilot check-in -----------------------------------------------------------------------------


def test_the_pilot_check_in_records_button_answers_and_the_next_summary_shows_them(world: World) -> None:
    record = finish_check(world, leaning="try", decision="pilot")
    checkin = world.reminder(Kind.CHECKIN, record.id)
    revisit = world.reminder(Kind.REVISIT, record.id)
    assert checkin.due == pytest.approx(START + (revisit.due - START) / 2)
    world.move_to(checkin.due)
    assert world.tick() == 1
    intro, *questions = world.top()[-3:]
    assert "Half-way through the pilot" in _text(intro) and not _elements(intro)
    ui = world.service.ui("en")
    for number, question in enumerate(questions, start=1):
        labels = [b["text"]["text"] for b in _elements(question)]
        assert labels == [ui[f"checkin_q{number}_{n}"] for n in (1, 2, 3)]
        assert question.thread_ts is None
    world.click(FACILITATOR, questions[0], ui["checkin_q1_1"])
    world.click(OTHER, questions[0], ui["checkin_q1_3"])
    world.click(OTHER, questions[1], ui["checkin_q2_2"])
    world.wait(lambda: sum(len(v) for v in world.env.store.load(record.id).checkin.values()) == 3)  # type: ignore[union-attr]
    kept = world.env.store.load(record.id)
    assert kept is not None and kept.meta.status == "finished"
    assert sorted(kept.checkin["1"].values()) == [1, 3] and list(kept.checkin["2"].values()) == [2]
    world.wait(lambda: len(ephemeral_texts(world, OTHER)) == 2)
    assert all("Thanks, noted" in t for t in ephemeral_texts(world, OTHER))

    finish_check(world)  # the next check in this channel
    summary = "".join(_text(m) for m in world.top()[-1:] + world.fake.thread(CHANNEL, world.top()[-1].ts))
    assert f"{ui['checkin_q1']} 1 × {ui['checkin_q1_1']}, 1 × {ui['checkin_q1_3']}" in summary
    assert f"{ui['checkin_q2']} 1 × {ui['checkin_q2_2']}" in summary


# --- nudges -------------------------------------------------------------------------------------------


def test_a_nudge_lands_in_the_checks_thread_once(world: World) -> None:
    world.slash(FACILITATOR, "start")
    world.wait(lambda: world.env.store.load_running(str(KEY)) is not None)
    assert world.env.adapter.outbox.wait_idle(20)
    record = world.env.store.load_running(str(KEY))
    assert record is not None
    nudge = world.reminder(Kind.NUDGE, record.id, record.meta.state)
    header = world.top()[0]
    world.move_to(nudge.due)
    assert world.tick() == 1
    assert len(world.top()) == 1  # nothing new in the channel itself
    (nudged,) = [m for m in world.fake.thread(CHANNEL, header.ts) if "gentle nudge" in _text(m)]
    assert only_call(world, nudged.ts).params["thread_ts"] == header.ts
    assert "question 1 is still open" in _text(nudged) and "No answers yet" in _text(nudged)
    world.move_to(nudge.due + 7 * 86400)
    assert world.tick() == 0  # at most once per question


# --- the platform failing ----------------------------------------------------------------------------


def listing(world: World) -> str:
    before = len(ephemeral_texts(world, FACILITATOR))
    world.slash(FACILITATOR, "reminders")
    world.wait(lambda: len(ephemeral_texts(world, FACILITATOR)) > before)
    return ephemeral_texts(world, FACILITATOR)[-1]


def test_a_failing_post_is_retried_after_the_backoff_and_posted_once(world: World) -> None:
    record = finish_check(world)
    revisit = world.reminder(Kind.REVISIT, record.id)
    world.move_to(revisit.due)
    world.fake.fail("chat.postMessage", times=5, status=500)  # every attempt of the outbox's retries
    assert world.tick() == 1
    failed = world.reminder(Kind.REVISIT, record.id)
    assert failed.state is State.SCHEDULED and failed.attempts == 1 and "500" in failed.error
    assert len(world.top()) == 2  # nothing posted
    assert world.tick() == 0  # not before the back-off
    world.clock.advance(BACKOFF)
    assert world.tick() == 1
    assert len(world.top()) == 3 and "Time to look again" in _text(world.top()[-1])
    assert world.reminder(Kind.REVISIT, record.id).state is State.POSTED
    world.clock.advance(10 * BACKOFF)
    assert world.tick() == 0 and len(world.top()) == 3  # posted once
    shown = listing(world)
    assert revisit.id in shown and "posted, waiting for an answer" in shown and "failed" not in shown


@pytest.mark.parametrize("code", ["not_in_channel", "channel_not_found"])
def test_a_channel_the_bot_is_not_in_is_recorded_failed_and_listed(world: World, code: str) -> None:
    record = finish_check(world)
    revisit = world.reminder(Kind.REVISIT, record.id)
    world.move_to(revisit.due)
    world.fake.fail("chat.postMessage", times=1, error=code)
    assert world.tick() == 1
    failed = world.reminder(Kind.REVISIT, record.id)
    assert failed.state is State.FAILED and failed.attempts == 1
    assert failed.error.startswith("not a member") and code in failed.error
    assert len(world.fake.calls("chat.postMessage", include_rejected=True)) == len(world.fake.calls("chat.postMessage")) + 1
    world.clock.advance(30 * BACKOFF)
    assert world.tick() == 0  # not retried: the bot has to be invited back first
    shown = listing(world)
    assert revisit.id in shown and f"failed: {failed.error}"[:60] in shown


# --- the summary outbox ---------------------------------------------------------------------------


def summaries(world: World) -> list[Posted]:
    return [m for m in world.top() if m.text.startswith(world.service.ui("en")["summary_title"]) or "— Summary" in m.text]


def test_a_summary_that_failed_when_the_check_ended_is_posted_by_the_scheduler_once(world: World) -> None:
    # Slack is down for channel posts just as the check ends: the summary fails on every retry
    record = finish_check(world, before_end=lambda: world.fake.fail_channel_posts(5))
    assert summaries(world) == [] and len(world.top()) == 1  # the header only
    entry = world.reminder(Kind.SUMMARY, record.id)
    assert entry.state is State.SCHEDULED and entry.due > world.clock.now()
    rejected = [c for c in world.fake.calls("chat.postMessage", include_rejected=True) if c.status == 503]
    assert len(rejected) == 5
    assert world.tick() == 0  # within the grace period the inline post might still be under way

    world.move_to(entry.due)  # Slack is back
    assert world.tick() == 1
    (summary,) = summaries(world)
    assert summary.thread_ts is None and "Not now" in _text(summary)
    assert world.reminder(Kind.SUMMARY, record.id).state is State.DONE
    world.fake.wait_for("files.completeUploadExternal", 1, timeout=20)  # its chart follows it
    world.clock.advance(10 * BACKOFF)
    assert world.tick() == 0 and len(summaries(world)) == 1  # once


def test_a_summary_posted_inline_is_never_posted_again(world: World) -> None:
    record = finish_check(world)
    assert len(summaries(world)) == 1
    entry = world.reminder(Kind.SUMMARY, record.id)
    assert entry.state is State.DONE  # settled by the outbox when the inline post went out
    world.move_to(entry.due + 3600)
    assert world.tick() == 0
    assert len(summaries(world)) == 1 and len(world.top()) == 2
