"""What the bot counts, served as ``GET /metrics`` (the Prometheus text format).

One :class:`Prometheus` per :class:`bot.app.App`, on a registry of its own (never prometheus-client's
global default one), so several apps in one process — the tests — never collide. The parts that count
get it through their constructors; their default, :data:`NO_METRICS`, counts nothing and costs nothing.
Callers name what happened (``check_started``, ``platform_call`` …), never a metric object, so every
label value comes from a small fixed set: platforms, kinds, primitives, outcomes, UI keys and store
actions — never a channel, a user or a check id.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# The classic text format (0.0.4): what every Prometheus and agent reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REDIS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# A platform call includes its client's own waits for a 429's Retry-After, hence the long tail.
PLATFORM_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# How long after its due time a reminder was claimed: the poll (1 s) when all is well, the downtime after one.
LAG_BUCKETS = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0)


class Metrics:
    """The counting surface. This base counts nothing: the default of every constructor that takes one."""

    def check_started(self, platform: str) -> None:
        """A new check was stored (start, restart, or a revisit's Start button)."""

    def check_finished(self, platform: str, decision: str) -> None:
        """A check ended with a decision (go, pilot, not_now)."""

    def check_cancelled(self, platform: str) -> None:
        """A running check was cancelled, or abandoned by a restart."""

    def answer_recorded(self, platform: str) -> None:
        """An answer went into Redis."""

    def duplicate_dropped(self, platform: str, kind: str) -> None:
        """A retried delivery (``delivery``) or a double click (``click``) was dropped by its dedup claim."""

    def refused(self, platform: str, reason: str) -> None:
        """The service answered with a refusal; ``reason`` is its UI key (``not_for_you``, ``stale_button`` …)."""

    def reminder_fired(self, kind: str, lag: float, late: bool) -> None:
        """A due reminder was claimed and handed to the outbox, ``lag`` seconds after its due time
        (a retried one: after its first due time, as the post's "this was due on …" says)."""

    def reminder_outcome(self, kind: str, outcome: str) -> None:
        """What became of a fired reminder: ``posted``, ``retried``, ``failed`` (for good) or ``skipped``."""

    def platform_call(self, platform: str, method: str, outcome: str, seconds: float) -> None:
        """One attempt of a platform primitive (post, update, ephemeral, upload_*): ``ok``, ``ratelimited``
        (429), ``transient``, ``refused``, ``not_member`` or ``error``."""

    def redis_call(self, action: str, seconds: float, error: str | None) -> None:
        """One store call (:func:`bot.store.errors.translated`); ``error``: ``unreachable`` or ``refused``."""

    def watch_readiness(self, ready: Callable[[], bool]) -> None:
        """``smc_ready`` asks ``ready`` at every scrape."""

    def exposition(self) -> tuple[bytes, str]:
        """The body and content type of ``GET /metrics``."""
        return b"", CONTENT_TYPE


NO_METRICS = Metrics()


class Prometheus(Metrics):
    """The metrics of one app, on its own registry."""

    def __init__(self, version: str = "", registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        Gauge("smc_build_info", "The running version (always 1).", ["version"], registry=r).labels(version).set(1)
        self._ready = Gauge("smc_ready", "1 when Redis answers (as /readyz, while not draining), else 0.", registry=r)
        self._started = Counter("smc_checks_started_total", "Checks started.", ["platform"], registry=r)
        self._finished = Counter(
            "smc_checks_finished_total", "Checks finished, by decision.", ["platform", "decision"], registry=r
        )
        self._cancelled = Counter(
            "smc_checks_cancelled_total", "Checks cancelled or abandoned by a restart.", ["platform"], registry=r
        )
        self._answers = Counter("smc_answers_recorded_total", "Answers recorded.", ["platform"], registry=r)
        self._duplicates = Counter(
            "smc_duplicates_dropped_total",
            "Retried deliveries (kind=delivery) and double clicks (kind=click) dropped.",
            ["platform", "kind"],
            registry=r,
        )
        self._refusals = Counter(
            "smc_refusals_total", "Refusals, by the UI key of the refusal.", ["platform", "reason"], registry=r
        )
        self._fired = Counter("smc_reminders_fired_total", "Due reminders handed to the outbox.", ["kind"], registry=r)
        self._late = Counter(
            "smc_reminders_late_total", "Reminders fired more than a minute after their due time.", ["kind"], registry=r
        )
        self._lag = Histogram(
            "smc_reminder_lag_seconds",
            "Seconds between a reminder's due time and its claim (a retry counts from the same due time).",
            ["kind"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self._reminders = Counter(
            "smc_reminders_total",
            "Fired reminders by outcome: posted, retried, failed (for good), skipped (nothing left to say).",
            ["kind", "outcome"],
            registry=r,
        )
        self._calls = Counter(
            "smc_platform_calls_total",
            "Platform API call attempts by primitive and outcome (ratelimited: HTTP 429).",
            ["platform", "method", "outcome"],
            registry=r,
        )
        self._call_seconds = Histogram(
            "smc_platform_call_seconds",
            "Seconds per platform API call attempt.",
            ["platform", "method"],
            buckets=PLATFORM_BUCKETS,
            registry=r,
        )
        self._redis_seconds = Histogram(
            "smc_redis_seconds", "Seconds per store call (a round trip).", ["action"], buckets=REDIS_BUCKETS, registry=r
        )
        self._redis_timers: dict[str, Histogram] = {}  # by action: a fixed set, named in the store's code
        self._redis_errors = Counter(
            "smc_redis_errors_total", "Store calls that failed: unreachable or refused.", ["action", "kind"], registry=r
        )

    def check_started(self, platform: str) -> None:
        self._started.labels(platform).inc()

    def check_finished(self, platform: str, decision: str) -> None:
        self._finished.labels(platform, decision).inc()

    def check_cancelled(self, platform: str) -> None:
        self._cancelled.labels(platform).inc()

    def answer_recorded(self, platform: str) -> None:
        self._answers.labels(platform).inc()

    def duplicate_dropped(self, platform: str, kind: str) -> None:
        self._duplicates.labels(platform, kind).inc()

    def refused(self, platform: str, reason: str) -> None:
        self._refusals.labels(platform, reason).inc()

    def reminder_fired(self, kind: str, lag: float, late: bool) -> None:
        self._fired.labels(kind).inc()
        self._lag.labels(kind).observe(max(lag, 0.0))
        if late:
            self._late.labels(kind).inc()

    def reminder_outcome(self, kind: str, outcome: str) -> None:
        self._reminders.labels(kind, outcome).inc()

    def platform_call(self, platform: str, method: str, outcome: str, seconds: float) -> None:
        self._calls.labels(platform, method, outcome).inc()
        self._call_seconds.labels(platform, method).observe(seconds)

    def redis_call(self, action: str, seconds: float, error: str | None) -> None:
        label = action.replace(" ", "_")
        timer = self._redis_timers.get(label)
        if timer is None:  # one child per action, looked up once: this runs on every Redis call
            timer = self._redis_timers.setdefault(label, self._redis_seconds.labels(label))
        timer.observe(seconds)
        if error is not None:
            self._redis_errors.labels(label, error).inc()

    def watch_readiness(self, ready: Callable[[], bool]) -> None:
        def value() -> float:
            try:
                return 1.0 if ready() else 0.0
            except Exception:  # a scrape must answer, whatever the store raises
                return 0.0

        self._ready.set_function(value)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE
