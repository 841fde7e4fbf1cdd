"""Socket Mode: bolt's SocketModeHandler (the SDK's built-in client) against a local fake server.

apps.connections.open on the fake Web API hands out the fake Socket Mode server's ws:// URL; the server
says hello and pushes a ``slash_commands`` envelope; the bot must ack the envelope and post the check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest

from bot.adapters.slack.app import build_slack_adapter
from bot.app import build_service
from bot.config import load_settings
from bot.errors import ConfigError
from bot.store.store import Store
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_signing import SlackSender
from tests.fakes.socket_mode import FakeSocketMode

CHANNEL = "C0SOCKET1"


@pytest.fixture
def socket_server() -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as server:
        yield server


@pytest.fixture
def fake(socket_server: FakeSocketMode) -> Iterator[FakeSlackApi]:
    with FakeSlackApi(socket_mode_url=socket_server.url) as api:
        yield api
    assert api.violations == []
    assert api.mentions() == []


def test_slash_command_over_socket_mode(fake: FakeSlackApi, socket_server: FakeSocketMode, store: Store) -> None:
    # Socket Mode needs no signing secret and no public URL: only the bot token and the app token.
    settings = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_APP_TOKEN": "xapp-1-test", "SLACK_API_URL": fake.url}
    )
    adapter = build_slack_adapter(settings, build_service(settings, store), store)
    assert adapter.routes() == []  # without a signing secret nothing is served over HTTP
    runner = threading.Thread(target=adapter.start_socket_mode, name="socket-mode", daemon=True)
    runner.start()
    try:
        socket_server.wait_connected()
        opened = fake.wait_for("apps.connections.open")
        assert opened[0].headers["authorization"] == "Bearer xapp-1-test"

        # Slack sends the slash command's fields as JSON inside the envelope (PLATFORMS.md S7).
        form = SlackSender("unused", "unused").command_body(
            CHANNEL, "U0FAC0001", "start en", user_name="fae", trigger_id=fake.trigger_id()
        )
        envelope_id = socket_server.send("slash_commands", dict(parse_qsl(form, keep_blank_values=True)))
        ack = socket_server.wait_ack(envelope_id)
        assert ack == {"envelope_id": envelope_id}

        posted = fake.wait_for("chat.postMessage", 2)  # the header, then the question in its thread
        assert posted[0].params["channel"] == CHANNEL
        assert posted[-1].params.get("thread_ts") == posted[0].response["ts"]

        # Slack retrying the same envelope (retry_attempt) must not start a second check.
        retry = socket_server.send(
            "slash_commands",
            dict(parse_qsl(form, keep_blank_values=True)),
            envelope_id=envelope_id + "-retry",
            retry_attempt=1,
        )
        socket_server.wait_ack(retry)
    finally:
        adapter.close()
        runner.join(10)
    assert not runner.is_alive()
    assert len(fake.channel_messages(CHANNEL)) == 1


def test_socket_mode_needs_an_app_token(fake: FakeSlackApi, store: Store) -> None:
    settings = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": "x" * 20, "SLACK_API_URL": fake.url}
    )
    adapter = build_slack_adapter(settings, build_service(settings, store), store)
    try:
        with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
            adapter.start_socket_mode()
    finally:
        adapter.close()
