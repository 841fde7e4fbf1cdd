"""forget-me, purge, SMC_HISTORY_TTL and stored names: the real service and the real Redis store on an
injected clock, then the confirmation buttons through the Slack and Mattermost HTTP boundaries.

"Nothing left" is checked by reading every key of every type (tests/redis_dump.py) for the person's
platform id, display name, note texts and, in an anonymous check, the salted key of that check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from bot.app import build_store
from bot.config import load_settings
from bot.core.dialogue.load import load_dialogue
from bot.core.messages import (
    Audience,
    ChannelKey,
    Event,
    EventKind,
    HeaderCard,
    Message,
    Notice,
    Summary,
    SummaryCard,
    TallyChanged,
    Tone,
)
from bot.core.reminders import Kind, reminder_id
from bot.core.session import SessionRecord, user_key
from bot.core.summary import build_summary
from bot.core.views import Lens
from bot.errors import ConfigError
from bot.runtime.scheduler import ReminderScheduler, SchedulerOptions
from bot.service import CheckService
from bot.store.store import Store
from tests.redis_dump import dump, holding
from tests.team import render
from tests.test_followups import Clock, Posts

DIALOGUE = load_dialogue()
PREFIX = "test"
C1 = ChannelKey("slack", "T1", "C1")
C2 = ChannelKey("slack", "T1", "C2")
ELSEWHERE = ChannelKey("slack", "T2", "C1")  # another workspace: forget-me in T1 leaves it alone
FIONA, ANNA, BRAM = "U0FIONA", "U0ANNA", "U0BRAM"
NAMES = {FIONA: "Fiona", ANNA: "Annabel", BRAM: "Bramwell", "U0ADMIN": "Root"}


@dataclass
class World:
    service: CheckService
    store: Store
    clock: Clock

    def say(self, channel: ChannelKey, user: str, text: str) -> list[Message]:
        return self.service.handle_command(channel, text, user, NAMES.get(user, user))

    def click(self, channel: ChannelKey, user: str, **fields: Any) -> list[Message]:
        event = Event(user=user, user_name=NAMES.get(user, user), via_button=True, **fields)
        return self.service.handle(channel, event)

    def running(self, channel: ChannelKey) -> SessionRecord:
        record = self.store.load_running(str(channel))
        assert record is not None, f"no check runs in {channel}"
        return record


def make_world(store: Store, admins: frozenset[str] = frozenset()) -> World:
    clock = Clock()
    return World(CheckService(DIALOGUE, store, clock=clock, admins=admins), store, clock)


@pytest.fixture
def world(store: Store) -> World:
    return make_world(store, admins=frozenset({"U0ADMIN"}))


def finish(
    world: World,
    channel: ChannelKey,
    *,
    facilitator: str = FIONA,
    answering: Sequence[str] = (ANNA, BRAM),
    start: str = "start",
    decision: str = "pilot",
    notes: Sequence[str] = (),
) -> str:
    """A whole check: ``answering`` answer every scale question (and write ``notes`` on the first one,
    in order), the facilitator moves on and decides. Returns the check's id."""
    world.say(channel, facilitator, start)
    sid = world.running(channel).id
    for i, text in enumerate(notes):
        world.say(channel, answering[i % len(answering)], f"note {text}")
    for _ in range(80):
        record = world.running(channel)
        question = DIALOGUE.question(record.meta.state)
        if question.kind == "scale":
            for n, user in enumerate(answering):
                world.say(channel, user, f"answer {1 + n % 3}")
        reply = world.say(channel, facilitator, f"decide {decision}" if question.is_decision else "next")
        if any(isinstance(m, SummaryCard) for m in reply):
            return sid
    raise AssertionError("the check never ended")


def only_notice(messages: Sequence[Message]) -> Notice:
    found = [m for m in messages if isinstance(m, Notice)]
    assert len(found) == 1, render(messages)
    return found[0]


def summary_of(world: World, sid: str) -> Summary:
    """The check's summary as it is shown now (derived from the record every time)."""
    record = world.store.load(sid)
    assert record is not None
    return build_summary(Lens(DIALOGUE, world.service.flow, record.meta.language), record)


