"""deploy/check-image.sh's Slack step, without the container: the same peer against the real bot in-process.

The bot (``App`` in serve mode: web server, Slack adapter, the session's real redis-server) talks to
the peer's fake Slack; ``run_slash`` must pass when the signing secrets agree and fail when they do
not, so the image check's step 8 can only pass on a bot that verifies and answers signed commands.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from bot.config import load_settings
from tests.deploy.image_peer import calls, run_slash, serving_fake

SECRET = "image-peer-signing-secret-0123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def bot(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, Path]]:
    state = tmp_path / "slack"
    with serving_fake(state) as fake:
        port = free_port()
        settings = load_settings(
            {
                "REDIS_URL": redis_url,
                "SMC_REDIS_PREFIX": f"peer{uuid.uuid4().hex[:8]}",
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "SLACK_BOT_TOKEN": "xoxb-image-peer",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.url,
                "SMC_SHUTDOWN_GRACE": "5",
            }
        )
        app = App(settings, "serve")
        app.start()
        try:
            yield f"http://127.0.0.1:{port}", state
        finally:
            assert app.stop(), "the bot drained within its grace period"


def test_the_signed_help_command_is_answered(bot: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    url, state = bot
    assert run_slash(url, SECRET, state, timeout=10) == 0, capsys.readouterr().err
    assert "help reply: chat.postEphemeral" in capsys.readouterr().out
    assert [c["method"] for c in calls(state)].count("auth.test") == 1  # the bot's start-up token check


def test_a_bot_with_another_secret_fails_the_check(bot: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    url, state = bot
    assert run_slash(url, "not-the-bots-secret-0123", state, timeout=2) == 1
    assert "the signed command got 401, not 200" in capsys.readouterr().err
