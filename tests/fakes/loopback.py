"""The lifecycle every HTTP fake shares: a threaded server on 127.0.0.1, a free port, a context manager."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class _CountingServer(ThreadingHTTPServer):
    """Counts the TCP connections it accepted (a keep-alive client reuses one for many requests)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.connections = 0
        self._count_lock = threading.Lock()

    def process_request(self, request: object, client_address: object) -> None:
        with self._count_lock:
            self.connections += 1
        # A response is written as headers, then body: with Nagle's algorithm the body waited for the
        # client's delayed ACK of the headers, 40 ms a call on a kept-alive connection. A real server
        # answers at once.
        if isinstance(request, socket.socket):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(request, client_address)  # type: ignore[arg-type]


class LoopbackServer:
    """Subclasses implement :meth:`handler_class`; ``with Fake() as fake:`` starts and stops it."""

    thread_name = "fake-http"

    def __init__(self) -> None:
        self._server: _CountingServer | None = None
        self._thread: threading.Thread | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        self._server = _CountingServer(("127.0.0.1", 0), self.handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connections(self) -> int:
        """TCP connections accepted so far (HTTP requests on a kept-alive connection count once)."""
        assert self._server is not None, "start() the fake first"
        with self._server._count_lock:
            return self._server.connections

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])
