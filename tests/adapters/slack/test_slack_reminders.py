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

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from bot.adapters.slack import blocks as sb
from bot.core.dialogue.load import load_dialogue
from bot.core.followup_views import format_moment
from bot.core.messages import ChannelKey, EventKind
from bot.core.reminders import Kind, Reminder, State, later, reminder_id
from bot.core.session import SessionRecord
from bot.core.views import Lens
from bot.runtime.clock import ManualClock
from bot.runtime.scheduler import ReminderScheduler, SchedulerOptions
from bot.service import CheckService
from bot.store.store import Store
from tests.adapters.catalogue import plain, said
from tests.adapters.outages import SlackWithOutages
from tests.adapters.slack.test_slack_http import CHANNEL, FACILITATOR, NAMES, Env, _elements, _text, make_env
from tests.fakes.slack_api import TEAM_ID, Call, Posted, check_message_blocks
from tests.fakes.slack_spec import check_request

DIALOGUE = load_dialogue()
KEY = ChannelKey("slack", TEAM_ID, CHANNEL)
START = datetime(2027, 3, 1, 10, 0, tzinfo=UTC).timestamp()  # the service's and the scheduler's "now"
BACKOFF = 60.0  # the scheduler's first retry after a failed post
OTHER = "U0USER002"  # not the facilitator
LAST_QUESTIONS = ("reconsider", "pilot_review")  # the last question of "not now" and of a pilot


@dataclass
class World:
    env: Env
    fake: SlackWithOutages
    clock: ManualClock  # the service's and the scheduler's
    service: CheckService
    scheduler: ReminderScheduler

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

    def running(self) -> SessionRecord:
        """The channel's running check, once its open question is out (the listener's batch was sent)."""
        self.wait(lambda: bool((r := self.env.store.load_running(str(KEY))) and self.question_out(r)))
        record = self.env.store.load_running(str(KEY))
        assert record is not None
        return record

    def question_out(self, record: SessionRecord) -> bool:
        return self.env.store.get_ref(record.id, f"q:{record.meta.state}") is not None

    def posted_next(self, before: SessionRecord) -> bool:
        """The check moved past ``before``'s question: finished, or its next question posted."""
        record = self.env.store.load(before.id)
        assert record is not None
        if record.meta.status != "running":
            return True
        return len(record.meta.path) > len(before.meta.path) and self.question_out(record)

    def header_of(self, record: SessionRecord) -> Posted:
        ts = self.env.store.get_ref(record.id, "header")
        assert ts is not None
        return self.fake.message(CHANNEL, ts)

    def click(self, user: str, message: Posted, label: str) -> None:
        element = next(e for e in _elements(message) if e["text"]["text"] == label)
        reply = self.env.sender.click(
            CHANNEL, user, message.ts, element, user_name=NAMES[user], trigger_id=self.fake.trigger_id()
        )
        assert reply.status == 200

    def says(self, text: str, key: str, language: str = "en", **values: object) -> bool:
        """``text`` says the catalogue's ``key`` (with ``values``)."""
        return said(self.service.ui(language), key, **values) in plain(html.unescape(text))

    def lens(self, language: str = "en") -> Lens:
        return Lens(self.service.dialogue, self.service.flow, language)

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
            yield World(env, fake, clock, service, scheduler)
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
    started = world.running()
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
        world.wait(lambda r=record: world.posted_next(r))
    else:
        raise AssertionError("the check never ended")
    # The ending's last message is the header's update: the listener's whole batch went out.
    world.wait(lambda: ":white_check_mark:" in _text(world.fake.message(CHANNEL, world.header_of(started).ts)))
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
    revisit = world.reminder(Kind.REVISIT, record.id)
    assert revisit.state is State.SCHEDULED and revisit.channel == str(KEY)
    assert datetime.fromtimestamp(revisit.due, tz=UTC) == datetime(2028, 3, 1, 9, 0, tzinfo=UTC)  # not now: 12 months

    world.move_to(revisit.due - 1)
    assert world.tick() == 0  # not yet
    world.move_to(revisit.due)
    assert world.tick() == 1
    post = world.top()[-1]
    assert len(world.top()) == 3 and post.thread_ts is None  # in the channel, not in the check's thread
    assert world.says(post.text, "revisit_intro") and "fae" in post.text and "Not now" in post.text
    assert not world.says(post.text, "revisit_late")  # on time: not marked late

    # the request as sent is valid against Slack's spec and Block Kit — and those checks do bite
    call = only_call(world, post.ts)
    ctype = call.headers.get("content-type", "")
    assert "thread_ts" not in call.params and call.params["channel"] == CHANNEL
    assert check_request(world.fake.spec, "chat.postMessage", call.params, ctype) == []
    assert check_message_blocks(call.blocks()) == []
    without_channel = {k: v for k, v in call.params.items() if k != "channel"}
    assert any(p.rejected for p in check_request(world.fake.spec, "chat.postMessage", without_channel, ctype))
    too_long = json.loads(json.dumps(call.blocks()))
    too_long[-1]["elements"][0]["text"]["text"] = "x" * 76
    assert check_message_blocks(too_long)

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
    for label, months, shown in ((labels[1], 1, 4), (labels[2], 3, 5)):
        world.click(OTHER, post, label)
        world.wait(lambda n=shown: len(world.top()) == n)
        snoozed = world.reminder(Kind.REVISIT, record.id)
        assert snoozed.state is State.SCHEDULED and snoozed.due == later(world.clock.now(), months, UTC)
        assert world.says(world.top()[-1].text, "reminder_snoozed")
    assert world.tick() == 0  # no longer due
    world.move_to(snoozed.due)
    assert world.tick() == 1  # ... until the snooze is over: posted again
    again = world.top()[-1]
    assert len(world.top()) == 6 and world.says(again.text, "revisit_intro")

    # dismiss: refused privately for someone else, done for the facilitator
    world.click(OTHER, again, labels[3])
    world.wait(lambda: bool(ephemeral_texts(world, OTHER)))
    refusal = ephemeral_texts(world, OTHER)[-1]
    assert world.says(refusal, "reminder_not_yours", facilitator="fae", action=ui["action_dismiss"])
    assert world.reminder(Kind.REVISIT, record.id).state is State.POSTED and len(world.top()) == 6
    world.click(FACILITATOR, again, labels[3])
    world.wait(lambda: len(world.top()) == 7)
    day = world.lens().format_date(date(2027, 3, 1))
    assert world.says(world.top()[-1].text, "reminder_dismissed", name="fae", date=day)
    assert world.reminder(Kind.REVISIT, record.id).state is State.DISMISSED
    world.move_to(later(world.clock.now(), 4, UTC))
    assert world.tick() == 0  # dismissed: it never comes back


