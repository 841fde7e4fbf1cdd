"""The Redis store against a real redis-server (see conftest.py)."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.session import CANCELLED, END, FINISHED, Answer, Note, SessionRecord
from bot.errors import StoreError
from bot.store.store import Store

Factory = Callable[..., SessionRecord]
PREFIX = "test"


def _moved(record: SessionRecord, **changes: Any) -> SessionRecord:
    """A copy of ``record`` whose meta has ``changes`` (what a facilitator move produces)."""
    return SessionRecord(meta=replace(record.meta, **changes), version=record.version)


def _finish(store: Store, record: SessionRecord, finished_at: float) -> SessionRecord:
    result = store.save_meta(_moved(record, status=FINISHED, state=END, finished_at=finished_at), record.version)
    assert result.status == "ok" and result.record is not None
    return result.record


# --- create / load ----------------------------------------------------------------------------


def test_create_then_load_running(store: Store, record_factory: Factory) -> None:
    record = record_factory()
    result = store.create(record)
    assert result.status == "ok" and result.record is record

    running = store.load_running(record.meta.channel)
    assert running is not None
    assert running.id == record.id and running.meta == record.meta and running.version == 0
    assert store.load(record.id) == running
    assert store.load("nope") is None
    assert store.load_running("console:local:other") is None


def test_create_conflicts_with_the_running_check(store: Store, record_factory: Factory) -> None:
    first = record_factory()
    store.create(first)
    result = store.create(record_factory())
    assert result.status == "conflict"
    assert result.record is not None and result.record.id == first.id
    assert store.load_running(first.meta.channel).id == first.id  # type: ignore[union-attr]


def test_create_after_the_running_check_ended(store: Store, record_factory: Factory) -> None:
    first = record_factory()
    store.create(first)
    _finish(store, first, time.time())
    second = record_factory()
    assert store.create(second).status == "ok"
    assert store.load_running(second.meta.channel).id == second.id  # type: ignore[union-attr]


def test_load_running_ignores_a_dangling_pointer(
    store: Store, redis_client: redis.Redis, record_factory: Factory
) -> None:
    record = record_factory()
    store.create(record)
    redis_client.delete(f"{PREFIX}:s:{record.id}")
    assert store.load_running(record.meta.channel) is None
    assert store.create(record_factory()).status == "ok"


def test_running_session_has_ttl(store: Store, redis_client: redis.Redis, record_factory: Factory) -> None:
    record = record_factory()
    store.create(record)
    key = f"{PREFIX}:s:{record.id}"
    assert 3500 < redis_client.ttl(key) <= 3600
    redis_client.expire(key, 10)
    store.record_answer(record.id, "q1", "u1", Answer(choices=(1,)))
    assert redis_client.ttl(key) > 3500  # refreshed by activity


def test_replace_running(store: Store, redis_client: redis.Redis, record_factory: Factory) -> None:
    old = record_factory()
    store.create(old)
    new = record_factory()
    result = store.replace_running(new, old.id)
    assert result.status == "ok" and result.record is new
    assert store.load_running(new.meta.channel).id == new.id  # type: ignore[union-attr]

    kept = store.load(old.id)
    assert kept is not None and kept.meta.status == CANCELLED
    assert kept.version == 1  # a facilitator move still based on the old version now conflicts
    assert redis_client.ttl(f"{PREFIX}:s:{old.id}") > 0
    assert store.save_meta(_moved(old), 0).status == "conflict"

    # a second restart based on the already-replaced check loses
    again = store.replace_running(record_factory(), old.id)
    assert again.status == "conflict" and again.record is not None and again.record.id == new.id


def test_replace_running_without_running_check(store: Store, record_factory: Factory) -> None:
    result = store.replace_running(record_factory(), "gone")
    assert result == type(result)("conflict", None)


# --- answers ----------------------------------------------------------------------------------


def _answers(store: Store, session_id: str, question: str = "q1") -> dict[str, Answer]:
    loaded = store.load(session_id)
    assert loaded is not None
    return loaded.answers_to(question)


def test_record_answer_ok_returns_the_respondent_count(store: Store, record_factory: Factory) -> None:
    record = record_factory()
    store.create(record)
    first = store.record_answer(record.id, "q1", "u1", Answer(choices=(1,)), name="Ann")
    second = store.record_answer(record.id, "q1", "u2", Answer(choices=(2,)))
    assert (first.status, first.count, second.status, second.count) == ("ok", 1, "ok", 2)
    assert second.record is None, "the hot path answers with a count, not the whole session"
    assert _answers(store, record.id) == {
        "u1": Answer(choices=(1,), at=0.0),
        "u2": Answer(choices=(2,), at=1.0),
    }
    loaded = store.load(record.id)
    assert loaded is not None and loaded.names == {"u1": "Ann"} and loaded.users == ["u1", "u2"]


def test_last_answer_counts_and_moves_to_the_end(store: Store, record_factory: Factory) -> None:
    record = record_factory()
    store.create(record)
    store.record_answer(record.id, "q1", "u1", Answer(choices=(1,)))
    store.record_answer(record.id, "q1", "u2", Answer(choices=(1,)))
    result = store.record_answer(record.id, "q1", "u1", Answer(text="changed my mind"))
    assert result.count == 2
    assert _answers(store, record.id) == {
        "u2": Answer(choices=(1,), at=0.0),
        "u1": Answer(text="changed my mind", at=1.0),  # the most recent answer is last
    }


def test_session_record_round_trips_through_redis(store: Store, record_factory: Factory) -> None:
    record = record_factory()
    record.answers = {"q1": {"u1": Answer(choices=(1, 3), at=0.0), "u2": Answer(text="ja, <!here> é", at=1.0)}}
    record.notes = [Note(question="q1", user="u2", text="zorg", at=5.0)]
    record.names = {"u1": "Ann", "u2": "Bob"}
    record.users = ["u1", "u2"]
    store.create(record)
    loaded = store.load(record.id)
    assert loaded is not None
    assert (loaded.answers, loaded.notes, loaded.names, loaded.users) == (
        record.answers,
        record.notes,
        record.names,
        record.users,
    )


def test_record_answer_stale_closed_missing(store: Store, record_factory: Factory) -> None:
    record = record_factory(state="q2")
    store.create(record)
    stale = store.record_answer(record.id, "q1", "u1", Answer(choices=(1,)))
    assert stale.status == "stale" and stale.record is not None and stale.record.meta.state == "q2"
    assert stale.record.answers == {}

    cancelled = store.save_meta(_moved(record, status=CANCELLED), 0)
    assert cancelled.status == "ok"
    closed = store.record_answer(record.id, "q2", "u1", Answer(choices=(1,)))
    assert closed.status == "closed" and closed.record is not None and closed.record.answers == {}

    assert store.record_answer("nope", "q1", "u1", Answer(choices=(1,))) == type(closed)("missing", None)


def test_toggle_adds_and_removes_choices(store: Store, record_factory: Factory) -> None:
    record = record_factory()
    store.create(record)

    def toggle(n: int) -> tuple[int, ...] | None:
        result = store.record_answer(record.id, "q1", "u1", Answer(), toggle=n)
        assert result.status == "ok"
        answer = _answers(store, record.id).get("u1")
        return answer.choices if answer else None

    assert toggle(3) == (3,)  # no answer yet -> [N]
    assert toggle(1) == (1, 3)  # kept sorted
    assert toggle(5) == (1, 3, 5)
    assert toggle(3) == (1, 5)  # removed
    assert toggle(1) == (5,)
    assert toggle(5) is None, "toggling off the last choice withdraws the answer"
    assert store.record_answer(record.id, "q1", "u2", Answer(text="hmm")).count == 1
    assert store.record_answer(record.id, "q1", "u2", Answer(), toggle=2).count == 1
    assert _answers(store, record.id)["u2"].choices == (2,), "a text answer is replaced by the toggled choice"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(presses=st.lists(st.integers(min_value=0, max_value=6), max_size=12))
def test_toggle_matches_a_set_model(store: Store, record_factory: Factory, presses: list[int]) -> None:
    record = record_factory(channel=f"console:local:{uuid.uuid4().hex}")  # one check per example
    assert store.create(record).status == "ok"
    chosen: set[int] = set()
    for n in presses:
        result = store.record_answer(record.id, "q1", "u1", Answer(), toggle=n)
        chosen ^= {n}
        assert result.status == "ok" and result.count == (1 if chosen else 0)
        answer = _answers(store, record.id).get("u1")
        assert (answer.choices if answer else ()) == tuple(sorted(chosen))


def test_unreadable_session_is_a_store_error(store: Store, redis_client: redis.Redis) -> None:
    redis_client.hset(f"{PREFIX}:s:broken", mapping={"cur": "q1", "status": "running"})  # no meta
    with pytest.raises(StoreError, match="unreadable"):
        store.load("broken")


# --- notes ------------------------------------------------------------------------------------


def test_add_note_keeps_order_across_questions(store: Store, record_factory: Factory) -> None:
    record = record_factory(state="q2")
    store.create(record)
    texts = [f"note {i}" for i in range(12)]
    for i, text in enumerate(texts):
        result = store.add_note(record.id, Note(question=f"q{i % 3}", user="u1", text=text, at=float(i)), name="Ann")
        assert result.status == "ok" and result.count == i + 1
    loaded = store.load(record.id)
    assert loaded is not None
    assert [n.text for n in loaded.notes] == texts
    assert loaded.names == {"u1": "Ann"}


def test_add_note_closed_and_missing(store: Store, record_factory: Factory) -> None:
    record = record_factory()
    store.create(record)
    _finish(store, record, time.time())
    note = Note(question="q1", user="u1", text="late", at=1.0)
    closed = store.add_note(record.id, note)
    assert closed.status == "closed" and closed.record is not None and closed.record.notes == []
    missing = store.add_note("nope", note)
    assert missing.status == "missing" and missing.record is None


# --- facilitator moves --------------------------------------------------------------------------


def test_save_meta_advances_version_and_detects_conflicts(store: Store, record_factory: Factory) -> None:
    record = record_factory()
    store.create(record)
    store.record_answer(record.id, "q1", "u1", Answer(choices=(1,)))

    moved = store.save_meta(_moved(record, state="q2", path=["q1", "q2"]), expected_version=0)
    assert moved.status == "ok" and moved.record is not None
    assert moved.record.version == 1 and moved.record.meta.state == "q2"
    assert moved.record.answers_to("q1")  # answers untouched by a move

    late = store.save_meta(_moved(record, state="q3"), expected_version=0)
    assert late.status == "conflict" and late.record is not None
    assert late.record.version == 1 and late.record.meta.state == "q2"

    # an answer to the previous question is now stale
    assert store.record_answer(record.id, "q1", "u2", Answer(choices=(1,))).status == "stale"
    assert store.save_meta(_moved(record), expected_version=0).status == "conflict"
    assert store.save_meta(_moved(record_factory()), expected_version=0).status == "missing"


def test_finish_persists_clears_pointer_and_records_history(
    store: Store, redis_client: redis.Redis, record_factory: Factory
) -> None:
    channel = "console:local:room"
    finished: list[str] = []
    for i, at in enumerate([100.0, 300.0, 200.0]):
        record = record_factory(channel=channel)
        store.create(record)
        store.set_ref(record.id, "tally", f"msg-{i}")
        assert redis_client.ttl(f"{PREFIX}:ref:{record.id}") > 0
        done = _finish(store, record, at)
        assert done.meta.status == FINISHED and done.version == 1
        assert redis_client.ttl(f"{PREFIX}:s:{record.id}") == -1
        assert redis_client.ttl(f"{PREFIX}:ref:{record.id}") == -1
        assert redis_client.exists(f"{PREFIX}:ch:{channel}") == 0
        assert store.load_running(channel) is None
        finished.append(record.id)

    history = store.history(channel)
    assert [r.id for r in history] == [finished[1], finished[2], finished[0]]  # newest first
    assert [r.id for r in store.history(channel, limit=2)] == [finished[1], finished[2]]
    assert store.history(channel, limit=0) == []
    assert store.history("console:local:elsewhere") == []
    assert store.get_ref(finished[0], "tally") == "msg-0"


def test_cancel_clears_pointer_keeps_ttl(store: Store, redis_client: redis.Redis, record_factory: Factory) -> None:
    record = record_factory()
    store.create(record)
    result = store.save_meta(_moved(record, status=CANCELLED), expected_version=0)
    assert result.status == "ok" and result.record is not None and result.record.meta.status == CANCELLED
    assert redis_client.exists(f"{PREFIX}:ch:{record.meta.channel}") == 0
    assert 0 < redis_client.ttl(f"{PREFIX}:s:{record.id}") <= 3600
    assert store.history(record.meta.channel) == []


def test_finishing_an_old_check_leaves_the_new_pointer(store: Store, record_factory: Factory) -> None:
    old = record_factory()
    store.create(old)
    new = record_factory()
    store.replace_running(new, old.id)
    cancelled = store.load(old.id)
    assert cancelled is not None
    assert store.save_meta(_moved(cancelled, status=FINISHED, finished_at=1.0), cancelled.version).status == "ok"
    assert store.load_running(new.meta.channel).id == new.id  # type: ignore[union-attr]


# --- refs, de-duplication, locks, dirty flags ---------------------------------------------------


def test_refs_follow_the_session_ttl(store: Store, redis_client: redis.Redis, record_factory: Factory) -> None:
    record = record_factory()
    store.create(record)
    redis_client.expire(f"{PREFIX}:s:{record.id}", 500)
    store.set_ref(record.id, "card", "C1")
    assert 490 < redis_client.ttl(f"{PREFIX}:ref:{record.id}") <= 500
    assert store.get_ref(record.id, "card") == "C1"
    assert store.get_ref(record.id, "other") is None
    store.set_ref("gone", "card", "C2")  # refs of a vanished session still expire
    assert redis_client.ttl(f"{PREFIX}:ref:gone") > 0


def test_claim_once_holds_across_store_instances(redis_url: str, store: Store) -> None:
    other = Store.from_url(redis_url, prefix=PREFIX)
    try:
        assert store.claim_once("slack:evt:1") is True
        assert other.claim_once("slack:evt:1") is False
        assert store.claim_once("slack:evt:1") is False
        assert other.claim_once("slack:evt:2", ttl_seconds=60) is True
    finally:
        other.close()


def test_claim_once_sets_a_ttl(store: Store, redis_client: redis.Redis) -> None:
    store.claim_once("k", ttl_seconds=120)
    (mark,) = redis_client.keys(f"{PREFIX}:once:*")
    assert 0 < redis_client.ttl(mark) <= 120


def test_claim_once_keeps_no_user_id_in_the_key_name(store: Store, redis_client: redis.Redis) -> None:
    """Dedup marks name who clicked what; only a keyed hash of them is stored."""
    store.claim_once("slack:act:T1:U0SECRETUSER:answer:1700000000.1")
    names = redis_client.keys(f"{PREFIX}:*")
    assert names, "the mark was written"
    assert not [n for n in names if "U0SECRETUSER" in n or "answer" in n], names


def test_coalescing_window_enter_and_exit(store: Store, redis_client: redis.Redis) -> None:
    assert store.coalesce_enter("tally:s1:q1", 5000) is True, "the first one leads"
    assert 0 < redis_client.pttl(f"{PREFIX}:lock:tally:s1:q1") <= 5000
    assert store.coalesce_enter("tally:s1:q1", 5000) is False, "followers only mark it dirty"
    assert store.coalesce_enter("tally:s1:q1", 5000) is False
    assert store.coalesce_exit("tally:s1:q1", 5000) is True, "dirty: renew and deliver again"
    assert redis_client.exists(f"{PREFIX}:lock:tally:s1:q1") == 1
    assert store.coalesce_exit("tally:s1:q1", 5000) is False, "clean: release"
    assert redis_client.exists(f"{PREFIX}:lock:tally:s1:q1") == 0
    assert store.coalesce_enter("tally:s1:q1", 5000) is True, "released: the next one leads again"


def test_prefixes_keep_stores_apart(redis_client: redis.Redis, store: Store, record_factory: Factory) -> None:
    other = Store(redis_client, prefix="other", session_ttl=3600)
    record = record_factory()
    store.create(record)
    assert other.load_running(record.meta.channel) is None
    assert other.create(record_factory()).status == "ok"


# --- unreachable Redis --------------------------------------------------------------------------


def test_dead_redis_gives_store_error(record_factory: Factory, tmp_path: Path) -> None:
    # A unix socket nobody listens on: unlike a "free" TCP port, nobody can take it meanwhile.
    dead = Store.from_url(f"unix://{tmp_path / 'nobody.sock'}")
    try:
        assert dead.ping() is False
        with pytest.raises(StoreError, match="unreachable"):
            dead.load("x")
        with pytest.raises(StoreError, match="unreachable"):
            dead.create(record_factory())
        with pytest.raises(StoreError, match="unreachable"):
            dead.claim_once("x")
    finally:
        dead.close()


def test_store_needs_decoded_responses(redis_url: str) -> None:
    raw = redis.Redis.from_url(redis_url)
    try:
        with pytest.raises(StoreError, match="decode_responses"):
            Store(raw)
    finally:
        raw.close()


def test_bad_url_gives_store_error() -> None:
    with pytest.raises(StoreError, match="invalid Redis URL"):
        Store.from_url("http://example.com")


# --- one round trip per call ----------------------------------------------------------------------


class CountingConnection(redis.UnixDomainSocketConnection):
    """Counts what is written to the socket: one packed write per command (or pipeline)."""

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


def test_hot_paths_are_one_round_trip(counting_store: Store, record_factory: Factory) -> None:
    store = counting_store
    record = record_factory()
    # warm up: open the connection and load every script once (EVALSHA falls back on NOSCRIPT)
    store.create(record)
    store.record_answer(record.id, "q1", "u0", Answer(choices=(1,)))
    store.load_running(record.meta.channel)
    store.save_meta(_moved(record), expected_version=0)

    def trips(call: Callable[[], object]) -> int:
        before = CountingConnection.sent
        call()
        return CountingConnection.sent - before

    assert trips(lambda: store.record_answer(record.id, "q1", "u1", Answer(choices=(1,)), name="Ann")) == 1
    assert trips(lambda: store.record_answer(record.id, "q1", "u1", Answer(), toggle=2)) == 1
    assert trips(lambda: store.load_running(record.meta.channel)) == 1
    assert trips(lambda: store.save_meta(_moved(record, state="q2"), expected_version=1)) == 1
    assert trips(lambda: store.load(record.id)) == 1
    assert trips(lambda: store.add_note(record.id, Note("q2", "u1", "n", 1.0))) == 1


def test_one_evalsha_on_the_server_side(store: Store, redis_client: redis.Redis, record_factory: Factory) -> None:
    """Cross-check with the server's command statistics (commands run inside a script count too,
    so only the script calls themselves are compared)."""
    record = record_factory()
    store.create(record)
    store.record_answer(record.id, "q1", "u0", Answer(choices=(1,)))  # scripts loaded

    def script_calls() -> dict[str, int]:
        stats = redis_client.info("commandstats")
        return {
            name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("evalsha", "eval", "script|load")
        }

    before = script_calls()
    store.record_answer(record.id, "q1", "u1", Answer(choices=(1,)))
    store.load_running(record.meta.channel)
    after = script_calls()
    assert {name: after[name] - before[name] for name in after} == {"evalsha": 2, "eval": 0, "script|load": 0}


# --- concurrency ------------------------------------------------------------------------------


def _answer_and_note_worker(url: str, session_id: str, proc: int, threads: int, per_thread: int) -> int:
    """Runs in a spawned process: ``threads`` threads, each recording answers + notes of distinct users."""
    store = Store.from_url(url, prefix=PREFIX, session_ttl=3600)
    start = threading.Barrier(threads)

    def work(thread: int) -> int:
        start.wait(timeout=30)
        done = 0
        for i in range(per_thread):
            user = f"p{proc}t{thread}n{i}"
            ok = store.record_answer(session_id, "q1", user, Answer(choices=(i % 4,), at=time.time()), name=user)
            noted = store.add_note(session_id, Note(question="q1", user=user, text=user, at=time.time()))
            done += ok.status == "ok" and noted.status == "ok"
        return done

    try:
        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(work, range(threads)))
    finally:
        store.close()


def test_concurrent_answers_and_notes_from_two_processes(
    store: Store, redis_url: str, redis_client: redis.Redis, record_factory: Factory
) -> None:
    record = record_factory()
    store.create(record)
    procs, threads, per_thread = 2, 10, 50
    total = procs * threads * per_thread

    with ProcessPoolExecutor(procs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            pool.submit(_answer_and_note_worker, redis_url, record.id, p, threads, per_thread) for p in range(procs)
        ]
        assert sum(f.result(timeout=240) for f in futures) == total

    expected = {f"p{p}t{t}n{i}" for p in range(procs) for t in range(threads) for i in range(per_thread)}
    loaded = store.load(record.id)
    assert loaded is not None
    assert set(loaded.answers_to("q1")) == expected and len(loaded.answers_to("q1")) == total
    assert len(loaded.notes) == total and {n.text for n in loaded.notes} == expected
    assert loaded.names == {u: u for u in expected}

    fields: list[str] = redis_client.hkeys(f"{PREFIX}:s:{record.id}")  # type: ignore[assignment]
    seqs = sorted(int(f[2:]) for f in fields if f.startswith("n|"))
    assert seqs == list(range(1, total + 1))  # no gaps, no duplicates
    assert redis_client.hget(f"{PREFIX}:s:{record.id}", "nseq") == str(total)


def test_simultaneous_moves_one_wins(store: Store, record_factory: Factory) -> None:
    record = record_factory()
    store.create(record)
    barrier = threading.Barrier(2)

    def move(target: str) -> str:
        barrier.wait(timeout=10)
        return store.save_meta(_moved(record, state=target), expected_version=0).status

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(move, ["q2", "q3"]))
    assert statuses == ["conflict", "ok"]
    loaded = store.load(record.id)
    assert loaded is not None and loaded.version == 1 and loaded.meta.state in ("q2", "q3")


# --- double-click guards on an injected clock ---------------------------------------------------------


def test_claim_window_refuses_a_claim_within_the_window_and_accepts_one_after(store: Store) -> None:
    t = 1_700_000_000.0
    assert store.claim_window("toggle:U1:s:q:2", t, 1.0) is True
    assert store.claim_window("toggle:U1:s:q:2", t + 0.4, 1.0) is False, "a double click"
    assert store.claim_window("toggle:U1:s:q:2", t + 0.99, 1.0) is False
    assert store.claim_window("toggle:U1:s:q:1", t + 0.5, 1.0) is True, "another option: its own guard"
    assert store.claim_window("toggle:U2:s:q:2", t + 0.5, 1.0) is True, "another user: their own guard"
    assert store.claim_window("toggle:U1:s:q:2", t + 1.0, 1.0) is True, "the window has passed"
    assert store.claim_window("toggle:U1:s:q:2", t + 1.5, 1.0) is False, "counted from the last accepted claim"


def test_a_refused_claim_does_not_extend_the_window(store: Store) -> None:
    t = 5_000.0
    assert store.claim_window("k", t, 2.0) is True
    for step in (0.5, 1.0, 1.5, 1.9):  # rapid clicks, each within 2 s of the first
        assert store.claim_window("k", t + step, 2.0) is False
    assert store.claim_window("k", t + 2.0, 2.0) is True  # 2 s after the accepted one, not after the last click


def test_claim_window_tolerates_a_lagging_clock_without_locking_anyone_out(store: Store) -> None:
    """Replicas' clocks differ a little: a claim stamped earlier than the mark is measured by distance."""
    t = 10_000.0
    assert store.claim_window("k", t, 1.0) is True
    assert store.claim_window("k", t - 0.5, 1.0) is False  # a replica half a second behind: still the double click
    assert store.claim_window("k", t - 30.0, 1.0) is True  # far behind: accepted, never a lock-out


