"""The JSON export: the whole record, valid against the JSON Schema shipped in the package (which
``socialmedia-check schema export`` prints), with the anonymity promise written into the schema."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from bot.cli import main
from bot.core.export.json_record import schema, schema_text
from bot.store.store import Store
from tests.core.export_world import DIALOGUE, HOSTILE_NOTE, KINDS, World, identities

VALIDATOR = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def exported(world: World) -> dict[str, Any]:
    export = world.export("export json")
    assert export.mime == "application/json" and export.filename.endswith(".json")
    data: dict[str, Any] = json.loads(export.content.decode("utf-8"))
    return data


def problems(data: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(data)]


def test_the_shipped_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_command_line_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "export"]) == 0
    printed = capsys.readouterr().out
    assert printed == schema_text() and json.loads(printed) == schema()


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_export_is_valid_against_the_schema(store: Store, kind: str) -> None:
    world = KINDS[kind](store)
    record = world.running() if kind == "live" else world.last()
    data = exported(world)
    assert problems(data) == []
    check = data["check"]
    assert (check["id"], check["status"], check["anonymous"]) == (record.id, record.meta.status, record.meta.anonymous)
    assert check["language"] == record.meta.language
    # the whole record: every question asked, every answer, every note
    assert [q["id"] for q in data["questions"]] == record.meta.path
    for question in data["questions"]:
        assert len(question["answers"]) == len(record.answers_to(question["id"]))
        assert sum(o["count"] for o in question["options"]) == sum(
            len(a.choices) for a in record.answers_to(question["id"]).values()
        )
    assert [n["text"] for n in data["notes"]] == [n.text for n in record.notes]
    assert HOSTILE_NOTE in [n["text"] for n in data["notes"]]
    assert data["participants"]["count"] == len(record.participants()) == len(data["participants"]["respondents"])
    ids = {r["id"] for r in data["participants"]["respondents"]}
    assert {a["respondent"] for q in data["questions"] for a in q["answers"]} <= ids
    if kind == "live":
        assert check["finished_at"] is None and data["decision"]["confirmed"] is False
    else:
        assert data["decision"]["value"] == record.meta.decision and data["decision"]["confirmed"] is True
        assert data["decision"]["revisit"] == record.meta.revisit


def test_a_finished_check_carries_the_comparison_with_the_previous_one(store: Store) -> None:
    world = KINDS["finished"](store)
    older = world.store.history(str(world.channel), limit=2)[1]
    data = exported(world)
    previous = data["previous"]
    assert previous is not None and previous["id"] == older.id
    assert previous["decision"] == world.source(older).lens.decision_label("not_now")
    assert {t["id"] for t in previous["themes"]} == {t["id"] for t in data["themes"]}


def test_an_anonymous_export_identifies_nobody(store: Store) -> None:
    world = KINDS["anonymous"](store)
    record = world.last()
    data = exported(world)
    assert data["check"]["facilitator"] is None
    assert all(r["name"] is None and r["user_id"] is None for r in data["participants"]["respondents"])
    text = json.dumps(data, ensure_ascii=False)
    for identity in identities(record):
        assert identity not in text, identity
    assert "salt" not in text


def test_the_schema_itself_refuses_a_named_person_in_an_anonymous_export(store: Store) -> None:
    world = KINDS["anonymous"](store)
    data = exported(world)
    named = copy.deepcopy(data)
    named["participants"]["respondents"][0]["name"] = "Anna Quist"
    assert any("respondents/0/name" in p for p in problems(named))
    identified = copy.deepcopy(data)
    identified["participants"]["respondents"][1]["user_id"] = "U0BRAM8X"
    assert any("respondents/1/user_id" in p for p in problems(identified))
    led = copy.deepcopy(data)
    led["check"]["facilitator"] = {"name": "Anna Quist", "user_id": "U0ANNA7Q"}
    assert any("check/facilitator" in p for p in problems(led))


def test_a_named_export_names_its_people(store: Store) -> None:
    world = KINDS["dutch"](store)
    data = exported(world)
    assert problems(data) == []
    assert [r["name"] for r in data["participants"]["respondents"]] == ["Anna Quist", "Bram Xander", "@Carla =Zed"]
    assert [r["label"] for r in data["participants"]["respondents"]] == ["deelnemer 1", "deelnemer 2", "deelnemer 3"]
    assert data["check"]["facilitator"] == {"name": "Anna Quist", "user_id": "U0ANNA7Q"}
    # texts in the check's language
    assert data["check"]["title"] == DIALOGUE.texts["nl"].title != DIALOGUE.texts["en"].title
    assert data["questions"][0]["text"] == DIALOGUE.text("nl", data["questions"][0]["id"]).text
    assert data["decision"]["label"] == world.source(world.last()).lens.decision_label("pilot")
    flipped = copy.deepcopy(data)
    flipped["check"]["anonymous"] = True  # the same names under an anonymity flag: refused
    assert problems(flipped)


def test_the_schema_rejects_what_the_export_never_writes() -> None:
    assert any("schema_version" in p for p in problems({"format": "socialmedia-check/export", "schema_version": 2}))
