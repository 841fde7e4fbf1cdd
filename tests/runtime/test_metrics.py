"""GET /metrics: what the bot counts, read back the way Prometheus reads it (prometheus_client.parser).

A whole check goes through the real Slack adapter (signed requests over HTTP, the bot's slack_sdk
talking to the fake Slack), the real service and a real Redis, on one web server that serves
/slack/events and /metrics; the counters are scraped before and after. The reminder counters come
from the real scheduler on a moved clock; the store's timings from real Redis calls (and a Redis
that is not there). The example alert rules are checked by Prometheus's own promtool.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from tenacity import wait_none

from bot import __version__
from bot.adapters.console_out import MemoryRefs
from bot.adapters.mattermost.api import MattermostApi
from bot.adapters.mattermost.routes import DOUBLE_CLICK_SECONDS, build_mattermost_adapter
from bot.adapters.outbox import OutboundError, Outbox
from bot.adapters.slack.app import SlackAdapter
from bot.app import build_service
from bot.config import load_settings
from bot.core.messages import ChannelKey
from bot.errors import StoreError
from bot.runtime.clock import ManualClock
from bot.runtime.metrics import CONTENT_TYPE, Metrics, Prometheus
from bot.runtime.scheduler import ReminderScheduler, SchedulerOptions
from bot.runtime.web import WebServer, create_web_app, serve_in_thread
from bot.service import CheckService
from bot.store import errors as store_errors
from bot.store.store import Store
from tests.adapters.mattermost import test_mattermost_adapter as mm_tests
from tests.adapters.test_outbox import RecordingPort, say
from tests.conftest import LateServer
from tests.fakes.mattermost_api import FakeMattermost
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi
from tests.fakes.slack_signing import SlackSender
from tests.runtime.promtool import promtool
from tests.runtime.slack_walk import wait_for, walk_check
from tests.runtime.wsgi_client import call
from tests.team import Team
from tests.test_followups import DIALOGUE, NUDGE_AFTER, Clock, Posts

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
SECRET = "metrics-signing-secret-0123456789"
CHANNEL = "C0METRIC1"
KEY = f"slack:{TEAM_ID}:{CHANNEL}"
FACILITATOR, BOB, CY = "U0FAC0001", "U0BOB0002", "U0CY00003"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample with exactly these labels; 0 when the bot has not exported it (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of ``name`` that has at least these labels."""
    wanted = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == name and wanted <= got)


# --- a whole check over Slack -----------------------------------------------------------------------


@dataclass
class Harness:
    fake: FakeSlackApi
    adapter: SlackAdapter
    server: WebServer
    sender: SlackSender
    store: Store
    waits: list[float] = field(default_factory=list)

    def slash(self, user: str, text: str) -> None:
        assert self.sender.slash(CHANNEL, user, text, user_name=user.lower()).status == 200

    def scrape(self) -> Samples:
        with urllib.request.urlopen(self.server.url + "/metrics", timeout=10) as reply:
            assert reply.status == 200 and reply.headers["Content-Type"] == CONTENT_TYPE
            return parse(reply.read().decode())


