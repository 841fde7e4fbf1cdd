"""The one place a Redis client is built (``SMC_REDIS_MODE``).

- ``standalone`` (the default): ``REDIS_URL`` — ``redis://``, ``rediss://`` (TLS), ``unix://``, with an
  ACL user and password in the URL (``redis://user:password@host:6379/0``) — and, for a private CA or
  client certificates, ``REDIS_TLS_CA`` / ``REDIS_TLS_CERT`` / ``REDIS_TLS_KEY``.
- ``sentinel``: the primary is found through ``REDIS_SENTINELS`` (``host:port,…``) under the service
  name ``REDIS_SENTINEL_MASTER``; ``REDIS_USERNAME`` / ``REDIS_PASSWORD`` for the data nodes,
  ``REDIS_SENTINEL_PASSWORD`` for the sentinels, ``REDIS_TLS`` (+ the files above) for both.
- ``cluster``: ``REDIS_URL`` names any node (``redis://`` or ``rediss://``, user and password in the
  URL); the client discovers the others and follows MOVED/ASK redirects and failovers. The key
  layout keeps each channel's keys in one hash slot (bot.store.keys), so every script is slot-safe.
  Writes are not waited for (no WAIT: a primary lost before it replicated can lose its last writes,
  as Redis Cluster documents).

Every client gets the same timeouts, retry and health checks. Lua scripts need no preloading for
correctness: redis-py's ``Script`` answers NOSCRIPT with SCRIPT LOAD and runs it again, on whichever
server the client reaches — a freshly promoted primary included (its script cache starts empty).

A Sentinel failover and what is acknowledged: Redis replicates asynchronously, so a write the old
primary acknowledged but had not passed on is lost when a replica is promoted. In sentinel mode the
bot therefore reports a write done only once ``REDIS_WAIT_REPLICAS`` replicas confirmed it: a WAIT
goes out in the same packet behind every script and plain write (no extra round trip; a WAIT after a
script that only read answers at once, unless the replicas are gone). Pipelines (the privacy
index's one-off rebuild) are not waited for. A primary that answers READONLY or NOREPLICAS, or whose
replicas do not confirm, is left: the next command asks the sentinels which primary is current.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection, SentinelManagedSSLConnection

from bot.errors import ConfigError, StoreError

Mode = Literal["standalone", "sentinel", "cluster"]

SOCKET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 3.0
HEALTH_CHECK_INTERVAL = 30  # PING a connection idle this long before reusing it
WAIT_TIMEOUT_MS = 1000  # how long a write waits for its replicas' confirmation (REDIS_WAIT_REPLICAS)

# What the sentinel mode waits for: every script (the store's writes are scripts; one that only read
# is answered at once while the replicas are there) and the few plain writes the store sends. Plain
# reads (GET, HGETALL, PING …) never wait.
_WAITED = frozenset(
    {"EVALSHA", "EVAL", "SET", "DEL", "UNLINK", "EXPIRE", "PEXPIRE", "HSET", "HDEL", "SADD", "SREM", "ZADD", "ZREM"}
)
_SENTINEL_URL_SCHEMES = frozenset({"redis+sentinel", "rediss+sentinel", "sentinel", "redis-sentinel"})


class RedisSettings(Protocol):
    """What :func:`connect` reads: :class:`bot.config.Settings` has all of it, :class:`RedisTarget` too."""

    @property
    def redis_mode(self) -> Mode: ...
    @property
    def redis_url(self) -> str | None: ...
    @property
    def redis_sentinels(self) -> tuple[tuple[str, int], ...]: ...
    @property
    def redis_sentinel_master(self) -> str | None: ...
    @property
    def redis_username(self) -> str | None: ...
    @property
    def redis_password(self) -> str | None: ...
    @property
    def redis_sentinel_password(self) -> str | None: ...
    @property
    def redis_tls(self) -> bool: ...
    @property
    def redis_tls_ca(self) -> str | None: ...
    @property
    def redis_tls_cert(self) -> str | None: ...
    @property
    def redis_tls_key(self) -> str | None: ...
    @property
    def redis_wait_replicas(self) -> int: ...


@dataclass(frozen=True)
class RedisTarget:
    """The same, without the environment: a URL (``Store.from_url``) or a hand-made sentinel setup."""

    redis_url: str | None = None
    redis_mode: Mode = "standalone"
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str | None = None
    redis_username: str | None = None
    redis_password: str | None = None
    redis_sentinel_password: str | None = None
    redis_tls: bool = False
    redis_tls_ca: str | None = None
    redis_tls_cert: str | None = None
    redis_tls_key: str | None = None
    redis_wait_replicas: int = 1


def connect(settings: RedisSettings, url: str | None = None) -> redis.Redis:
    """A client for the configured Redis (``url``, when given, stands in for ``REDIS_URL``)."""
    if settings.redis_mode == "cluster":
        return _cluster(url or settings.redis_url, settings)
    if settings.redis_mode == "sentinel":
        return _through_sentinels(settings)
    target = url or settings.redis_url
    if not target:
        raise ConfigError("REDIS_URL is required (e.g. redis://localhost:6379/0)")
    return _standalone(target, settings)


def _options() -> dict[str, Any]:
    return {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        # Retry only connection failures: a timeout may hide an executed add_note.
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 2, (redis.ConnectionError,)),
    }


def _tls_files(settings: RedisSettings) -> dict[str, Any]:
    files = {
        "ssl_ca_certs": settings.redis_tls_ca,
        "ssl_certfile": settings.redis_tls_cert,
        "ssl_keyfile": settings.redis_tls_key,
    }
    return {name: path for name, path in files.items() if path}


def _standalone(url: str, settings: RedisSettings) -> redis.Redis:
    scheme = urlsplit(url).scheme.lower()
    if scheme in _SENTINEL_URL_SCHEMES:
        raise ConfigError(
            f"REDIS_URL={scheme}://… is not supported: set SMC_REDIS_MODE=sentinel, "
            "REDIS_SENTINELS=host:port,host:port,… and REDIS_SENTINEL_MASTER=<service name> instead "
            "(and unset REDIS_URL); see the README, 'Redis beyond one node'"
        )
    tls = _tls_files(settings)
    if tls and scheme != "rediss":
        raise ConfigError("REDIS_TLS_CA / REDIS_TLS_CERT / REDIS_TLS_KEY are set, but REDIS_URL does not use rediss://")
    try:
        return redis.Redis.from_url(url, **_options(), **tls)
    except ValueError as exc:
        raise StoreError(f"invalid Redis URL {redacted(url)!r}: {exc}") from exc


def _cluster(url: str | None, settings: RedisSettings) -> redis.Redis:
    if not url:
        raise ConfigError("SMC_REDIS_MODE=cluster needs REDIS_URL naming one of the cluster's nodes")
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("redis", "rediss"):
        raise ConfigError(f"SMC_REDIS_MODE=cluster needs a redis:// or rediss:// REDIS_URL, not {scheme}://")
    tls = _tls_files(settings)
    if tls and scheme != "rediss":
        raise ConfigError("REDIS_TLS_CA / REDIS_TLS_CERT / REDIS_TLS_KEY are set, but REDIS_URL does not use rediss://")
    options = _options()
    options.pop("retry")  # the cluster client retries (and re-reads the slot map) itself
    try:
        client = RedisCluster.from_url(url, **options, **tls)
    except ValueError as exc:
        raise StoreError(f"invalid Redis URL {redacted(url)!r}: {exc}") from exc
    except redis.RedisError as exc:
        raise StoreError(f"cannot reach the Redis Cluster at {redacted(url)}: {exc}") from exc
    # RedisCluster offers the commands the store uses under the same names; it is no redis.Redis subclass.
    return cast(redis.Redis, client)


def redacted(url: str) -> str:
    """The URL with its password replaced, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _through_sentinels(settings: RedisSettings) -> redis.Redis:
    if not settings.redis_sentinels or not settings.redis_sentinel_master:
        raise ConfigError("SMC_REDIS_MODE=sentinel needs REDIS_SENTINELS and REDIS_SENTINEL_MASTER")
    tls = _tls_files(settings) if settings.redis_tls else {}
    sentinel_options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        # One try per sentinel: discovery moves on to the next sentinel itself.
        "retry": Retry(NoBackoff(), 0),
        "password": settings.redis_sentinel_password,
    }
    if settings.redis_tls:
        sentinel_options.update(ssl=True, **tls)
    # redis.sentinel has type hints only from redis-py 8.2 on: called as Any, so it type-checks with
    # and without them (an ignore would be unused on one of the two); what it returns is checked below.
    sentinel_class: Any = Sentinel
    sentinel = sentinel_class(list(settings.redis_sentinels), sentinel_kwargs=sentinel_options)
    client = sentinel.master_for(
        settings.redis_sentinel_master,
        redis_class=_PrimaryClient,
        connection_class=_PrimarySSLConnection if settings.redis_tls else _PrimaryConnection,
        username=settings.redis_username,
        password=settings.redis_password,
        wait_replicas=settings.redis_wait_replicas,
        **_options(),
        **tls,
    )
    assert isinstance(client, _PrimaryClient)
    client.sentinels = sentinel
    return client


