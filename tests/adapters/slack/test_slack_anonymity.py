"""Anonymous means anonymous in Redis too: after an anonymous check driven over real HTTP (clicks,
double clicks, a note, the facilitator's moves), no key name and no value of any type holds a user id
or a display name of the people who answered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from test_slack_http import FACILITATOR, NAMES, USERS, Env, make_env

from bot.adapters.slack import blocks as sb
from bot.store.store import Store
from tests.fakes.slack_api import FakeSlackApi


@pytest.fixture
def env(store: Store) -> Iterator[Env]:
    with FakeSlackApi() as fake:
        yield from make_env(fake, store)


def everything_in(client: redis.Redis) -> str:
    """Every key name and every value of every type, as one text."""
    parts: list[str] = []
    for key in client.scan_iter("*"):
        parts.append(key)
        kind = client.type(key)
        if kind == "string":
            parts.append(str(client.get(key)))
        elif kind == "hash":
            parts += [f"{k}={v}" for k, v in client.hgetall(key).items()]
        elif kind == "list":
            parts += client.lrange(key, 0, -1)
        elif kind == "set":
            parts += list(client.smembers(key))
        elif kind == "zset":
            parts += [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            raise AssertionError(f"a key of a type this scan does not read: {key} ({kind})")
    return "\n".join(parts)


def test_an_anonymous_check_leaves_no_user_id_anywhere_in_redis(env: Env, redis_client: redis.Redis) -> None:
    assert env.slash(FACILITATOR, "start --anonymous") == 200
    question = env.wait_questions(1)[0]
    answering = USERS[1:4]
    for user in answering:
        assert env.click(user, question, f"{sb.ANSWER}:1") == 200
        assert env.click(user, question, f"{sb.ANSWER}:2") == 200  # a change of mind, a second dedup mark
    env.fake.wait_until(lambda f: "3 answered" in str(f.message(env.channel, question.ts).blocks), 10)
    env.adapter.coalescer.wait_idle(5)
    dump = everything_in(redis_client)
    assert ":s:" in dump, "the check is stored"
    for user in answering:
        assert user not in dump, f"{user} is stored in plaintext"
        assert NAMES[user] not in dump.replace("\n", " ").split(), f"{NAMES[user]} is stored"