def test_claim_window_holds_across_store_instances(redis_url: str, store: Store) -> None:
    other = Store.from_url(redis_url, prefix=PREFIX)
    try:
        assert store.claim_window("mm:click:abc", 100.0, 2.0) is True
        assert other.claim_window("mm:click:abc", 101.0, 2.0) is False
        assert other.claim_window("mm:click:abc", 102.0, 2.0) is True
        assert store.claim_window("mm:click:abc", 103.0, 2.0) is False
    finally:
        other.close()


def test_claim_window_marks_clean_up_and_name_no_user(store: Store, redis_client: redis.Redis) -> None:
    store.claim_window("slack:toggle:U0SECRETUSER:sid:strategy:3", 1.0, 1.0)
    names = redis_client.keys(f"{PREFIX}:*")
    marks = [n for n in names if n.startswith(f"{PREFIX}:win:")]
    assert len(marks) == 1, names
    assert not [n for n in names if "U0SECRETUSER" in n or "toggle" in n], names
    assert 1 < redis_client.ttl(marks[0]) <= 70  # generous against a 1 s window, but it does expire


def test_claim_window_is_one_round_trip(counting_store: Store) -> None:
    counting_store.claim_window("warm", 0.0, 1.0)  # connection, dedup secret and script loaded
    before = CountingConnection.sent
    counting_store.claim_window("k", 0.0, 1.0)
    assert CountingConnection.sent - before == 1


def test_claim_window_on_a_dead_redis_is_a_store_error(tmp_path: Path) -> None:
    dead = Store.from_url(f"unix://{tmp_path / 'nobody.sock'}")
    try:
        with pytest.raises(StoreError, match="unreachable"):
            dead.claim_window("x", 0.0, 1.0)
    finally:
        dead.close()
