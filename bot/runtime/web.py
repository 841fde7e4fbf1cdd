"""The one HTTP server: every enabled adapter's routes, plus /healthz, /readyz and /metrics.

waitress serves (multi-threaded, production-grade, pure Python) the WSGI application of
:mod:`bot.runtime.wsgi`, which routes the requests; adapters get a neutral HttpRequest and return an
HttpResponse.

:class:`WebServer` is the one server of both ``serve`` and ``socket``. Waitress has no graceful stop,
so the server puts a gate in front of the application: :meth:`WebServer.drain` makes every new
request but ``/healthz`` answer 503 (``/readyz`` included, so load balancers move away) and waits for
the requests already inside the application; :meth:`WebServer.stop` then closes the sockets from
waitress's own loop thread, letting finished responses flush first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from bot.runtime.wsgi import HEALTH_PATH, StartResponse, Wsgi
from bot.runtime.wsgi import create_web_app as create_web_app

log = logging.getLogger(__name__)


class _Gate:
    """WSGI middleware: counts the requests inside the application; once draining, lets none in."""

    def __init__(self, app: Wsgi) -> None:
        self._app = app
        self._cond = threading.Condition()
        self._inside = 0
        self.draining = False

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        with self._cond:
            refuse = self.draining and environ.get("PATH_INFO") != HEALTH_PATH
            if not refuse:
                self._inside += 1
        if refuse:
            start_response("503 Service Unavailable", [("Content-Type", "application/json"), ("Retry-After", "5")])
            return [b'{"status":"draining"}']
        try:
            body = self._app(environ, start_response)
        except BaseException:
            self._leave()
            raise
        return _Counted(body, self._leave)

    def _leave(self) -> None:
        with self._cond:
            self._inside -= 1
            self._cond.notify_all()

    def refuse_new(self) -> None:
        with self._cond:
            self.draining = True

    def drain(self, timeout: float) -> bool:
        with self._cond:
            self.draining = True
            return self._cond.wait_for(lambda: self._inside == 0, max(timeout, 0.0))

    @property
    def inside(self) -> int:
        with self._cond:
            return self._inside


class _Counted:
    """A response body that tells the gate when the server is done with it (WSGI calls close())."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body = body
        self._done: Callable[[], None] | None = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()


class WebServer:
    """A waitress server on its own thread that can drain and stop (both modes, tests, embedding)."""

    def __init__(self, app: Wsgi, host: str = "127.0.0.1", port: int = 0, threads: int = 16) -> None:
        self._gate = _Gate(app)
        server = create_server(self._gate, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=True)
        if not isinstance(server, BaseWSGIServer):  # one host:port gives one socket
            raise TypeError("expected a single listening socket")
        self._server = server
        self.host = host
        self.port = int(server.socket.getsockname()[1])
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def draining(self) -> bool:
        return self._gate.draining

    @property
    def in_flight(self) -> int:
        """Requests inside the application right now."""
        return self._gate.inside

    def start(self) -> WebServer:
        self._thread = threading.Thread(target=self._server.run, name="waitress", daemon=True)
        self._thread.start()
        log.info("listening on http://%s:%s", self.host, self.port)
        return self

    def refuse_new(self) -> None:
        """From now on answer 503 to every new request but /healthz (``/readyz`` included)."""
        self._gate.refuse_new()

    def drain(self, timeout: float) -> bool:
        """Answer 503 to new requests (not /healthz); wait for those in flight. True when none is left."""
        done = self._gate.drain(timeout)
        if not done:
            log.warning("%d request(s) still in flight after the drain", self._gate.inside)
        return done

    def stop(self, timeout: float = 5.0) -> bool:
        """Close the listener and every connection (after its response went out). Idempotent."""
        if self._stopped.is_set():
            return True
        self._stopped.set()
        if self._thread is None:
            self._close_in_loop()
            return True
        try:
            self._server.trigger.pull_trigger(self._close_in_loop)
        except OSError:
            # waitress closes its whole socket map, the trigger included, when its loop ends; then
            # there is nothing left to wake, only the thread to wait for.
            log.warning("the server loop had already closed its sockets", exc_info=True)
        self._thread.join(timeout)
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        return not self._thread.is_alive()

    def _close_in_loop(self) -> None:
        # Runs in waitress's loop thread, so no socket is closed under its select().
        socket_map: dict[int, Any] = self._server._map
        for channel in list(socket_map.values()):
            if channel is self._server.trigger or channel is self._server:
                continue  # closed once, below: a second os.close could hit a reused descriptor
            if isinstance(channel, HTTPChannel) and (channel.total_outbufs_len or channel.requests):
                channel.close_when_flushed = True  # the loop closes it once the response is out
                continue
            try:
                channel.close()
            except OSError:
                log.debug("closing a socket failed", exc_info=True)
        self._server.trigger.close()
        wasyncore.dispatcher.close(self._server)


# Kept for the adapters' tests: a started server with ``url`` and ``stop()``.
ServerHandle = WebServer


def serve_in_thread(app: Wsgi, host: str = "127.0.0.1", port: int = 0, threads: int = 8) -> WebServer:
    return WebServer(app, host, port, threads).start()
