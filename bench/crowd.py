"""Benchmark: the Redis server time of one button click, and what a tally window's close costs,
as the crowd on a question grows.

A click is one ``EVALSHA`` (bot.store.clicks: the dedup mark, the double-click guard, the answer and
the tally window). Its server time should grow little with the people who answered before: a
returning person's click reads their index (``x|<key>``) and the question's answers, never the users
table, and nothing is counted line by line (bot.core.session). A newcomer's click appends to the
users table, which does grow. For checks of ``--sizes`` people it prints the mean server time per click
(``INFO commandstats``) of people changing their answer and of newcomers, each as a ratio to the
smallest check measured in the same run.

It also times, in this process, a tally window's close on the same checks: ``coalesce_close`` (one
``EVALSHA`` whose reply is the snapshot, and its parse) and the card drawn from that snapshot
(``tally_card``), which a serving process does for every question with clicks, about once a second.

    .venv/bin/python bench/crowd.py [--sizes 10 200 2000] [--clicks 500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.dialogue.load import load_dialogue  # noqa: E402
from bot.core.messages import ChannelKey  # noqa: E402
from bot.core.session import Answer  # noqa: E402
from bot.ports import Delivery  # noqa: E402
from bot.runtime.redis_server import RedisProcess  # noqa: E402
from bot.service import CheckService  # noqa: E402
from bot.store.store import Store  # noqa: E402


def _session(service: CheckService, store: Store, channel: ChannelKey) -> tuple[str, str]:
    """A check started as a team starts one: its id and its first question."""
    service.handle_command(channel, "start", "F", "Facilitator")
    record = store.load_running(str(channel))
    assert record is not None
    return record.id, record.meta.state


def _click(store: Store, check: tuple[str, str], channel: ChannelKey, user: str, choice: int) -> None:
    mark = uuid.uuid4().hex
    delivery = Delivery(str(channel), mark, 600, guard=mark, guard_at=time.time(), guard_seconds=2, window_ms=1000)
    result = store.record_click(*check, user, Answer(choices=(choice,)), user, None, delivery)
    assert result.status == "ok", result


def _closes(
    store: Store, service: CheckService, check: tuple[str, str], channel: ChannelKey, people: list[str], n: int
) -> tuple[float, float]:
    """Mean µs of a window's close with its snapshot, and of drawing the card from the snapshot."""
    session_id, question_id = check
    fields = service.tally_fields(question_id)
    close = card = 0.0
    for i in range(n):
        for k in range(2):  # the first may lead a window the last close released; the second marks it
            _click(store, check, channel, people[(2 * i + k) % len(people)], 1 + i % 3)
        began = time.perf_counter()
        snapshot = store.coalesce_close(session_id, question_id, 5000, fields)
        closed = time.perf_counter()
        assert snapshot is not None and service.tally_card(snapshot) is not None
        close, card = close + closed - began, card + time.perf_counter() - closed
    return close / n * 1e6, card / n * 1e6


def _usec(client: redis.Redis) -> float:
    return float(client.info("commandstats")["cmdstat_evalsha"]["usec_per_call"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 200, 2000])
    parser.add_argument("--clicks", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="smc-crowd-"))
    server = RedisProcess.start(work / "redis", persistent=False)
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        store = Store(client)
        service = CheckService(load_dialogue(), store)
        rows = []
        for size in args.sizes:
            channel = ChannelKey("mattermost", "bench", uuid.uuid4().hex)
            check = _session(service, store, channel)
            people = [f"person-{person:06d}-{uuid.uuid4().hex}" for person in range(size)]
            for person in people:
                _click(store, check, channel, person, 1)
            closes = _closes(store, service, check, channel, people, 200)  # before newcomers join
            client.config_resetstat()
            for n in range(args.clicks):  # people who answered change their answer
                _click(store, check, channel, people[n % size], 2 + n % 2)
            returning = _usec(client)
            client.config_resetstat()
            for n in range(args.clicks):  # newcomers
                _click(store, check, channel, f"newcomer-{n:06d}-{uuid.uuid4().hex}", 1)
            rows.append((size, returning, _usec(client), *closes))
        _, base_returning, base_new, base_close, base_card = rows[0]
        print(f"server time per click (µs, INFO commandstats), {args.clicks} clicks each; ratio to {rows[0][0]} people")
        for size, returning, new, _, _ in rows:
            print(
                f"  {size:6d} people: returning {returning:7.1f} ({returning / base_returning:4.2f}×)"
                f"   newcomer {new:7.1f} ({new / base_new:4.2f}×)"
            )
        print(f"a tally window's close, in this process (µs), 200 each; ratio to {rows[0][0]} people")
        for size, _, _, close, card in rows:
            print(
                f"  {size:6d} people: close with its snapshot {close:7.0f} ({close / base_close:4.2f}×)"
                f"   card from it {card:6.0f} ({card / base_card:4.2f}×)"
            )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
