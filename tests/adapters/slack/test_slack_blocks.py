"""Block Kit rendering with hand-built neutral values: limits, escaping, buttons, anonymity."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from bot.adapters.slack import blocks as sb
from bot.adapters.slack import modals
from bot.adapters.slack.summary import summary_messages
from bot.adapters.slack.text import clip, esc
from bot.core.messages import (
    Action,
    Audience,
    CardMode,
    DecisionView,
    EventKind,
    HeaderCard,
    NoteView,
    Notice,
    OptionView,
    QuestionResult,
    QuestionView,
    Spread,
    Summary,
    TextAnswerView,
    ThemeResult,
    Tone,
)
from tests.fakes.slack_api import _MENTION, check_message_blocks, check_view

UI = {"progress": "Question {number} of {total}", "answers_count": "{n} answered", "next": "Next"}
EVIL = "<!here> <!channel> <!subteam^S123|@team> <@U999> <#C123|general> & friends"


def qview(**changes: Any) -> QuestionView:
    base = QuestionView(
        session_id="s" * 32,
        question_id="strategy",
        number=7,
        total=24,
        phase="Context",
        theme="Fit",
        kind="scale",
        text="Does social media fit our strategy?",
        help="Think of the last year.",
        options=(
            OptionView(1, "poor", "Poor", 1, ("Ann",)),
            OptionView(2, "partly", "Partly", 0),
            OptionView(3, "good", "Good", 2, ("Bob", "Cy")),
        ),
        respondents=("Ann", "Bob", "Cy"),
        respondent_count=3,
        text_answers=(),
        spread=Spread(3, 2.33, 1, 3, True, "answers lie 2 steps apart on the scale"),
        notes_count=2,
        facilitator="Fae",
        is_decision=False,
        closed=False,
        skipped=False,
        anonymous=False,
        language="en",
        ui=UI,
        progress="Question 7 · Context (phase 1 of 5)",
        chosen="2 × Good, 1 × Poor",
        mean="⌀ 2.3 of 3",
    )
    return replace(base, **changes)


def all_text(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    found = [message.get("text", "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(message.get("blocks", []))
    return found


def actions_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [el for b in message["blocks"] if b["type"] == "actions" for el in b["elements"]]


def test_escape_and_clip() -> None:
    assert esc("<!here> & <@U1>") == "&lt;!here&gt; &amp; &lt;@U1&gt;"
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 4) == "abc…"
    assert clip("ab&amp;cd", 5) == "ab…"  # never leaves half an entity


def test_scale_question_has_option_buttons_facilitator_controls_and_tally() -> None:
    msg = sb.question_message(qview())
    assert check_message_blocks(msg["blocks"]) == []
    buttons = {el["action_id"]: el for el in actions_of(msg)}
    assert {"smc:answer:1", "smc:answer:2", "smc:answer:3", sb.NOTE, sb.NEXT, sb.BACK, sb.SKIP} <= set(buttons)
    ref = sb.Ref.decode(buttons["smc:answer:3"]["value"])
    assert ref == sb.Ref("s" * 32, "strategy", 3)
    text = all_text(msg)
    assert "*Question 7 · Context (phase 1 of 5)* · Fit" in text
    assert "3 answered · Answered by: Ann, Bob, Cy · 2 × Good, 1 × Poor · ⌀ 2.3 of 3" in text
    assert "3.7" not in text and "(1–5)" not in text, "the buttons' numbering, not the hidden scores"
    assert "Ann" in text and "Bob, Cy" in text and "3 answered" in text
    assert ":warning:" in text and "2 steps apart" in text
    assert "Fae" in text


def test_anonymous_question_shows_counts_only() -> None:
    view = qview(
        anonymous=True,
        respondents=(),
        options=tuple(replace(o, voters=()) for o in qview().options),
        text_answers=(),
    )
    text = all_text(sb.question_message(view))
    assert "Ann" not in text and "Bob" not in text
    assert "*2*" in text and "3 answered" in text


def test_closed_question_loses_buttons_and_keeps_final_spread() -> None:
    msg = sb.question_message(qview(closed=True))
    assert actions_of(msg) == []
    assert "Closed" in all_text(msg) and "3 answered" in all_text(msg)
    skipped = sb.question_message(qview(closed=True, skipped=True))
    assert "Skipped" in all_text(skipped)


def test_multi_uses_toggle_buttons_up_to_ten_then_a_multi_select() -> None:
    few = tuple(OptionView(i, f"v{i}", f"Option {i}") for i in range(1, 9))
    msg = sb.question_message(qview(kind="multi", options=few, spread=Spread(0)))
    toggles = [el for el in actions_of(msg) if el["action_id"].startswith(sb.TOGGLE + ":")]
    assert [el["type"] for el in toggles] == ["button"] * 8
    assert [sb.Ref.decode(el["value"]).number for el in toggles] == list(range(1, 9))  # type: ignore[union-attr]
    assert "click again to remove" in all_text(msg)
    many = tuple(OptionView(i, f"v{i}", f"Option {i}") for i in range(1, 13))
    msg = sb.question_message(qview(kind="multi", options=many, spread=Spread(0)))
    assert [el for el in actions_of(msg) if el["action_id"] == sb.MULTI][0]["type"] == "multi_static_select"
    assert check_message_blocks(msg["blocks"]) == []


def test_text_question_has_answer_button_and_quoted_answers() -> None:
    view = qview(
        kind="text",
        options=(),
        spread=Spread(2),
        text_answers=(TextAnswerView("Ann", "We lack time"), TextAnswerView("Bob", EVIL)),
    )
    msg = sb.question_message(view)
    assert any(el["action_id"] == sb.TEXT for el in actions_of(msg))
    assert "We lack time" in all_text(msg)
    assert all(_MENTION.findall(t) == [] for t in mrkdwn_texts(msg))


def test_user_text_can_never_ping() -> None:
    view = qview(
        text=EVIL,
        help=EVIL,
        facilitator=EVIL,
        respondents=(EVIL,),
        options=(OptionView(1, "x", EVIL, 1, (EVIL,)),),
        spread=Spread(1, disagreement=True, reason=EVIL),
    )
    for message in (
        sb.question_message(view),
        sb.notice_message(Notice(EVIL, Audience.THREAD)),
        sb.header_message(header(status_line=EVIL, facilitator=EVIL, intro=EVIL)),
    ):
        for text in mrkdwn_texts(message):
            assert _MENTION.findall(text) == [], text
        assert "&lt;!here&gt;" in all_text(message)


def test_long_user_text_is_clipped_to_block_kit_limits() -> None:
    long = "x" * 5000
    answers = tuple(TextAnswerView(f"user{i}", long) for i in range(80))
    view = qview(
        kind="text",
        options=(),
        text_answers=answers,
        text=long,
        facilitator=long,
        respondents=tuple(f"user{i}" for i in range(80)),
        respondent_count=80,
    )
    msg = sb.question_message(view)
    assert check_message_blocks(msg["blocks"]) == []
    assert len(msg["blocks"]) <= 50
    labelled = qview(options=(OptionView(1, "a", "L" * 200, 0), OptionView(2, "b", "&" * 200, 0)))
    msg = sb.question_message(labelled)
    assert check_message_blocks(msg["blocks"]) == []


def test_modals_fit_slack_limits_and_carry_metadata() -> None:
    view = qview(kind="text", options=(), ui={**UI, "note_title": "A very long note title here!!"})
    note = modals.note_modal(view, "C123", 1000)
    assert check_view(note) == []
    assert note["callback_id"] == sb.NOTE_VIEW
    assert sb.Ref.decode(note["private_metadata"]) == sb.Ref("s" * 32, "strategy", channel="C123")
    answer = modals.answer_modal(replace(view, kind="date"), "C123", 5000)
    assert check_view(answer) == []
    assert answer["blocks"][1]["element"]["max_length"] == 3000


def header(**changes: Any) -> HeaderCard:
    base = HeaderCard(
        session_id="s1",
        title="Social media check",
        intro="We decide together.",
        facilitator="Fae",
        language="en",
        anonymous=True,
        quorum=3,
        state="running",
        status_line="Question 1 of 24",
        mode=CardMode.POST,
        ui={},
    )
    return replace(base, **changes)


def test_header_message() -> None:
    msg = sb.header_message(header())
    assert check_message_blocks(msg["blocks"]) == []
    assert msg["blocks"][0]["type"] == "header"
    assert "Question 1 of 24" in msg["text"]
    done = sb.header_message(header(state="finished", status_line="Finished · decision: Go"))
    assert ":white_check_mark:" in all_text(done)


def test_notice_with_restart_confirm_button() -> None:
    notice = Notice(
        "Restart?",
        Audience.EPHEMERAL,
        Tone.INFO,
        (Action(EventKind.RESTART, "Yes, restart", "danger", "confirm"),),
        session_id="s1",
    )
    msg = sb.notice_message(notice)
    button = actions_of(msg)[0]
    assert button["style"] == "danger"
    assert sb.Ref.decode(button["value"]) == sb.Ref("s1", kind="restart", value="confirm")
    assert check_message_blocks(msg["blocks"]) == []


def make_summary(anonymous: bool = False, questions: int = 3, answered: bool = True) -> Summary:
    themes = (
        ThemeResult(
            "fit",
            "Fit",
            3.4 if answered else None,
            1 if answered else None,
            5 if answered else None,
            5,
            3,
            3 if answered else 0,
            ("Does it fit?",) if answered else (),
        ),
        ThemeResult("needs", "Needs", None, None, None, 5, 2, 0, ()),
    )
    qs = tuple(
        QuestionResult(
            f"q{i}",
            i,
            f"Question {i}?",
            "single",
            "Fit",
            (
                OptionView(1, "a", "Alpha", 2, () if anonymous else ("Ann", "Bob")),
                OptionView(2, "b", "Beta", 0),
            ),
            (),
            Spread(2),
            False,
            False,
        )
        for i in range(1, questions + 1)
    ) + (
        QuestionResult(
            "w",
            questions + 1,
            "Wishes?",
            "text",
            "Needs",
            (),
            (TextAnswerView(None if anonymous else "Cy", "More <!channel> time"),),
            Spread(1),
            False,
            False,
        ),
    )
    decision = DecisionView(
        "pilot",
        "Pilot",
        True,
        ("Low risk",),
        "Ann",
        ("LinkedIn",),
        ("HR",),
        "3 posts/week",
        "",
        date(2026, 1, 1),
        "1 January 2026",
    )
    return Summary(
        "s1",
        "Social media check",
        "en",
        True,
        themes,
        qs,
        (NoteView(None if anonymous else "Bob", "Question 1?", "Worried <@U1>"),),
        decision,
        () if anonymous else ("Ann", "Bob", "Cy"),
        3,
        anonymous,
        {"summary_title": "Summary"},
    )


@pytest.mark.parametrize("anonymous", [False, True])
def test_summary_holds_themes_decision_and_every_answer(anonymous: bool) -> None:
    messages = summary_messages(make_summary(anonymous))
    assert len(messages) == 1
    text = all_text(messages[0])
    for expected in (
        "Summary: Social media check",
        "Fit",
        "3.4",
        "Pilot",
        "Ann",
        "LinkedIn",
        "1 January 2026",
        "Question 1?",
        "Question 3?",
        "More &lt;!channel&gt; time",
        "Worried &lt;@U1&gt;",
        ":warning:",
    ):
        assert expected in text, expected
    assert ("Bob" in text) is (not anonymous)
    assert check_message_blocks(messages[0]["blocks"]) == []


def test_huge_summary_is_split_into_messages_within_limits() -> None:
    messages = summary_messages(make_summary(questions=400))
    assert len(messages) > 1
    for message in messages:
        assert check_message_blocks(message["blocks"]) == []
    joined = "".join(all_text(m) for m in messages)
    for i in range(1, 401):
        assert f"*{i}. Question {i}?*" in joined


def test_summary_puts_the_decision_first_and_keeps_every_long_note() -> None:
    notes = tuple(NoteView(f"User{i}", "Question 1?", f"note{i:03d} " + "x" * 2500) for i in range(30))
    messages = summary_messages(replace(make_summary(), concerns=notes))
    assert len(messages) > 1
    for message in messages:
        assert check_message_blocks(message["blocks"]) == []
    first = messages[0]["blocks"]
    assert first[0]["type"] == "header" and first[1]["text"]["text"].startswith("*Decision:* Pilot :white_check_mark:")
    assert "Participants:" in json.dumps(first[3], ensure_ascii=False)  # right after the decision
    assert messages[1]["text"].endswith("(part 2 of " + str(len(messages)) + ")")
    joined = "".join(json.dumps(m["blocks"], ensure_ascii=False) for m in messages)
    for i in range(30):
        assert joined.count(f"note{i:03d} " + "x" * 2500 + " — _User") == 1, i
