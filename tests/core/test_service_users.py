"""Events without a usable user id are refused in one place (bot.service), on every platform."""

from __future__ import annotations

import pytest

from bot.core.dialogue.load import load_dialogue
from bot.core.messages import ChannelKey, Event, EventKind, Notice, Tone
from bot.service import CheckService
from bot.store.store import Store
from tests.team import FIXED_NOW

DIALOGUE = load_dialogue()
CHANNEL = ChannelKey("slack", "T1", "C1")


@pytest.mark.parametrize("user", ["", "   ", None, 5, "\x00\x01"])
def test_an_event_without_a_usable_user_is_refused_and_nothing_is_recorded(store: Store, user: object) -> None:
    service = CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW)
    service.handle_command(CHANNEL, "start", "U1", "anna")
    running = store.load_running(str(CHANNEL))
    assert running is not None
    before = running.to_fields()
    click = Event(
        EventKind.ANSWER,
        user=user,
        choices=(1,),
        session_id=running.id,
        question_id=running.meta.state,
        via_button=True,  # type: ignore[arg-type]
    )
    for messages in (service.handle(CHANNEL, click), service.handle_command(CHANNEL, "answer 1", user)):  # type: ignore[arg-type]
        assert len(messages) == 1 and isinstance(messages[0], Notice)
        assert messages[0].tone is Tone.REFUSAL and "nothing was recorded" in messages[0].text
    after = store.load(running.id)
    assert after is not None and after.to_fields() == before
    assert service.handle_command(ChannelKey("slack", "T1", "C2"), "start", "") != []
    assert store.load_running("slack:T1:C2") is None
