"""Reminders on Mattermost, end to end: the revisit post and its buttons, the pilot check-in, nudges,
the summary outbox, and the platform failing — at the HTTP boundary on both sides.

A check is driven to its end with slash commands into the real web server (the harness of
test_mattermost_adapter); then the real :class:`ReminderScheduler` runs one round (``tick``) on a
moved clock and posts through the adapter's own outbox to the fake Mattermost, which validates every
request body against the API reference. Buttons are clicked by posting back their signed
``context`` exactly as the bot rendered it. The harness's service runs on real time, so times
the service computes are checked against the real time around the request; the scheduler's clock
is moved by hand. Nothing sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dt_time
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta

from bot.core.messages import EventKind
from bot.core.reminders import Kind, Reminder, State, later, reminder_id
from bot.core.session import SessionRecord
from bot.core.views import Lens
from bot.runtime.clock import ManualClock
from bot.runtime.scheduler import ReminderScheduler, SchedulerOptions
from bot.store.store import Store
from tests.adapters.catalogue import plain, said
from tests.adapters.mattermost.test_mattermost_adapter import CHANNEL, CHANNEL_ID, DIALOGUE, Harness, make_harness
from tests.adapters.outages import MattermostWithOutages

BACKOFF = 60.0  # the scheduler's first retry after a failed post
LAST_QUESTIONS = ("reconsider", "pilot_review")  # the last question of "not now" and of a pilot
POSTS = "/api/v4/posts"
TOLERANCE = 0.001  # seconds: the service reads datetime.now() (microseconds), the bounds come from time.time()


@dataclass
class World:
    mm: Harness
    fake: MattermostWithOutages
    clock: ManualClock  # the scheduler's
    scheduler: ReminderScheduler

    def tick(self) -> int:
        """One scheduler round, and everything it handed to the outbox delivered (or failed)."""
        claimed = self.scheduler.tick()
        assert self.scheduler.wait_idle(30)
        self.mm.idle()
        return claimed

    def move_to(self, epoch: float) -> None:
        self.clock.advance(max(epoch - self.clock.now(), 0.0))

    def reminder(self, kind: Kind, session_id: str, question_id: str = "") -> Reminder:
        found = self.mm.store.reminders.get(reminder_id(kind, session_id, question_id))
        assert found is not None, (kind, session_id)
        return found

    def top(self) -> list[dict[str, Any]]:
        return self.fake.channel_posts(CHANNEL_ID, root_only=True)

    def command(self, user: str, text: str) -> str:
        reply = self.mm.command(user, text)
        assert reply.status_code == 200, reply.text
        return str(reply.json().get("text", ""))

    def click(self, user: str, post: dict[str, Any], label: str) -> str:
        """Click the button called ``label``; what Mattermost shows the clicker alone."""
        action = next(a for a in actions(post) if a["name"] == label)
        reply = self.mm.click(user, post, action["id"])
        assert reply.status_code == 200, reply.text
        self.mm.idle()
        return str(reply.json().get("ephemeral_text", ""))

    def ui(self, language: str = "en") -> Any:
        return self.mm.service.ui(language)

    def says(self, text: str, key: str, language: str = "en", **values: object) -> bool:
        """``text`` says the catalogue's ``key`` (with ``values``)."""
        return said(self.ui(language), key, **values) in plain(text)

    def day(self, record: SessionRecord, language: str = "en") -> str:
        """The day ``record`` finished, as the bot writes dates in ``language``."""
        finished = datetime.fromtimestamp(record.meta.finished_at or 0, tz=UTC).date()
        return Lens(self.mm.service.dialogue, self.mm.service.flow, language).format_date(finished)


def actions(post: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for att in (post.get("props") or {}).get("attachments") or [] for a in att.get("actions") or []]


def summaries(world: World) -> list[dict[str, Any]]:
    return [p for p in world.top() if "— Summary" in p["message"]]


@pytest.fixture
def world(store: Store) -> Iterator[World]:
    with MattermostWithOutages() as fake:
        for mm in make_harness(fake, store, window=0.2):
            clock = ManualClock(start=time.time())
            scheduler = ReminderScheduler(
                store.reminders,
                mm.service.followups,
                {"mattermost": mm.adapter.outbox},
                options=SchedulerOptions(backoff=BACKOFF),
                clock=clock.now,
            )
            yield World(mm, fake, clock, scheduler)
    assert fake.violations == [], fake.violations