def given_by(world: World, sids: Sequence[str], user: str) -> int:
    """How many answers (check-in answers included) ``user`` has in the checks ``sids``."""
    total = 0
    for sid in sids:
        record = world.store.load(sid)
        assert record is not None
        key = user_key(record.meta, user)
        total += sum(key in per_user for per_user in record.answers.values())
        total += sum(key in per_user for per_user in record.checkin.values())
    return total


# --- forget-me -------------------------------------------------------------------------------------


def test_forget_me_asks_first_then_removes_the_caller_from_every_check_of_the_team(
    world: World, redis_client: redis.Redis
) -> None:
    first = finish(world, C1, notes=("annabel-note-1", "bramwell-note-1"))  # a pilot: it has a check-in
    world.click(C1, ANNA, kind=EventKind.REMINDER, value=f"answer:{reminder_id(Kind.CHECKIN, first)}:1:2")
    world.click(C1, BRAM, kind=EventKind.REMINDER, value=f"answer:{reminder_id(Kind.CHECKIN, first)}:1:1")
    anonymous = finish(world, C1, start="start --anonymous", notes=("annabel-note-2",))
    led = finish(world, C2, facilitator=ANNA, decision="not-now")  # she facilitated this one
    world.say(C2, FIONA, "start")
    running = world.running(C2).id
    world.say(C2, ANNA, "answer 3")
    world.say(C2, BRAM, "answer 1")
    world.say(C2, ANNA, "note annabel-note-3")
    elsewhere = finish(world, ELSEWHERE, notes=("annabel-elsewhere",))
    answers = given_by(world, (first, anonymous, led, running), ANNA)
    assert answers > 30 and given_by(world, (elsewhere,), ANNA) > 10
    before = summary_of(world, first)
    assert before.participant_count == 2 and "Annabel" in before.participants

    asked = only_notice(world.say(C1, ANNA, "forget-me"))
    assert asked.audience is Audience.EPHEMERAL and "every check of this workspace" in asked.text
    [button] = asked.actions
    assert (button.event, button.value, button.style) == (EventKind.FORGET_ME, "confirm", "danger")
    assert button.command == "/socialmedia-check forget-me confirm"
    assert summary_of(world, first).participant_count == 2, "nothing happens before the confirmation"

    reply = world.click(C1, ANNA, kind=EventKind.FORGET_ME, confirm=True)  # the button
    done = only_notice(reply)
    assert done.tone is Tone.SUCCESS and done.audience is Audience.EPHEMERAL
    assert (
        done.text == f"Done: I removed {answers} answers and 3 notes from 4 checks; nothing of yours is left in them."
    )
    assert not [m for m in reply if isinstance(m, TallyChanged)], "no check runs in C1: no live tally to edit"
    assert given_by(world, (first, anonymous, led, running), ANNA) == 0

    # the tallies and summaries recompute without her
    after = summary_of(world, first)
    assert after.participant_count == 1 and after.participants == ("Bramwell",)
    assert all(o.voters in ((), ("Bramwell",)) for q in after.questions for o in q.options)
    assert [c.text for c in after.concerns] == ["bramwell-note-1"]
    assert summary_of(world, anonymous).participant_count == 1
    assert world.store.load(first).checkin == {"1": {BRAM: 1}}  # type: ignore[union-attr]
    led_record = world.store.load(led)
    assert led_record is not None and led_record.meta.facilitator_name == "" and led_record.meta.facilitator == ""
    assert summary_of(world, led).participant_count == 1
    now_running = world.store.load(running)
    assert now_running is not None and list(now_running.answers_to(now_running.meta.state)) == [BRAM]
    assert now_running.meta.facilitator == FIONA, "other people's checks keep their facilitator"

    # nothing of her is left in Redis, but in the other workspace's check
    anonymous_record = world.store.load(anonymous)
    assert anonymous_record is not None
    salted = user_key(anonymous_record.meta, ANNA)
    found = holding(redis_client, ANNA, "Annabel", "annabel-note", salted)
    assert set(found) == {f"{PREFIX}:s:{elsewhere}"}, found
    kept = world.store.load(elsewhere)
    assert kept is not None and ANNA in kept.participants() and kept.names[ANNA] == "Annabel"
    assert holding(redis_client, BRAM, "Bramwell"), "the others are all still there"

    # asked again: nothing left
    assert (
        only_notice(world.say(C1, ANNA, "forget-me confirm")).text
        == "Nothing of yours is stored in this workspace's checks."
    )


