"""Composition root and the one owner of the process's lifecycle.

:class:`App` builds everything in order — settings -> store -> dialogue -> service -> adapters ->
background jobs -> web — and takes it down in reverse on :meth:`App.stop`: the web server drains
first (``/readyz`` answers 503, new requests get 503, requests in flight finish), then background
jobs stop, then each adapter sends what it still has queued, then the sockets and the store close.
All of it within one grace period (``SMC_SHUTDOWN_GRACE``).
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Literal

from bot import __version__
from bot.config import Settings
from bot.core.dialogue.load import Dialogue, load_dialogue
from bot.errors import ConfigError
from bot.ports import BackgroundJob
from bot.runtime.http_types import Route
from bot.runtime.metrics import NO_METRICS, Metrics, Prometheus
from bot.service import CheckService
from bot.service_store import SessionStore
from bot.store import errors as store_errors
from bot.store.keys import queue_of
from bot.store.store import Store

if TYPE_CHECKING:
    from bot.core.messages import Summary
    from bot.runtime.scheduler import ReminderScheduler, Sender
    from bot.runtime.web import WebServer

log = logging.getLogger(__name__)

Mode = Literal["serve", "socket", "console", "worker"]
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def load_app_dialogue(settings: Settings) -> Dialogue:
    """The team's own dialogue when SMC_DIALOGUES_DIR is set, else the one shipped in the package."""
    return load_dialogue(settings.dialogues_dir)


def build_store(settings: Settings, url: str | None = None) -> Store:
    # REDIS_URL (or ``url``), or SMC_REDIS_MODE=sentinel's sentinels: bot.store.connect
    store = Store.connect(
        settings,
        url,
        prefix=settings.redis_prefix,
        session_ttl=int(settings.session_ttl.total_seconds()),
        history_ttl=int(settings.history_ttl.total_seconds()) if settings.history_ttl else 0,
    )
    store.preload_scripts()
    return store


def build_service(
    settings: Settings, store: SessionStore, dialogue: Dialogue | None = None, metrics: Metrics = NO_METRICS
) -> CheckService:
    return CheckService(
        dialogue or load_app_dialogue(settings),
        store,
        admins=settings.admins,
        default_language=settings.default_language,
        max_text=settings.max_text,
        session_ttl_days=max(1, settings.session_ttl.days),
        zone=settings.zone,
        nudge_after=settings.nudge_after.total_seconds(),
        summary_grace=settings.summary_grace.total_seconds(),
        chart=_export_chart,
        metrics=metrics,
    )


def _export_chart(summary: Summary) -> tuple[bytes, str] | None:
    """The chart an HTML export embeds (matplotlib loads only when a page is made)."""
    from bot.adapters.outbox_files import export_chart

    return export_chart(summary)


@dataclass(frozen=True)
class ConsoleOptions:
    channel: str = "team"
    user: str = "you"
    data_dir: Path | None = None  # where the private redis-server keeps its data


@dataclass
class _Step:
    """One thing to undo on the way down; ``stop`` gets the seconds left of the grace period."""

    name: str
    stop: Callable[[float], object]


