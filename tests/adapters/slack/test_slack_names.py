"""Display names instead of Slack's legacy handles, over real HTTP: the bot's real slack_sdk client asks
the fake Web API's ``users.info`` (validated against the spec), the answers are cached per process on
the adapter's clock (moved by hand here), and every failure falls back to the handle without a retry
inside the listener. An anonymous check makes no lookup at all."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from test_slack_http import CHANNEL, FACILITATOR, NAMES, Env, _text, make_env

from bot.adapters.slack import blocks as sb
from bot.adapters.slack.names import REFRESH_AGE, SLOW_PAUSE, DisplayNames, NameCache, lookup_client
from bot.runtime.clock import ManualClock
from bot.store.store import Store
from tests.fakes.slack_api import TEAM_ID, Call, FakeSlackApi

BOB = "U0USER002"  # no display name in his profile: his real name is shown
CY = "U0USER003"  # not known to users.info: the handle is shown
DEE = "U0USER004"


@pytest.fixture
def fake() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as api:
        api.add_user(FACILITATOR, NAMES[FACILITATOR], display_name="Fae Fischer", real_name="Fae Fischer-Long")
        api.add_user(BOB, NAMES[BOB], real_name="Bob Builder")
        api.add_user(DEE, "dee", display_name="Dee Dee")
        yield api
    assert api.violations == []  # users.info is in the spec and was called as it says
    assert api.mentions() == []


@pytest.fixture
def env(fake: FakeSlackApi, store: Store) -> Iterator[Env]:
    yield from make_env(fake, store)


def lookups(fake: FakeSlackApi, user: str | None = None) -> list[Call]:
    calls = fake.calls("users.info", include_rejected=True)
    return [c for c in calls if user is None or c.params.get("user") == user]


def status(env: Env, user: str) -> str:
    """``/socialmedia-check status`` as ``user``: the private reply, once the listener has sent it."""
    before = len(env.ephemerals_for(user))
    assert env.slash(user, "status") == 200
    return str(env.wait_ephemeral(user, before + 1)[-1]["text"])


def answer(env: Env, user: str, number: int = 1) -> str:
    """``user`` answers the open question for the first time by clicking an option; the question's
    message once its tally has caught up."""
    question = env.questions()[-1]
    record = env.store.load_running(f"slack:{TEAM_ID}:{CHANNEL}")
    assert record is not None
    expected = f"{len(set(record.answers_to(record.meta.state)) | {user})} answered"
    assert env.click(user, question, f"{sb.ANSWER}:{number}") == 200
    env.fake.wait_until(lambda f: expected in _text(f.message(CHANNEL, question.ts)), 10)
    env.adapter.coalescer.wait_idle(5)
    return _text(env.fake.message(CHANNEL, question.ts))


def test_a_command_and_a_click_show_display_names_in_header_tally_and_status(env: Env) -> None:
    assert env.slash(FACILITATOR, "start") == 200
    env.wait_questions(1)
    assert "Fae Fischer" in _text(env.header()), "the facilitator by display name"
    shown = answer(env, BOB)
    assert "Bob Builder" in shown, "no display name: the real name"
    shown = answer(env, CY)
    assert "cy" in shown, "unknown to users.info: the handle"
    said = status(env, FACILITATOR)
    assert "Bob Builder" in said and "Fae Fischer" in said
    assert {c.params["user"] for c in lookups(env.fake)} == {FACILITATOR, BOB, CY}


def test_the_cache_asks_once_within_the_refresh_age_and_again_after_it(env: Env) -> None:
    assert env.slash(FACILITATOR, "start") == 200
    env.wait_questions(1)
    status(env, FACILITATOR)
    answer(env, FACILITATOR)
    assert len(lookups(env.fake, FACILITATOR)) == 1, "start, status and a click: one lookup"

    env.fake.add_user(FACILITATOR, NAMES[FACILITATOR], display_name="Fae Renamed")
    env.clock.advance(REFRESH_AGE - 1)
    status(env, FACILITATOR)
    assert len(lookups(env.fake, FACILITATOR)) == 1, "still fresh"
    env.clock.advance(2)
    said = status(env, FACILITATOR)
    assert len(lookups(env.fake, FACILITATOR)) == 2, "stale after the refresh age: asked again"
    assert "Fae Renamed" not in said, "a check keeps the name each person joined it with"
    assert env.slash(FACILITATOR, "restart confirm") == 200  # a new check: the refreshed name
    env.fake.wait_until(lambda f: any("Fae Renamed" in _text(m) for m in f.channel_messages(CHANNEL)), 10)
    assert len(lookups(env.fake, FACILITATOR)) == 2


def test_without_users_read_the_handles_are_shown_and_lookups_pause(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.adapters.slack.names")
    env.fake.scopes.discard("users:read")
    assert env.slash(FACILITATOR, "start") == 200
    env.wait_questions(1)
    header = _text(env.header())
    assert "Fae Fischer" not in header and NAMES[FACILITATOR] in header
    refused = lookups(env.fake)
    assert len(refused) == 1 and refused[0].response["error"] == "missing_scope"
    assert any("users:read" in r.getMessage() for r in caplog.records)

    shown = answer(env, BOB)
    assert NAMES[BOB] in shown and "Bob Builder" not in shown
    assert len(lookups(env.fake)) == 1, "the scope is missing for everyone: no lookup per person"

    env.fake.scopes.add("users:read")  # the app was reinstalled with the scope
    env.clock.advance(REFRESH_AGE)
    shown = answer(env, DEE)
    assert "Dee Dee" in shown
    assert len(lookups(env.fake)) == 2


def test_a_rate_limited_lookup_is_not_retried_in_the_listener(env: Env) -> None:
    env.fake.rate_limit("users.info", times=1, retry_after=30)
    assert env.slash(FACILITATOR, "start") == 200
    env.wait_questions(1)
    assert "Fae Fischer" not in _text(env.header())
    assert [c.status for c in lookups(env.fake)] == [429]
    assert env.waits == [], "no Retry-After waited out inside the listener"
    answer(env, BOB)
    assert len(lookups(env.fake)) == 1, "paused for the Retry-After"
    env.clock.advance(31)
    assert "Dee Dee" in answer(env, DEE)
    assert len(lookups(env.fake)) == 2


def test_the_lookup_comes_after_the_ack(env: Env) -> None:
    release = env.fake.hold("users.info")
    try:
        assert env.slash(FACILITATOR, "start") == 200, "acknowledged while users.info has not answered"
        env.fake.wait_for("users.info")  # the listener is waiting for the answer now
        assert env.fake.channel_messages(CHANNEL) == [], "the work waits for the name, the ack did not"
    finally:
        release.set()
    assert "Fae Fischer" in _text(env.header())


def test_an_anonymous_check_makes_no_lookup_at_all(env: Env) -> None:
    assert env.slash(FACILITATOR, "start --anonymous") == 200
    question = env.wait_questions(1)[0]
    for user in (BOB, CY):
        assert env.click(user, question, f"{sb.ANSWER}:1") == 200
    assert env.slash(DEE, "answer 2") == 200  # typed: the adapter asks the running check
    view = env.open_modal(BOB, question, sb.NOTE)
    env.submit_modal(BOB, view, "worried")
    status(env, FACILITATOR)
    env.fake.wait_until(lambda f: "3 answered" in _text(f.message(CHANNEL, question.ts)), 10)
    assert env.click(FACILITATOR, question, sb.NEXT) == 200
    env.wait_questions(2)
    env.adapter.coalescer.wait_idle(5)
    assert lookups(env.fake) == []
    assert len(env.adapter.names.display.cache) == 0, "and no name is kept"
    assert "Fae Fischer" not in _text(env.header())


def test_a_name_seen_in_an_open_check_is_not_looked_up_for_an_anonymous_one(env: Env) -> None:
    """The same person in a new, anonymous check: the cached name is there, no new lookup is made."""
    assert env.slash(FACILITATOR, "start") == 200
    env.wait_questions(1)
    assert len(lookups(env.fake)) == 1
    assert env.slash(FACILITATOR, "cancel") == 200
    env.fake.wait_until(lambda f: any("cancel" in m.text.lower() for m in f.channel_messages(CHANNEL)), 10)
    env.clock.advance(REFRESH_AGE + 1)  # stale: a named check would ask again
    assert env.slash(FACILITATOR, "start --anonymous") == 200
    env.fake.wait_until(lambda f: len(f.channel_messages(CHANNEL)) >= 3, 10)
    env.adapter.coalescer.wait_idle(5)
    assert len(lookups(env.fake)) == 1


# --- the cache and the client on their own ------------------------------------------------------------


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    clock = ManualClock(start=0.0)
    cache = NameCache(clock.now, max_age=10, size=2)
    cache.put(("T", "a"), "Anna")
    cache.put(("T", "b"), "Bram")
    assert cache.get(("T", "a")) == ("Anna", True)  # a is now the most recently used
    cache.put(("T", "c"), "Carla")
    assert cache.get(("T", "b")) is None and len(cache) == 2
    clock.advance(10)
    assert cache.get(("T", "a")) == ("Anna", False), "stale, still known"


def test_a_lookup_that_times_out_gives_the_handle_and_pauses(fake: FakeSlackApi) -> None:
    clock = ManualClock(start=1000.0)
    names = DisplayNames(lookup_client("xoxb-test-token", fake.url, timeout=1), clock.now)
    release = fake.hold("users.info")
    try:
        assert names.resolve(TEAM_ID, FACILITATOR, "fae", lambda: True) == "fae"
    finally:
        release.set()
    assert names.resolve(TEAM_ID, BOB, "bob", lambda: True) == "bob"
    assert len(lookups(fake)) == 1, "paused after the timeout"
    clock.advance(SLOW_PAUSE)
    assert names.resolve(TEAM_ID, BOB, "bob", lambda: True) == "Bob Builder"
    assert names.resolve(TEAM_ID, BOB, "bob", lambda: False) == "Bob Builder", "cached: no question asked"
    assert len(lookups(fake)) == 2


def test_no_lookup_when_the_adapter_may_not_tell(fake: FakeSlackApi) -> None:
    names = DisplayNames(lookup_client("xoxb-test-token", fake.url), ManualClock(start=0.0).now)

    def broken() -> bool:
        raise RuntimeError("the store is down")

    assert names.resolve(TEAM_ID, FACILITATOR, "fae", lambda: False) == "fae"
    assert names.resolve(TEAM_ID, FACILITATOR, "fae", broken) == "fae"
    assert lookups(fake) == []
