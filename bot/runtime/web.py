"""The one HTTP server: every enabled adapter's routes, plus /healthz and /readyz.

Flask routes the requests; waitress serves them (multi-threaded, production-grade, pure Python).
Adapters never see Flask: they get a neutral HttpRequest and return an HttpResponse.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask, Response, request
from waitress.server import create_server

from bot.runtime.http_types import HttpRequest, Route

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Slack and Mattermost payloads are far smaller


def create_web_app(routes: Iterable[Route], ready: Callable[[], bool]) -> Flask:
    app = Flask("socialmedia-check")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.get("/healthz")
    def healthz() -> Response:
        return Response('{"status":"ok"}', 200, mimetype="application/json")

    @app.get("/readyz")
    def readyz() -> Response:
        try:
            ok = ready()
        except Exception:  # readiness must answer, whatever the store raises
            log.exception("readiness check failed")
            ok = False
        if ok:
            return Response('{"status":"ready"}', 200, mimetype="application/json")
        return Response('{"status":"unavailable","redis":"unreachable"}', 503, mimetype="application/json")

    for route in routes:
        app.add_url_rule(route.path, endpoint=route.path, view_func=_view(route), methods=list(route.methods))
    return app


def _view(route: Route) -> Callable[[], Response]:
    def view() -> Response:
        incoming = HttpRequest(
            method=request.method,
            path=request.path,
            body=request.get_data(cache=False),
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.args.items()),
        )
        reply = route.handler(incoming)
        return Response(reply.body, reply.status, headers=dict(reply.headers))

    return view


@dataclass
class ServerHandle:
    """A waitress server running in a background thread (tests, and embedding)."""

    host: str
    port: int
    _server: object
    _thread: threading.Thread
    _stopping: threading.Event

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._stopping.set()
        self._server.close()  # type: ignore[attr-defined]
        self._thread.join(timeout=10)


def serve_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 0, threads: int = 8) -> ServerHandle:
    server = create_server(app, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=True)
    actual_port = server.socket.getsockname()[1]  # type: ignore[union-attr]
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError):
            # waitress has no graceful stop: closing its sockets under the select() loop raises
            # EBADF there. Expected once stop() was called; anything else is a real failure.
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, name="waitress", daemon=True)
    thread.start()
    return ServerHandle(host, actual_port, server, thread, stopping)


def serve_forever(app: Flask, host: str, port: int, threads: int = 16) -> None:
    server = create_server(app, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=True)
    log.info("listening on http://%s:%s", host, port)
    server.run()
