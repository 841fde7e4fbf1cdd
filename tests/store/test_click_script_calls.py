"""What the click scripts run on the real redis-server (MONITOR), and the answer script's caches
(``x|<key>``, ``uc``, ``c|<q>``, bot.core.session): a returning user's click reads nothing that grows
with the crowd, a click's two marks join their channel's set in one pass, and whatever order answers,
notes and forgetting come in (on a check written with the caches or from Python without them) every
count and every answer is what a plain model of the check says."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.session import END, FINISHED, Answer, Note, SessionRecord
from bot.ports import Delivery
from bot.store.store import Store

Factory = Callable[..., SessionRecord]
PREFIX = "test"
USERS = ("ann", "bob", "cas", "dee")


@pytest.fixture
def lua_calls(redis_url: str) -> Iterator[Callable[[Callable[[], Any]], list[list[str]]]]:
    """``calls(fn)``: the commands a script ran on the server (MONITOR's ``lua`` lines) while ``fn`` ran."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    def calls(fn: Callable[[], Any]) -> list[list[str]]:
        seen: list[list[str]] = []
        with client.monitor() as monitor:
            fn()
            client.echo("done")  # MONITOR shows it after every command fn sent
            for line in monitor.listen():
                if line["command"] == "ECHO done":
                    break
                if line.get("client_type") == "lua":
                    seen.append(line["command"].split(" "))
        return seen

    yield calls
    client.close()


def _session(store: Store, factory: Factory, **fields: Any) -> SessionRecord:
    record = factory(channel=f"console:local:{uuid.uuid4().hex}")
    for name, value in fields.items():
        setattr(record, name, value)
    assert store.create(record).status == "ok"
    return record


def _everyone_answered(store: Store, factory: Factory) -> SessionRecord:
    record = _session(store, factory)
    for n, user in enumerate(USERS, start=1):
        assert store.record_answer(record.id, "q1", user, Answer(choices=(1,)), user.title()).count == n
    return record


def test_a_returning_users_click_reads_only_their_index_and_the_questions_answers(
    store: Store, record_factory: Factory, lua_calls: Callable[[Callable[[], Any]], list[list[str]]]
) -> None:
    record = _everyone_answered(store, record_factory)
    calls = lua_calls(lambda: store.record_answer(record.id, "q1", "bob", Answer(choices=(2,)), "Bob"))
    reads = [call for call in calls if call[0] in ("HGET", "HMGET", "HGETALL", "HSCAN")]
    assert reads == [["HMGET", f"{PREFIX}:s:{record.id}", "status", "cur", "x|bob", "a|q1", "c|q1"]]
    writes = [call[:3] for call in calls if call[0] == "HSET"]
    assert writes == [["HSET", f"{PREFIX}:s:{record.id}", "a|q1"]], "the users table is left alone"
    # A newcomer is the one who has the table read, to be added to it.
    calls = lua_calls(lambda: store.record_answer(record.id, "q1", "eve", Answer(choices=(2,)), "Eve"))
    assert ["HMGET", f"{PREFIX}:s:{record.id}", "u", "uc"] in calls


def test_a_check_written_without_the_caches_gets_them_on_its_first_click(
    store: Store, record_factory: Factory, redis_client: redis.Redis
) -> None:
    answers = {"q1": {"ann": Answer(choices=(1,), at=0.0), "bob": Answer(choices=(2,), at=1.0)}}
    record = _session(store, record_factory, users=["ann", "bob", "cas"], answers=answers)
    key = f"{PREFIX}:s:{record.id}"
    assert not [f for f in redis_client.hkeys(key) if f.startswith(("x|", "c|")) or f == "uc"]
    assert store.record_answer(record.id, "q1", "cas", Answer(choices=(3,))).count == 3
    assert store.record_answer(record.id, "q1", "bob", Answer(choices=(1,))).count == 3
    assert store.record_answer(record.id, "q1", "dee", Answer(choices=(1,))).count == 4
    fields = redis_client.hgetall(key)
    assert {f: v for f, v in fields.items() if f.startswith(("x|", "c|")) or f == "uc"} == {
        "x|cas": "2",
        "x|bob": "1",
        "x|dee": "3",
        "uc": "4",
        "c|q1": "4",
    }
    loaded = store.load(record.id)
    assert loaded is not None and loaded.users == ["ann", "bob", "cas", "dee"]
    assert {u: a.choices for u, a in loaded.answers["q1"].items()} == {
        "ann": (1,),
        "bob": (1,),
        "cas": (3,),
        "dee": (1,),
    }


def test_forgetting_someone_drops_their_index_and_the_counts_it_changed(
    store: Store, record_factory: Factory, redis_client: redis.Redis
) -> None:
    record = _everyone_answered(store, record_factory)
    loaded = store.load(record.id)
    assert loaded is not None
    assert store.privacy.forget(loaded, "bob").answers == 1
    fields = redis_client.hgetall(f"{PREFIX}:s:{record.id}")
    assert "x|bob" not in fields and "c|q1" not in fields  # their key is gone; the count is taken anew
    assert not [v for v in fields.values() if "bob" in v]
    assert store.record_answer(record.id, "q1", "ann", Answer(choices=(2,))).count == 3
    assert store.record_answer(record.id, "q1", "bob", Answer(choices=(2,)), "Bob").count == 4
    assert redis_client.hget(f"{PREFIX}:s:{record.id}", "x|bob") == "4", "back as a new person, a new index"


def test_a_clicks_mark_and_guard_join_the_channels_marks_in_one_pass(
    store: Store, record_factory: Factory, lua_calls: Callable[[Callable[[], Any]], list[list[str]]]
) -> None:
    record = _session(store, record_factory)
    delivery = Delivery(record.meta.channel, "trigger-1", 600, guard="ann+button", guard_at=1000.0, guard_seconds=2)
    calls = lua_calls(lambda: store.record_click(record.id, "q1", "ann", Answer(choices=(1,)), "Ann", None, delivery))
    assert [call[0] for call in calls].count("TIME") == 1
    (zadd,) = [call for call in calls if call[0] == "ZADD"]
    assert len(zadd) == 2 + 4, "one ZADD: the mark and the guard, each with its expiry as its score"
    assert [call[0] for call in calls].count("ZREMRANGEBYSCORE") == 1


def test_a_check_that_ends_is_kept_without_the_caches(
    store: Store, record_factory: Factory, redis_client: redis.Redis
) -> None:
    record = _everyone_answered(store, record_factory)
    key = f"{PREFIX}:s:{record.id}"
    assert {"x|ann", "uc", "c|q1"} <= set(redis_client.hkeys(key))
    loaded = store.load(record.id)
    assert loaded is not None
    finished = SessionRecord(meta=replace(loaded.meta, status=FINISHED, state=END), version=loaded.version)
    assert store.save_meta(finished, loaded.version).status == "ok"
    assert not [f for f in redis_client.hkeys(key) if f.startswith(("x|", "c|")) or f == "uc"]
    kept = store.load(record.id)
    assert kept is not None and set(kept.answers["q1"]) == set(USERS) and kept.users == list(USERS)


# An answer (user, choice, toggled?), a note, or forgetting someone; on a check that starts with or
# without what Python writes (users and answers, no caches).
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("answer"), st.sampled_from(USERS), st.integers(0, 3), st.booleans()),
        st.tuples(st.just("note"), st.sampled_from(USERS), st.just(0), st.just(False)),
        st.tuples(st.just("forget"), st.sampled_from(USERS), st.just(0), st.just(False)),
    ),
    max_size=16,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, written=st.booleans())