def finish_check(
    world: World,
    start: str = "start",
    leaning: str = "not_now",
    decision: str = "not-now",
    before_end: Callable[[], None] | None = None,
) -> SessionRecord:
    """The facilitator (anna) walks a check to its end with slash commands; ``before_end`` runs
    just before the last ``next``. Each command is answered once the service has run it."""
    world.command("anna", start)
    started = world.mm.store.load_running(str(CHANNEL))
    assert started is not None
    for _ in range(80):
        card = world.mm.service.current(CHANNEL)
        if card is None:
            break
        question = DIALOGUE.question(card.view.question_id)
        if question.id == "leaning":
            world.command("anna", f"answer {[o.value for o in question.options].index(leaning) + 1}")
        if before_end is not None and question.id in LAST_QUESTIONS:
            before_end()
        world.command("anna", f"decide {decision}" if question.is_decision else "next")
    else:
        raise AssertionError("the check never ended")
    world.mm.idle()
    finished = world.mm.store.history(str(CHANNEL), limit=1)[0]
    assert finished.id == started.id and finished.meta.status == "finished"
    return finished


def created(world: World, post_id: str) -> dict[str, Any]:
    """The request body that created ``post_id``."""
    post = world.fake.posts[post_id]
    sent = [c.body for c in world.fake.calls_to("POST", POSTS) if c.status == 201 and c.body]
    (body,) = [b for b in sent if b.get("message") == post["message"] and b.get("root_id", "") == post["root_id"]]
    return dict(body)


# --- the revisit post and its buttons ------------------------------------------------------------


def test_the_revisit_is_posted_in_the_channel_with_four_buttons_that_work(world: World) -> None:
    record = finish_check(world)
    revisit = world.reminder(Kind.REVISIT, record.id)
    assert revisit.state is State.SCHEDULED and revisit.channel == str(CHANNEL)
    finished = datetime.fromtimestamp(record.meta.finished_at or 0, tz=UTC)  # not now: 12 months on, at 09:00
    expected = datetime.combine(finished.date() + relativedelta(months=12), dt_time(9, 0), tzinfo=UTC)
    assert datetime.fromtimestamp(revisit.due, tz=UTC) == expected

    # The harness's service runs on real time: bring the revisit close to it (and try `revisit`).
    before = time.time()
    assert world.command("anna", "revisit in 30 seconds") == ""  # said in the channel
    revisit = world.reminder(Kind.REVISIT, record.id)
    assert before + 30 - TOLERANCE <= revisit.due <= time.time() + 30 + TOLERANCE
    world.mm.idle()
    assert world.says(world.top()[-1]["message"], "revisit_changed", date=world.day(record))

    world.move_to(revisit.due - 1)
    assert world.tick() == 0
    world.move_to(revisit.due)
    assert world.tick() == 1
    post = world.top()[-1]
    assert len(world.top()) == 4 and post["root_id"] == ""  # in the channel, not in the check's thread
    assert world.says(post["message"], "revisit_intro", date=world.day(record)) and "Anna" in post["message"]
    assert not world.says(post["message"], "revisit_late")  # on time: not marked late

    # the request as sent is valid against the API reference — and that check does bite
    body = created(world, post["id"])
    assert "root_id" not in body and body["channel_id"] == CHANNEL_ID
    assert world.fake.checker is not None
    assert world.fake.checker.check("POST", POSTS, body, "application/json") == []
    broken = {k: v for k, v in body.items() if k != "channel_id"}
    assert world.fake.checker.check("POST", POSTS, broken, "application/json")

    ui = world.ui()
    labels = [ui["reminder_start"], ui["reminder_snooze_1"], ui["reminder_snooze_3"], ui["reminder_dismiss"]]
    buttons = actions(post)
    assert [b["name"] for b in buttons] == labels and [b["id"] for b in buttons] == ["ev0", "ev1", "ev2", "ev3"]
    contexts = [b["integration"]["context"] for b in buttons]
    assert all(c["a"] == "event" and c["e"] == EventKind.REMINDER.value for c in contexts)
    assert [c["v"] for c in contexts] == [f"{v}:{revisit.id}" for v in ("start", "snooze1", "snooze3", "dismiss")]
    assert all(b["integration"]["url"] == world.mm.adapter.action_url for b in buttons)

    # snooze 1 month, then 3 months (anyone may): rescheduled from the time of the click, in the store
    for label, months, shown in ((labels[1], 1, 5), (labels[2], 3, 6)):
        before = time.time()
        assert world.click("bram", post, label) == ""
        after = time.time()
        snoozed = world.reminder(Kind.REVISIT, record.id)
        assert snoozed.state is State.SCHEDULED
        assert later(before, months, UTC) - TOLERANCE <= snoozed.due <= later(after, months, UTC) + TOLERANCE
        assert len(world.top()) == shown and world.says(world.top()[-1]["message"], "reminder_snoozed")
    world.clock.advance(60)
    assert world.tick() == 0  # no longer due
    world.move_to(snoozed.due)
    assert world.tick() == 1  # ... until the snooze is over: posted again
    again = world.top()[-1]
    assert len(world.top()) == 7 and world.says(again["message"], "revisit_intro")

    # dismiss: refused privately (in the click's answer) for someone else, done for the facilitator
    refusal = world.click("bram", again, labels[3])
    assert world.says(refusal, "reminder_not_yours", facilitator="Anna", action=ui["action_dismiss"])
    assert world.reminder(Kind.REVISIT, record.id).state is State.POSTED and len(world.top()) == 7
    assert world.click("anna", again, labels[3]) == ""
    assert world.reminder(Kind.REVISIT, record.id).state is State.DISMISSED
    dismissed = world.top()[-1]["message"]
    assert len(world.top()) == 8 and world.says(dismissed, "reminder_dismissed", name="Anna", date=world.day(record))
    world.move_to(later(world.clock.now(), 4, UTC))
    assert world.tick() == 0  # dismissed: it never comes back