def test_forget_me_in_the_channel_of_a_running_check_refreshes_its_questions(world: World) -> None:
    world.say(C1, FIONA, "start")
    record = world.running(C1)
    world.say(C1, ANNA, "answer 2")
    world.say(C1, ANNA, "note one thing")
    reply = world.say(C1, ANNA, "forget-me confirm")  # typed, confirmed at once
    assert (
        only_notice(reply).text == "Done: I removed 1 answer and 1 note from 1 check; nothing of yours is left in them."
    )
    assert [(m.session_id, m.question_id) for m in reply if isinstance(m, TallyChanged)] == [
        (record.id, record.meta.state)
    ]
    card = world.service.question_card(record.id, record.meta.state)
    assert card is not None and card.view.respondent_count == 0 and card.view.notes_count == 0


def test_the_facilitator_of_a_running_check_finishes_or_cancels_it_first(world: World) -> None:
    world.say(C2, ANNA, "start")
    world.say(C2, ANNA, "answer 1")
    for text in ("forget-me", "forget-me confirm"):
        refused = only_notice(world.say(C1, ANNA, text))  # asked from another channel of the team: the same
        assert refused.tone is Tone.REFUSAL and "Finish or cancel it first" in refused.text and not refused.actions
    assert world.running(C2).answers_to(world.running(C2).meta.state), "nothing was removed"
    world.say(C2, ANNA, "cancel")
    assert "removed 1 answer" in only_notice(world.say(C1, ANNA, "forget-me confirm")).text


def test_a_forgotten_facilitator_is_named_nowhere_and_only_an_admin_steers_for_them(
    world: World, redis_client: redis.Redis
) -> None:
    sid = finish(world, C1, facilitator=ANNA, answering=(BRAM,))
    world.say(C1, ANNA, "forget-me confirm")
    revisit = reminder_id(Kind.REVISIT, sid)
    refused = only_notice(world.say(C1, ANNA, f"reminders cancel {revisit}"))
    assert "Only the facilitator (who led that check) or an admin" in refused.text
    assert "cancelled" in only_notice(world.say(C1, "U0ADMIN", f"reminders cancel {revisit}")).text
    assert not holding(redis_client, ANNA, "Annabel")


def test_counts_are_said_in_the_checks_language_with_the_right_plural(world: World) -> None:
    world.say(C1, FIONA, "start nl")
    world.say(C1, ANNA, "antwoord 1")
    world.say(C1, ANNA, "notitie iets")
    asked = only_notice(world.say(C1, ANNA, "vergeet-mij"))
    assert "Bevestig met `/socialmedia-check vergeet-mij bevestig`" in asked.text
    assert asked.actions[0].label == "Ja, vergeet mij"
    done = only_notice(world.say(C1, ANNA, "vergeet-mij bevestig"))
    assert done.text == "Klaar: ik heb 1 antwoord en 1 notitie weggehaald uit 1 check; daarin staat niets meer van jou."
    world.say(C1, ANNA, "antwoord 1")
    world.say(C1, BRAM, "antwoord 2")
    world.say(C1, FIONA, "volgende")
    world.say(C1, ANNA, "antwoord 1")
    world.say(C1, ANNA, "notitie een")
    world.say(C1, ANNA, "notitie twee")
    assert (
        "2 antwoorden en 2 notities weggehaald uit 1 check"
        in only_notice(world.say(C1, ANNA, "vergeet-mij bevestig")).text
    )


# --- names ---------------------------------------------------------------------------------------------


