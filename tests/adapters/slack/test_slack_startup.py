"""Start-up failures of the Slack adapter are clear errors, not tracebacks."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from bot.adapters.slack.app import build_slack_adapter
from bot.app import build_service
from bot.config import load_settings
from bot.errors import PlatformError
from bot.store.store import Store


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A port held bound but never listening: connections to it are refused, and while the test runs
    no other process can take it (a port bound and released again could be reused meanwhile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"


def test_unreachable_slack_api_names_the_variable(store: Store, refused_url: str) -> None:
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-valid",
            "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": refused_url,
        }
    )
    with pytest.raises(PlatformError, match="SLACK_API_URL"):
        build_slack_adapter(settings, build_service(settings, store), store)
