"""The one HTTP server (bot.runtime.web.WebServer) over real sockets: health checks, drain, stop.

A route that blocks on an event the test controls stands for a request in flight; nothing sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
import requests

from bot.runtime.http_types import HttpRequest, HttpResponse, Route
from bot.runtime.web import WebServer, create_web_app

WAIT = 10.0


class SlowRoute:
    """``POST /slow`` answers only once :attr:`release` is set; :attr:`entered` says it is running."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def handle(self, request: HttpRequest) -> HttpResponse:
        self.entered.set()
        assert self.release.wait(WAIT), "the test never released the slow request"
        return HttpResponse.json(200, {"done": request.body.decode()})

    @property
    def route(self) -> Route:
        return Route("/slow", ("POST",), self.handle)


@pytest.fixture
def slow() -> SlowRoute:
    return SlowRoute()


@pytest.fixture
def server(slow: SlowRoute) -> Iterator[WebServer]:
    web = WebServer(create_web_app([slow.route], ready=lambda: True)).start()
    try:
        yield web
    finally:
        slow.release.set()
        web.stop()


def get(web: WebServer, path: str) -> requests.Response:
    return requests.get(web.url + path, timeout=WAIT)


def test_health_and_readiness_answer(server: WebServer) -> None:
    assert get(server, "/healthz").json() == {"status": "ok"}
    ready = get(server, "/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_readiness_is_503_when_the_check_raises() -> None:
    def broken() -> bool:
        raise ConnectionError("redis is gone")

    web = WebServer(create_web_app([], ready=broken)).start()
    try:
        reply = get(web, "/readyz")
        assert reply.status_code == 503 and reply.json()["redis"] == "unreachable"
        assert get(web, "/healthz").status_code == 200
    finally:
        web.stop()


def test_a_drain_lets_the_request_in_flight_finish_and_refuses_new_ones(server: WebServer, slow: SlowRoute) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        in_flight: Future[requests.Response] = pool.submit(
            requests.post, server.url + "/slow", data=b"first", timeout=WAIT
        )
        assert slow.entered.wait(WAIT)
        server.refuse_new()
        drained: Future[bool] = pool.submit(server.drain, WAIT)

        # While the request is inside, the server is draining: readiness and new work get 503,
        # liveness stays 200 (an orchestrator must not kill a process that is finishing its work).
        ready = get(server, "/readyz")
        assert ready.status_code == 503 and ready.json() == {"status": "draining"}
        assert requests.post(server.url + "/slow", data=b"second", timeout=WAIT).status_code == 503
        assert get(server, "/healthz").status_code == 200
        assert not in_flight.done() and not drained.done()

        slow.release.set()
        reply = in_flight.result(WAIT)
        assert reply.status_code == 200 and reply.json() == {"done": "first"}
        assert drained.result(WAIT) is True
    assert server.in_flight == 0


def test_a_drain_gives_up_at_its_timeout_and_says_so(server: WebServer, slow: SlowRoute) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_flight = pool.submit(requests.post, server.url + "/slow", data=b"x", timeout=WAIT)
        assert slow.entered.wait(WAIT)
        assert server.drain(0.05) is False
        assert server.in_flight == 1
        slow.release.set()
        assert in_flight.result(WAIT).status_code == 200


def test_stop_closes_the_listener_and_is_idempotent(server: WebServer) -> None:
    assert get(server, "/healthz").status_code == 200
    session = requests.Session()  # an idle keep-alive connection must not keep the server up
    assert session.get(server.url + "/healthz", timeout=WAIT).status_code == 200
    assert server.drain(WAIT) is True
    assert server.stop() is True
    assert server.stop() is True
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/healthz", timeout=WAIT)
    session.close()


def test_a_server_never_started_can_be_stopped() -> None:
    web = WebServer(create_web_app([], ready=lambda: True))
    assert web.stop() is True
