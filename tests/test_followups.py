"""Reminders, revisit, history and the comparison: the real service, store and scheduler on a moved clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import redis

from bot.core.dialogue.load import load_dialogue
from bot.core.messages import Audience, ChannelKey, EventKind, Message, Notice, SummaryCard
from bot.core.reminders import Kind, State, reminder_id
from bot.runtime.scheduler import ReminderScheduler, SchedulerOptions
from bot.service import CheckService
from bot.store.store import Store
from tests.team import Team, notices, render

DIALOGUE = load_dialogue()
START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
NUDGE_AFTER = 2 * 86400.0


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def to(self, epoch: float) -> None:
        self.now = datetime.fromtimestamp(epoch, tz=UTC)


@dataclass
class Posts:
    """A sender that records what the scheduler posts; ``fail`` makes the next batches fail."""

    sent: list[tuple[ChannelKey, list[Message]]] = field(default_factory=list)
    fail: list[str] = field(default_factory=list)

    def send(
        self,
        channel: ChannelKey,
        messages: Sequence[Message],
        *,
        on_done: Callable[[str | None], None] | None = None,
        still_wanted: Callable[[], bool] | None = None,
    ) -> None:
        if still_wanted is not None and not still_wanted():
            return  # as the outbox does: settled or taken over while it waited its turn
        error = self.fail.pop(0) if self.fail else None
        if error is None:
            self.sent.append((channel, list(messages)))
        if on_done is not None:
            on_done(error)

    def texts(self) -> list[str]:
        return [render(batch) for _, batch in self.sent]


@dataclass
class World:
    team: Team
    clock: Clock
    posts: Posts
    scheduler: ReminderScheduler
    store: Store

    def tick(self) -> int:
        return self.scheduler.tick()


def make_world(store: Store, admins: frozenset[str] = frozenset()) -> World:
    clock = Clock()
    service = CheckService(DIALOGUE, store, clock=clock, admins=admins, nudge_after=NUDGE_AFTER)
    posts = Posts()
    scheduler = ReminderScheduler(
        store.reminders,
        service.followups,
        {"console:local:room": posts},
        options=SchedulerOptions(attempts=3, backoff=60),
        clock=clock.epoch,
    )
    return World(Team(service), clock, posts, scheduler, store)


@pytest.fixture
def world(store: Store) -> World:
    return make_world(store)


def finish(world: World, decision: str = "not-now", start: str = "start", who: str = "anna") -> SummaryCard:
    """A whole check, moved through by its facilitator; anna and bram answer the scale questions."""
    world.team.say(who, start)
    for _ in range(80):
        card = world.team.current()
        question = DIALOGUE.question(card.view.question_id)
        if question.kind == "scale":
            world.team.say("anna", "answer 1")
            world.team.say("bram", "answer 2")
        reply = world.team.say(who, f"decide {decision}" if question.is_decision else "next")
        summaries = [m for m in reply if isinstance(m, SummaryCard)]
        if summaries:
            return summaries[-1]
    raise AssertionError("the check never ended")


def listed(world: World, user: str = "anna") -> str:
    return render(world.team.say(user, "reminders"))


def revisit_of(world: World, summary: SummaryCard):  # type: ignore[no-untyped-def]
    reminder = world.store.reminders.get(reminder_id(Kind.REVISIT, summary.summary.session_id))
    assert reminder is not None
    return reminder


# --- scheduling and the revisit post ---------------------------------------------------------------


def test_a_finished_check_schedules_its_revisit_and_says_so(world: World) -> None:
    summary = finish(world)
    assert summary.summary.revisit_scheduled
    text = render([summary])
    assert "I'll come back to this channel then" in text
    revisit = revisit_of(world, summary)
    assert revisit.state is State.SCHEDULED and revisit.channel == "console:local:room"
    # "not now" comes back after the dialogue's default (12 months), at 09:00
    due = datetime.fromtimestamp(revisit.due, tz=UTC)
    assert (due.date(), due.hour) == (START.date().replace(year=2027), 9)
    listing = listed(world)
    assert revisit.id in listing and "revisit" in listing and "November 28, 2027" in listing


def test_the_revisit_is_posted_once_at_its_time_with_four_actions(world: World) -> None:
    summary = finish(world)
    world.store.settle_outbox(summary.outbox_job, "console:local:room")  # the summary went out inline
    revisit = revisit_of(world, summary)
    world.clock.to(revisit.due - 1)
    assert world.tick() == 0 and not world.posts.sent
    world.clock.to(revisit.due)
    assert world.tick() == 1
    assert world.tick() == 0, "claimed once"
    [(channel, [post])] = world.posts.sent
    assert isinstance(post, Notice) and post.audience is Audience.CHANNEL
    assert "Time to look again" in post.text and "Not now" in post.text and "Anna" in post.text
    assert "Time and people" in post.text  # the theme scores of then
    assert [a.value.split(":")[0] for a in post.actions] == ["start", "snooze1", "snooze3", "dismiss"]
    assert all(a.event is EventKind.REMINDER and revisit.id in a.value for a in post.actions)
    assert "was due on" not in post.text, "on time"
    assert world.store.reminders.get(revisit.id).state is State.POSTED  # type: ignore[union-attr]


def test_a_reminder_that_fell_due_while_nobody_ran_says_it_is_late(world: World) -> None:
    summary = finish(world)
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    revisit = revisit_of(world, summary)
    world.clock.to(revisit.due + 3 * 86400)  # the bot was down for three days
    assert world.tick() == 1
    assert "This was due on November 28, 2027" in world.posts.texts()[0]


def test_the_summary_outbox_posts_a_summary_that_did_not_go_out_inline(world: World) -> None:
    summary = finish(world)
    world.clock.move(seconds=119)
    assert world.tick() == 0
    world.clock.move(seconds=2)
    assert world.tick() == 1
    [(_, [card])] = world.posts.sent
    assert isinstance(card, SummaryCard) and card.summary.session_id == summary.summary.session_id
    assert card.audience is Audience.CHANNEL
    world.clock.move(seconds=3600)
    assert world.tick() == 0, "posted once"


def test_revisit_changes_the_date_and_refuses_the_past_and_far_future(world: World) -> None:
    summary = finish(world)
    assert "passed" in render(world.team.say("anna", "revisit on 2020-01-01"))
    assert "10 years" in render(world.team.say("anna", "revisit in 11 years"))
    assert "could not read" in render(world.team.say("anna", "revisit whenever"))
    reply = world.team.say("bram", "revisit in 20 seconds")
    assert notices(reply)[0].audience is Audience.CHANNEL
    revisit = revisit_of(world, summary)
    assert revisit.due == pytest.approx(world.clock.epoch() + 20)
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    world.clock.move(seconds=19)
    assert world.tick() == 0
    world.clock.move(seconds=1)
    assert world.tick() == 1


def test_revisit_while_a_new_check_runs_changes_the_last_finished_decision(world: World) -> None:
    summary = finish(world)
    world.team.say("bram", "start")
    world.team.say("bram", "revisit on 2027-06-01")
    due = datetime.fromtimestamp(revisit_of(world, summary).due, tz=UTC)
    assert (due.date().isoformat(), due.hour) == ("2027-06-01", 9)


def test_snooze_reschedules_and_dismiss_is_for_the_facilitator(world: World) -> None:
    summary = finish(world)
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    revisit = revisit_of(world, summary)
    world.clock.to(revisit.due)
    world.tick()
    reply = world.team.say("carla", f"reminder {revisit.id} snooze 2 weeks")  # anyone may snooze
    assert "Snoozed" in render(reply)
    snoozed = revisit_of(world, summary)
    assert snoozed.state is State.SCHEDULED and snoozed.due == pytest.approx(revisit.due + 14 * 86400)
    assert "Only Anna" in render(world.team.say("carla", f"reminder {revisit.id} dismiss"))
    assert revisit_of(world, summary).state is State.SCHEDULED
    assert "dismissed" in render(world.team.say("anna", f"reminder {revisit.id} dismiss"))
    assert revisit_of(world, summary).state is State.DISMISSED
    assert revisit.id not in listed(world)
    world.clock.to(snoozed.due + 1)
    assert world.tick() == 0, "a dismissed reminder does not come back"


def test_the_snooze_buttons_move_it_one_and_three_months(world: World) -> None:
    summary = finish(world)
    revisit = revisit_of(world, summary)
    world.team.click("bram", kind=EventKind.REMINDER, value=f"snooze3:{revisit.id}")
    due = datetime.fromtimestamp(revisit_of(world, summary).due, tz=UTC)
    assert (due.year, due.month, due.day) == (2027, 2, 28)


def test_start_a_new_check_from_the_reminder_keeps_language_and_anonymity(world: World) -> None:
    summary = finish(world, start="start nl --anonymous")
    revisit = revisit_of(world, summary)
    reply = world.team.click("bram", kind=EventKind.REMINDER, value=f"start:{revisit.id}")
    running = world.team.current().view
    assert running.language == "nl" and running.anonymous and running.session_id != summary.summary.session_id
    assert "nieuwe check" in render(reply)
    assert revisit_of(world, summary).state is State.DONE


def test_reminders_cancel_is_for_the_facilitator_or_an_admin(store: Store) -> None:
    world = make_world(store, admins=frozenset({"root"}))
    summary = finish(world)
    revisit = revisit_of(world, summary)
    assert "Only Anna" in render(world.team.say("bram", f"reminders cancel {revisit.id}"))
    assert "cancelled" in render(world.team.say("root", f"reminders cancel {revisit.id}"))
    assert revisit_of(world, summary).state is State.CANCELLED
    assert "no reminder" in render(world.team.say("anna", "reminders cancel 0badc0de"))


def test_an_anonymous_check_names_nobody_in_its_reminder(world: World) -> None:
    summary = finish(world, start="start --anonymous")
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    world.clock.to(revisit_of(world, summary).due)
    world.tick()
    [text] = world.posts.texts()
    assert "Anna" not in text and "anna" not in text
    assert "Only the facilitator" in render(world.team.say("bram", f"reminder {revisit_of(world, summary).id} dismiss"))


def test_no_reminder_key_or_value_names_a_person_of_an_anonymous_check(world: World, redis_client: redis.Redis) -> None:
    finish(world, start="start --anonymous")
    for key in redis_client.scan_iter("test:rem*"):
        dump = key + repr(redis_client.hgetall(key) if redis_client.type(key) == "hash" else "")
        for person in ("anna", "Anna", "bram", "Bram"):
            assert person not in dump, key


# --- failures ------------------------------------------------------------------------------------------


def test_a_failing_platform_is_retried_with_backoff_then_recorded_as_failed(world: World) -> None:
    summary = finish(world)
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    revisit = revisit_of(world, summary)
    world.posts.fail = ["HTTP 503", "HTTP 503", "HTTP 503"]
    world.clock.to(revisit.due)
    assert world.tick() == 1
    again = revisit_of(world, summary)
    assert again.state is State.SCHEDULED and again.error == "HTTP 503" and again.attempts == 1
    world.clock.move(seconds=59)
    assert world.tick() == 0, "the first retry waits 60 s"
    world.clock.move(seconds=1)
    assert world.tick() == 1  # second attempt fails: back-off doubles
    world.clock.move(seconds=119)
    assert world.tick() == 0
    world.clock.move(seconds=1)
    assert world.tick() == 1  # third attempt fails: that was the last
    failed = revisit_of(world, summary)
    assert failed.state is State.FAILED and not world.posts.sent
    listing = listed(world)
    assert revisit.id in listing and "failed: HTTP 503" in listing
    world.clock.move(days=30)
    assert world.tick() == 0


def test_a_platform_that_recovers_gets_the_post_once(world: World) -> None:
    summary = finish(world)
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    revisit = revisit_of(world, summary)
    world.posts.fail = ["timeout"]
    world.clock.to(revisit.due)
    world.tick()
    world.clock.move(seconds=61)
    world.tick()
    world.clock.move(days=1)
    world.tick()
    assert len(world.posts.sent) == 1


def test_a_channel_the_bot_left_fails_at_once_with_the_reason(world: World) -> None:
    summary = finish(world)
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    world.posts.fail = ["not a member of the channel (channel_not_found)"]
    world.clock.to(revisit_of(world, summary).due)
    world.tick()
    assert revisit_of(world, summary).state is State.FAILED
    assert "not a member" in listed(world)


def test_a_claim_whose_process_died_is_posted_by_another_after_the_lease(world: World) -> None:
    summary = finish(world)
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    revisit = revisit_of(world, summary)
    world.clock.to(revisit.due)
    dead = world.store.reminders.claim(["console:local:room"], world.clock.epoch(), 60, 10, "dead-process")
    assert [r.id for r in dead.reminders] == [revisit.id]  # ... and that process is killed before it posts
    world.clock.move(seconds=59)
    assert world.tick() == 0
    world.clock.move(seconds=2)
    assert world.tick() == 1 and len(world.posts.sent) == 1
    assert not world.store.reminders.report(dead.reminders[0], State.POSTED), "the dead claim cannot report"


# --- nudges and the pilot check-in --------------------------------------------------------------------


def test_an_open_question_is_nudged_once_in_its_thread(world: World) -> None:
    world.team.say("anna", "start")
    world.team.say("bram", "answer 1")
    first = world.team.current().view
    world.clock.move(seconds=NUDGE_AFTER - 1)
    assert world.tick() == 0
    world.clock.move(seconds=1)
    assert world.tick() == 1
    [(_, [nudge])] = world.posts.sent
    assert isinstance(nudge, Notice) and nudge.audience is Audience.THREAD and nudge.session_id == first.session_id
    assert "question 1 is still open" in nudge.text and "1 answered" in nudge.text
    world.team.say("anna", "next")
    world.team.say("anna", "back")  # the same question again: no second nudge
    world.clock.move(seconds=NUDGE_AFTER * 3)
    world.tick()
    assert [p for _, batch in world.posts.sent for p in batch if "question 1 " in render([p])] == [nudge]


def test_a_question_that_moved_on_is_not_nudged(world: World) -> None:
    world.team.say("anna", "start")
    world.clock.move(seconds=60)
    world.team.say("anna", "next")  # question 1's nudge is settled with the move
    world.clock.move(seconds=NUDGE_AFTER)
    assert world.tick() == 1
    [(_, [nudge])] = world.posts.sent
    assert "question 2 is still open" in render([nudge])


def test_a_cancelled_check_is_not_nudged(world: World) -> None:
    world.team.say("anna", "start")
    assert "nudge" in listed(world)
    world.team.say("anna", "cancel")
    assert "nudge" not in listed(world), "settled with the cancel"
    world.clock.move(seconds=NUDGE_AFTER)
    world.tick()
    assert not world.posts.sent


def test_a_pilot_gets_a_check_in_half_way_and_the_answers_show_in_the_next_summary(world: World) -> None:
    summary = finish(world, decision="pilot")
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    checkin = world.store.reminders.get(reminder_id(Kind.CHECKIN, summary.summary.session_id))
    revisit = revisit_of(world, summary)
    assert checkin is not None
    assert checkin.due == pytest.approx(world.clock.epoch() + (revisit.due - world.clock.epoch()) / 2)
    world.clock.to(checkin.due)
    assert world.tick() == 1
    [(_, posts)] = world.posts.sent
    assert "Half-way through the pilot" in render(posts[:1])
    questions = [p for p in posts if isinstance(p, Notice) and p.actions]
    assert len(questions) == 2 and all(len(q.actions) == 3 for q in questions)
    world.team.click("bram", kind=EventKind.REMINDER, value=questions[0].actions[0].value)
    world.team.say("carla", f"reminder {checkin.id} answer 1 3")
    world.team.say("carla", f"reminder {checkin.id} answer 2 2")
    second = finish(world, decision="go", who="bram")
    previous = second.summary.previous
    assert previous is not None and previous.session_id == summary.summary.session_id
    assert any("1 × Talking with people" in line and "1 × Mostly broadcasting" in line for line in previous.checkin)
    assert "Pilot" in render([second]) or "pilot" in render([second])


# --- history and comparison -----------------------------------------------------------------------------


def test_a_second_check_compares_with_the_first_per_theme(world: World) -> None:
    first = finish(world)
    world.clock.move(days=30)
    second = finish(world, who="bram")
    previous = second.summary.previous
    assert previous is not None and previous.session_id == first.summary.session_id
    rows = {c.title: (c.before, c.now) for c in previous.themes}
    assert rows["Time and people"] == (1.5, 1.5)
    text = render([second])
    assert "Compared with the previous check (November 28, 2026: Not now)" in text
    assert "Time and people: ⌀ 1.5 → 1.5 of 5" in text
    assert first.summary.previous is None


def test_history_lists_past_checks_newest_first_in_pages(world: World) -> None:
    for n in range(6):
        finish(world, decision=("go", "pilot", "not-now")[n % 3])
        world.clock.move(days=1)
    page1 = render(world.team.say("anna", "history"))
    assert "page 1 of 2" in page1 and page1.count("owner:") == 5
    assert page1.index("December 3, 2026") < page1.index("November 29, 2026"), "newest first"
    assert "history 2" in page1
    page2 = render(world.team.say("anna", "history 2"))
    assert page2.count("owner:") == 1 and "November 28, 2026" in page2
    assert "no page 3" in render(world.team.say("anna", "history 3"))


def test_history_is_empty_in_a_new_channel(world: World) -> None:
    assert "No finished checks" in render(world.team.say("anna", "history"))
    assert "No reminders" in listed(world)
    assert "no finished check" in render(world.team.say("anna", "revisit in 2 months"))


def test_a_dutch_check_comes_back_in_dutch(world: World) -> None:
    summary = finish(world, start="start nl")
    assert "dan kom ik terug in dit kanaal" in render([summary])
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    listing = render(world.team.say("anna", "herinneringen"))
    assert "opnieuw bekijken" in listing and "28 november 2027" in listing and "09:00" in listing
    assert "over 2 maanden" not in listing
    reply = render(world.team.say("anna", "herzien over 2 maanden"))
    assert "28 januari 2027" in reply
    world.clock.to(revisit_of(world, summary).due)
    world.tick()
    [(_, [post])] = world.posts.sent
    assert isinstance(post, Notice)
    assert "Tijd om opnieuw te kijken" in post.text and "*Nu niet*" in post.text
    assert "Eerlijk oordeel ⌀ 2,0 van 5" in post.text, "Dutch decimals"
    assert [a.label for a in post.actions][-1] == "Laten vallen"


def test_a_restarted_check_leaves_one_nudge_for_its_new_first_question(world: World) -> None:
    world.team.say("anna", "start")
    world.team.say("anna", "restart confirm")
    assert listed(world).count("nudge") == 1
    world.clock.move(seconds=NUDGE_AFTER)
    assert world.tick() == 1
    [(_, [nudge])] = world.posts.sent
    assert isinstance(nudge, Notice) and nudge.session_id == world.team.current().view.session_id


def test_a_message_the_platform_refuses_fails_at_once_with_the_reason(world: World) -> None:
    summary = finish(world)
    world.store.settle_outbox(summary.outbox_job, "console:local:room")
    world.posts.fail = ["refused by the platform (Slack chat.postMessage failed: is_archived)"]
    world.clock.to(revisit_of(world, summary).due)
    world.tick()
    assert revisit_of(world, summary).state is State.FAILED and revisit_of(world, summary).attempts == 1
    assert "is_archived" in listed(world)