def test_an_anonymous_check_stores_no_name_not_even_the_facilitators(world: World, redis_client: redis.Redis) -> None:
    world.say(C1, FIONA, "start --anonymous")
    world.say(C1, ANNA, "answer 1")
    world.say(C1, ANNA, "note a worry")
    shown = render(world.say(C1, BRAM, "status") + world.say(C1, BRAM, "next"))
    assert "Facilitator: not named" in shown and "Only the facilitator or an admin can move to the next" in shown
    header = next(m for m in world.say(C1, FIONA, "next") if isinstance(m, HeaderCard))
    assert header.facilitator == "not named" and "Fiona" not in header.status_line
    assert not holding(redis_client, "Fiona", FIONA, "Annabel", ANNA), "ids only as salted hashes, no names at all"
    record = world.running(C1)
    assert record.meta.facilitator == user_key(record.meta, FIONA) != FIONA
    assert holding(redis_client, record.meta.facilitator), "the facilitator is known by their salted key"


def test_a_named_check_stores_the_names_its_surfaces_show(world: World, redis_client: redis.Redis) -> None:
    world.say(C1, FIONA, "start")
    world.say(C1, ANNA, "answer 1")
    shown = render(world.say(C1, BRAM, "status"))
    assert "Annabel" in shown and "Facilitator: Fiona" in shown
    assert set(holding(redis_client, "Annabel", "Fiona")) == {f"{PREFIX}:s:{world.running(C1).id}"}


# --- purge ----------------------------------------------------------------------------------------------


def test_purge_needs_the_facilitator_and_a_confirmation_and_leaves_no_key_of_the_channel(
    world: World, redis_client: redis.Redis
) -> None:
    finish(world, C2, answering=(ANNA,))  # another channel of the same team: it must stay as it is
    before = dump(redis_client)

    first = finish(world, C1)
    world.say(C1, FIONA, "revisit in 3 months")
    second = finish(world, C1, start="start --anonymous")
    world.say(C1, FIONA, "start")
    world.say(C1, ANNA, "answer 2")
    ids = (first, second, world.running(C1).id)
    assert len(world.store.reminders.of_channel(str(C1))) >= 4  # revisits, check-ins, the running nudge

    refused = only_notice(world.say(C1, ANNA, "purge"))
    assert refused.tone is Tone.REFUSAL and "Only an admin, or the person who facilitated every check" in refused.text
    asked = only_notice(world.say(C1, FIONA, "purge"))
    assert "3 checks (running, finished and abandoned" in asked.text
    assert [(a.event, a.value, a.style) for a in asked.actions] == [(EventKind.PURGE, "confirm", "danger")]
    assert world.store.privacy.channel_checks(str(C1)), "nothing removed before the confirmation"
    assert "purge [confirm]" in only_notice(world.say(C1, FIONA, "purge now")).text

    reply = world.say(C1, FIONA, "purge confirm")
    done = only_notice(reply)
    assert done.audience is Audience.CHANNEL, "the channel sees that its data was removed, and by whom"
    assert done.text.startswith("Fiona removed everything the bot kept about this channel: 3 checks and ")
    after = dump(redis_client)
    after.pop(f"{PREFIX}:k:indexed", None)
    assert after == before, "only the other channel's keys are left, unchanged"
    assert not holding(redis_client, *ids, str(C1))
    assert world.store.load_running(str(C1)) is None and world.store.history(str(C1)) == []
    assert "No finished checks" in render(world.say(C1, FIONA, "history"))
    assert (
        only_notice(world.say(C1, ANNA, "purge")).text
        == "The bot keeps no check of this channel. (An admin can still purge it.)"
    )


def test_with_several_facilitators_only_an_admin_purges(world: World) -> None:
    finish(world, C1, facilitator=FIONA)
    finish(world, C1, facilitator=ANNA)
    for who in (FIONA, ANNA):
        assert only_notice(world.say(C1, who, "purge confirm")).tone is Tone.REFUSAL
    assert len(world.store.history(str(C1))) == 2
    done = only_notice(world.say(C1, "U0ADMIN", "purge confirm"))
    assert "2 checks" in done.text and world.store.history(str(C1)) == []


