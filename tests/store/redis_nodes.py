"""Real redis-server and redis-sentinel processes on loopback, for the tests beyond one node (TLS, ACL
users, Sentinel), and a throwaway certificate authority made with the ``openssl`` command.

Redis cannot bind port 0 and tell which port it got, so each node takes a port the OS just handed
out and, should another process take it first ("Address already in use"), starts again on another.
A node is ready once its log says so; nothing here sleeps a fixed time.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.errors import StoreError
from bot.runtime.redis_server import find_redis_server

WAIT = 20.0  # a bound on waiting for an outcome, never a pause
HOST = "127.0.0.1"
_READY = "Ready to accept connections"  # a data node's log, once it listens
_SENTINEL_READY = "+monitor master"  # a sentinel's (it has bound its port before)
_IN_USE = "Address already in use"


def redis_server() -> str:
    try:
        return find_redis_server()
    except StoreError as exc:
        pytest.fail(f"these tests need a real redis-server: {exc}", pytrace=False)


def redis_sentinel() -> list[str]:
    """The command that starts a sentinel: Debian's ``redis-sentinel`` (the package of that name)."""
    found = shutil.which("redis-sentinel") or next(
        (str(p) for p in (Path("/usr/bin/redis-sentinel"), Path("/usr/local/bin/redis-sentinel")) if p.exists()), None
    )
    if found is None:
        pytest.fail(
            "these tests need redis-sentinel: scripts/ensure-system-deps.sh test installs it "
            "(Debian/Ubuntu: apt-get install -y redis-sentinel; macOS: brew install redis)",
            pytrace=False,
        )
    return [found]


@dataclass
class Node:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    def client(self, **options: Any) -> redis.Redis:
        options.setdefault("socket_timeout", 5.0)
        options.setdefault("socket_connect_timeout", 5.0)
        return redis.Redis(host=HOST, port=self.port, decode_responses=True, **options)

    @contextlib.contextmanager
    def connected(self, **options: Any) -> Iterator[redis.Redis]:
        client = self.client(**options)
        try:
            yield client
        finally:
            client.close()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start_node(
    directory: Path,
    name: str,
    config: Callable[[int], list[str]],
    *,
    sentinel: bool = False,
    attempts: int = 20,
) -> Node:
    """Start ``name`` with the lines ``config(port)`` returns (it names the port: ``port`` or ``tls-port``)."""
    directory.mkdir(parents=True, exist_ok=True)
    command = redis_sentinel() if sentinel else [redis_server()]
    for _ in range(attempts):
        port = free_port()
        conf = directory / f"{name}.conf"
        lines = ["daemonize no", f"bind {HOST}", f'dir "{directory}"', 'logfile ""', *config(port)]
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        log_path = directory / f"{name}.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                [*command, str(conf)], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        node = Node(name, port, proc, log_path)
        deadline = time.monotonic() + WAIT
        while (_SENTINEL_READY if sentinel else _READY) not in (text := node.log()):
            if proc.poll() is not None:
                break
            if time.monotonic() > deadline:
                node.stop()
                raise AssertionError(f"{name} did not start within {WAIT:g}s:\n{node.log()}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.01)
        else:
            return node
        node.stop()
        if _IN_USE not in text:
            raise AssertionError(f"{name} exited with {proc.returncode}:\n{text}")
    raise AssertionError(f"{name}: no free port after {attempts} attempts")


def wait_for(what: str, condition: Callable[[], Any], timeout: float = WAIT, pause: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something truthy (Redis errors count as not yet)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = condition()
            if result:
                return result
            last = result
        except redis.RedisError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")
        time.sleep(pause)  # the pause between two polls of a condition, not a synchronisation


# --- a throwaway certificate authority ---------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_certificates(directory: Path) -> Certificates:
    """A private CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("these tests need the openssl command (Debian/Ubuntu: apt-get install -y openssl)", pytrace=False)
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=directory)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=smc test CA",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    for name, extensions in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        (directory / f"{name}.ext").write_text(extensions + "\n", encoding="utf-8")
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=smc test {name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")  # fmt: skip
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem")  # fmt: skip
    return Certificates(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )


def tls_lines(certs: Certificates, port: int, *, auth_clients: str = "yes") -> list[str]:
    """A node that speaks TLS only, on ``port``."""
    return [
        "port 0",
        f"tls-port {port}",
        f'tls-cert-file "{certs.server_cert}"',
        f'tls-key-file "{certs.server_key}"',
        f'tls-ca-cert-file "{certs.ca}"',
        f"tls-auth-clients {auth_clients}",
    ]