class _PrimaryClient(redis.Redis):
    """The primary's client; closing it closes the sentinel clients that find the primary too."""

    sentinels: Sentinel | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.sentinels is not None:
                self.sentinels.close()


class NotReplicatedError(redis.ResponseError):
    """The primary did the write, but too few replicas confirmed it in time: not reported as done.
    (Never retried: the write may well be there.)"""


class _PrimaryConnection(SentinelManagedConnection):
    """A connection to the primary that leaves a primary cut off by a failover and waits for replicas.

    redis-py already treats READONLY (the old primary, demoted) as a lost connection: disconnect, ask
    the sentinels again, retry. NOREPLICAS — the old primary, with ``min-replicas-to-write``, has just
    lost its replicas to the promoted one — is the same situation seen earlier, and as safe to retry:
    Redis refuses such a write before running any of it.
    """

    def __init__(self, *, wait_replicas: int = 0, **kwargs: Any) -> None:
        self._wait_replicas = wait_replicas
        self._waiting = False  # a WAIT went out behind the command in flight
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        if self._wait_replicas > 0 and str(args[0]).upper() in _WAITED:
            packed = self.pack_commands([args, ("WAIT", self._wait_replicas, WAIT_TIMEOUT_MS)])  # type: ignore[no-untyped-call]
            self.send_packed_command(packed, check_health=kwargs.get("check_health", True))  # type: ignore[no-untyped-call]
            self._waiting = True
        else:
            super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        waiting, self._waiting = self._waiting, False
        try:
            reply = super().read_response(*args, **kwargs)
            confirmed = super().read_response() if waiting else self._wait_replicas
        except redis.ResponseError as exc:
            cut_off = bool(self.connection_pool.is_master) and str(exc).startswith("NOREPLICAS")
            if waiting or cut_off:
                # Drops the WAIT's answer unread; the next command connects afresh (asking the sentinels).
                self.disconnect()  # type: ignore[no-untyped-call]
            if cut_off:
                raise redis.ConnectionError(f"the primary refused the write ({exc}); asking the sentinels") from exc
            raise
        except BaseException:
            if waiting:
                self.disconnect()  # type: ignore[no-untyped-call]
            raise
        if int(confirmed) < self._wait_replicas:
            # Too few replicas: slow ones, or this primary lost them to a failover. The next command
            # asks the sentinels again (this one is not retried: its write may be there).
            self.disconnect()  # type: ignore[no-untyped-call]
            raise NotReplicatedError(
                f"only {confirmed} of the {self._wait_replicas} replica(s) REDIS_WAIT_REPLICAS asks for "
                f"confirmed it within {WAIT_TIMEOUT_MS} ms"
            )
        return reply


class _PrimarySSLConnection(_PrimaryConnection, SentinelManagedSSLConnection):
    pass