def test_start_a_new_check_from_the_revisit_keeps_language_and_anonymity(world: World) -> None:
    record = finish_check(world, start="start nl --anonymous")
    assert record.meta.language == "nl" and record.meta.anonymous
    revisit = world.reminder(Kind.REVISIT, record.id)
    world.move_to(revisit.due + 3 * 3600)  # no process ran when it fell due: posted late, and says so
    assert world.tick() == 1
    post = world.top()[-1]
    assert world.says(post.text, "revisit_intro", "nl")
    assert world.says(post.text, "revisit_late", "nl", due=format_moment(world.lens("nl"), revisit.due, UTC))
    assert "fae" not in _text(post)  # an anonymous check names nobody, not even its facilitator

    world.click(OTHER, post, world.service.ui("nl")["reminder_start"])  # anyone may start one
    running = world.running()
    assert running.id != record.id and running.meta.language == "nl" and running.meta.anonymous
    assert world.reminder(Kind.REVISIT, record.id).state is State.DONE
    new_header = world.header_of(running)
    assert new_header.ts > post.ts and new_header.thread_ts is None
    assert world.fake.thread(CHANNEL, new_header.ts), "the new check asks its questions in its own thread"
    day = world.lens("nl").format_date(date(2027, 3, 1))
    assert any(world.says(m.text, "reminder_started", "nl", name="bob", date=day) for m in world.top())


# --- the pilot check-in -----------------------------------------------------------------------------


