"""The WSGI application (bot.runtime.wsgi) on its own: routing, limits and errors, all small JSON."""

from __future__ import annotations

import logging

import pytest

from bot.runtime.http_types import HttpRequest, HttpResponse, Route
from bot.runtime.wsgi import MAX_BODY, create_web_app
from tests.runtime.wsgi_client import call


def echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json(
        200,
        {"body": request.body.decode(), "query": dict(request.query), "type": request.headers.get("content-type")},
    )


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("database on fire: Traceback (most recent call last)")


APP = create_web_app([Route("/echo", ("POST",), echo), Route("/broken", ("POST",), broken)], ready=lambda: True)


def test_a_route_gets_the_body_query_and_headers() -> None:
    reply = call(APP, "POST", "/echo?b=2&a=1&a=3", b"hello", {"Content-Type": "text/plain"})
    assert reply.status_code == 200
    assert reply.json() == {"body": "hello", "query": {"b": "2", "a": "1"}, "type": "text/plain"}
    assert reply.headers["content-length"] == str(len(reply.data))


def test_unknown_paths_and_methods_answer_json() -> None:
    missing = call(APP, "GET", "/echo/")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found", "status": 404}
    wrong = call(APP, "GET", "/echo")
    assert wrong.status_code == 405 and wrong.is_json and wrong.headers["allow"] == "OPTIONS, POST"
    options = call(APP, "OPTIONS", "/healthz")
    assert options.status_code == 200 and options.headers["allow"] == "GET, HEAD, OPTIONS"


def test_head_answers_like_get_without_a_body() -> None:
    head = call(APP, "HEAD", "/healthz")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["content-length"] == str(len(call(APP, "GET", "/healthz").data))


def test_a_body_over_the_limit_is_refused_unread() -> None:
    big = call(APP, "POST", "/echo", b"x" * (MAX_BODY + 1))
    assert big.status_code == 413 and big.json()["status"] == 413
    assert call(APP, "POST", "/echo", b"x" * MAX_BODY).status_code == 200


def test_a_handler_that_raises_gives_a_small_json_500_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.runtime.wsgi"):
        reply = call(APP, "POST", "/broken")
    assert reply.status_code == 500 and reply.json() == {"error": "Internal Server Error", "status": 500}
    assert b"Traceback" not in reply.data and b"fire" not in reply.data
    assert any("unhandled error serving POST /broken" in r.getMessage() for r in caplog.records)
