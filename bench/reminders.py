"""Benchmark: reminders fired by 3 worker processes, beside a bare ZPOPMIN loop in the same run.

What runs. A redis-server of its own (TCP, in a temp dir); 1,000 finished checks, one per channel,
and 100,000 revisit reminders of theirs (100 per channel), all due in the future. Three worker
processes (this file with ``--child scheduler``) each run what ``socialmedia-check worker`` runs for
Mattermost: the real Store, ReminderScheduler, FollowUps (what a due revisit says), Outbox and
Mattermost renderer (with its signed buttons). One part is swapped: the Mattermost REST client is a
recorder that notes (reminder id, time) where it would send ``POST /api/v4/posts``. Why: these are
the scheduler's figures (claim, render, confirm the claim, post through the outbox, report). An HTTP
fake on the same two cores would mostly measure http.server and requests, one new connection per
post. The real HTTP path is exercised by tests/runtime/test_reminder_processes.py (real ``worker``
processes against the fake Mattermost), not timed here.

Phases, each first for the scheduler and then for the baseline:

- idle: nothing due, 100,000 pending, ``--idle`` seconds: commands per second each process sends
  (target ≤ 2; the scheduler sends one claim per ``--poll``).
- burst: 10,000 of them made due at once. Gives reminders/s from the first post to the last
  (target ≥ 1,000/s; the first comes within a poll, printed apart), duplicates and losses (both
  must be 0), and Redis round trips per fired reminder. Lateness here is queueing: the last one
  waits for the 9,999 before it.
- paced: 10,000 more coming due at ``--rate`` per second: lateness p50/p99 after the due time while
  keeping up (target p99 ≤ 2 s).

After each phase the bench waits one lease more, so a claim that ran out (a duplicate) would show.
The lease is short here (``--lease``, 5 s, against 60 s in production) so that it runs out well
within a burst unless the claimants renew it.

Baseline: the same phases with 3 processes looping a bare ``ZPOPMIN`` on one sorted set holding the
same ids and due times. A pop that is not due yet is put back with ``ZADD`` and waited for (at most a
poll). That is one round trip per fired reminder, nothing rendered, no claim and no report; a crash
between the pop and the post loses the reminder. It is the floor of what Redis and Python cost on
this machine, not an alternative design.

Round trips are counted where they are sent: every command a process sends, counted by its
connection class, as bench/answers.py does. They are cross-checked with ``INFO commandstats``:
``cmdstat_evalsha`` counts script calls exactly, while the other server-side counts include the
commands run inside scripts.

    python bench/reminders.py [--workers 3] [--reminders 100000] [--channels 1000] [--due 10000]
                              [--rate 1000] [--idle 10] [--poll 1.0] [--lease 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from socket import socket
from typing import Any

import redis

from bot.core.reminders import Kind, Reminder
from bot.core.session import FINISHED, RUNNING, SessionMeta, SessionRecord
from bot.runtime.redis_server import RedisProcess
from bot.store.store import Store

PREFIX = "bench"
BASELINE_KEY = "bench-baseline:due"  # the baseline's one sorted set (outside the bot's prefix)
LINE = 27  # a record line: 8-hex id, a space, 17-character epoch seconds, a newline


class CountingConnection(redis.Connection):
    """Counts what goes over the wire: one packed command (or pipeline) is one round trip."""

    sent = 0
    _lock = threading.Lock()  # the outbox's threads and the scheduler's send at once

    def send_packed_command(self, command, check_health=True):  # type: ignore[no-untyped-def]
        with CountingConnection._lock:
            CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)


def free_port() -> int:
    with socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def counted_client(url: str) -> redis.Redis:
    """A client as Store.from_url makes one, whose commands are counted."""
    return redis.Redis.from_url(
        url, decode_responses=True, socket_timeout=5.0, connection_class=CountingConnection, health_check_interval=30
    )


# --- the child processes ------------------------------------------------------------------------


class Recorder:
    """Where a child notes each reminder it posted: ``<id> <epoch>`` lines of fixed width."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", buffering=1)
        self._lock = threading.Lock()

    def note(self, reminder_id: str) -> None:
        with self._lock:
            self._file.write(f"{reminder_id} {time.time():017.6f}\n")

    def close(self) -> None:
        self._file.close()


