"""The WSGI application behind the one HTTP server: the adapters' routes, /healthz, /readyz, /metrics.

A plain WSGI callable rather than a web framework: the bot serves six fixed paths, and on the click
path a framework's request and response objects, context locals and URL matching cost more than the
bot's own work (issue #13). What a framework would otherwise give is here: an exact path match,
``405`` with ``Allow`` for a wrong method (``HEAD`` wherever ``GET`` is served), a body limit, and a
small JSON body for every error — never an HTML page, never a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from bot.runtime.http_types import Handler, HttpRequest, HttpResponse, Route
from bot.runtime.metrics import NO_METRICS, Metrics

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Slack and Mattermost payloads are far smaller
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"

StartResponse = Callable[..., Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_JSON = "application/json"
_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# CONTENT_TYPE and CONTENT_LENGTH are the two headers WSGI does not prefix with HTTP_
_UNPREFIXED = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def error_body(status: int) -> bytes:
    return json.dumps({"error": _REASONS.get(status, "Error"), "status": status}).encode()


class WebApp:
    """Routes by exact path, then by method; every adapter handler gets a neutral :class:`HttpRequest`."""

    def __init__(self, routes: Iterable[Route], ready: Callable[[], bool], metrics: Metrics = NO_METRICS) -> None:
        self._ready = ready
        self._metrics = metrics
        metrics.watch_readiness(ready)  # smc_ready: what /readyz says, asked at every scrape
        self.routes: dict[str, dict[str, Handler]] = {
            HEALTH_PATH: {"GET": self._health},
            READY_PATH: {"GET": self._readiness},
            METRICS_PATH: {"GET": self._metrics_text},
        }
        for route in routes:
            methods = self.routes.setdefault(route.path, {})
            for method in route.methods:
                methods[method.upper()] = route.handler

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO") or "/")
        try:
            reply = self._answer(environ, method, path)
        except Exception as exc:  # a bug in a handler: logged, answered with a small JSON 500
            log.error("unhandled error serving %s %s", method, path[:200], exc_info=exc)
            reply = HttpResponse(500, error_body(500), {"Content-Type": _JSON})
        headers = [(name, value) for name, value in reply.headers.items() if name.lower() != "content-length"]
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
        headers.append(("Content-Length", str(len(reply.body))))
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Status')}", headers)
        return [b""] if method == "HEAD" else [reply.body]

    def _answer(self, environ: dict[str, Any], method: str, path: str) -> HttpResponse:
        methods = self.routes.get(path)
        if methods is None:
            return HttpResponse(404, error_body(404), {"Content-Type": _JSON})
        handler = methods.get("GET" if method == "HEAD" else method)
        if handler is None:
            allowed = sorted({*methods, *(("HEAD",) if "GET" in methods else ()), "OPTIONS"})
            if method == "OPTIONS":
                return HttpResponse(200, b"", {"Allow": ", ".join(allowed)})
            return HttpResponse(405, error_body(405), {"Content-Type": _JSON, "Allow": ", ".join(allowed)})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse(400, error_body(400), {"Content-Type": _JSON})
        if length > MAX_BODY or length < 0:
            return HttpResponse(413, error_body(413), {"Content-Type": _JSON})
        body = environ["wsgi.input"].read(length) if length else b""
        return handler(
            HttpRequest(method=method, path=path, body=body, headers=_headers(environ), query=_query(environ))
        )

    # --- the server's own routes ------------------------------------------------------------------

    def _health(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, b'{"status":"ok"}', {"Content-Type": _JSON})

    def _readiness(self, request: HttpRequest) -> HttpResponse:
        try:
            ok = self._ready()
        except Exception:  # readiness must answer, whatever the store raises
            log.exception("readiness check failed")
            ok = False
        if ok:
            return HttpResponse(200, b'{"status":"ready"}', {"Content-Type": _JSON})
        return HttpResponse(503, b'{"status":"unavailable","redis":"unreachable"}', {"Content-Type": _JSON})

    def _metrics_text(self, request: HttpRequest) -> HttpResponse:  # Prometheus's text format
        body, content_type = self._metrics.exposition()
        return HttpResponse(200, body, {"Content-Type": content_type})


def create_web_app(routes: Iterable[Route], ready: Callable[[], bool], metrics: Metrics = NO_METRICS) -> WebApp:
    return WebApp(routes, ready, metrics)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = str(value)
        elif key in _UNPREFIXED and value:
            headers[_UNPREFIXED[key]] = str(value)
    return headers


def _query(environ: dict[str, Any]) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, value in parse_qsl(str(environ.get("QUERY_STRING") or ""), keep_blank_values=True):
        query.setdefault(name, value)  # the first of repeated names, as Slack's and Mattermost's never repeat
    return query