def test_counts_and_answers_match_a_model_whatever_the_order(
    store: Store, record_factory: Factory, ops: list[tuple[str, str, int, bool]], written: bool
) -> None:
    model: dict[str, tuple[int, ...]] = {}
    fields: dict[str, Any] = {}
    if written:
        model = {"ann": (1,), "cas": (0, 2)}
        fields = {
            "users": ["cas", "ann"],
            "answers": {"q1": {u: Answer(choices=c, at=float(i)) for i, (u, c) in enumerate(model.items())}},
        }
    record = _session(store, record_factory, **fields)
    notes: list[str] = []
    for op, user, choice, toggled in ops:
        if op == "answer":
            result = store.record_answer(
                record.id, "q1", user, Answer(choices=(choice,)), user, toggle=choice if toggled else None
            )
            if toggled:
                chosen = set(model.get(user, ())) ^ {choice}
                model[user] = tuple(sorted(chosen))
                if not chosen:
                    del model[user]
            else:
                model[user] = (choice,)
            assert result.status == "ok" and result.count == len(model)
        elif op == "note":
            assert store.add_note(record.id, Note("q1", user, f"by {user}", 0.0), user).status == "ok"
            notes.append(user)
        else:
            loaded = store.load(record.id)
            assert loaded is not None
            store.privacy.forget(loaded, user)
            model.pop(user, None)
            notes = [n for n in notes if n != user]
    loaded = store.load(record.id)
    assert loaded is not None
    assert {u: a.choices for u, a in loaded.answers.get("q1", {}).items()} == model
    assert [n.user for n in loaded.notes] == notes
    assert all(n.text == f"by {n.user}" for n in loaded.notes), "every note is still its writer's"
