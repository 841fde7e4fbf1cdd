"""The CSV export: one row per answer, RFC 4180 (CRLF, quoting, a header), UTF-8, pseudonyms in an
anonymous check, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from bot.core.export.csv_rows import COLUMNS, FORMULA_STARTS, neutralise
from bot.core.session import SessionRecord
from bot.store.store import Store
from tests.core.export_world import (
    DIALOGUE,
    FACILITATOR,
    HOSTILE_TEXT,
    KINDS,
    World,
    identities,
    make_world,
    play,
)


def exported(world: World, command: str = "export csv") -> tuple[bytes, list[list[str]]]:
    export = world.export(command)
    assert export.mime == "text/csv" and export.filename.endswith(".csv")
    text = export.content.decode("utf-8")  # UTF-8, or this raises
    return export.content, list(csv.reader(io.StringIO(text, newline=""), strict=True))


def answers_in(record: SessionRecord) -> int:
    return sum(len(record.answers_to(q)) for q in record.meta.path)


@pytest.mark.parametrize("kind", list(KINDS))
def test_one_row_per_answer_with_a_header(store: Store, kind: str) -> None:
    world = KINDS[kind](store)
    record = world.running() if kind == "live" else world.last()
    raw, table = exported(world)
    header, rows = table[0], table[1:]
    assert tuple(header) == COLUMNS
    assert len(rows) == answers_in(record) > 0
    assert all(len(row) == len(COLUMNS) for row in rows)
    assert {row[0] for row in rows} == {record.id}
    assert [row[1] for row in rows] == [q for q in record.meta.path for _ in record.answers_to(q)]
    # RFC 4180: every record ends with CRLF, there is no bare LF
    assert raw.endswith(b"\r\n") and raw.count(b"\n") == raw.count(b"\r\n") == len(table)
    # the check's language for what people read; scores for scale questions only
    lens = world.source(record).lens
    for row in rows:
        question = DIALOGUE.question(row[1])
        assert row[2] == DIALOGUE.text(lens.language, row[1]).text
        assert row[3] == DIALOGUE.texts[lens.language].themes[question.theme]
        if question.kind == "scale":
            labels = {DIALOGUE.option_label(lens.language, question.id, o.value): o.score for o in question.options}
            assert row[6] == str(labels[row[5]])
        else:
            assert row[6] == ""
    orders = {}
    for row in rows:
        orders.setdefault(row[1], []).append(int(row[7]))
    assert all(found == list(range(1, len(found) + 1)) for found in orders.values())


def test_a_named_check_shows_names_neutralised(store: Store) -> None:
    world = KINDS["finished"](store)
    _, table = exported(world)
    respondents = {row[4] for row in table[1:]}
    assert respondents == {"Anna Quist", "Bram Xander", "'@Carla =Zed"}  # the @ would start a formula


def test_an_anonymous_check_has_stable_pseudonyms_in_order_of_arrival(store: Store) -> None:
    world = KINDS["anonymous"](store)
    record = world.last()
    raw, table = exported(world)
    rows = table[1:]
    assert {row[4] for row in rows} == {"respondent 1", "respondent 2", "respondent 3"}
    # play() lets anna, bram and carla answer in that order: the same pseudonym per person throughout
    for question in record.meta.path:
        got = [row[4] for row in rows if row[1] == question]
        assert got == sorted(got), (question, got)
    written = [row for row in rows if DIALOGUE.question(row[1]).kind == "text"]
    assert {row[4] for row in written if row[5].startswith("'=HYPERLINK")} == {"respondent 1"}  # anna, first
    for identity in identities(record):
        assert identity.encode() not in raw, identity


def test_a_dutch_check_exports_dutch_texts_and_pseudonyms(store: Store) -> None:
    world = make_world(store, "dutch-anonymous")
    play(world, start="start nl --anonymous", decision="go")
    _, table = exported(world, "exporteer csv")
    rows = table[1:]
    assert {row[4] for row in rows} == {"deelnemer 1", "deelnemer 2", "deelnemer 3"}
    first = rows[0]
    assert first[2] == DIALOGUE.text("nl", first[1]).text
    labels = {DIALOGUE.option_label("nl", first[1], o.value) for o in DIALOGUE.question(first[1]).options}
    assert first[5] in labels


def test_formula_cells_are_neutralised_and_fields_are_quoted(store: Store) -> None:
    world = make_world(store, "formulas")
    world.say(FACILITATOR, "start")
    for _ in range(6):  # to the first text question (wishes)
        world.say(FACILITATOR, "next")
    assert world.running().meta.state == "wishes"
    typed = {
        FACILITATOR: HOSTILE_TEXT,
        "U0BRAM8X": '-2+3, a "quoted" word,\nand a second line',
        "U0CARLA9": "@SUM(1+1)*cmd|' /C calc'!A0",
    }
    for user, text in typed.items():
        world.say(user, f"answer {text}")
    raw, table = exported(world)
    cells = {row[4]: row[5] for row in table[1:]}
    assert cells == {
        "Anna Quist": "'" + HOSTILE_TEXT,
        "Bram Xander": "'" + typed["U0BRAM8X"],
        "'@Carla =Zed": "'" + typed["U0CARLA9"],
    }
    assert b'"\'-2+3, a ""quoted"" word,\nand a second line"' in raw  # RFC 4180 quoting, inner quotes doubled
    for row in table:
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row), row


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+31 6 1234", "'+31 6 1234"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("3", "3"),
        ("Well", "Well"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(cell: str, safe: str) -> None:
    assert neutralise(cell) == safe
