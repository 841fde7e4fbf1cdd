"""Start-up failures of the Slack adapter are clear errors, not tracebacks."""

from __future__ import annotations

import socket

import pytest

from bot.adapters.slack.app import build_slack_adapter
from bot.app import build_service
from bot.config import load_settings
from bot.errors import PlatformError
from bot.store.store import Store


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens


def test_unreachable_slack_api_names_the_variable(store: Store) -> None:
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-valid",
            "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/",
        }
    )
    with pytest.raises(PlatformError, match="SLACK_API_URL"):
        build_slack_adapter(settings, build_service(settings, store), store)
