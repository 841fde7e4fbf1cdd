"""The Markdown decision record: valid CommonMark (parsed with markdown-it-py's CommonMark preset),
everything the issue lists, in the report's order, and every text people wrote shown literally."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.core.export.markdown import inline
from bot.core.report import DecisionSection, ListSection, QuestionsSection
from bot.store.store import Store
from tests.core.export_world import HOSTILE_NOTE, HOSTILE_TEXT, KINDS, PEOPLE, World, identities

COMMONMARK = MarkdownIt("commonmark")


def parse(text: str) -> list[Token]:
    return COMMONMARK.parse(text)


def headings(tokens: list[Token], level: int) -> list[str]:
    """The plain text of every heading of ``level`` (escapes resolved, as a reader sees it)."""
    out = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == f"h{level}":
            out.append(plain(tokens[i + 1]))
    return out


def plain(token: Token) -> str:
    return "".join(child.content for child in token.children or [] if child.type in ("text", "code_inline"))


def all_text(tokens: list[Token]) -> str:
    return "\n".join(plain(t) for t in tokens if t.type == "inline")


def exported(world: World) -> tuple[str, list[Token]]:
    text = world.export("export md").content.decode("utf-8")
    return text, parse(text)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_record_is_commonmark_in_the_reports_order(store: Store, kind: str) -> None:
    world = KINDS[kind](store)
    record = world.running() if kind == "live" else world.last()
    source = world.source(record)
    text, tokens = exported(world)

    # structure: one title, a section heading per report section in its order, a heading per question
    assert headings(tokens, 1) == [f"{source.report.title} — {source.t('export_record')}"]
    expected = [s.title or source.t("decision") for s in source.report.sections]
    assert headings(tokens, 2) == expected
    questions = next(s for s in source.report.sections if isinstance(s, QuestionsSection))
    assert headings(tokens, 3) == [f"{row.number}. {row.text}" for row in questions.rows]
    assert len(questions.rows) == len(record.meta.path)  # every question asked so far
    # only CommonMark's own blocks: headings, paragraphs, lists; no raw HTML, no links, no code blocks
    kinds = {t.type for t in tokens}
    assert kinds <= {
        "heading_open",
        "heading_close",
        "inline",
        "paragraph_open",
        "paragraph_close",
        "bullet_list_open",
        "bullet_list_close",
        "list_item_open",
        "list_item_close",
    }, kinds
    children = {c.type for t in tokens if t.type == "inline" for c in t.children or []}
    assert children <= {"text", "strong_open", "strong_close", "em_open", "em_close", "code_inline", "softbreak"}
    html = COMMONMARK.render(text)
    assert "<script" not in html and "<a " not in html and "<b>" not in html

    # the decision record: every field of the report's decision, with its value
    decision = source.report.sections[0]
    assert isinstance(decision, DecisionSection)
    body = all_text(tokens)
    for row in decision.rows:
        assert f"{row.label}: {' '.join(row.value.split())}" in body
    assert source.summary.date_text in body
    status = source.t("export_status_running" if kind == "live" else "export_status_finished")
    assert f"{source.t('export_status')}: {status}" in body


@pytest.mark.parametrize("kind", list(KINDS))
def test_what_people_wrote_is_shown_literally(store: Store, kind: str) -> None:
    world = KINDS[kind](store)
    _, tokens = exported(world)
    body = all_text(tokens)
    assert " ".join(HOSTILE_TEXT.split()) in body  # markup, a formula and a script: as typed, inert
    assert " ".join(HOSTILE_NOTE.split()) in body  # a note (kept with its question)


def test_a_named_check_names_its_people_and_marks_disagreement(store: Store) -> None:
    world = KINDS["finished"](store)
    source = world.source(world.last())
    text, tokens = exported(world)
    body = all_text(tokens)
    assert f"{source.t('participants')}" in headings(tokens, 2)
    assert ", ".join(PEOPLE.values()) in body  # participants, by name
    assert f"{source.t('facilitator')}: Anna Quist" in body
    flagged = [line for line in text.splitlines() if line.lstrip().startswith("- ⚠") or "⚠ **" in line]
    assert flagged, "disagreements are marked"
    assert f"⚠ {source.t('disagreement')}" in body
    # the comparison with the channel's previous check
    previous = next(s for s in source.report.sections if isinstance(s, ListSection) and s.key == "previous")
    assert previous.title in headings(tokens, 2)
    assert all(line in body for line in previous.lines)


def test_an_anonymous_record_names_nobody(store: Store) -> None:
    world = KINDS["anonymous"](store)
    record = world.last()
    text, tokens = exported(world)
    assert world.source(record).t("participants_count", n=len(record.participants())) in all_text(tokens)
    for identity in identities(record):
        assert identity not in text, identity


def test_a_dutch_record_is_in_dutch(store: Store) -> None:
    world = KINDS["dutch"](store)
    _, tokens = exported(world)
    body = all_text(tokens)
    assert headings(tokens, 1)[0].endswith("— besluitverslag")
    assert "Besluit" in headings(tokens, 2)
    assert "Status: afgerond" in body and "Datum: 28 november 2026" in body


@pytest.mark.parametrize(
    ("typed", "reads"),
    [
        ("# not a heading", "# not a heading"),
        ("1. not a list", "1. not a list"),
        ("- not a bullet", "- not a bullet"),
        ("=== not a rule", "=== not a rule"),
        ("> not a quote", "> not a quote"),
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
        ("[a](javascript:alert(1)) ![b](c)", "[a](javascript:alert(1)) ![b](c)"),
        ("**not bold** _nor_ `code` \\ &amp; ~~x~~ | t |", "**not bold** _nor_ `code` \\ &amp; ~~x~~ | t |"),
        ("two\nlines    and   spaces", "two lines and spaces"),
    ],
)
def test_inline_text_reads_back_as_typed(typed: str, reads: str) -> None:
    tokens = parse(f"- **Note:** {inline(typed)}\n\n{inline(typed)}\n")
    texts = [plain(t) for t in tokens if t.type == "inline"]
    assert texts == [f"Note: {reads}", reads]
    assert {c.type for t in tokens if t.type == "inline" for c in t.children or []} <= {
        "text",
        "strong_open",
        "strong_close",
    }