class RecordingApi:
    """Stands in for bot.adapters.mattermost.api.MattermostApi: notes the reminder a post is for
    (from its Start button's signed context, ``start:<id>``) instead of sending it."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self.user_id, self.username = "benchbot", "bench"

    def create_post(self, body: dict[str, Any]) -> dict[str, Any]:
        for attachment in (body.get("props") or {}).get("attachments") or []:
            for action in attachment.get("actions") or []:
                value = action["integration"]["context"].get("v", "")
                if value.startswith("start:"):
                    self._recorder.note(value.partition(":")[2])
        return {"id": uuid.uuid4().hex[:26]}

    def patch_post(self, post_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": post_id}

    def ephemeral_post(self, user_id: str, post: dict[str, Any]) -> dict[str, Any]:
        return {"id": uuid.uuid4().hex[:26]}


def run_scheduler_child(args: argparse.Namespace, recorder: Recorder, stop: threading.Event) -> None:
    from bot.adapters.mattermost.outbound import MattermostOutbound
    from bot.adapters.mattermost.signing import ContextSigner
    from bot.adapters.outbox import Outbox
    from bot.app import build_service
    from bot.config import load_settings
    from bot.runtime.scheduler import ReminderScheduler, SchedulerOptions

    settings = load_settings({"REDIS_URL": args.url, "SMC_REDIS_PREFIX": PREFIX})
    store = Store(counted_client(args.url), prefix=PREFIX, session_ttl=3600)
    store.preload_scripts()  # as bot.app.build_store does
    service = build_service(settings, store)
    api: Any = RecordingApi(recorder)
    port = MattermostOutbound(api, "https://bench.invalid/mattermost/actions", ContextSigner("b" * 32))
    outbox = Outbox.for_service(port, service, store, workers=4)  # as the Mattermost adapter builds it
    options = SchedulerOptions(poll=args.poll, lease=args.lease)
    scheduler = ReminderScheduler(store.reminders, service.followups, {"mattermost": outbox}, options=options)
    scheduler.start()
    print("ready", flush=True)
    stop.wait()
    scheduler.stop(10.0)
    outbox.close()


def run_baseline_child(args: argparse.Namespace, recorder: Recorder, stop: threading.Event) -> None:
    client = counted_client(args.url)
    print("ready", flush=True)
    while not stop.is_set():
        popped = client.zpopmin(BASELINE_KEY)
        if not popped:
            stop.wait(args.poll)
            continue
        member, score = popped[0]
        now = time.time()
        if score > now:  # not due: put it back and wait for it (at most a poll)
            client.zadd(BASELINE_KEY, {member: score})
            stop.wait(min(args.poll, score - now))
            continue
        recorder.note(member)


def child(args: argparse.Namespace) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The parent asks for the round trips so far at each phase's edges.
    signal.signal(
        signal.SIGUSR1, lambda *_: print(f"sent {CountingConnection.sent} {time.process_time():.6f}", flush=True)
    )
    recorder = Recorder(Path(args.out))
    try:
        (run_scheduler_child if args.child == "scheduler" else run_baseline_child)(args, recorder, stop)
    finally:
        recorder.close()
    return 0


# --- the parent ---------------------------------------------------------------------------------------


@dataclass
class Proc:
    popen: subprocess.Popen[str]
    out: Path

    def posted(self) -> int:
        return os.path.getsize(self.out) // LINE if self.out.exists() else 0

    def sent(self) -> tuple[int, float]:
        """(commands sent so far, CPU seconds used so far, all threads)."""
        self.popen.send_signal(signal.SIGUSR1)
        while True:  # other lines may come first ("ready")
            line = self.popen.stdout.readline() if self.popen.stdout else ""
            if not line:
                raise RuntimeError("a child process died")
            if line.startswith("sent "):
                _, sent, cpu = line.split()
                return int(sent), float(cpu)


@dataclass
class PhaseResult:
    fired: int
    duplicates: int
    losses: int
    per_second: float  # from the first post to the last
    first_after: float  # seconds from making them due to the first post (at most a poll: detection)
    feed: float  # seconds the bench took to make them due
    lateness: list[float]
    trips_per_fired: float
    evalsha_per_fired: float
    cpu_ms_per_fired: float  # the worker processes' CPU time (all threads)
    redis_cpu_ms_per_fired: float  # redis-server's (INFO cpu)


class Bench:
    def __init__(self, args: argparse.Namespace, url: str, workdir: Path) -> None:
        self.args = args
        self.url = url
        self.workdir = workdir
        self.control = redis.Redis.from_url(url, decode_responses=True)
        feeder = redis.Redis.from_url(url, decode_responses=True, max_connections=16)
        self.store = Store(feeder, prefix=PREFIX, session_ttl=3600)
        self.store.preload_scripts()
        self.procs: list[Proc] = []

    # --- setup --------------------------------------------------------------------------------

    def populate(self) -> list[Reminder]:
        """The finished checks and every reminder, all due in the future (30 days to a year)."""
        a = self.args
        now = time.time()
        sessions: list[str] = []
        for n in range(a.channels):
            channel = f"mattermost:bench:ch{n:04d}"
            meta = SessionMeta(
                id=uuid.uuid4().hex,
                channel=channel,
                dialogue="socialmedia-check",
                language="en",
                facilitator="U0",
                facilitator_name="Facilitator",
                state="q1",
                path=["q1"],
                status=RUNNING,
                created_at=now,
                updated_at=now,
            )
            record = SessionRecord(meta=meta)
            assert self.store.create(record).ok
            done = replace(meta, status=FINISHED, decision="not_now", revisit="2027-06-01", finished_at=now)
            assert self.store.save_meta(replace(record, meta=done), record.version).ok
            sessions.append(meta.id)
        reminders = [
            Reminder(
                f"{n:08x}",
                Kind.REVISIT,
                f"mattermost:bench:ch{n % a.channels:04d}",
                sessions[n % a.channels],
                now + 30 * 86400 + (n * 7919 % a.reminders) * 300.0,
            )
            for n in range(a.reminders)
        ]
        for start in range(0, len(reminders), 1000):
            self.store.reminders.schedule(reminders[start : start + 1000])
        return reminders

    def fill_baseline(self, reminders: list[Reminder]) -> None:
        for start in range(0, len(reminders), 5000):
            self.control.zadd(BASELINE_KEY, {r.id: r.due for r in reminders[start : start + 5000]})

    # --- processes ------------------------------------------------------------------------------

    def start(self, kind: str) -> None:
        self.procs = []
        for n in range(self.args.workers):
            out = self.workdir / f"{kind}-{n}.txt"
            cmd = [sys.executable, __file__, "--child", kind, "--url", self.url, "--out", str(out)]
            cmd += ["--poll", str(self.args.poll), "--lease", str(self.args.lease)]
            log = (self.workdir / f"{kind}-{n}.log").open("w")
            popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=os.environ.copy())
            self.procs.append(Proc(popen, out))
        for proc in self.procs:
            assert proc.popen.stdout is not None and proc.popen.stdout.readline().strip() == "ready"

    def stop(self) -> None:
        for proc in self.procs:
            proc.popen.send_signal(signal.SIGTERM)
        for proc in self.procs:
            proc.popen.wait(30)

    def sent(self) -> tuple[int, float]:
        both = [p.sent() for p in self.procs]
        return sum(n for n, _ in both), sum(cpu for _, cpu in both)

    def redis_cpu(self) -> float:
        info = self.control.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def evalsha(self) -> int:
        return int(self.control.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))

    def records(self) -> list[tuple[str, float]]:
        rows = []
        for proc in self.procs:
            for line in proc.out.read_text().splitlines():
                rid, at = line.split()
                rows.append((rid, float(at)))
        return rows

    # --- phases -------------------------------------------------------------------------------------

    def idle(self) -> tuple[float, float]:
        """(commands/s per process sent, cmdstat_evalsha/s per process) while nothing is due."""
        time.sleep(self.args.poll * 2)  # settle: every process past its first rounds
        (sent, _), evalsha, t0 = self.sent(), self.evalsha(), time.monotonic()
        time.sleep(self.args.idle)  # the measured stretch: nothing is due, so nothing else happens
        elapsed = time.monotonic() - t0
        per_proc = elapsed * len(self.procs)
        return (self.sent()[0] - sent) / per_proc, (self.evalsha() - evalsha) / per_proc

    def fire(self, batch: list[Reminder], dues: list[float], baseline: bool) -> PhaseResult:
        before = sum(p.posted() for p in self.procs)
        (sent, cpu), evalsha, redis_cpu = self.sent(), self.evalsha(), self.redis_cpu()
        t0 = time.time()
        if baseline:
            self.control.zadd(BASELINE_KEY, {r.id: d for r, d in zip(batch, dues, strict=True)})
            own_evalsha = 0
        else:  # one EVALSHA each (not counted below), from a few threads so the feed outruns the firing
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(self.store.reminders.reschedule, batch, dues))
            own_evalsha = len(batch)
        feed = time.time() - t0
        deadline = time.time() + max(dues) - t0 + 120
        while sum(p.posted() for p in self.procs) - before < len(batch) and time.time() < deadline:
            time.sleep(0.05)
        sent_after, cpu_after = self.sent()
        trips, scripts = sent_after - sent, self.evalsha() - evalsha - own_evalsha
        cpu, redis_cpu = cpu_after - cpu, self.redis_cpu() - redis_cpu  # redis-server's includes the feed
        time.sleep(self.args.lease + 1)  # a claim that ran out would be posted again by now
        due_of = {r.id: d for r, d in zip(batch, dues, strict=True)}
        mine = [(rid, at) for rid, at in self.records() if rid in due_of]
        counts = Counter(rid for rid, _ in mine)
        first = {}
        for rid, at in mine:
            first.setdefault(rid, at)
        times = sorted(first.values()) or [t0]
        return PhaseResult(
            fired=len(first),
            duplicates=sum(c - 1 for c in counts.values()),
            losses=len(due_of) - len(first),
            per_second=(len(first) - 1) / max(times[-1] - times[0], 1e-9),
            first_after=times[0] - t0,
            feed=feed,
            lateness=sorted(max(at - due_of[rid], 0.0) for rid, at in first.items()),
            trips_per_fired=trips / max(len(first), 1),
            evalsha_per_fired=scripts / max(len(first), 1),
            cpu_ms_per_fired=cpu * 1000 / max(len(first), 1),
            redis_cpu_ms_per_fired=redis_cpu * 1000 / max(len(first), 1),
        )


def pct(values: list[float], p: int) -> float:
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else float("nan")


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="smc-bench-rem-"))
    server = RedisProcess.start(workdir / "redis", port=free_port(), unix_socket=False, persistent=False)
    results: dict[str, dict[str, Any]] = {}
    load_before = os.getloadavg()[0]
    try:
        bench = Bench(args, server.url, workdir)
        t = time.perf_counter()
        reminders = bench.populate()
        print(
            f"{args.reminders:,} reminders across {args.channels:,} channels scheduled in "
            f"{time.perf_counter() - t:.1f} s; {args.workers} processes; poll {args.poll} s, lease {args.lease} s"
        )
        burst = reminders[: args.due]
        paced = reminders[args.due : 2 * args.due]
        for kind in ("scheduler", "baseline"):
            if kind == "baseline":
                bench.fill_baseline(reminders)
            bench.start(kind)
            idle_sent, idle_evalsha = bench.idle()
            a = bench.fire(burst, [time.time()] * len(burst), baseline=kind == "baseline")
            start = time.time() + 1.0
            b = bench.fire(paced, [start + n / args.rate for n in range(len(paced))], baseline=kind == "baseline")
            bench.stop()
            results[kind] = {"idle": (idle_sent, idle_evalsha), "burst": a, "paced": b}
            if kind == "scheduler":
                states = Counter(bench.store.reminders.get(r.id).state.value for r in burst + paced)  # type: ignore[union-attr]
                results[kind]["states"] = dict(states)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return report(args, results)


def report(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> int:
    s, b = results["scheduler"], results["baseline"]
    sa, sp, ba, bp = s["burst"], s["paced"], b["burst"], b["paced"]
    rows = [
        ("burst: reminders/s (first to last post)", f"{sa.per_second:,.0f}", f"{ba.per_second:,.0f}", "≥ 1,000"),
        ("burst: first post after (≤ a poll)", f"{sa.first_after:.2f} s", f"{ba.first_after:.2f} s", ""),
        ("burst: duplicates / losses", f"{sa.duplicates} / {sa.losses}", f"{ba.duplicates} / {ba.losses}", "0 / 0"),
        ("burst: round trips per fired (sent)", f"{sa.trips_per_fired:.2f}", f"{ba.trips_per_fired:.2f}", ""),
        ("burst: EVALSHA per fired (commandstats)", f"{sa.evalsha_per_fired:.2f}", f"{ba.evalsha_per_fired:.2f}", ""),
        ("burst: workers' CPU per fired", f"{sa.cpu_ms_per_fired:.2f} ms", f"{ba.cpu_ms_per_fired:.2f} ms", ""),
        (
            "burst: redis-server CPU per fired (with the feed)",
            f"{sa.redis_cpu_ms_per_fired:.3f} ms",
            f"{ba.redis_cpu_ms_per_fired:.3f} ms",
            "",
        ),
        (
            "burst: lateness p50 / p99 (queueing)",
            f"{pct(sa.lateness, 50):.2f} / {pct(sa.lateness, 99):.2f} s",
            f"{pct(ba.lateness, 50):.2f} / {pct(ba.lateness, 99):.2f} s",
            "",
        ),
        (
            f"paced {args.rate:,}/s: lateness p50 / p99",
            f"{pct(sp.lateness, 50) * 1000:.0f} / {pct(sp.lateness, 99) * 1000:.0f} ms",
            f"{pct(bp.lateness, 50) * 1000:.0f} / {pct(bp.lateness, 99) * 1000:.0f} ms",
            "p99 ≤ 2 s",
        ),
        ("paced: duplicates / losses", f"{sp.duplicates} / {sp.losses}", f"{bp.duplicates} / {bp.losses}", "0 / 0"),
        ("paced: round trips per fired (sent)", f"{sp.trips_per_fired:.2f}", f"{bp.trips_per_fired:.2f}", ""),
        (
            f"idle, {args.reminders:,} pending: commands/s per process",
            f"{s['idle'][0]:.2f} (EVALSHA {s['idle'][1]:.2f})",
            f"{b['idle'][0]:.2f}",
            "≤ 2",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(
        f"burst made due in {sa.feed:.2f} s (scheduler: one EVALSHA each, from 8 threads), "
        f"{ba.feed:.2f} s (baseline: one ZADD)"
    )
    print(f"{'':{width}}  {'scheduler':>22}  {'bare ZPOPMIN':>16}  target")
    for name, mine, base, target in rows:
        print(f"{name:{width}}  {mine:>22}  {base:>16}  {target}")
    print(f"scheduler's reminders in Redis afterwards: {json.dumps(s['states'])}")
    ok = (
        sa.per_second >= 1000
        and sa.duplicates == sa.losses == sp.duplicates == sp.losses == 0
        and pct(sp.lateness, 99) <= 2.0
        and s["idle"][0] <= 2.0
        and s["states"] == {"posted": 2 * args.due}
    )
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--due", type=int, default=10_000, help="made due at once (burst), and as many paced")
    parser.add_argument("--rate", type=float, default=1000.0, help="reminders coming due per second (paced)")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of the idle measurement")
    parser.add_argument("--poll", type=float, default=1.0, help="SMC_REMINDER_POLL of the workers")
    parser.add_argument("--lease", type=float, default=5.0, help="SMC_REMINDER_LEASE of the workers")
    parser.add_argument("--child", choices=("scheduler", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    return child(args) if args.child else run(args)


if __name__ == "__main__":
    sys.exit(main())
