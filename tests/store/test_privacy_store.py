"""bot.store.privacy and the privacy parts of the other scripts, against the real redis-server:
the channel/team indexes (and the one-off index of older data), forgetting one person in one check,
purging a channel, dedup marks tracked per channel in the same round trip, and SMC_HISTORY_TTL."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis

from bot.core.reminders import Kind, State, for_check
from bot.core.session import END, FINISHED, Answer, Note, SessionRecord, user_key
from bot.runtime.coalesce import TallyCoalescer
from bot.store.privacy import TALLY_WINDOW
from bot.store.store import Store
from tests.redis_dump import dump, holding

Factory = Callable[..., SessionRecord]
PREFIX = "test"
DAY = 86400


def _moved(record: SessionRecord, **changes: Any) -> SessionRecord:
    return SessionRecord(meta=replace(record.meta, **changes), version=record.version)


def _finish(store: Store, record: SessionRecord, reminders: list[Any] | None = None) -> SessionRecord:
    done = _moved(record, status=FINISHED, state=END, finished_at=time.time())
    result = store.save_meta(done, record.version, reminders or [])
    assert result.status == "ok" and result.record is not None
    return result.record


def _check(store: Store, factory: Factory, channel: str, **kw: Any) -> SessionRecord:
    record = factory(channel=channel, sid=uuid.uuid4().hex[:12], **kw)
    assert store.create(record).status == "ok"
    return record


# --- the indexes ------------------------------------------------------------------------------


def test_creating_a_check_indexes_it_by_channel_and_team(store: Store, record_factory: Factory) -> None:
    a1 = _check(store, record_factory, "slack:T1:C1")
    _finish(store, a1)
    a2 = _check(store, record_factory, "slack:T1:C1")  # the next check of the channel
    restarted = replace(record_factory(channel="slack:T1:C1", sid="r" + a2.id[1:]))
    assert store.replace_running(restarted, a2.id).status == "ok"  # restart: cancelled + new, both indexed
    b = _check(store, record_factory, "slack:T1:C2")
    other_team = _check(store, record_factory, "slack:T2:C1")
    mattermost = _check(store, record_factory, "mattermost:T1:C1")

    team = {r.id for r in store.privacy.team_checks("slack:T1:C9")}  # any channel of the team will do
    assert team == {a1.id, a2.id, restarted.id, b.id}
    assert {r.id for r in store.privacy.team_checks("slack:T2:x")} == {other_team.id}
    assert {r.id for r in store.privacy.team_checks("mattermost:T1:x")} == {mattermost.id}
    assert {sid for sid, _ in store.privacy.channel_checks("slack:T1:C1")} == {a1.id, a2.id, restarted.id}


def test_checks_stored_before_the_indexes_are_found_by_a_one_off_scan(
    store: Store, redis_client: redis.Redis, record_factory: Factory
) -> None:
    old = [_check(store, record_factory, f"slack:T1:C{i}") for i in range(3)]
    for key in [*redis_client.scan_iter(f"{PREFIX}:chsess:*"), *redis_client.scan_iter(f"{PREFIX}:team:*")]:
        redis_client.delete(key)  # as an older bot version left them: no index at all
    redis_client.delete(f"{PREFIX}:k:indexed")
    fresh = Store(redis_client, prefix=PREFIX)  # a process that has not indexed yet
    assert {r.id for r in fresh.privacy.team_checks("slack:T1:C0")} == {r.id for r in old}
    assert redis_client.get(f"{PREFIX}:k:indexed") == "1", "done once, remembered in Redis"
    # once indexed, no scan again: a check hidden from the indexes stays unfound (the create scripts index)
    hidden = _check(fresh, record_factory, "slack:T1:C7")
    redis_client.srem(f"{PREFIX}:chsess:slack:T1:C7", hidden.id)
    redis_client.delete(f"{PREFIX}:ch:slack:T1:C7")  # nor is it the channel's running check any more
    again = Store(redis_client, prefix=PREFIX)
    assert hidden.id not in {r.id for r in again.privacy.team_checks("slack:T1:C0")}


def test_a_gone_check_leaves_the_channel_index(
    store: Store, redis_client: redis.Redis, record_factory: Factory
) -> None:
    record = _check(store, record_factory, "slack:T1:C1")
    redis_client.delete(f"{PREFIX}:s:{record.id}", f"{PREFIX}:ch:slack:T1:C1")  # expired
    assert store.privacy.channel_checks("slack:T1:C1") == [(record.id, None)]
    assert store.privacy.channel_checks("slack:T1:C1") == []


# --- forget one person in one check ----------------------------------------------------------------


def _answered(store: Store, factory: Factory, anonymous: bool = False) -> tuple[SessionRecord, str, str]:
    record = _check(store, factory, "slack:T1:C1", anonymous=anonymous)
    anna, bram = user_key(record.meta, "U0ANNA"), user_key(record.meta, "U0BRAM")
    names = (None, None) if anonymous else ("Annabel", "Bramwell")
    for question in ("q1", "q2"):
        store.save_meta(_moved(record, state=question), store.load(record.id).version)  # type: ignore[union-attr]
        store.record_answer(record.id, question, bram, Answer(choices=(1,)), name=names[1])
        store.record_answer(record.id, question, anna, Answer(choices=(2,)), name=names[0])
    store.add_note(record.id, Note("q2", anna, "anna's worry", 1.0), name=names[0])
    store.add_note(record.id, Note("q2", bram, "bram's worry", 2.0), name=names[1])
    store.record_checkin(record.id, "1", anna, 3)
    store.record_checkin(record.id, "1", bram, 1)
    return store.load(record.id), anna, bram  # type: ignore[return-value]


@pytest.mark.parametrize("anonymous", [False, True])
def test_forget_removes_one_person_and_keeps_everyone_elses_index(
    store: Store, redis_client: redis.Redis, record_factory: Factory, anonymous: bool
) -> None:
    record, anna, bram = _answered(store, record_factory, anonymous)
    done = store.privacy.forget(record, anna)
    assert (done.status, done.answers, done.notes, done.checkins, done.found) == ("ok", 2, 1, 1, True)
    assert set(done.questions) == {"q1", "q2"}
    after = store.load(record.id)
    assert after is not None
    assert {q: set(a) for q, a in after.answers.items()} == {"q1": {bram}, "q2": {bram}}
    assert after.answers["q2"][bram].choices == (1,)
    assert [n.text for n in after.notes] == ["bram's worry"] and after.notes[0].user == bram
    assert after.checkin == {"1": {bram: 1}}
    assert after.participants() == [bram]
    assert anna not in after.users and bram in after.users
    fields = redis_client.hgetall(f"{PREFIX}:s:{record.id}")
    assert fields["u"].split("\n")[1:] == ([f"{bram}\t", "\t"] if anonymous else [f"{bram}\tBramwell", "\t"])
    assert not holding(redis_client, anna, "Annabel", "anna's worry")
    # they come back and answer again: a new entry at the end; Bram keeps his index
    store.save_meta(_moved(after, state="q3"), after.version)
    store.record_answer(record.id, "q3", anna, Answer(choices=(3,)), name=None if anonymous else "Annabel")
    again = store.load(record.id)
    assert again is not None and again.answers["q3"][anna].choices == (3,)
    assert again.answers["q1"][bram].choices == (1,) and again.users.index(anna) == 2
    assert store.privacy.forget(again, "U0NOBODY") == type(done)("ok")  # nothing of theirs: found is False


def test_forgetting_the_facilitator_blanks_their_key_and_name_and_bumps_the_version(
    store: Store, redis_client: redis.Redis, record_factory: Factory
) -> None:
    record = _finish(store, _check(store, record_factory, "slack:T1:C1"))
    assert (record.meta.facilitator, record.meta.facilitator_name) == ("U0", "Facilitator")
    done = store.privacy.forget(record, "U0")
    assert done.status == "ok" and done.found and (done.answers, done.notes) == (0, 0)
    after = store.load(record.id)
    assert after is not None and after.version == record.version + 1, "a move read before cannot write the name back"
    assert (after.meta.facilitator, after.meta.facilitator_name) == ("", "")
    assert after.meta.status == FINISHED and after.meta.channel == record.meta.channel
    assert not holding(redis_client, "Facilitator", '"facilitator":"U0"')


def test_forget_reads_again_when_the_check_moved_meanwhile(store: Store, record_factory: Factory) -> None:
    record = _check(store, record_factory, "slack:T1:C1")
    stale = store.load(record.id)
    assert stale is not None
    store.save_meta(_moved(stale, state="q2"), stale.version)  # the facilitator moved on after our read
    cancelled = store.load(record.id)
    store.save_meta(_moved(cancelled, status="cancelled"), cancelled.version)  # type: ignore[arg-type, union-attr]
    done = store.privacy.forget(stale, "U0")
    assert done.status == "ok" and done.found
    after = store.load(record.id)
    assert after is not None and after.meta.facilitator == "" and after.meta.state == "q2", "the newer meta kept"
    assert store.privacy.forget(replace(stale, meta=replace(stale.meta, id="gone")), "U0").status == "missing"


# --- purge ------------------------------------------------------------------------------------------


def test_purge_leaves_no_key_of_the_channel_and_touches_no_other(
    store: Store, redis_client: redis.Redis, record_factory: Factory
) -> None:
    kept = _check(store, record_factory, "slack:T1:KEEP")
    store.record_answer(kept.id, "q1", "U0", Answer(choices=(1,)), name="F")
    store.claim_once("slack:act:keep", channel="slack:T1:KEEP")
    before = dump(redis_client)

    channel = "slack:T1:GONE"
    first = _check(store, record_factory, channel)
    store.record_answer(first.id, "q1", "U0", Answer(choices=(1,)), name="F")
    store.set_ref(first.id, "header", "1700000000.000100")
    revisit = for_check(Kind.REVISIT, channel, first.id, time.time() + 90 * DAY)
    done_nudge = replace(for_check(Kind.NUDGE, channel, first.id, time.time(), "q1"), state=State.DONE)
    _finish(store, first, [revisit, done_nudge])
    running = _check(store, record_factory, channel)
    store.reminders.schedule([for_check(Kind.NUDGE, channel, running.id, time.time() + DAY, "q1")])
    store.claim_once("slack:cmd:gone", channel=channel)
    store.claim_window("slack:toggle:gone", time.time(), 1.0, channel=channel)
    store.coalesce_enter(TALLY_WINDOW.format(session=running.id, question="q1"), 5000)
    store.coalesce_enter(TALLY_WINDOW.format(session=running.id, question="q1"), 5000)  # and a dirty flag
    assert len(dump(redis_client)) > len(before) + 10

    sids = [sid for sid, _ in store.privacy.channel_checks(channel)]
    purged = store.privacy.purge(channel, sids, ["q1", "q2"])
    assert (purged.checks, purged.reminders) == (2, 2)  # the revisit and the running nudge were open
    after = dump(redis_client)
    after.pop(f"{PREFIX}:k:indexed", None)
    assert after == before, "every key of the channel is gone, every other key as it was"
    assert not holding(redis_client, first.id, running.id, "GONE")


def test_tally_window_names_match_the_coalescer() -> None:
    assert TALLY_WINDOW.format(session="s1", question="q1") == TallyCoalescer._key("s1", "q1")


# --- dedup marks, tracked per channel in the same round trip -----------------------------------------


class CountingConnection(redis.UnixDomainSocketConnection):
    sent = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sent += 1
        super().send_packed_command(command, check_health)


@pytest.fixture
def counting_store(redis_url: str, redis_client: redis.Redis) -> Iterator[Store]:
    pool = redis.ConnectionPool.from_url(redis_url, connection_class=CountingConnection, decode_responses=True)
    client = redis.Redis(connection_pool=pool)
    try:
        yield Store(client, prefix=PREFIX, session_ttl=3600)
    finally:
        client.close()
        pool.disconnect()


def test_a_tracked_claim_is_still_one_round_trip(counting_store: Store, redis_client: redis.Redis) -> None:
    store = counting_store
    store.claim_once("warm-up", channel="slack:T1:C1")  # the dedup key's secret, the scripts loaded
    store.claim_window("warm-up", 1.0, 1.0, channel="slack:T1:C1")

    def trips(call: Callable[[], object]) -> int:
        before = CountingConnection.sent
        call()
        return CountingConnection.sent - before

    assert trips(lambda: store.claim_once("slack:act:T1:U1:a:1", channel="slack:T1:C1")) == 1
    assert trips(lambda: store.claim_once("slack:act:T1:U1:a:1", channel="slack:T1:C1")) == 1  # a repeat
    assert trips(lambda: store.claim_window("slack:toggle:U1", 100.0, 1.0, channel="slack:T1:C1")) == 1
    marks = redis_client.zrange(f"{PREFIX}:marks:slack:T1:C1", 0, -1)
    assert len(marks) == 4 and all(m.startswith((f"{PREFIX}:once:", f"{PREFIX}:win:")) for m in marks)
    assert "U1" not in " ".join(marks), "only keyed hashes are listed"
    assert 86000 < redis_client.ttl(f"{PREFIX}:marks:slack:T1:C1") <= DAY, "as long as its longest mark"
    assert store.claim_once("slack:act:T1:U1:a:1") is False, "the same mark, tracked or not"


def test_expired_marks_leave_the_channels_set(store: Store, redis_client: redis.Redis) -> None:
    marks = f"{PREFIX}:marks:slack:T1:C1"
    redis_client.zadd(marks, {f"{PREFIX}:once:long-gone": 1.0})  # expired long ago (Redis time)
    assert store.claim_once("new", channel="slack:T1:C1")
    assert redis_client.zrange(marks, 0, -1) == [next(iter(redis_client.scan_iter(f"{PREFIX}:once:*")))]


# --- SMC_HISTORY_TTL ----------------------------------------------------------------------------------


@pytest.fixture
def kept_a_year(redis_client: redis.Redis) -> Store:
    return Store(redis_client, prefix=PREFIX, session_ttl=3600, history_ttl=365 * DAY)


def test_a_finished_check_and_its_reminders_expire_after_the_history_ttl(
    kept_a_year: Store, redis_client: redis.Redis, record_factory: Factory
) -> None:
    store = kept_a_year
    record = _check(store, record_factory, "slack:T1:C1")
    store.set_ref(record.id, "header", "1.0")
    assert 3500 < redis_client.ttl(f"{PREFIX}:s:{record.id}") <= 3600, "running: SMC_SESSION_TTL"
    later = for_check(Kind.REVISIT, "slack:T1:C1", record.id, time.time() + 400 * DAY)
    soon = for_check(Kind.SUMMARY, "slack:T1:C1", record.id, time.time() + 120)
    _finish(store, record, [later, soon])
    year = 365 * DAY
    for key in (f"{PREFIX}:s:{record.id}", f"{PREFIX}:ref:{record.id}"):
        assert year - 5 < redis_client.ttl(key) <= year, key
    session_ms = redis_client.pttl(f"{PREFIX}:s:{record.id}")
    for reminder in (later, soon):
        assert 0 < redis_client.pttl(f"{PREFIX}:rem:{reminder.id}") <= session_ms, "goes with its check"
    # a later save (a new revisit date) does not extend how long the check is kept
    redis_client.expire(f"{PREFIX}:s:{record.id}", 1000)
    finished = store.load(record.id)
    assert finished is not None and store.save_meta(finished, finished.version).status == "ok"
    assert 990 < redis_client.ttl(f"{PREFIX}:s:{record.id}") <= 1000
    # a snooze keeps the reminder no longer than its check (it used to make it permanent)
    store.reminders.reschedule(later, time.time() + 30 * DAY)
    assert 0 < redis_client.ttl(f"{PREFIX}:rem:{later.id}") <= 1000


def test_when_a_check_has_expired_its_reminders_and_history_entry_go_too(
    kept_a_year: Store, redis_client: redis.Redis, record_factory: Factory
) -> None:
    store = kept_a_year
    record = _check(store, record_factory, "slack:T1:C1")
    revisit = for_check(Kind.REVISIT, "slack:T1:C1", record.id, time.time() - 1)
    _finish(store, record, [revisit])
    assert store.history_size("slack:T1:C1") == 1
    # what Redis does when the TTLs run out (a year is not waited for): the keys with an expiry vanish
    for key in list(redis_client.scan_iter(f"{PREFIX}:*")):
        if redis_client.ttl(key) > 300 * DAY:
            redis_client.delete(key)
    claimed = store.reminders.claim(["slack"], time.time(), 60, 10, "token")
    assert claimed.reminders == [] and store.reminders.pending("slack") == 0, "the claim dropped the id"
    assert store.history("slack:T1:C1") == [] and store.history_size("slack:T1:C1") == 0
    assert store.reminders.of_channel("slack:T1:C1") == []


def test_without_a_history_ttl_a_finished_check_is_kept(
    store: Store, redis_client: redis.Redis, record_factory: Factory
) -> None:
    record = _finish(store, _check(store, record_factory, "slack:T1:C1"))
    assert redis_client.ttl(f"{PREFIX}:s:{record.id}") == -1
    assert json.loads(redis_client.hget(f"{PREFIX}:s:{record.id}", "meta"))["status"] == FINISHED