def test_the_pilot_check_in_records_button_answers_and_the_next_summary_shows_them(world: World) -> None:
    record = finish_check(world, leaning="try", decision="pilot")
    checkin = world.reminder(Kind.CHECKIN, record.id)
    revisit = world.reminder(Kind.REVISIT, record.id)
    assert checkin.due == pytest.approx(START + (revisit.due - START) / 2)
    world.move_to(checkin.due)
    assert world.tick() == 1
    intro, *questions = world.top()[-3:]
    assert world.says(intro.text, "checkin_intro") and not _elements(intro)
    ui = world.service.ui("en")
    for number, question in enumerate(questions, start=1):
        labels = [b["text"]["text"] for b in _elements(question)]
        assert labels == [ui[f"checkin_q{number}_{n}"] for n in (1, 2, 3)]
        assert question.thread_ts is None
    answers = {FACILITATOR: [(0, "checkin_q1_1")], OTHER: [(0, "checkin_q1_3"), (1, "checkin_q2_2")]}
    seen = {user: len(ephemeral_texts(world, user)) for user in answers}
    for user, picks in answers.items():
        for index, key in picks:
            world.click(user, questions[index], ui[key])
    world.wait(lambda: all(len(ephemeral_texts(world, u)) == seen[u] + len(p) for u, p in answers.items()))
    kept = world.env.store.load(record.id)
    assert kept is not None and kept.meta.status == "finished"
    assert sorted(kept.checkin["1"].values()) == [1, 3] and list(kept.checkin["2"].values()) == [2]
    for user, picks in answers.items():  # each clicker is thanked privately, naming the answer
        thanks = ephemeral_texts(world, user)[seen[user] :]
        assert all(any(world.says(t, "checkin_recorded", answer=ui[key]) for t in thanks) for _, key in picks)

    finish_check(world)  # the next check in this channel
    summary = "".join(_text(m) for m in world.top()[-1:] + world.fake.thread(CHANNEL, world.top()[-1].ts))
    assert f"{ui['checkin_q1']} 1 × {ui['checkin_q1_1']}, 1 × {ui['checkin_q1_3']}" in summary
    assert f"{ui['checkin_q2']} 1 × {ui['checkin_q2_2']}" in summary


# --- nudges -------------------------------------------------------------------------------------------


def test_a_nudge_lands_in_the_checks_thread_once(world: World) -> None:
    world.slash(FACILITATOR, "start")
    record = world.running()
    nudge = world.reminder(Kind.NUDGE, record.id, record.meta.state)
    assert nudge.due == START + 2 * 86400  # SMC_NUDGE_AFTER's default
    header = world.header_of(record)
    world.move_to(nudge.due)
    assert world.tick() == 1
    assert len(world.top()) == 1  # nothing new in the channel itself
    (nudged,) = [m for m in world.fake.thread(CHANNEL, header.ts) if world.says(m.text, "nudge", number=1)]
    assert only_call(world, nudged.ts).params["thread_ts"] == header.ts
    assert world.says(nudged.text, "no_answers_yet") and DIALOGUE.text("en", record.meta.state).text in nudged.text
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
    assert failed.state is State.SCHEDULED and failed.attempts == 1 and "internal_error" in failed.error
    assert len(world.top()) == 2  # nothing posted
    assert world.tick() == 0  # not before the back-off
    world.clock.advance(BACKOFF)
    assert world.tick() == 1
    assert len(world.top()) == 3 and world.says(world.top()[-1].text, "revisit_intro")
    assert world.reminder(Kind.REVISIT, record.id).state is State.POSTED
    world.clock.advance(10 * BACKOFF)
    assert world.tick() == 0 and len(world.top()) == 3  # posted once
    shown = listing(world)
    assert revisit.id in shown and world.says(shown, "reminder_state_posted")
    assert not world.says(shown, "reminder_state_failed")


@pytest.mark.parametrize("code", ["not_in_channel", "channel_not_found"])
def test_a_channel_the_bot_is_not_in_is_recorded_failed_and_listed(world: World, code: str) -> None:
    record = finish_check(world)
    world.move_to(world.reminder(Kind.REVISIT, record.id).due)
    world.fake.fail("chat.postMessage", times=1, error=code)
    assert world.tick() == 1
    failed = world.reminder(Kind.REVISIT, record.id)
    assert failed.state is State.FAILED and failed.attempts == 1
    assert failed.error.startswith("not a member") and code in failed.error
    refused = [c for c in world.fake.calls("chat.postMessage", include_rejected=True) if not c.ok]
    assert [c.response["error"] for c in refused] == [code]  # tried once: no retry can help
    world.clock.advance(30 * BACKOFF)
    assert world.tick() == 0  # not retried: the bot has to be invited back first
    shown = listing(world)
    assert failed.id in shown and world.says(shown, "reminder_state_failed", error=failed.error)


# --- the summary outbox ---------------------------------------------------------------------------


def summaries(world: World) -> list[Posted]:
    """The channel's summary messages (their header block reads "Summary: …")."""
    title = world.service.ui("en")["summary_title"] + ":"
    return [m for m in world.top() if m.blocks and m.blocks[0].get("text", {}).get("text", "").startswith(title)]


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
    assert len(world.fake.calls("files.completeUploadExternal")) == 1  # its chart follows it
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
