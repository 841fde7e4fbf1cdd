"""bench/e2e.py's processes: the child servers (the platform fakes and the three baselines) as they run,
and, from the parent, spawning them and ``serve`` and waiting until they answer."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the children import the bot (bench/e2e.py --child …)

import floors  # noqa: E402  (bench/, beside this file)

SLACK_SECRET = "bench-signing-secret-0123456789"
MM_SECRET = "bench-secret-for-mattermost-0123456789"
MM_TOKEN = "benchcommandtoken"
TEAM = "T0FAKE001"
MM_TEAM = "benchteam"
QUESTION = "strategy"  # the dialogue's first question: a three-step scale
# The children are started as ``bench/e2e.py --child KIND``.
E2E = Path(__file__).with_name("e2e.py")


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

        port = free_port()
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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        [sys.executable, str(E2E), "--child", kind, "--slack-url", slack_url, "--redis-url", redis_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("a"),
        text=True,
    )
    assert popen.stdout is not None
    url = json.loads(popen.stdout.readline())["url"]
    _wait_http(url, "/healthz" if kind != "bolt-min" else "/slack/events")
    return Proc(popen, url, time.perf_counter() - began)


def spawn_fakes(log: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The platform fakes in a child of their own; closing its stdin stops it. Returns their URLs."""
    popen = subprocess.Popen(
        [sys.executable, str(E2E), "--child", "fakes"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("a"),
        text=True,
    )
    assert popen.stdout is not None and popen.stdin is not None
    return popen, json.loads(popen.stdout.readline())


def serve_env(redis_url: str, fakes: dict[str, str], port: int) -> dict[str, str]:
    """What ``serve`` is configured with: the bench's Redis, both platforms on the fakes."""
    return {
        "REDIS_URL": redis_url,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "SLACK_API_URL": fakes["slack"],
        "MATTERMOST_URL": fakes["mm"],
        "MATTERMOST_BOT_TOKEN": fakes["mm_token"],
        "MATTERMOST_COMMAND_TOKEN": MM_TOKEN,
        "SMC_SECRET": MM_SECRET,
        "SMC_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }


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
