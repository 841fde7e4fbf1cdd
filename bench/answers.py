"""Benchmark: answers recorded through the engine and the store, against a bare Redis round trip.

Runs whole checks of PEOPLE colleagues (button answers, as from Slack or Mattermost), and prints:
answers/s, p50/p99 µs per answer, Redis round trips per answer, bytes per finished session, and a
bare EVALSHA round trip (``return 1``) measured in the same run on the same connection pool,
interleaved with the answers so that both see the same machine state.

Targets (issue #2): an answer costs ≤ 2× the bare round trip, exactly 1 round trip, and a finished
session of 10 people takes ≤ 8 KB in Redis.

    python bench/answers.py [--checks 20] [--people 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from socket import socket

import redis

from bot.core.dialogue.load import load_dialogue
from bot.core.messages import ChannelKey, Event, EventKind
from bot.runtime.redis_server import RedisProcess
from bot.service import CheckService
from bot.store.store import Store


class CountingConnection(redis.Connection):
    """Counts what goes over the wire: one packed command = one round trip."""

    sent = 0

    def send_packed_command(self, command, check_health=True):  # type: ignore[no-untyped-def]
        CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)


def free_port() -> int:
    with socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answer_event(service: CheckService, session_id: str, question_id: str, person: int) -> Event:
    question = service.dialogue.question(question_id)
    user = f"U{person:09d}"
    base = dict(
        user=user,
        user_name=f"Colleague {person}",
        session_id=session_id,
        question_id=question_id,
        via_button=True,
    )
    if question.kind == "text":
        return Event(EventKind.ANSWER, text=f"an answer of about this length from colleague {person}", **base)
    if question.kind == "date":
        return Event(EventKind.ANSWER, text="in 6 months", **base)
    choice = 1 if question.is_decision else 1 + person % len(question.options)
    return Event(EventKind.ANSWER, choices=(choice,), **base)


def run(checks: int, people: int) -> int:
    data = Path(tempfile.mkdtemp(prefix="smc-bench-"))
    server = RedisProcess.start(data, port=free_port(), unix_socket=False, persistent=False)
    try:
        pool = redis.ConnectionPool.from_url(server.url, decode_responses=True, connection_class=CountingConnection)
        client = redis.Redis(connection_pool=pool)
        store = Store(client, prefix="bench", session_ttl=3600)
        store.preload_scripts()  # as bot.app.build_store does at start-up
        service = CheckService(load_dialogue(), store)
        latencies: list[float] = []
        trips: list[int] = []
        sizes: list[int] = []
        choice_latencies: list[float] = []
        script_usec: list[float] = []
        client.config_resetstat()
        bare_script = client.register_script("return 1")
        bare_script(keys=["bench:bare"])
        bare: list[float] = []
        started = time.perf_counter()
        for n in range(checks):
            channel = ChannelKey("bench", "team", f"c{n}")
            service.handle_command(channel, "start", "U000000000", "Colleague 0")
            while (record := store.load_running(str(channel))) is not None:
                question = record.meta.state
                for person in range(people):
                    event = answer_event(service, record.id, question, person)
                    # the bare round trip, interleaved so both see the same machine state
                    t0 = time.perf_counter()
                    bare_script(keys=["bench:bare"])
                    bare.append(time.perf_counter() - t0)
                    before = CountingConnection.sent
                    t0 = time.perf_counter()
                    service.handle(channel, event)
                    elapsed = time.perf_counter() - t0
                    latencies.append(elapsed)
                    if not event.text:
                        choice_latencies.append(elapsed)
                    trips.append(CountingConnection.sent - before)
                service.handle_command(channel, "next", "U000000000", "Colleague 0")
            finished = store.history(str(channel), limit=1)[0]
            script_usec.append(_script_usec(client))
            sizes.append(int(client.memory_usage(f"bench:s:{finished.id}", samples=0) or 0))
        total = time.perf_counter() - started
        tight: list[float] = []  # the same bare call in a tight loop: warm caches, the best case
        for _ in range(len(bare)):
            t0 = time.perf_counter()
            bare_script(keys=["bench:bare"])
            tight.append(time.perf_counter() - t0)
    finally:
        server.stop()

    p50, p99 = _pct(latencies, 50), _pct(latencies, 99)
    c50, c99 = _pct(choice_latencies, 50), _pct(choice_latencies, 99)
    b50, b99 = _pct(bare, 50), _pct(bare, 99)
    t50, t99 = _pct(tight, 50), _pct(tight, 99)
    print(
        f"checks: {checks} of {people} people, {len(latencies)} answers in {total:.2f} s "
        f"(including the facilitator's moves)"
    )
    print(f"answers/s (answer calls only):   {len(latencies) / sum(latencies):8.0f}")
    print(f"per answer, all kinds      p50/p99: {p50:7.1f} / {p99:7.1f} µs")
    print(f"per answer, buttons        p50/p99: {c50:7.1f} / {c99:7.1f} µs")
    print(f"bare EVALSHA, interleaved  p50/p99: {b50:7.1f} / {b99:7.1f} µs")
    print(f"bare EVALSHA, tight loop   p50/p99: {t50:7.1f} / {t99:7.1f} µs  (warm caches: the best case)")
    print(
        f"ratio to the interleaved bare round trip (p50): all kinds {p50 / b50:.2f}×, "
        f"buttons {c50 / b50:.2f}×  (target ≤ 2×)"
    )
    print(f"ratio to the tight-loop bare round trip (p50):  buttons {c50 / t50:.2f}×")
    print(f"server time per script call:     {statistics.mean(script_usec):.1f} µs (INFO commandstats, all scripts)")
    print(f"Redis round trips per answer:    mean {statistics.mean(trips):.2f}, max {max(trips)}  (target 1)")
    print(f"bytes per finished session:      mean {statistics.mean(sizes):.0f}, max {max(sizes)}  (target ≤ 8192)")
    ok = c50 <= 2 * b50 and max(trips) == 1 and max(sizes) <= 8192
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


def _script_usec(client: redis.Redis) -> float:
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return float(stats.get("usec_per_call", 0.0))


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1e6


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=20)
    parser.add_argument("--people", type=int, default=10)
    args = parser.parse_args()
    sys.exit(run(args.checks, args.people))
