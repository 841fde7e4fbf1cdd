"""Redis goes away mid-check: a Mattermost click and a command are answered "not recorded", never a 5xx."""

from __future__ import annotations

from pathlib import Path

from test_mattermost_adapter import make_harness

from bot.runtime.redis_server import RedisProcess
from bot.store.store import Store
from tests.fakes.mattermost_api import FakeMattermost


def test_a_click_and_a_command_while_redis_is_down_say_not_recorded(tmp_path: Path) -> None:
    server = RedisProcess.start(tmp_path, unix_socket=True, persistent=False)
    store = Store.from_url(server.url, prefix="mmdown")
    try:
        with FakeMattermost() as fake:
            for mm in make_harness(fake, store):
                assert mm.command("anna", "start").status_code == 200
                question = mm.wait_question(1)
                mm.adapter.wait_idle(10)
                server.stop()
                clicked = mm.click("bram", question, "opt1")
                assert clicked.status_code == 200
                assert "Not recorded" in clicked.json()["ephemeral_text"]
                typed = mm.command("bram", "answer 1")
                assert typed.status_code == 200
                assert "Not recorded" in typed.json()["text"]
    finally:
        store.close()
        server.stop()