def test_start_a_new_check_from_the_revisit_keeps_language_and_anonymity(world: World) -> None:
    record = finish_check(world, start="start nl --anonymous")
    assert record.meta.language == "nl" and record.meta.anonymous
    world.move_to(world.reminder(Kind.REVISIT, record.id).due)
    assert world.tick() == 1
    post = world.top()[-1]
    assert world.says(post["message"], "revisit_intro", "nl") and "Anna" not in post["message"]

    assert world.click("bram", post, world.ui("nl")["reminder_start"]) == ""  # anyone may start one
    running = world.mm.store.load_running(str(CHANNEL))
    assert running is not None and running.id != record.id
    assert running.meta.language == "nl" and running.meta.anonymous
    assert world.reminder(Kind.REVISIT, record.id).state is State.DONE
    new_header = world.top()[-1]
    assert new_header["message"].startswith("### ") and new_header["create_at"] > post["create_at"]
    assert any(p["root_id"] == new_header["id"] for p in world.fake.channel_posts(CHANNEL_ID))
    day = world.day(record, "nl")
    assert any(world.says(p["message"], "reminder_started", "nl", name="Bram", date=day) for p in world.top())


# --- the pilot check-in -----------------------------------------------------------------------------


def test_the_pilot_check_in_records_button_answers_and_the_next_summary_shows_them(world: World) -> None:
    record = finish_check(world, leaning="try", decision="pilot")
    checkin = world.reminder(Kind.CHECKIN, record.id)
    revisit = world.reminder(Kind.REVISIT, record.id)
    finished_at = record.meta.finished_at or 0
    assert checkin.due == pytest.approx(finished_at + (revisit.due - finished_at) / 2)
    world.move_to(checkin.due)
    assert world.tick() == 1
    intro, *questions = world.top()[-3:]
    assert world.says(intro["message"], "checkin_intro", date=world.day(record)) and not actions(intro)
    ui = world.ui()
    for number, question in enumerate(questions, start=1):
        assert [a["name"] for a in actions(question)] == [ui[f"checkin_q{number}_{n}"] for n in (1, 2, 3)]
        assert question["root_id"] == ""
    for user, question, label in (
        ("anna", questions[0], ui["checkin_q1_1"]),
        ("bram", questions[0], ui["checkin_q1_3"]),
        ("bram", questions[1], ui["checkin_q2_2"]),
    ):
        assert world.says(world.click(user, question, label), "checkin_recorded", answer=label)
    kept = world.mm.store.load(record.id)
    assert kept is not None and kept.meta.status == "finished"
    assert sorted(kept.checkin["1"].values()) == [1, 3] and list(kept.checkin["2"].values()) == [2]

    finish_check(world)  # the next check in this channel
    summary = summaries(world)[-1]["message"]
    assert f"{ui['checkin_q1']} 1 × {ui['checkin_q1_1']}, 1 × {ui['checkin_q1_3']}" in summary
    assert f"{ui['checkin_q2']} 1 × {ui['checkin_q2_2']}" in summary


# --- nudges -------------------------------------------------------------------------------------------