def test_purged_buttons_are_refused_politely(world: World) -> None:
    world.say(C1, FIONA, "start")
    record = world.running(C1)
    world.say(C1, FIONA, "purge confirm")
    reply = world.click(
        C1, ANNA, kind=EventKind.ANSWER, choices=(1,), session_id=record.id, question_id=record.meta.state
    )
    assert only_notice(reply).tone is Tone.REFUSAL
    assert world.store.load(record.id) is None


# --- SMC_HISTORY_TTL ---------------------------------------------------------------------------------------


def test_history_ttl_is_read_like_the_other_durations() -> None:
    assert load_settings({}).history_ttl is None
    assert load_settings({"SMC_HISTORY_TTL": ""}).history_ttl is None
    assert load_settings({"SMC_HISTORY_TTL": "P365D"}).history_ttl == timedelta(days=365)
    assert load_settings({"SMC_HISTORY_TTL": "86400"}).history_ttl == timedelta(days=1)
    for bad in ("30", "soon", "-P1D"):
        with pytest.raises(ConfigError, match="SMC_HISTORY_TTL"):
            load_settings({"SMC_HISTORY_TTL": bad})


def test_a_finished_check_is_kept_for_the_history_ttl_and_its_reminders_go_with_it(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = load_settings({"SMC_HISTORY_TTL": "P90D", "SMC_REDIS_PREFIX": PREFIX})
    store = build_store(settings, redis_url)
    try:
        world = make_world(store)
        sid = finish(world, C1, decision="not-now")  # its revisit comes back after 12 months
        ttl = 90 * 86400
        assert ttl - 10 < redis_client.ttl(f"{PREFIX}:s:{sid}") <= ttl
        store.set_ref(sid, "header", "1.0")  # what the outbox keeps of its posts follows the check's expiry
        assert ttl - 10 < redis_client.ttl(f"{PREFIX}:ref:{sid}") <= ttl
        revisit = reminder_id(Kind.REVISIT, sid)
        session_ms = redis_client.pttl(f"{PREFIX}:s:{sid}")  # read first: both count down from one moment
        assert 0 < redis_client.pttl(f"{PREFIX}:rem:{revisit}") <= session_ms
        posts = Posts()
        scheduler = ReminderScheduler(
            store.reminders,
            world.service.followups,
            {"slack": posts},
            options=SchedulerOptions(),
            clock=world.clock.epoch,
        )
        due = store.reminders.get(revisit)
        assert due is not None
        # Redis removes the check and its reminders after 90 days (not waited for: the keys that
        # carry an expiry go, as Redis would); a year later the revisit has nothing to post
        for key in list(redis_client.scan_iter(f"{PREFIX}:*")):
            if redis_client.ttl(key) > 60 * 86400:
                redis_client.delete(key)
        world.clock.now = datetime.fromtimestamp(due.due + 1, tz=UTC)
        scheduler.tick()
        assert posts.sent == [] and store.reminders.pending("slack") == 0
        assert world.store.history(str(C1)) == [] and "No finished checks" in render(world.say(C1, FIONA, "history"))
    finally:
        store.close()


def test_without_a_history_ttl_finished_checks_are_kept(world: World, redis_client: redis.Redis) -> None:
    sid = finish(world, C1)
    assert redis_client.ttl(f"{PREFIX}:s:{sid}") == -1
    assert redis_client.ttl(f"{PREFIX}:rem:{reminder_id(Kind.REVISIT, sid)}") == -1, "its revisit waits for its date"


# --- through the platforms' HTTP boundaries ------------------------------------------------------------------


@pytest.fixture
def slack_env(store: Store) -> Iterator[Any]:
    from tests.adapters.slack.test_slack_http import make_env
    from tests.fakes.slack_api import FakeSlackApi

    with FakeSlackApi() as fake:
        yield from make_env(fake, store)
        assert fake.violations == []


def _slack_text(message: Any) -> str:
    return str(message.text) + json.dumps(message.blocks, ensure_ascii=False)


def _ephemeral_button(env: Any, user: str, count: int) -> dict[str, Any]:
    notice = env.wait_ephemeral(user, count)[-1]
    return next(el for b in notice["blocks"] if b["type"] == "actions" for el in b["elements"])


def test_slack_forget_me_and_purge_confirmed_with_their_buttons(slack_env: Any, redis_client: redis.Redis) -> None:
    from bot.adapters.slack import blocks as sb
    from tests.adapters.slack.test_slack_http import CHANNEL, FACILITATOR
    from tests.adapters.slack.test_slack_http import NAMES as SLACK_NAMES

    env, user = slack_env, "U0USER002"
    assert env.slash(FACILITATOR, "start") == 200
    question = env.wait_questions(1)[0]
    assert env.click(user, question, f"{sb.ANSWER}:1") == 200
    env.fake.wait_until(lambda f: "1 answered" in _slack_text(f.message(CHANNEL, question.ts)), 10)
    env.adapter.coalescer.wait_idle(5)
    assert holding(redis_client, user, SLACK_NAMES[user])

    assert env.slash(user, "forget-me") == 200
    button = _ephemeral_button(env, user, 1)
    assert button["style"] == "danger"
    reply = env.sender.click(
        CHANNEL, user, "0.0", button, user_name=SLACK_NAMES[user], trigger_id=env.fake.trigger_id()
    )
    assert reply.status == 200
    done = env.wait_ephemeral(user, 2)[-1]
    assert "Done: I removed 1 answer and 0 notes from 1 check" in done["text"]
    env.fake.wait_until(lambda f: "1 answered" not in _slack_text(f.message(CHANNEL, question.ts)), 10)
    env.adapter.coalescer.wait_idle(5)
    assert not holding(redis_client, user, SLACK_NAMES[user]), "the tally was edited, Redis holds nothing of them"

    assert env.slash(user, "purge confirm") == 200
    assert "Only an admin" in env.wait_ephemeral(user, 3)[-1]["text"]
    assert env.slash(FACILITATOR, "purge") == 200
    button = _ephemeral_button(env, FACILITATOR, 1)
    reply = env.sender.click(CHANNEL, FACILITATOR, "0.0", button, user_name="fae", trigger_id=env.fake.trigger_id())
    assert reply.status == 200
    env.fake.wait_until(lambda f: any("removed everything" in m.text for m in f.channel_messages(CHANNEL)), 10)
    env.adapter.coalescer.wait_idle(5)
    left = set(dump(redis_client))
    assert left <= {f"{PREFIX}:k:once", f"{PREFIX}:k:indexed"}, left  # the dedup marks of the clicks went too


def test_mattermost_purge_confirmed_with_its_button(store: Store, redis_client: redis.Redis) -> None:
    from tests.adapters.mattermost.test_mattermost_adapter import CHANNEL_ID, TEAM, make_harness
    from tests.fakes.mattermost_api import FakeMattermost

    with FakeMattermost() as fake:
        for mm in make_harness(fake, store):
            mm.command("anna", "start")
            post = mm.wait_question(1)
            mm.click("bram", post, "opt1")
            mm.idle()
            refused = mm.command("bram", "purge").json()
            assert "Only an admin" in refused["text"] and "attachments" not in refused
            asked = mm.command("anna", "purge").json()
            (attachment,) = asked["attachments"]
            button = attachment["actions"][0]
            assert button["style"] == "danger"
            payload = {
                "user_id": "anna",
                "user_name": "Anna",
                "channel_id": CHANNEL_ID,
                "team_id": TEAM,
                "post_id": "ephemeralpost",
                "trigger_id": fake.new_trigger_id("anna"),
                "type": "button",
                "context": button["integration"]["context"],
            }
            assert mm.post_json(button["integration"]["url"], payload).status_code == 200
            fake.wait_for(lambda f: any("removed everything" in p["message"] for p in f.channel_posts(CHANNEL_ID)))
            mm.idle()
            left = set(dump(redis_client))
            assert left <= {f"{PREFIX}:k:once", f"{PREFIX}:k:indexed"}, left
        assert fake.violations == []