class App:
    """The process: build with the settings and a mode, then :meth:`run` (or :meth:`start`/:meth:`stop`)."""

    def __init__(self, settings: Settings, mode: Mode, console: ConsoleOptions | None = None) -> None:
        self.settings = settings
        self.mode = mode
        self.console = console or ConsoleOptions()
        self.store: Store | None = None
        self.service: CheckService | None = None
        self.web: WebServer | None = None  # serve and socket
        self.metrics = Prometheus(__version__)  # this app's own registry, served as GET /metrics
        self._jobs: list[BackgroundJob] = []
        # Each list in start order, undone in reverse: web drain, jobs, adapters, web stop, base.
        self._base: list[_Step] = []  # private redis, store
        self._adapters: list[_Step] = []
        self._running_jobs: list[_Step] = []
        self._started = False
        self._stop_requested = threading.Event()
        self._console_chat: Callable[[], None] | None = None
        self._console_dir: Path | None = None  # the private Redis's data folder, which keeps the console's history
        self._senders: dict[str, Sender] = {}  # reminder queue -> the outbox that posts there
        self.scheduler: ReminderScheduler | None = None

    # --- registry -------------------------------------------------------------------------------

    def register(self, job: BackgroundJob) -> None:
        """Add a background job; it starts after the adapters and stops before them."""
        if self._started:
            raise RuntimeError("register background jobs before start()")
        self._jobs.append(job)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Build and start everything in order; on a failure, undo what was built and re-raise."""
        self._started = True
        # Every thread built here inherits this mask, so SIGINT and SIGTERM always go to the calling
        # (main) thread, whose handler, or readline in the console, they must wake: one the kernel
        # handed to another thread left the main thread asleep (the console's Ctrl-C, now and then).
        # One that comes meanwhile waits until the mask is restored below.
        before = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            try:
                self._build()
            except BaseException:
                self._unwind(time.monotonic() + self.settings.shutdown_grace.total_seconds())
                raise
            # What start-up built lives as long as the process: out of the collector's sight, a full
            # collection under load walks only what requests create (shorter pauses, the p99 of #13).
            gc.freeze()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)

    def stop(self, grace: float | None = None) -> bool:
        """Drain and take everything down, bounded by ``grace`` seconds (default SMC_SHUTDOWN_GRACE).

        True when everything finished in time; False when the grace period ran out first."""
        seconds = self.settings.shutdown_grace.total_seconds() if grace is None else grace
        deadline = time.monotonic() + seconds
        worker = threading.Thread(target=self._unwind, args=(deadline,), name="shutdown", daemon=True)
        worker.start()
        worker.join(max(seconds, 0.0))
        if worker.is_alive():
            log.warning("shutdown did not finish within %.1f s; exiting anyway", seconds)
            return False
        return True

    def request_stop(self) -> None:
        """Ask :meth:`run` to stop (safe from a signal handler or any thread)."""
        self._stop_requested.set()

    def run(self) -> bool:
        """Start, serve until SIGTERM/SIGINT (console: until Ctrl-D or /quit), stop. True when clean."""
        if self.mode != "console":  # the console stops on Ctrl-D, /quit or Ctrl-C, as before
            self._catch_signals()  # before start(): a SIGTERM while starting still drains
        try:
            self.start()  # a Ctrl-C held back while starting is raised as it ends: stop() undoes it all
            if self._console_chat is not None:
                self._console_chat()
            else:
                self._stop_requested.wait()
        finally:
            clean = self.stop()
        return clean

    # --- building -----------------------------------------------------------------------------

    def _build(self) -> None:
        settings = self.settings
        url = settings.redis_url
        if settings.redis_mode == "sentinel":
            pass  # no URL: the sentinels name the primary (bot.store.connect)
        elif self.mode == "console" and not url:
            url = self._start_private_redis()
        elif not url:
            raise ConfigError("REDIS_URL is required for serve/socket (e.g. redis://localhost:6379/0)")
        store = build_store(settings, url)
        self.store = store
        self._base.append(_Step("store", lambda _left: store.close()))
        unobserve = store_errors.observe(self.metrics.redis_call)  # every store call timed
        self._base.append(_Step("store metrics", lambda _left: unobserve()))
        dialogue = load_app_dialogue(settings)
        self.service = build_service(settings, store, dialogue, self.metrics)
        routes = self._build_adapters(store, self.service)
        if self._senders:  # every mode that can post runs the reminder scheduler
            self.scheduler = self._build_scheduler(store, self.service)
            self._jobs.insert(0, self.scheduler)
        for job in self._jobs:
            job.start()
            self._running_jobs.append(_Step(type(job).__name__, job.stop))
        if self.mode != "console":
            self._start_web(routes, store)

    def _start_private_redis(self) -> str:
        import platformdirs

        from bot.runtime.redis_server import RedisProcess

        data_dir = self.console.data_dir or Path(platformdirs.user_data_dir("socialmedia-check")) / "redis"
        self._console_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        private = RedisProcess.start(data_dir, unix_socket=True, persistent=True, executable=self.settings.redis_server)
        self._base.append(_Step("private redis", lambda _left: private.stop()))
        return private.url

    def _build_scheduler(self, store: Store, service: CheckService) -> ReminderScheduler:
        from bot.runtime.scheduler import ReminderScheduler, SchedulerOptions

        settings = self.settings
        options = SchedulerOptions(
            poll=settings.reminder_poll,
            lease=settings.reminder_lease.total_seconds(),
            attempts=settings.reminder_attempts,
            backoff=settings.reminder_backoff.total_seconds(),
        )
        log.info("reminders: serving %s", ", ".join(sorted(self._senders)))
        return ReminderScheduler(
            store.reminders, service.followups, self._senders, options=options, metrics=self.metrics
        )

    def _build_adapters(self, store: Store, service: CheckService) -> list[Route]:
        settings = self.settings
        if self.mode == "console":
            from bot.adapters.console import ConsoleChat
            from bot.core.messages import ChannelKey

            key = ChannelKey("console", "local", self.console.channel)
            chat = ConsoleChat(
                service,
                key,
                user=self.console.user,
                settle=lambda job, channel: store.settle_outbox(job, str(channel)),
                export_dir=settings.export_dir,
                history_file=self._console_dir / "console_history" if self._console_dir else None,
            )
            self._console_chat = chat.run
            self._senders[queue_of(str(key))] = chat.outbox
            return []
        if self.mode == "socket":
            if not settings.slack_app_token or not settings.slack_bot_token:
                raise ConfigError("socket mode needs SLACK_APP_TOKEN (xapp-…) and SLACK_BOT_TOKEN")
            from bot.adapters.slack.app import build_slack_adapter

            slack = build_slack_adapter(settings, service, store, metrics=self.metrics)
            self._adapters.append(_Step("slack", slack.close))
            self._senders["slack"] = slack.outbox
            slack.start_socket_mode(block=False)
            return []  # socket mode serves the health checks only
        routes: list[Route] = []
        if settings.slack_enabled:
            from bot.adapters.slack.app import build_slack_adapter

            slack = build_slack_adapter(settings, service, store, metrics=self.metrics)
            self._adapters.append(_Step("slack", slack.close))
            self._senders["slack"] = slack.outbox
            if self.mode == "serve":
                routes += slack.routes()
                log.info("Slack enabled: POST /slack/events")
        if settings.mattermost_enabled:
            from bot.adapters.mattermost.routes import build_mattermost_adapter

            mattermost = build_mattermost_adapter(settings, service, store, metrics=self.metrics)

            def stop_mattermost(left: float) -> None:
                if not mattermost.wait_idle(left):
                    log.warning("Mattermost: queued posts left unsent at shutdown")
                mattermost.close()

            self._adapters.append(_Step("mattermost", stop_mattermost))
            self._senders["mattermost"] = mattermost.outbox
            if self.mode == "serve":
                routes += mattermost.routes()
                log.info("Mattermost enabled: POST /mattermost/command, /mattermost/actions")
        if self.mode == "worker":
            if not self._senders:
                raise ConfigError("the worker posts reminders: configure Slack and/or Mattermost (see the README)")
            return []  # the worker serves the health checks only
        if not routes:
            log.warning(
                "neither Slack (SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET) nor Mattermost "
                "(MATTERMOST_URL + MATTERMOST_BOT_TOKEN) is configured; serving health checks only"
            )
        return routes

    def _start_web(self, routes: list[Route], store: Store) -> None:
        from bot.runtime.web import WebServer, create_web_app

        web = WebServer(create_web_app(routes, store.ping, self.metrics), self.settings.host, self.settings.port)
        self.web = web
        web.start()

    # --- taking it down ----------------------------------------------------------------------

    def _unwind(self, deadline: float) -> None:
        web, self.web = self.web, None
        if web is not None:
            web.drain(max(deadline - time.monotonic(), 0.0))  # /readyz 503 from here on
        _undo(self._running_jobs, deadline)
        _undo(self._adapters, deadline)
        if web is not None:  # /healthz answered (and /readyz said 503) for the whole drain
            web.stop(max(deadline - time.monotonic(), 0.0))
        _undo(self._base, deadline)
        log.info("stopped")

    def _catch_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():

            def on_signal(signum: int, frame: FrameType | None) -> None:
                log.info("%s: draining (at most %s)", signal.Signals(signum).name, self.settings.shutdown_grace)
                self._stop_requested.set()

            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)


def _undo(steps: list[_Step], deadline: float) -> None:
    while steps:
        step = steps.pop()
        try:
            step.stop(max(deadline - time.monotonic(), 0.0))
        except Exception:  # one part failing to stop must not keep the others running
            log.exception("stopping %s failed", step.name)
