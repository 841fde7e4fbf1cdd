"""The REST client reads the proxy variables once, at start, and still honours them (and NO_PROXY)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from bot.adapters.mattermost.api import MattermostApi
from tests.fakes.loopback import LoopbackServer


class Proxy(LoopbackServer):
    """An HTTP proxy that answers every request itself and keeps the request lines it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                proxy.lines.append(self.requestline)
                body = json.dumps({"id": "bot-user", "username": "socialmedia-check"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    with Proxy() as running:
        yield running


def test_a_call_goes_through_the_proxy_the_environment_names(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    api = MattermostApi("http://chat.invalid:8065", "bot-token", max_attempts=1)
    monkeypatch.delenv("HTTP_PROXY")  # read once, when the client was made
    assert api.login()["id"] == "bot-user"
    assert proxy.lines == ["GET http://chat.invalid:8065/api/v4/users/me HTTP/1.1"]


def test_no_proxy_keeps_the_server_off_the_proxy(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "chat.invalid")
    api = MattermostApi("http://chat.invalid:8065", "bot-token", max_attempts=1)
    with pytest.raises(Exception, match="Mattermost login"):
        api.login()  # straight to chat.invalid, which does not resolve
    assert proxy.lines == []