def test_a_nudge_lands_in_the_checks_thread_once(world: World) -> None:
    before = time.time()
    world.command("anna", "start")
    after = time.time()
    world.mm.idle()
    record = world.mm.store.load_running(str(CHANNEL))
    assert record is not None
    nudge = world.reminder(Kind.NUDGE, record.id, record.meta.state)
    assert before + 2 * 86400 - TOLERANCE <= nudge.due <= after + 2 * 86400 + TOLERANCE  # SMC_NUDGE_AFTER's default
    header = world.top()[0]
    world.move_to(nudge.due)
    assert world.tick() == 1
    assert len(world.top()) == 1  # nothing new in the channel itself
    (nudged,) = [p for p in world.fake.channel_posts(CHANNEL_ID) if world.says(p["message"], "nudge", number=1)]
    assert nudged["root_id"] == header["id"] and created(world, nudged["id"])["root_id"] == header["id"]
    question = DIALOGUE.text("en", record.meta.state).text
    assert world.says(nudged["message"], "no_answers_yet") and question in nudged["message"]
    world.move_to(nudge.due + 7 * 86400)
    assert world.tick() == 0  # at most once per question


# --- the platform failing ----------------------------------------------------------------------------


def test_a_failing_post_is_retried_after_the_backoff_and_posted_once(world: World) -> None:
    record = finish_check(world)
    world.move_to(world.reminder(Kind.REVISIT, record.id).due)
    world.fake.fail_next("POST", POSTS, 500, times=5)  # every attempt of the outbox's retries
    assert world.tick() == 1
    failed = world.reminder(Kind.REVISIT, record.id)
    assert failed.state is State.SCHEDULED and failed.attempts == 1 and "500" in failed.error
    assert len(world.top()) == 2  # nothing posted
    assert world.tick() == 0  # not before the back-off
    world.clock.advance(BACKOFF)
    assert world.tick() == 1
    assert len(world.top()) == 3 and world.says(world.top()[-1]["message"], "revisit_intro")
    assert world.reminder(Kind.REVISIT, record.id).state is State.POSTED
    world.clock.advance(10 * BACKOFF)
    assert world.tick() == 0 and len(world.top()) == 3  # posted once
    shown = world.command("anna", "reminders")
    assert failed.id in shown and world.says(shown, "reminder_state_posted")
    assert not world.says(shown, "reminder_state_failed")


def test_a_channel_the_bot_is_not_in_is_recorded_failed_and_listed(world: World) -> None:
    record = finish_check(world)
    world.move_to(world.reminder(Kind.REVISIT, record.id).due)
    world.fake.fail_next("POST", POSTS, 403, message="You do not have the appropriate permissions.")
    assert world.tick() == 1
    failed = world.reminder(Kind.REVISIT, record.id)
    assert failed.state is State.FAILED and failed.attempts == 1
    assert failed.error.startswith("not a member") and "403" in failed.error
    assert [c.status for c in world.fake.calls_to("POST", POSTS)][-1] == 403  # tried once, not retried
    world.clock.advance(30 * BACKOFF)
    assert world.tick() == 0  # the bot has to be added back first
    shown = world.command("anna", "reminders")
    assert failed.id in shown and world.says(shown, "reminder_state_failed", error=failed.error)


# --- the summary outbox ---------------------------------------------------------------------------


def test_a_summary_that_failed_when_the_check_ended_is_posted_by_the_scheduler_once(world: World) -> None:
    def down() -> None:  # the chart upload and every channel-level post fail as the check ends
        world.fake.fail_next("POST", "/api/v4/files", 500)
        world.fake.fail_channel_posts(5)

    record = finish_check(world, before_end=down)
    assert summaries(world) == [] and len(world.top()) == 1  # the header only
    assert [c.status for c in world.fake.calls_to("POST", POSTS)].count(503) == 5
    entry = world.reminder(Kind.SUMMARY, record.id)
    assert entry.state is State.SCHEDULED
    world.move_to(record.meta.finished_at or 0)
    assert world.tick() == 0  # within the grace period the inline post might still be under way

    world.move_to(entry.due)  # Mattermost is back
    assert world.tick() == 1
    (summary,) = summaries(world)
    assert summary["root_id"] == "" and "**Decision:** Not now" in summary["message"]
    assert len(summary["file_ids"]) == 1 and summary["file_ids"][0] in world.fake.files  # with its chart
    assert world.reminder(Kind.SUMMARY, record.id).state is State.DONE
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
