"""Starting, adopting and stopping the private redis-server."""

from __future__ import annotations

import os
import signal
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.errors import StoreError
from bot.runtime import redis_server
from bot.runtime.redis_server import LOG_NAME, PIDFILE_NAME, SOCKET_NAME, RedisProcess, find_redis_server


@pytest.fixture
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A short path: unix socket paths are limited to ~100 bytes.
    return tmp_path_factory.mktemp("rs")


@pytest.fixture
def servers() -> Iterator[list[RedisProcess]]:
    """Every server a test starts is stopped afterwards, even when the test fails."""
    started: list[RedisProcess] = []
    yield started
    for server in reversed(started):
        server.stop()


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def test_unix_socket_server_is_private_and_answers(data_dir: Path, servers: list[RedisProcess]) -> None:
    server = RedisProcess.start(data_dir, persistent=False)
    servers.append(server)
    sock = data_dir / SOCKET_NAME
    assert server.url == f"unix://{sock}" and not server.adopted
    assert stat.S_IMODE(sock.stat().st_mode) == 0o700
    with _client(server.url) as client:
        assert client.ping()
        assert client.config_get("port") == {"port": "0"}
        assert client.config_get("appendonly") == {"appendonly": "no"}
    assert (data_dir / LOG_NAME).exists()


def test_aof_survives_kill_9(data_dir: Path, servers: list[RedisProcess]) -> None:
    first = RedisProcess.start(data_dir, persistent=True)
    servers.append(first)
    with _client(first.url) as client:
        assert client.config_get("appendfsync") == {"appendfsync": "always"}
        client.set("smc:test:key", "kept")
        client.hset("smc:test:h", mapping={"a": "1", "b": "2"})

    os.kill(first.pid, signal.SIGKILL)
    first.stop()  # SHUTDOWN finds nobody; reaps the killed child
    # kill -9 leaves the socket file and the pidfile behind
    assert (data_dir / SOCKET_NAME).exists() and (data_dir / PIDFILE_NAME).exists()

    second = RedisProcess.start(data_dir, persistent=True)
    servers.append(second)
    assert not second.adopted and second.pid != first.pid
    with _client(second.url) as client:
        assert client.get("smc:test:key") == "kept"
        assert client.hgetall("smc:test:h") == {"a": "1", "b": "2"}


def test_second_start_adopts_the_running_server(data_dir: Path, servers: list[RedisProcess]) -> None:
    first = RedisProcess.start(data_dir, persistent=True)
    servers.append(first)
    second = RedisProcess.start(data_dir, persistent=True)
    servers.append(second)
    assert second.adopted
    assert (second.pid, second.url) == (first.pid, first.url)
    with _client(second.url) as client:
        assert int(client.info("server")["process_id"]) == first.pid

    second.stop()  # the adopter shuts the shared server down
    with pytest.raises(redis.ConnectionError), _client(first.url) as client:
        client.ping()
    first.stop()
    first.stop()  # idempotent


def _listening_socket() -> socket.socket:
    """A socket bound to a kernel-chosen port and listening, held open so nobody else can take it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def _start_on_tcp(data_dir: Path, attempts: int = 5) -> tuple[RedisProcess, int]:
    """redis-server needs a port number up front: take a kernel-chosen one, and if another process
    grabbed it between our release and redis' bind, try a fresh one."""
    for attempt in range(attempts):
        with _listening_socket() as probe:
            port: int = probe.getsockname()[1]
        try:
            return RedisProcess.start(data_dir / str(attempt), port=port, unix_socket=False, persistent=False), port
        except StoreError as exc:
            if "Address already in use" not in str(exc):
                raise
    raise AssertionError(f"no free TCP port in {attempts} attempts")


def test_tcp_mode(data_dir: Path, servers: list[RedisProcess]) -> None:
    server, port = _start_on_tcp(data_dir)
    servers.append(server)
    assert server.url == f"redis://127.0.0.1:{port}/0"
    with _client(server.url) as client:
        assert client.ping()
        assert client.config_get("bind") == {"bind": "127.0.0.1"}
        assert client.config_get("save") == {"save": ""}
    server.stop()
    assert server._proc is not None and server._proc.returncode is not None


def test_early_exit_reports_the_log(data_dir: Path, servers: list[RedisProcess]) -> None:
    with _listening_socket() as busy:  # held for the whole start: no window for anybody else
        port = busy.getsockname()[1]
        with pytest.raises(StoreError, match="exited with code") as excinfo:
            RedisProcess.start(data_dir / "b", port=port, unix_socket=False, persistent=False)
    assert "Address already in use" in str(excinfo.value)


def test_find_redis_server_explains_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory
    # The fixed fallback directories are searched too; on this machine /usr/bin has redis-server,
    # so they must be emptied as well for the error path.
    monkeypatch.setattr(redis_server, "FALLBACK_DIRS", (str(tmp_path),))
    with pytest.raises(StoreError) as excinfo:
        find_redis_server()
    message = str(excinfo.value)
    assert "Debian/Ubuntu: sudo apt-get install -y redis-server" in message
    assert "macOS: brew install redis" in message
    assert "or set REDIS_URL to a running Redis" in message


def test_find_redis_server_falls_back_to_system_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = Path(find_redis_server())
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(redis_server, "FALLBACK_DIRS", (str(tmp_path / "none"), str(real.parent)))
    assert find_redis_server() == str(real)
