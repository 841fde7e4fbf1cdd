"""`export`: the grammar, which check a command exports, private exports, refusals; the real service
and a real Redis store (bot.exports)."""

from __future__ import annotations

import json

import pytest
import redis

from bot.core.commands import CommandError, parse_command
from bot.core.messages import Audience, EventKind, FileExport, Notice, Tone
from bot.store.store import Store
from tests.core.export_world import FACILITATOR, KINDS, make_world, play


@pytest.mark.parametrize(
    ("typed", "value", "text"),
    [
        ("export", "md", ""),
        ("export md", "md", ""),
        ("export markdown", "md", ""),
        ("export CSV", "csv", ""),
        ("export json 2", "json", "2"),
        ("export 3 html", "html", "3"),
        ("export html private", "html:private", ""),
        ("export private 2 csv", "csv:private", "2"),
        ("exporteer", "md", ""),
        ("exporteer csv privé", "csv:private", ""),
        ("exporteer 12 json prive", "json:private", "12"),
    ],
)
def test_the_grammar(typed: str, value: str, text: str) -> None:
    event = parse_command(typed, "U1")
    assert not isinstance(event, CommandError), event
    assert (event.kind, event.value, event.text) == (EventKind.EXPORT, value, text)


@pytest.mark.parametrize(
    "typed",
    ["export pdf", "export 0", "export csv json", "export 2 3", "export ③", "export private private", "export -1"],
)
def test_the_grammar_refuses_what_it_cannot_export(typed: str) -> None:
    assert parse_command(typed, "U1") == CommandError("bad_arguments", "export [md|csv|json|html] [<n>] [private]")


def check_of(export: FileExport) -> str:
    """The id of the check a JSON export holds."""
    return str(json.loads(export.content)["check"]["id"])


def test_the_running_check_else_the_last_finished_else_the_nth_of_the_history(store: Store) -> None:
    world = KINDS["finished"](store)  # two finished checks: the second is the last
    older, newer = reversed(world.store.history(str(world.channel), limit=2))
    assert check_of(world.export("export json")) == newer.id
    assert check_of(world.export("export json 1")) == newer.id
    assert check_of(world.export("export json 2")) == older.id
    world.say(FACILITATOR, "start")
    running = world.running()
    assert check_of(world.export("export json")) == running.id  # a running check comes first
    assert check_of(world.export("export json 2")) == older.id  # the history stays numbered as `history` shows it
    assert world.export("export json").filename.endswith(f"-{running.id[:8]}.json")


def test_refusals_say_what_is_there(store: Store) -> None:
    world = make_world(store, "empty")
    assert "no check to export" in world.refusal("export")
    assert "0 finished checks" in world.refusal("export 1")
    play(world, decision="go")
    assert "1 finished checks, so there is no check 4" in world.refusal("export 4")
    messages = world.say(FACILITATOR, "export pdf")
    assert [m.tone for m in messages if isinstance(m, Notice)] == [Tone.REFUSAL]


def test_a_private_export_goes_to_the_one_who_asked_and_says_so(store: Store) -> None:
    world = KINDS["dutch"](store)
    messages = world.say("U0BRAM8X", "exporteer html privé")
    notice, export = messages
    assert isinstance(notice, Notice) and notice.audience is Audience.EPHEMERAL
    assert isinstance(export, FileExport) and export.audience is Audience.EPHEMERAL
    assert notice.text == f"Ik stuur je {export.filename} privé."
    assert export.title.startswith(f"{world.source(world.last()).report.title} — besluitverslag van 28 november 2026")
    public = world.export("export html")
    assert public.audience is Audience.CHANNEL and public.content == export.content


def test_an_export_writes_nothing(store: Store, redis_client: redis.Redis) -> None:
    world = KINDS["anonymous"](store)
    before = {key: redis_client.dump(key) for key in redis_client.scan_iter("*")}
    for fmt in ("md", "csv", "json", "html"):
        world.export(f"export {fmt}")
        world.export(f"export {fmt} private")
    after = {key: redis_client.dump(key) for key in redis_client.scan_iter("*")}
    assert after == before and before
