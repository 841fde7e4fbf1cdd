"""Start and stop a private redis-server (the console's store, and the tests' real Redis).

The server runs as a plain subprocess (``daemonize no``) configured by a file generated in the data
directory; its output goes to ``<data_dir>/redis.log``. In unix-socket mode a server already answering
on ``<data_dir>/redis.sock`` (left by a bot that was killed) is adopted instead of started twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.errors import StoreError

INSTALL_HINT = (
    "Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis; "
    "or set REDIS_URL to a running Redis"
)
FALLBACK_DIRS: tuple[str, ...] = ("/usr/bin", "/usr/sbin", "/usr/local/bin")

SOCKET_NAME = "redis.sock"
PIDFILE_NAME = "redis.pid"
LOG_NAME = "redis.log"
CONF_NAME = "redis.conf"

# sun_path holds 104 (macOS) or 108 (Linux) bytes including the NUL; keep a margin.
_MAX_SOCKET_PATH = 100
_POLL_INTERVAL = 0.02
_LOG_TAIL = 20


def find_redis_server(explicit: str | None = None) -> str:
    """Path of the redis-server binary: ``explicit`` (SMC_REDIS_SERVER) if given, else PATH first,
    then the usual system directories."""
    if explicit:
        if Path(explicit).is_file() and os.access(explicit, os.X_OK):
            return explicit
        raise StoreError(f"SMC_REDIS_SERVER={explicit} is not an executable redis-server. Install it — {INSTALL_HINT}")
    found = shutil.which("redis-server")
    if found:
        return found
    for directory in FALLBACK_DIRS:
        candidate = Path(directory) / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise StoreError(
        f"redis-server was not found on PATH nor in {', '.join(FALLBACK_DIRS)}. Install it — {INSTALL_HINT}"
    )


@dataclass
class RedisProcess:
    """A redis-server this bot started (or adopted); ``stop()`` shuts it down."""

    url: str  # "unix:///abs/path/redis.sock" or "redis://127.0.0.1:PORT/0"
    pid: int
    data_dir: Path
    persistent: bool = True
    adopted: bool = False  # True when a server left running on the same socket was reused
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @classmethod
    def start(
        cls,
        data_dir: Path,
        *,
        port: int | None = None,
        unix_socket: bool = True,
        persistent: bool = True,
        timeout: float = 10.0,
        executable: str | None = None,
    ) -> RedisProcess:
        """Start a server in ``data_dir``: on TCP 127.0.0.1:``port`` when a port is given, else on a
        unix socket in ``data_dir``. Returns once it answers PING."""
        data_dir = Path(data_dir).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        sock: Path | None = None
        if port is not None:
            url = f"redis://127.0.0.1:{port}/0"
        elif unix_socket:
            sock = data_dir / SOCKET_NAME
            if len(os.fsencode(sock)) > _MAX_SOCKET_PATH:
                raise StoreError(f"the Redis socket path {sock} is too long for a unix socket; use a shorter data dir")
            url = f"unix://{sock}"
            adopted = cls._adopt(url, data_dir, persistent, timeout)
            if adopted is not None:
                return adopted
        else:
            raise StoreError("RedisProcess.start needs a port or unix_socket=True")

        conf = data_dir / CONF_NAME
        conf.write_text(_config(data_dir, port=port, sock=sock, persistent=persistent), encoding="utf-8")
        with open(data_dir / LOG_NAME, "ab") as log:
            # A session of its own: Ctrl-C in the bot's terminal must not kill Redis before the bot
            # has written its last state; the bot's stop() shuts it down in order.
            proc = subprocess.Popen(
                [find_redis_server(executable), str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = cls(url=url, pid=proc.pid, data_dir=data_dir, persistent=persistent, _proc=proc)
        server._wait_ready(timeout)
        return server

    @classmethod
    def _adopt(cls, url: str, data_dir: Path, persistent: bool, timeout: float) -> RedisProcess | None:
        """Reuse a server already serving ``data_dir``'s socket; clear a stale socket/pidfile."""
        pid = _server_pid(url)
        pidfile = data_dir / PIDFILE_NAME
        if pid is None:
            old_pid = _read_pid(pidfile)
            if old_pid is None or not _live_redis(old_pid):
                (data_dir / SOCKET_NAME).unlink(missing_ok=True)
                pidfile.unlink(missing_ok=True)
                return None
            # Its redis-server is alive but silent: probably still starting. Give it the timeout.
            pid = old_pid
        server = cls(url=url, pid=pid, data_dir=data_dir, persistent=persistent, adopted=True)
        server._wait_ready(timeout)
        return server

    def stop(self, timeout: float = 10.0) -> None:
        """SHUTDOWN (NOSAVE when not persistent) and wait until the process is gone. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            with _control_client(self.url) as client:
                client.shutdown(nosave=not self.persistent)  # returns quietly when nothing answers
        except redis.RedisError:
            pass  # refused SHUTDOWN: the wait below ends with a kill
        if self._proc is not None:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            return
        if not _wait_until(lambda: not _live_redis(self.pid), timeout):
            raise StoreError(f"redis-server (pid {self.pid}) did not exit within {timeout:g}s after SHUTDOWN")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with _control_client(self.url) as client:
            while True:
                if self._proc is not None and self._proc.poll() is not None:
                    raise StoreError(
                        f"redis-server exited with code {self._proc.returncode} while starting. "
                        f"Last lines of {self.data_dir / LOG_NAME}:\n{self.log_tail()}"
                    )
                try:
                    # On a busy TCP port PING may reach somebody else's server: check the pid.
                    if client.ping() and (self._proc is None or _info_pid(client) == self.pid):
                        return
                except redis.RedisError:
                    pass  # not listening yet, or still loading its append-only file
                if time.monotonic() >= deadline:
                    if self._proc is not None:
                        self._proc.kill()
                        self._proc.wait()
                    self._stopped = True
                    raise StoreError(
                        f"redis-server did not answer on {self.url} within {timeout:g}s. "
                        f"Last lines of {self.data_dir / LOG_NAME}:\n{self.log_tail()}"
                    )
                time.sleep(_POLL_INTERVAL)

    def log_tail(self, lines: int = _LOG_TAIL) -> str:
        try:
            with open(self.data_dir / LOG_NAME, encoding="utf-8", errors="replace") as log:
                return "".join(deque(log, maxlen=lines)).rstrip()
        except OSError:
            return "(no log)"


def _config(data_dir: Path, *, port: int | None, sock: Path | None, persistent: bool) -> str:
    lines = [
        "daemonize no",
        f"dir {_quote(data_dir)}",
        f"pidfile {_quote(data_dir / PIDFILE_NAME)}",
        'logfile ""',  # stdout, which start() sends to redis.log
        "bind 127.0.0.1",
        "protected-mode yes",
        f"port {port or 0}",
        'save ""',  # no RDB snapshots: the append-only file is the durable copy when persistent
    ]
    if sock is not None:
        lines += [f"unixsocket {_quote(sock)}", "unixsocketperm 700"]
    if persistent:
        # fsync before every reply: what the console acknowledged survives kill -9 of bot and Redis.
        lines += ["appendonly yes", "appendfsync always"]
    else:
        lines += ["appendonly no"]
    return "\n".join(lines) + "\n"


def _quote(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _control_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0, retry=Retry(NoBackoff(), 0))


def _server_pid(url: str) -> int | None:
    """The pid of the redis-server answering at ``url``, or None when nothing answers."""
    try:
        with _control_client(url) as client:
            return _info_pid(client)
    except redis.RedisError:
        return None


def _info_pid(client: redis.Redis) -> int:
    return int(client.info("server")["process_id"])


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _live_redis(pid: int) -> bool:
    """True while ``pid`` is a running (not zombie) process that looks like a redis-server."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True  # no procfs (macOS): trust the signal probe
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return False  # vanished meanwhile
    return state != "Z" and b"redis" in cmdline


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL)
    return True
