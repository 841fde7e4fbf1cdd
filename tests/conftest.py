"""Shared fixtures: one real redis-server for the whole test session (never a mock)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, settings

from bot.core.session import RUNNING, SessionMeta, SessionRecord
from bot.errors import StoreError
from bot.runtime.redis_server import RedisProcess, find_redis_server
from bot.runtime.web import WebServer
from bot.store.store import Store

# Hypothesis: "ci" (CI=true) is deterministic and reproducible — the same examples every run, no
# example database, and a failure prints the blob to replay it; "dev" (default) explores randomly.
_HYPOTHESIS_COMMON: dict = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}
settings.register_profile("ci", derandomize=True, database=None, max_examples=60, print_blob=True, **_HYPOTHESIS_COMMON)
settings.register_profile("dev", max_examples=60, **_HYPOTHESIS_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


class LateServer:
    """A web server bound first (port 0: the OS picks a free port and it is held from then on, so no
    other process can take it) and given its application afterwards. For apps whose settings must
    name the server's own URL (Mattermost's SMC_PUBLIC_URL: buttons call back there) before the adapter
    behind the routes can be built."""

    def __init__(self, host: str = "127.0.0.1", threads: int = 8) -> None:
        self._app: Callable[..., Any] | None = None
        self.server = WebServer(self._dispatch, host, 0, threads)
        self.url = self.server.url

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self._app is not None, "serve() gives the server its app before it answers anything"
        return self._app(environ, start_response)

    def serve(self, app: Callable[..., Any]) -> WebServer:
        self._app = app
        return self.server.start()

    def discard(self) -> None:
        """Release the port of a server that was never started (building its app failed)."""
        self.server.stop()


def make_record(
    channel: str = "console:local:room",
    sid: str | None = None,
    state: str = "q1",
    anonymous: bool = False,
) -> SessionRecord:
    """A fresh running session at question ``state``."""
    now = time.time()
    meta = SessionMeta(
        id=sid or uuid.uuid4().hex,
        channel=channel,
        dialogue="socialmedia-check",
        language="en",
        facilitator="U0",
        facilitator_name="Facilitator",
        anonymous=anonymous,
        salt=uuid.uuid4().hex if anonymous else "",
        state=state,
        path=[state],
        status=RUNNING,
        created_at=now,
        updated_at=now,
    )
    return SessionRecord(meta=meta)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    try:
        find_redis_server()
    except StoreError as exc:
        pytest.fail(f"the tests need a real redis-server: {exc}", pytrace=False)
    data_dir: Path = tmp_path_factory.mktemp("redis")
    server = RedisProcess.start(data_dir, unix_socket=True, persistent=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisProcess) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushall()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def store(redis_client: redis.Redis) -> Store:
    return Store(redis_client, prefix="test", session_ttl=3600)


@pytest.fixture
def record_factory() -> Callable[..., SessionRecord]:
    return make_record