@pytest.fixture
def harness(store: Store) -> Iterator[Harness]:
    metrics = Prometheus("test")
    stop_timing = store_errors.observe(metrics.redis_call)
    with FakeSlackApi() as fake:
        config = load_settings(
            {"SLACK_BOT_TOKEN": "xoxb-metrics-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.url}
        )
        service = build_service(config, store, metrics=metrics)
        waits: list[float] = []
        adapter = SlackAdapter(
            config, service, store, coalesce_window=0.2, sleep=waits.append, metrics=metrics, wait=wait_none()
        )
        server = serve_in_thread(create_web_app(adapter.routes(), store.ping, metrics))
        sender = SlackSender(server.url + "/slack/events", SECRET, trigger_id=fake.trigger_id, hooks_url=fake.hooks_url)
        try:
            yield Harness(fake, adapter, server, sender, store, waits)
        finally:
            server.stop()
            adapter.close()
            stop_timing()
    assert fake.violations == []


def test_a_whole_check_moves_the_counters_read_from_get_metrics(harness: Harness) -> None:
    before = harness.scrape()
    assert value(before, "smc_ready") == 1 and value(before, "smc_build_info", version="test") == 1
    assert total(before, "smc_checks_started_total") == 0 and total(before, "smc_platform_calls_total") == 0

    walk = walk_check(harness.slash, harness.store, KEY, FACILITATOR, (BOB, CY))
    assert harness.adapter.outbox.wait_idle(20)

    # Slack delivers a command twice (same trigger id): the second is dropped by its dedup claim.
    repeated = harness.sender.prepare(harness.sender.command_body(CHANNEL, BOB, "status"))
    assert harness.sender.send(repeated).status == 200 and harness.sender.send(repeated).status == 200
    # A second check: a colleague may not cancel it (a refusal, whose private answer Slack
    # rate-limits past the client's three Retry-After waits), its facilitator does.
    harness.slash(FACILITATOR, "start")
    wait_for("the second check", lambda: harness.store.load_running(KEY))
    harness.fake.rate_limit("chat.postEphemeral", times=4, retry_after=0)
    harness.slash(BOB, "cancel")
    wait_for(
        "the refusal", lambda: value(harness.scrape(), "smc_refusals_total", platform="slack", reason="not_for_you")
    )
    harness.slash(FACILITATOR, "cancel")
    wait_for("the cancel", lambda: harness.store.load_running(KEY) is None)
    assert harness.adapter.outbox.wait_idle(20)
    wait_for("the dropped repeat", lambda: total(harness.scrape(), "smc_duplicates_dropped_total"))
    after = harness.scrape()

    assert value(after, "smc_checks_started_total", platform="slack") == 2
    assert value(after, "smc_checks_finished_total", platform="slack", decision="not_now") == 1
    assert value(after, "smc_checks_cancelled_total", platform="slack") == 1
    assert value(after, "smc_answers_recorded_total", platform="slack") == walk.answers > 20
    assert value(after, "smc_duplicates_dropped_total", platform="slack", kind="delivery") == 1
    assert value(after, "smc_refusals_total", platform="slack", reason="not_for_you") == 1
    # Every attempt of every primitive, as Slack saw it: one chat.postMessage per successful post …
    posted = len(harness.fake.calls("chat.postMessage"))
    assert value(after, "smc_platform_calls_total", platform="slack", method="post", outcome="ok") == posted > 20
    assert value(after, "smc_platform_calls_total", platform="slack", method="update", outcome="ok") == len(
        harness.fake.calls("chat.update")
    )
    # … the rate-limited ephemeral once (the client's own retries inside it waited Retry-After 3 times), then sent
    assert value(after, "smc_platform_calls_total", platform="slack", method="ephemeral", outcome="ratelimited") == 1
    assert len(harness.waits) == 3  # Retry-After 0, plus the client's jitter
    assert (
        len(harness.fake.calls("chat.postEphemeral", include_rejected=True))
        - len(harness.fake.calls("chat.postEphemeral"))
        == 4
    )
    for method in ("post", "update", "ephemeral"):  # one latency observation per attempt
        attempts = total(after, "smc_platform_calls_total", platform="slack", method=method)
        assert value(after, "smc_platform_call_seconds_count", platform="slack", method=method) == attempts > 0
    # the store's round trips, by action
    assert value(after, "smc_redis_seconds_count", action="record_answer") >= walk.answers
    assert value(after, "smc_redis_seconds_count", action="load_running") > 0
    assert total(after, "smc_redis_errors_total") == 0

    # Bounded labels: no channel, team, user or check id anywhere.
    ids = {CHANNEL, TEAM_ID, FACILITATOR, BOB, CY, walk.check, KEY}
    labels = {v for (_, got) in after for _, v in got}
    assert not {v for v in labels if any(i in v for i in ids)}, labels


def test_a_restart_counts_a_start_and_a_cancel_and_every_refusal_its_reason(store: Store) -> None:
    metrics = Prometheus("test")
    team = Team(build_service(load_settings({}), store, metrics=metrics))
    team.say("anna", "start")
    team.say("anna", "restart confirm")  # the running check is abandoned, a new one starts
    team.say("bram", "cancel")  # only the facilitator may
    team.say("bram", "frobnicate")  # not a command
    team.say("anna", "cancel")
    samples = parse(metrics.exposition()[0].decode())
    assert value(samples, "smc_checks_started_total", platform="console") == 2
    assert value(samples, "smc_checks_cancelled_total", platform="console") == 2
    refusals = {dict(labels)["reason"]: v for (name, labels), v in samples.items() if name == "smc_refusals_total"}
    assert refusals == {"not_for_you": 1, "unknown_command": 1}


# --- reminders on a moved clock ---------------------------------------------------------------------


def test_reminders_fired_late_posted_retried_and_failed_with_their_lag(store: Store) -> None:
    metrics = Prometheus("test")
    clock = Clock()
    service = CheckService(DIALOGUE, store, clock=clock, nudge_after=NUDGE_AFTER)
    posts = Posts()
    scheduler = ReminderScheduler(
        store.reminders,
        service.followups,
        {"console:local:room": posts},
        options=SchedulerOptions(attempts=3, backoff=60),
        clock=clock.epoch,
        metrics=metrics,
    )
    team = Team(service)
    team.say("anna", "start")  # the first question's nudge: due two days from now
    clock.move(seconds=NUDGE_AFTER + 300)  # nothing ran for five minutes past it
    assert scheduler.tick() == 1 and len(posts.sent) == 1
    team.say("anna", "next")  # the second question's nudge, two days from now
    clock.move(seconds=NUDGE_AFTER)
    posts.fail.append("Slack chat.postMessage failed: timed out")
    assert scheduler.tick() == 1  # on time, fails, retried after the back-off
    clock.move(seconds=60)
    posts.fail.append("refused by the platform (Slack chat.postMessage failed: channel_not_found)")
    assert scheduler.tick() == 1  # a minute after its due time (a retry keeps it), and refused for good
    samples = parse(call(create_web_app([], lambda: True, metrics), "GET", "/metrics").text())

    assert value(samples, "smc_reminders_fired_total", kind="nudge") == 3
    assert value(samples, "smc_reminders_late_total", kind="nudge") == 1
    assert value(samples, "smc_reminder_lag_seconds_count", kind="nudge") == 3
    assert value(samples, "smc_reminder_lag_seconds_sum", kind="nudge") == pytest.approx(300 + 0 + 60)
    assert value(samples, "smc_reminder_lag_seconds_bucket", kind="nudge", le="60.0") == 2
    assert value(samples, "smc_reminder_lag_seconds_bucket", kind="nudge", le="120.0") == 2
    assert value(samples, "smc_reminder_lag_seconds_bucket", kind="nudge", le="300.0") == 3
    assert value(samples, "smc_reminders_total", kind="nudge", outcome="posted") == 1
    assert value(samples, "smc_reminders_total", kind="nudge", outcome="retried") == 1
    assert value(samples, "smc_reminders_total", kind="nudge", outcome="failed") == 1


# --- the store's choke point --------------------------------------------------------------------------


def test_store_calls_are_timed_and_their_errors_counted_by_action(store: Store, redis_url: str) -> None:
    metrics = Prometheus("test")
    stop = store_errors.observe(metrics.redis_call)
    try:
        store.load_running("console:local:room")
        store._r.set("test:hist:console:local:room", "not a sorted set")  # a key of the wrong type
        with pytest.raises(StoreError, match="refused"):
            store.history("console:local:room")
        gone = Store.from_url(f"unix:///tmp/no-redis-{uuid.uuid4().hex}.sock", prefix="test")
        with pytest.raises(StoreError, match="unreachable"):
            gone.load("nothing")
    finally:
        stop()
    store.load_running("console:local:room")  # no longer observed
    samples = parse(metrics.exposition()[0].decode())
    assert value(samples, "smc_redis_seconds_count", action="load_running") == 1
    assert value(samples, "smc_redis_errors_total", action="history", kind="refused") == 1
    assert value(samples, "smc_redis_errors_total", action="load", kind="unreachable") == 1
    assert value(samples, "smc_redis_seconds_count", action="load") == 1  # a failed call is timed too


# --- the outbox's choke point ---------------------------------------------------------------------------


def test_every_attempt_of_a_platform_call_is_counted_with_its_outcome() -> None:
    mine, other = Prometheus("a"), Prometheus("b")  # two apps in one process: separate registries
    port = RecordingPort(
        failures={
            "busy": [
                OutboundError("HTTP 429", transient=True, code="429"),  # Mattermost's 429
                OutboundError("ratelimited", transient=True, code="ratelimited"),  # Slack's
                OutboundError("HTTP 502", transient=True, code="502"),
            ],
            "gone": [OutboundError("channel_not_found", not_member=True, code="channel_not_found")],
            "bad": [OutboundError("invalid_blocks", code="invalid_blocks")],
        }
    )
    outbox = Outbox(port, MemoryRefs(), workers=0, wait=wait_none(), metrics=mine)
    Outbox(RecordingPort(), MemoryRefs(), workers=0, metrics=other).send(ChannelKey("test", "t", "c"), say("elsewhere"))
    key = ChannelKey("test", "team", "room")
    for text in ("busy", "gone", "bad"):
        outbox.send(key, say(text))
    samples = parse(mine.exposition()[0].decode())
    count = {
        outcome: value(samples, "smc_platform_calls_total", platform="test", method="post", outcome=outcome)
        for outcome in ("ok", "ratelimited", "transient", "not_member", "refused")
    }
    assert count == {"ok": 1, "ratelimited": 2, "transient": 1, "not_member": 1, "refused": 1}
    assert value(samples, "smc_platform_call_seconds_count", platform="test", method="post") == 6
    elsewhere = parse(other.exposition()[0].decode())
    assert total(elsewhere, "smc_platform_calls_total") == 1


def test_the_default_counts_nothing_and_costs_no_registry() -> None:
    metrics = Metrics()
    metrics.check_started("slack")
    metrics.platform_call("slack", "post", "ok", 0.1)
    assert metrics.exposition()[0] == b""
    reply = call(create_web_app([], lambda: True), "GET", "/metrics")
    assert reply.status_code == 200 and reply.data == b""


# --- the example alerts -------------------------------------------------------------------------------


def exported() -> dict[str, set[str]]:
    """Every sample name the bot exports, with its label names (each counting method called once)."""
    metrics = Prometheus("test")
    metrics.watch_readiness(lambda: True)
    metrics.check_started("slack")
    metrics.check_finished("slack", "go")
    metrics.check_cancelled("slack")
    metrics.answer_recorded("slack")
    metrics.duplicate_dropped("slack", "click")
    metrics.refused("slack", "stale_button")
    metrics.reminder_fired("revisit", 2.0, late=True)
    metrics.reminder_outcome("revisit", "posted")
    metrics.platform_call("slack", "post", "ok", 0.1)
    metrics.redis_call("load", 0.001, "unreachable")
    names: dict[str, set[str]] = {}
    for (name, labels), _ in parse(metrics.exposition()[0].decode()).items():
        names.setdefault(name, set()).update(k for k, _ in labels)
    return names


def alert_rules() -> dict[str, dict[str, object]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"]}


def test_the_example_alerts_name_only_metrics_and_labels_the_bot_exports() -> None:
    rules = alert_rules()
    assert {"SocialmediaCheckNotReady", "SocialmediaCheckRateLimited", "SocialmediaCheckReminderLag"} <= set(rules)
    names = exported()
    assert {"smc_ready", "smc_platform_calls_total", "smc_reminder_lag_seconds_bucket"} <= set(names)
    for alert, rule in rules.items():
        expr = str(rule["expr"])
        used = re.findall(r"\b(smc_\w+)(?:\{([^}]*)\})?", expr)
        assert used or "up{" in expr, alert
        for name, selector in used:
            assert name in names, f"{alert}: {name} is not exported"
            keys = set(re.findall(r"(\w+)\s*[=!~]", selector))
            assert keys <= names[name], f"{alert}: {name} has no label {keys - names[name]}"
        assert rule["labels"]["severity"] in ("critical", "warning") and rule["annotations"]["summary"]  # type: ignore[index]


def test_promtool_accepts_the_alerts_and_their_unit_tests_pass() -> None:
    tool = promtool()
    checked = subprocess.run([tool, "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in checked.stdout + checked.stderr
    tested = subprocess.run(
        [tool, "test", "rules", "alerts.test.yaml"], cwd=ALERTS.parent, capture_output=True, text=True, check=False
    )
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


# --- Mattermost's repeats --------------------------------------------------------------------------


def test_mattermost_repeated_deliveries_and_double_clicks_count_as_dropped(store: Store) -> None:
    metrics = Prometheus("test")
    with FakeMattermost() as fake:
        bound = LateServer()
        settings = load_settings(
            {
                "MATTERMOST_URL": fake.url,
                "MATTERMOST_BOT_TOKEN": fake.token,
                "MATTERMOST_COMMAND_TOKEN": mm_tests.COMMAND_TOKENS[0],
                "SMC_SECRET": mm_tests.SECRET,
                "SMC_PUBLIC_URL": bound.url,
            }
        )
        service = build_service(settings, store, metrics=metrics)
        clock = ManualClock(start=mm_tests.CLOCK_START)
        assert settings.mattermost_url and settings.mattermost_bot_token
        api = MattermostApi(settings.mattermost_url, settings.mattermost_bot_token)
        adapter = build_mattermost_adapter(settings, service, store, api=api, clock=clock.now, metrics=metrics)
        server = bound.serve(create_web_app(adapter.routes(), store.ping, metrics))
        mm = mm_tests.Harness(fake, settings, service, store, adapter, server, clock)
        try:
            trigger = fake.new_trigger_id("anna")
            assert mm.command("anna", "start", trigger=trigger).status_code == 200
            assert mm.command("anna", "start", trigger=trigger).status_code == 200  # Mattermost's retry
            post = mm.wait_question(1)
            url, payload = mm.click_payload("bram", post, "opt1")
            assert mm.post_json(url, payload).status_code == mm.post_json(url, payload).status_code == 200
            clock.advance(DOUBLE_CLICK_SECONDS / 2)
            assert mm.click("bram", post, "opt1").status_code == 200  # a new trigger: a double click
            mm.idle()
            samples = parse(mm.session.get(server.url + "/metrics", timeout=10).text)
        finally:
            mm.session.close()
            server.stop()
            adapter.close()
    assert value(samples, "smc_duplicates_dropped_total", platform="mattermost", kind="delivery") == 2
    assert value(samples, "smc_duplicates_dropped_total", platform="mattermost", kind="click") == 1
    assert value(samples, "smc_answers_recorded_total", platform="mattermost") == 1
    assert value(samples, "smc_checks_started_total", platform="mattermost") == 1
    assert value(samples, "smc_platform_calls_total", platform="mattermost", method="post", outcome="ok") >= 2


# --- the worker process ------------------------------------------------------------------------------


def test_a_real_worker_process_serves_metrics(redis_url: str, tmp_path: Path) -> None:
    """``socialmedia-check worker`` (no chat routes) answers /metrics too, ready, with its scheduler's claims timed."""
    own = re.compile(r"^(SMC_|SLACK_|MATTERMOST_|REDIS_|PORT$|HOST$)")
    log_path = tmp_path / "worker.log"
    with FakeSlackApi() as fake:
        env = {k: v for k, v in os.environ.items() if not own.match(k)}
        env.update(
            REDIS_URL=redis_url,
            SMC_REDIS_PREFIX=f"wk{uuid.uuid4().hex[:8]}",
            PORT="0",
            HOST="127.0.0.1",
            SLACK_BOT_TOKEN="xoxb-worker-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.url,
            SMC_REMINDER_POLL="0.05",
            PYTHONUNBUFFERED="1",
        )
        with log_path.open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], cwd=ROOT, env=env, stderr=log)
        try:
            listening = re.compile(r"listening on http://[^\s:\"]+:(\d+)")
            wait_for("the worker to listen", lambda: listening.search(log_path.read_text()) or proc.poll() is not None)
            found = listening.search(log_path.read_text())
            assert found is not None, log_path.read_text()
            url = f"http://127.0.0.1:{found.group(1)}/metrics"

            def scrape() -> Samples:
                with urllib.request.urlopen(url, timeout=10) as reply:
                    return parse(reply.read().decode())

            wait_for(
                "a few claim rounds", lambda: value(scrape(), "smc_redis_seconds_count", action="claim_reminders") > 2
            )
            samples = scrape()
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, log_path.read_text()
    assert value(samples, "smc_ready") == 1
    assert value(samples, "smc_build_info", version=__version__) == 1
    assert total(samples, "smc_redis_errors_total") == 0
