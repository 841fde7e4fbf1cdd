"""End-to-end benchmark: real ``socialmedia-check serve`` processes, the platform fakes, a real Redis,
each figure printed beside a baseline measured in the same run.

What runs (all on loopback): a redis-server of its own (TCP); the fake Slack Web API and the fake
Mattermost (tests/fakes, in a child process of their own, so they do not share this process's GIL);
one ``socialmedia-check serve`` with Slack and Mattermost configured; and three baselines, each a
process of its own:

- ``bolt-ack``: a slack_bolt App whose action listener only acks, as the issue measured it
  (``process_before_response=False``, bolt's listener pool, whose request thread polls for the ack
  every 10 ms) and served by the bot's own web server (bot.runtime.web: waitress, 16 threads). The
  bot runs its listeners inline instead (they ack, then hand the work to a pool: no poll).
- ``empty``: a Flask view answering ``{}`` to every POST, on the same waitress server: the baseline
  the issue names for a Mattermost action (Mattermost waits for the response, so the bot answers
  after recording). The bot itself no longer uses Flask (bot.runtime.wsgi).
- ``bolt-min``: the minimal bolt app (slack_bolt's own development server), importing nothing of
  the bot: the start-up and idle memory the issue measures the bot against.

Phases (``--seconds`` each; 8 clients on kept-alive connections, closed loop):

1. start-up (spawn to the first 200 from ``/healthz``, or any answer for bolt-min) and idle RSS;
2. sustained answers/s: Slack clicks (acked at once; counted until every answer is in Redis) and
   Mattermost actions (each answered after it was recorded), then every tally checked: Redis holds
   exactly who clicked, and the last edit of every question message shows that count;
3. one at a time (one client): ack p50/p99;
4. paced at ``--rate`` requests/s (open loop, latency from each request's planned time): p50/p99;
5. 10 live checks, then ``--live`` (10,000) live checks: Mattermost p50/p99 on 10 of them (cached)
   and round robin over all (more than the per-process cache, so each click loads its check);
   the serve process's threads throughout.

    .venv/bin/python bench/e2e.py [--seconds 8] [--clients 8] [--rate 400] [--live 10000] [--runs 1]

With ``--runs N`` it makes N whole runs, each printed, then each ratio's median and range: the
machine's speed varies from run to run, baselines included, by up to a half on a shared 2-core box.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import floors  # noqa: E402  (bench/, beside this file)

SLACK_SECRET = "bench-signing-secret-0123456789"
MM_SECRET = "bench-secret-for-mattermost-0123456789"
MM_TOKEN = "benchcommandtoken"
TEAM = "T0FAKE001"
MM_TEAM = "benchteam"
QUESTION = "strategy"  # the dialogue's first question: a three-step scale


# --- child processes -----------------------------------------------------------------------------------


def child_fakes() -> int:
    from tests.fakes.mattermost_api import FakeMattermost
    from tests.fakes.slack_api import FakeSlackApi

    with FakeSlackApi() as slack, FakeMattermost() as mm:
        print(json.dumps({"slack": slack.url, "mm": mm.url, "mm_token": mm.token}), flush=True)
        for line in sys.stdin:  # "dump PREFIX": the texts of the messages in channels starting so
            _, _, prefix = line.strip().partition(" ")
            with slack._lock:
                texts = {
                    f"{c}|{ts}": p.text + json.dumps(p.blocks)
                    for (c, ts), p in slack.messages.items()
                    if c.startswith(prefix)
                }
            with mm._cond:
                texts.update({pid: json.dumps(p) for pid, p in mm.posts.items() if p["channel_id"].startswith(prefix)})
            print(json.dumps(texts), flush=True)
    return 0


def child_server(kind: str, slack_url: str, redis_url: str = "") -> int:
    if kind == "bolt-min":  # imports nothing of the bot: its start-up and memory are bolt's alone
        from slack_bolt import App

        app = App(signing_secret=SLACK_SECRET, **_bolt_client(slack_url))

        @app.action({"action_id": __import__("re").compile(".*")})
        def _ack(ack: Any) -> None:
            ack()

        port = _free_port()
        print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
        app.start(port=port, path="/slack/events")
        return 0
    from bot.runtime.http_types import HttpResponse, Route
    from bot.runtime.web import WebServer, create_web_app

    routes: list[Route]
    if kind == "bolt-ack":
        import re
        from concurrent.futures import ThreadPoolExecutor as Pool

        from slack_bolt import App, BoltRequest

        bolt = App(
            signing_secret=SLACK_SECRET,
            process_before_response=False,
            listener_executor=Pool(16),
            **_bolt_client(slack_url),
        )

        @bolt.action({"action_id": re.compile(".*")})
        def _ack(ack: Any) -> None:
            ack()

        def events(request: Any) -> HttpResponse:
            response = bolt.dispatch(
                BoltRequest(body=request.body.decode(), query=dict(request.query), headers=dict(request.headers))
            )
            return HttpResponse(response.status, (response.body or "").encode(), {})

        routes = [Route("/slack/events", ("POST",), events)]
        app: Any = create_web_app(routes, ready=lambda: True)
    else:  # the baseline: a Flask view answering {}, served by waitress
        from flask import Flask, Response

        app = Flask("empty")
        app.add_url_rule("/healthz", "healthz", lambda: Response('{"status":"ok"}', mimetype="application/json"))
        app.add_url_rule("/empty", "empty", lambda: Response("{}", mimetype="application/json"), methods=["POST"])
        if redis_url:  # the floor of an answer: {} after the one round trip recording it needs (bench/floors.py)
            app.add_url_rule("/empty-redis", "empty-redis", floors.one_round_trip_view(redis_url), methods=["POST"])
    server = WebServer(app, "127.0.0.1", 0).start()
    print(json.dumps({"url": server.url}), flush=True)
    sys.stdin.read()
    server.stop()
    return 0


def _bolt_client(slack_url: str) -> dict[str, Any]:
    from slack_sdk import WebClient

    return {"client": WebClient(token="xoxb-bench", base_url=slack_url)}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# A figure of one run: its name, the ratio to its baseline, the target, and the figure itself where the
# target is absolute (Mattermost's answers/s).
Row = tuple[str, float, str, float | None]


# --- processes from the parent ------------------------------------------------------------------------


@dataclass
class Proc:
    popen: subprocess.Popen[str]
    url: str
    started: float  # seconds from spawn to ready

    def rss_mib(self) -> float:
        return _status(self.popen.pid, "VmRSS") / 1024

    def threads(self) -> int:
        return _status(self.popen.pid, "Threads")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()


def _status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def spawn_child(kind: str, slack_url: str, log: Path, redis_url: str = "") -> Proc:
    began = time.perf_counter()
    popen = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, "--slack-url", slack_url, "--redis-url", redis_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("a"),
        text=True,
    )
    assert popen.stdout is not None
    url = json.loads(popen.stdout.readline())["url"]
    _wait_http(url, "/healthz" if kind != "bolt-min" else "/slack/events")
    return Proc(popen, url, time.perf_counter() - began)


def spawn_serve(env: dict[str, str], port: int, log: Path) -> Proc:
    began = time.perf_counter()
    popen = subprocess.Popen(
        [str(Path(sys.executable).parent / "socialmedia-check"), "serve"],
        env={**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1", "SMC_LOG_LEVEL": "WARNING"},
        stdin=subprocess.DEVNULL,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_http(url, "/healthz", popen=popen)
    return Proc(popen, url, time.perf_counter() - began)


def _wait_http(url: str, path: str, popen: subprocess.Popen[str] | None = None, timeout: float = 60) -> None:
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None and popen.poll() is not None:
            raise SystemExit(f"the process at {url} exited with {popen.returncode}; see the bench log")
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if path != "/healthz" or status == 200:
                return
        except OSError:
            pass
        time.sleep(0.005)  # polling a process that is starting: nothing else to wait on
    raise SystemExit(f"{url} did not answer within {timeout} s")


# --- load ----------------------------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000 if ordered else float("nan")


def drive(url: str, requests: list[Request], clients: int, rate: float | None = None) -> Result:
    """Send ``requests`` from ``clients`` threads on kept-alive connections: as fast as answered
    (closed loop), or paced at ``rate`` per second overall (open loop: latency from the planned time)."""
    parts = urlsplit(url)
    result, lock = Result(), threading.Lock()
    start = time.perf_counter() + 0.05

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = requests[index::clients]
        for n, req in enumerate(mine):
            planned = start + (n * clients + index) / rate if rate else time.perf_counter()
            if rate:
                delay = planned - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            try:
                conn.request("POST", req.path, body=req.body, headers=req.headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                ok = False
            took = time.perf_counter() - planned
            with lock:
                if ok:
                    result.latencies.append(took)
                else:
                    result.errors += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - start
    return result


# --- the checks the load clicks on ----------------------------------------------------------------------


class World:
    """Checks started for real through ``serve`` (their messages exist in the fakes), and many more
    written straight into the store, each with a real question post in the fake Mattermost."""

    def __init__(self, redis_url: str, fakes: dict[str, str], serve: Proc) -> None:
        from bot.store.store import Store

        self.store = Store.from_url(redis_url, prefix="smc", session_ttl=3600)
        self.fakes, self.serve = fakes, serve
        self._n = 0

    def unique(self) -> int:
        self._n += 1
        return self._n

    # Slack: the bot's own slash command, then the button its question message shows
    def slack_checks(self, count: int) -> list[tuple[str, str, str]]:
        sender = self.slack_sender()
        out = []
        for _ in range(count):
            channel = f"CB{uuid.uuid4().hex[:8].upper()}"
            assert sender.slash(channel, "UFAC", "start").status == 200
            out.append(channel)
        return [self._slack_ref(c) for c in out]

    def _slack_ref(self, channel: str) -> tuple[str, str, str]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = self.store.load_running(f"slack:{TEAM}:{channel}")
            ref = self.store.get_ref(record.id, f"q:{QUESTION}") if record else None
            if record and ref:
                return channel, record.id, ref
            time.sleep(0.01)  # the outbox posts in the background: wait for its ref
        raise SystemExit(f"no question posted in {channel}")

    def slack_sender(self) -> Any:
        from tests.fakes.slack_signing import SlackSender

        return SlackSender(
            self.serve.url + "/slack/events",
            SLACK_SECRET,
            team_id=TEAM,
            trigger_id=lambda: f"{self.unique()}.{uuid.uuid4().hex[:10]}",
            hooks_url=self.fakes["slack"] + "/hooks",
        )

    def slack_click(self, sender: Any, check: tuple[str, str, str], user: str, option: int) -> Request:
        from bot.adapters.slack import blocks as sb

        channel, sid, ts = check
        element = {
            "action_id": f"{sb.ANSWER}:{option}",
            "type": "button",
            "block_id": f"q:{QUESTION}",
            "text": {"type": "plain_text", "text": str(option)},
            "value": sb.Ref(sid, QUESTION, option).encode(),
        }
        payload = sender.block_actions_payload(channel, user, ts, element, thread_ts=ts)
        prepared = sender.prepare(sender.payload_body(payload))
        return Request("/slack/events", prepared.body, dict(prepared.headers))

    # Mattermost: the slash command for the sustained checks; the store and a real post for the crowd
    def mm_checks(self, count: int) -> list[tuple[str, str, str]]:
        out = []
        parts = urlsplit(self.serve.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        for _ in range(count):
            channel = f"mb{uuid.uuid4().hex[:10]}"
            form = {
                "channel_id": channel,
                "team_id": MM_TEAM,
                "user_id": "facil",
                "user_name": "Facil",
                "text": "start",
                "token": MM_TOKEN,
                "trigger_id": f"t{self.unique()}",
            }
            conn.request(
                "POST",
                "/mattermost/command",
                body=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert conn.getresponse().read() is not None
            out.append(channel)
        conn.close()
        return [self._mm_ref(c) for c in out]

    def _mm_ref(self, channel: str) -> tuple[str, str, str]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = self.store.load_running(f"mattermost:{MM_TEAM}:{channel}")
            ref = self.store.get_ref(record.id, f"q:{QUESTION}") if record else None
            if record and ref:
                return channel, record.id, ref
            time.sleep(0.01)
        raise SystemExit(f"no question posted in {channel}")

    def mm_crowd(self, count: int) -> list[tuple[str, str, str]]:
        """``count`` running checks written into the store at their first question, each with a post."""
        from bot.core.dialogue.load import load_dialogue
        from bot.core.session import RUNNING, SessionMeta, SessionRecord

        load_dialogue()
        parts = urlsplit(self.fakes["mm"])

        def one(_: int) -> tuple[str, str, str]:
            channel, sid, now = f"mc{uuid.uuid4().hex[:10]}", uuid.uuid4().hex[:12], time.time()
            meta = SessionMeta(
                id=sid,
                channel=f"mattermost:{MM_TEAM}:{channel}",
                dialogue="socialmedia-check",
                language="en",
                facilitator="facil",
                facilitator_name="Facil",
                state=QUESTION,
                path=[QUESTION],
                status=RUNNING,
                created_at=now,
                updated_at=now,
            )
            assert self.store.create(SessionRecord(meta=meta)).ok
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            conn.request(
                "POST",
                "/api/v4/posts",
                body=json.dumps({"channel_id": channel, "message": "q"}),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.fakes['mm_token']}"},
            )
            post = json.loads(conn.getresponse().read())
            conn.close()
            for name, value in (("channel", meta.channel), (f"q:{QUESTION}", post["id"]), ("header", post["id"])):
                self.store.set_ref(sid, name, value)
            return channel, sid, str(post["id"])

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(count)))

    def mm_click(self, check: tuple[str, str, str], user: str, option: int) -> Request:
        from bot.adapters.mattermost.signing import ContextSigner

        channel, sid, post = check
        context = ContextSigner(MM_SECRET).sign(c=channel, t=MM_TEAM, a="answer", o=option, s=sid, q=QUESTION)
        body = {
            "user_id": user,
            "user_name": user,
            "channel_id": channel,
            "team_id": MM_TEAM,
            "post_id": post,
            "trigger_id": f"t{self.unique()}",
            "type": "button",
            "context": context,
        }
        return Request("/mattermost/actions", json.dumps(body).encode(), {"Content-Type": "application/json"})

    def respondents(self, sid: str) -> set[str]:
        record = self.store.load(sid)
        return set(record.answers_to(QUESTION)) if record else set()


def clicks(
    make: Callable[[tuple[str, str, str], str, int], Request],
    checks: list[tuple[str, str, str]],
    users: int,
    count: int,
    tag: str,
) -> tuple[list[Request], dict[str, set[str]]]:
    """``count`` clicks spread over ``checks`` by ``users`` people (changing answers as they go)."""
    out, who = [], {c[1]: set() for c in checks}
    for i in range(count):
        check = checks[i % len(checks)]
        user = f"{tag}{(i // len(checks)) % users}"
        out.append(make(check, user, 1 + (i // (len(checks) * users)) % 3))
        who[check[1]].add(user)
    return out, who


# --- the run --------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> list[Row]:
    """One whole run (fresh processes); prints its table and returns its rows (see :data:`Row`)."""
    from bot.runtime.redis_server import RedisProcess

    work = Path(tempfile.mkdtemp(prefix="smc-e2e-"))
    log = work / "bench.log"
    redis_server = RedisProcess.start(work / "redis", port=_free_port(), unix_socket=False, persistent=False)
    fakes_popen = subprocess.Popen(
        [sys.executable, __file__, "--child", "fakes"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("a"),
        text=True,
    )
    assert fakes_popen.stdout is not None and fakes_popen.stdin is not None
    fakes = json.loads(fakes_popen.stdout.readline())
    procs: list[Proc] = []
    out: dict[str, Any] = {"load": os.getloadavg()}  # other work on the machine shows in every figure
    try:
        port = _free_port()
        env = {
            "REDIS_URL": redis_server.url,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_URL": fakes["slack"],
            "MATTERMOST_URL": fakes["mm"],
            "MATTERMOST_BOT_TOKEN": fakes["mm_token"],
            "MATTERMOST_COMMAND_TOKEN": MM_TOKEN,
            "SMC_SECRET": MM_SECRET,
            "SMC_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        starts = {"serve": [], "bolt-min": []}
        rss = {"serve": [], "bolt-min": []}
        for attempt in range(3):  # start-up, three times each, the last serve kept for the load
            serve = spawn_serve(env, port if attempt == 2 else _free_port(), log)
            minimal = spawn_child("bolt-min", fakes["slack"], log)
            time.sleep(1.0)  # idle a moment: what a resting process holds
            for name, proc in (("serve", serve), ("bolt-min", minimal)):
                starts[name].append(proc.started)
                rss[name].append(proc.rss_mib())
            minimal.stop()
            if attempt < 2:
                serve.stop()
        procs.append(serve)
        out["startup"] = starts
        out["rss"] = rss
        out["imports"] = floors.import_seconds(floors.third_party_modules(str(ROOT)))
        bolt_ack = spawn_child("bolt-ack", fakes["slack"], log)
        empty = spawn_child("empty", fakes["slack"], log, redis_url=redis_server.url)
        procs += [bolt_ack, empty]
        world = World(redis_server.url, fakes, serve)
        threads = {"idle": serve.threads()}

        # 2. sustained answers/s
        slack_checks = world.slack_checks(20)
        sender = world.slack_sender()
        warm_users = [f"s{u}" for u in range(40)]  # each name looked up once, before the load
        drive(serve.url, [world.slack_click(sender, slack_checks[0], u, 1) for u in warm_users], args.clients)
        wait_answers(world, {slack_checks[0][1]: set(warm_users)})
        count = int(args.seconds * 600)
        load, who = clicks(lambda c, u, o: world.slack_click(sender, c, u, o), slack_checks, 40, count, "s")
        who[slack_checks[0][1]] |= set(warm_users)  # the warm-up's clicks count too
        started = time.perf_counter()
        sampler = ThreadSampler(serve)
        slack = drive(serve.url, load, args.clients)
        recorded = wait_answers(world, who) - started
        sampler.stop()
        threads["slack sustained"] = sampler.peak
        out["slack_answers_per_s"] = count / recorded
        out["slack_ack_rate"] = slack.rate
        base_load = [world.slack_click(sender, slack_checks[0], f"b{i}", 1) for i in range(count)]
        out["bolt_ack_per_s"] = drive(bolt_ack.url, base_load, args.clients).rate

        mm_checks = world.mm_checks(20)
        mm_load, mm_who = clicks(world.mm_click, mm_checks, 40, int(args.seconds * 1200), "m")
        sampler = ThreadSampler(serve)
        mm = drive(serve.url, mm_load, args.clients)
        sampler.stop()
        threads["mattermost sustained"] = sampler.peak
        out["mm_answers_per_s"], out["mm_errors"] = mm.rate, mm.errors
        empty_load = [Request("/empty", r.body, r.headers) for r in mm_load]
        out["empty_per_s"] = drive(empty.url, empty_load, args.clients).rate
        time.sleep(3.5)  # every tally window closes (1 to 1.5 s, renewed at most once more)
        out["exact"] = check_tallies(world, fakes_popen, who, slack_checks, mm_who, mm_checks)

        # 3. one at a time
        serial = {
            "mattermost": drive(serve.url, [world.mm_click(mm_checks[i % 20], f"o{i}", 1) for i in range(800)], 1),
            "empty": drive(empty.url, [Request("/empty", b"{}", {"Content-Type": "application/json"})] * 800, 1),
            "empty-redis": drive(
                empty.url, [Request("/empty-redis", b"{}", {"Content-Type": "application/json"})] * 800, 1
            ),
            "slack": drive(
                serve.url, [world.slack_click(sender, slack_checks[i % 20], f"s{i % 40}", 2) for i in range(800)], 1
            ),
            "bolt-ack": drive(
                bolt_ack.url, [world.slack_click(sender, slack_checks[0], "x", 1) for _ in range(800)], 1
            ),
        }
        out["serial"] = {k: (v.pct(50), v.pct(99)) for k, v in serial.items()}

        # 4. paced
        n = int(args.rate * args.seconds)
        paced = {
            "slack": drive(
                serve.url,
                [world.slack_click(sender, slack_checks[i % 20], f"s{i % 40}", 3) for i in range(n)],
                args.clients,
                args.rate,
            ),
            "bolt-ack": drive(
                bolt_ack.url,
                [world.slack_click(sender, slack_checks[0], "x", 1) for _ in range(n)],
                args.clients,
                args.rate,
            ),
            "mattermost": drive(
                serve.url, [world.mm_click(mm_checks[i % 20], f"p{i}", 2) for i in range(n)], args.clients, args.rate
            ),
            "empty": drive(
                empty.url, [Request("/empty", b"{}", {"Content-Type": "application/json"})] * n, args.clients, args.rate
            ),
        }
        out["paced"] = {k: (v.pct(50), v.pct(99), v.errors) for k, v in paced.items()}

        # 5. 10 live checks, then --live
        hot = mm_checks[:10]
        before = drive(serve.url, [world.mm_click(hot[i % 10], f"h{i}", 1) for i in range(1000)], 1)
        crowd = world.mm_crowd(args.live)
        sampler = ThreadSampler(serve)
        cached = drive(serve.url, [world.mm_click(hot[i % 10], f"k{i}", 2) for i in range(1000)], 1)
        # cached vs not, both leading their windows (each check clicked once per round): 1,000 checks
        # the process has seen (within META_CACHE_SIZE), then round robin over all of them
        few = crowd[:1000]
        drive(serve.url, [world.mm_click(c, "warm", 1) for c in few], args.clients)
        time.sleep(2.0)  # their windows close (1 to 1.5 s)
        warm_round = drive(serve.url, [world.mm_click(c, "r1", 2) for c in few], 1)
        cold = drive(serve.url, [world.mm_click(c, "r2", 1) for c in crowd[1000:4000]], 1)
        spread = drive(
            serve.url, [world.mm_click(crowd[i % len(crowd)], f"w{i}", 2) for i in range(len(crowd))], args.clients
        )
        sampler.stop()
        threads[f"{args.live} live checks"] = sampler.peak
        out["live"] = {
            "10 live": (before.pct(50), before.pct(99)),
            f"{args.live} live, clicks on 10 cached": (cached.pct(50), cached.pct(99)),
            f"{args.live} live, each click leads, check cached": (warm_round.pct(50), warm_round.pct(99)),
            f"{args.live} live, each click leads, check not cached": (cold.pct(50), cold.pct(99)),
        }
        out["spread_per_s"] = spread.rate
        out["threads"] = threads
    finally:
        for proc in procs:
            proc.stop()
        fakes_popen.stdin.close()
        fakes_popen.wait(30)
        redis_server.stop()
    return report(args, out, log)


def summary(runs: list[list[Row]]) -> None:
    """Each ratio's median and range over the runs: the machine's speed varies from run to run."""
    print(f"\nratios over {len(runs)} runs: median (lowest–highest)")
    width = max(len(row[0]) for row in runs[0])
    for i, (name, _, target, absolute) in enumerate(runs[0]):
        ratios = sorted(run[i][1] for run in runs)
        line = f"{name:<{width}}  {statistics.median(ratios):6.2f}×  ({ratios[0]:.2f}–{ratios[-1]:.2f})  {target}"
        if absolute is not None:
            values = sorted(v for run in runs if (v := run[i][3]) is not None)
            line += f"  (the figure itself: median {statistics.median(values):.0f}, {values[0]:.0f}–{values[-1]:.0f})"
        print(line)


class ThreadSampler:
    """The most threads the serve process had while a phase ran (sampled every 50 ms)."""

    def __init__(self, proc: Proc) -> None:
        self.peak = proc.threads()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(proc,), daemon=True)
        self._thread.start()

    def _run(self, proc: Proc) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, proc.threads())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_answers(world: World, who: dict[str, set[str]], timeout: float = 120) -> float:
    """When Redis holds every expected respondent (Slack records after the ack)."""
    deadline = time.monotonic() + timeout
    pending = dict(who)
    while pending and time.monotonic() < deadline:
        pending = {sid: users for sid, users in pending.items() if not users <= world.respondents(sid)}
        if pending:
            time.sleep(0.02)
    if pending:
        raise SystemExit(f"answers never recorded in {len(pending)} checks")
    return time.perf_counter()


def check_tallies(
    world: World,
    fakes: subprocess.Popen[str],
    slack_who: dict[str, set[str]],
    slack_checks: list,
    mm_who: dict[str, set[str]],
    mm_checks: list,
) -> str:
    assert fakes.stdin is not None and fakes.stdout is not None
    problems = []
    for who, checks, prefix in ((slack_who, slack_checks, "CB"), (mm_who, mm_checks, "mb")):
        fakes.stdin.write(f"dump {prefix}\n")
        fakes.stdin.flush()
        texts = json.loads(fakes.stdout.readline())
        for channel, sid, ref in checks:
            stored = world.respondents(sid)
            if stored != who[sid]:  # exactly the people who clicked, none lost, none extra
                problems.append(f"{sid}: Redis has {len(stored)}, clicked {len(who[sid])}")
            shown = texts.get(f"{channel}|{ref}", texts.get(ref, ""))
            if f"{len(who[sid])} answered" not in shown:  # the last edit shows the final count
                problems.append(f"{sid}: its message does not show {len(who[sid])} answered")
    return "all exact" if not problems else "; ".join(problems[:5])


def report(args: argparse.Namespace, out: dict[str, Any], log: Path) -> list[Row]:
    def med(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    s_serve, s_min = med(out["startup"]["serve"]), med(out["startup"]["bolt-min"])
    r_serve, r_min = med(out["rss"]["serve"]), med(out["rss"]["bolt-min"])
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
    print(
        f"command: {' '.join(sys.argv)}; load average before / after: {out['load'][0]:.2f} / {os.getloadavg()[0]:.2f}"
    )
    rows = [
        ("start-up to /healthz (median of 3)", f"{s_serve:.2f} s", f"bolt-min {s_min:.2f} s", s_serve / s_min, "≤ 2×"),
        ("idle RSS (median of 3)", f"{r_serve:.0f} MiB", f"bolt-min {r_min:.0f} MiB", r_serve / r_min, "≤ 1.6×"),
        (
            "Slack answers/s (8 clients, until recorded)",
            f"{out['slack_answers_per_s']:.0f}",
            f"bolt-ack {out['bolt_ack_per_s']:.0f}",
            out["slack_answers_per_s"] / out["bolt_ack_per_s"],
            "≥ 0.9×",
        ),
        (
            "Mattermost answers/s (8 clients)",
            f"{out['mm_answers_per_s']:.0f}",
            f"empty {out['empty_per_s']:.0f}",
            out["mm_answers_per_s"] / out["empty_per_s"],
            "≥ 1,000/s",
        ),
    ]
    for who, base in (("mattermost", "empty"), ("slack", "bolt-ack")):
        a, b = out["serial"][who], out["serial"][base]
        rows.append(
            (
                f"{who} one at a time p50 / p99 ms",
                f"{a[0]:.2f} / {a[1]:.2f}",
                f"{base} {b[0]:.2f} / {b[1]:.2f}",
                a[0] / b[0],
                "MM p50 ≤ 1.5×" if who == "mattermost" else "",
            )
        )
        a, b = out["paced"][who], out["paced"][base]
        rows.append(
            (
                f"{who} at {args.rate:.0f}/s p50 / p99 ms",
                f"{a[0]:.2f} / {a[1]:.2f}",
                f"{base} {b[0]:.2f} / {b[1]:.2f}",
                a[1] / b[1],
                "p99 ≤ 2×",
            )
        )
    live = list(out["live"].items())  # 10 live; 10 hot of many; many, cached; many, not cached
    for (name, (p50, p99)), (base_name, base), target in ((live[1], live[0], "≤ 1.2×"), (live[3], live[2], "≤ 2×")):
        rows.append(
            (
                f"Mattermost, {name}: p50 / p99 ms",
                f"{p50:.2f} / {p99:.2f}",
                f"{base_name.split(',')[-1].strip()} {base[0]:.2f} / {base[1]:.2f}",
                p50 / base[0],
                target,
            )
        )
    floor, empty = out["serial"]["empty-redis"][0], out["serial"]["empty"][0]
    rows += [  # what no bot can go below here (bench/floors.py): how much of a target is left for its own code
        (
            "floor: the third-party imports of serve alone, spawn to exit",
            f"{out['imports']:.2f} s",
            f"bolt-min {s_min:.2f} s",
            out["imports"] / s_min,
            "floor of start-up ≤ 2×",
        ),
        (
            "floor: {} after one EVALSHA, one at a time p50 ms",
            f"{floor:.2f}",
            f"empty {empty:.2f}",
            floor / empty,
            "floor of MM p50 ≤ 1.5×",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, baseline, ratio, target in rows:
        print(f"{name:<{width}}  {value:>16}  {baseline:>26}  {ratio:6.2f}×  {target}")
    print(f"MM p50 ≤ 1.5× of {{}} leaves {1.5 * empty - floor:.2f} ms for all the bot does besides the round trip")
    print(f"threads of serve: {out['threads']}")
    print(f"Mattermost answers/s over {args.live} live checks (8 clients): {out['spread_per_s']:.0f}")
    print(f"tallies: {out['exact']}; Mattermost errors under load: {out['mm_errors']}")
    print(f"log: {log}", flush=True)
    absolute = {"Mattermost answers/s (8 clients)": out["mm_answers_per_s"]}  # its target is absolute
    return [(name, ratio, target, absolute.get(name)) for name, _, _, ratio, target in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=400.0)
    parser.add_argument("--live", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1, help="whole runs, then each ratio's median and range")
    parser.add_argument("--child", choices=("fakes", "bolt-ack", "bolt-min", "empty"))
    parser.add_argument("--slack-url", default="")
    parser.add_argument("--redis-url", default="", help="children: the bench's Redis (the empty child's floor)")
    args = parser.parse_args()
    if args.child == "fakes":
        return child_fakes()
    if args.child:
        return child_server(args.child, args.slack_url, args.redis_url)
    import compileall

    # The bot's modules compiled once, as an installed package's are (pip and the image compile them):
    # an editable checkout under PYTHONDONTWRITEBYTECODE would otherwise compile them at every start.
    compileall.compile_dir(ROOT / "bot", quiet=1)
    runs = [run(args) for _ in range(max(1, args.runs))]
    if len(runs) > 1:
        summary(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
