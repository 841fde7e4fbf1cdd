"""Redis unavailable mid-check: the user is told privately that nothing was recorded, in the check's language."""

from __future__ import annotations

from pathlib import Path

from bot.core.dialogue.load import load_dialogue
from bot.core.messages import Audience, EventKind, Notice, Tone
from bot.runtime.redis_server import RedisProcess
from bot.service import CheckService
from bot.store.store import Store
from tests.team import FIXED_NOW, Team


def test_a_click_while_redis_is_down_is_refused_privately_in_dutch(tmp_path: Path) -> None:
    server = RedisProcess.start(tmp_path, unix_socket=True, persistent=False)
    store = Store.from_url(server.url, prefix="down")
    try:
        team = Team(CheckService(load_dialogue(), store, clock=lambda: FIXED_NOW))
        team.say("anna", "start nl")
        card = team.current()
        server.stop()
        for messages in (
            team.click(
                "bram",
                kind=EventKind.ANSWER,
                choices=(1,),
                session_id=card.view.session_id,
                question_id=card.view.question_id,
            ),
            team.say("bram", "status"),
            team.say("bram", "answer ¹"),
        ):
            assert len(messages) == 1, messages
            (notice,) = messages
            assert isinstance(notice, Notice)
            assert notice.audience is Audience.EPHEMERAL and notice.tone is Tone.ERROR
            assert "Niet vastgelegd" in notice.text or "Not recorded" in notice.text
        clicked = team.click(
            "bram",
            kind=EventKind.ANSWER,
            choices=(1,),
            session_id=card.view.session_id,
            question_id=card.view.question_id,
        )
        assert "Niet vastgelegd" in clicked[0].text  # the check's language is known from the cache
    finally:
        store.close()
        server.stop()
