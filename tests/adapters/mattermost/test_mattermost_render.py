"""Mattermost rendering on hand-built neutral values: posts, buttons, dialogs, signatures, neutralising."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from bot.adapters.mattermost import dialog_bodies, render
from bot.adapters.mattermost.signing import ContextSigner
from bot.adapters.mattermost.summary import summary_posts
from bot.core.messages import (
    Action,
    Audience,
    CardMode,
    ChannelKey,
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

SECRET = "s3cret-for-tests-0123456789"
CHANNEL = ChannelKey("mattermost", "team1", "chan1")
URL = "https://bot.example.com/mattermost/actions"
UI = {"progress": "Question {number} of {total}", "answers_count": "{n} answered", "next": "Next"}


@pytest.fixture
def target() -> render.Target:
    return render.Target(CHANNEL, URL, ContextSigner(SECRET))


def view(**changes: object) -> QuestionView:
    base = QuestionView(
        session_id="sess1",
        question_id="strategy",
        number=2,
        total=24,
        phase="Context",
        theme="Fit",
        kind="scale",
        text="Does social media fit our strategy?",
        help="Think of the plan for next year.",
        options=(
            OptionView(1, "poor", "Poorly", count=1, voters=("Anna",)),
            OptionView(2, "partly", "Partly", count=0),
            OptionView(3, "good", "Well", count=2, voters=("Bram", "@channel")),
        ),
        respondents=("Anna", "Bram", "@channel"),
        respondent_count=3,
        text_answers=(),
        spread=Spread(
            respondents=3,
            average=2.33,
            minimum=1,
            maximum=3,
            disagreement=True,
            reason="answers lie 2 steps apart on the scale",
        ),
        notes_count=1,
        facilitator="Anna",
        is_decision=False,
        closed=False,
        skipped=False,
        anonymous=False,
        language="en",
        ui=UI,
        progress="Question 2 · Context (phase 1 of 5)",
        chosen="2 × Well, 1 × Poorly",
        mean="⌀ 2.3 of 3",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def all_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in ("integration", "state") for s in all_strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in all_strings(v)]
    return []


def actions_of(post: dict) -> list[dict]:
    return [a for att in post["props"]["attachments"] for a in att.get("actions", [])]


# --- neutralising ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["@channel", "@all", "@here", "hi @anna!", "<!channel>", "<!here|here>"])
def test_neutralise_defuses_mentions(raw: str) -> None:
    out = render.neutralise(raw)
    assert "@channel" not in out and "@all" not in out and "@here" not in out and "@anna" not in out
    assert "<!" not in out
    assert out.replace(render.ZWJ, "") == raw


def test_neutralise_is_idempotent_and_limits_length() -> None:
    once = render.neutralise("@channel " + "x" * 50, limit=20)
    assert len(once) == 20 and once.endswith("…")
    assert render.neutralise(once) == once
    assert render.neutralise("a\x00b\x1bc\nd") == "abc\nd"
    assert render.neutralise("@" + render.ZWJ + "x") == "@" + render.ZWJ + "x"


# --- signed contexts ------------------------------------------------------------------------


def test_context_round_trip_and_tampering() -> None:
    signer = ContextSigner(SECRET)
    ctx = signer.sign(a="answer", s="sess1", q="strategy", o=3, c="chan1", t="team1")
    assert signer.verify(ctx) == {
        "a": "answer",
        "s": "sess1",
        "q": "strategy",
        "o": "3",
        "c": "chan1",
        "t": "team1",
    }
    for key, value in [("o", "1"), ("q", "vision"), ("c", "other"), ("a", "next"), ("s", "sess2")]:
        assert signer.verify({**ctx, key: value}) is None, key
    assert signer.verify({k: v for k, v in ctx.items() if k != "o"}) is None  # dropping a field alters it
    assert signer.verify({**ctx, "e": "restart"}) is None  # adding a signed field alters it
    assert signer.verify({**ctx, "selected_option": "x"}) is not None  # unknown extras are ignored
    assert signer.verify({**ctx, "sig": "0" * 64}) is None
    assert signer.verify({**ctx, "o": 3}) is None  # wrong type
    assert signer.verify("nope") is None and signer.verify({}) is None
    assert ContextSigner("another-secret-0123456").verify(ctx) is None


def test_state_round_trip() -> None:
    signer = ContextSigner(SECRET)
    state = signer.sign_state(a="note", s="sess1", q="strategy", c="chan1", n="abc")
    assert signer.verify_state(state) == {
        "a": "note",
        "s": "sess1",
        "q": "strategy",
        "c": "chan1",
        "n": "abc",
    }
    data = json.loads(state)
    data["q"] = "vision"
    assert signer.verify_state(json.dumps(data)) is None
    assert signer.verify_state("{not json") is None
    with pytest.raises(ValueError):
        signer.sign(x="1")


# --- question posts -------------------------------------------------------------------------


def test_scale_question_post(target: render.Target) -> None:
    post = render.question_post(view(), target)
    assert post["message"] == "**Question 2 · Context (phase 1 of 5)** · Fit"
    main, steer = post["props"]["attachments"]
    assert main["title"] == "Does social media fit our strategy?"
    assert "3 answered · 2 × Well, 1 × Poorly · ⌀ 2.3 of 3" in main["text"] and "Disagreement" in main["text"]
    assert "answers lie 2 steps apart on the scale" in main["text"]
    assert "Ø" not in main["text"] and "3.7" not in main["text"], "one sign, one scale: the buttons' numbering"
    assert main["fallback"].startswith("Question 2 · Context (phase 1 of 5): Does social media")
    assert main["color"] == render.COLOURS["disagreement"]
    ids = [a["id"] for a in actions_of(post)]
    assert ids == ["opt1", "opt2", "opt3", "note", "back", "skip", "next"]
    assert all(i.isalnum() for i in ids)
    signer = ContextSigner(SECRET)
    for action in actions_of(post):
        assert action["integration"]["url"] == URL
        ctx = signer.verify(action["integration"]["context"])
        assert ctx is not None and ctx["c"] == "chan1" and ctx["t"] == "team1"
        assert ctx["s"] == "sess1" and ctx["q"] == "strategy"
    opt3 = signer.verify(actions_of(post)[2]["integration"]["context"])
    assert opt3 is not None and opt3["a"] == "answer" and opt3["o"] == "3"
    assert "Anna" in steer["text"]
    # every echoed string is mention-safe
    assert not any("@channel" in s for s in all_strings(post))


def test_multi_question_toggles(target: render.Target) -> None:
    post = render.question_post(view(kind="multi", spread=Spread(respondents=3)), target)
    signer = ContextSigner(SECRET)
    contexts = [signer.verify(a["integration"]["context"]) for a in actions_of(post) if a["id"].startswith("opt")]
    assert [c["a"] for c in contexts if c] == ["toggle"] * 3
    assert "click again" in post["props"]["attachments"][0]["text"]


def test_text_question_opens_dialog(target: render.Target) -> None:
    answers = (TextAnswerView("Anna", "More @here please"), TextAnswerView(None, "Fine"))
    post = render.question_post(view(kind="text", options=(), text_answers=answers), target)
    ids = [a["id"] for a in actions_of(post)]
    assert ids == ["answer", "note", "back", "skip", "next"]
    ctx = ContextSigner(SECRET).verify(actions_of(post)[0]["integration"]["context"])
    assert ctx is not None and ctx["a"] == "dlganswer"
    text = post["props"]["attachments"][0]["text"]
    assert "More @" + render.ZWJ + "here please" in text and "> Fine" in text


def test_closed_question_has_no_buttons(target: render.Target) -> None:
    post = render.question_post(view(closed=True), target)
    assert actions_of(post) == []
    assert len(post["props"]["attachments"]) == 1
    assert "Closed" in post["props"]["attachments"][0]["text"]


def test_anonymous_question_shows_no_names(target: render.Target) -> None:
    anon = view(anonymous=True, respondents=(), options=tuple(replace(o, voters=()) for o in view().options))
    text = render.question_post(anon, target)["props"]["attachments"][0]["text"]
    assert "Anna" not in text and "Bram" not in text and "3 answered" in text


def test_long_labels_are_cut(target: render.Target) -> None:
    long = view(options=(OptionView(1, "x", "L" * 500),), text="Q" * 5000)
    post = render.question_post(long, target)
    assert len(actions_of(post)[0]["name"]) <= render.MAX_BUTTON
    assert len(post["props"]["attachments"][0]["title"]) <= 1000


# --- header, notices, summary, dialogs ------------------------------------------------------


def header(**changes: object) -> HeaderCard:
    card = HeaderCard(
        "sess1",
        "Social media check",
        "We decide together.",
        "Anna",
        "en",
        True,
        3,
        "running",
        "Question 1 of 24",
        CardMode.POST,
        {},
    )
    return replace(card, **changes)  # type: ignore[arg-type]


def test_header_post() -> None:
    post = render.header_post(header())
    att = post["props"]["attachments"][0]
    assert post["message"] == "### Social media check"
    assert att["footer"] == "Question 1 of 24" and "Anonymous" in att["text"] and "3 people" in att["text"]
    assert (
        render.header_post(header(state="finished"))["props"]["attachments"][0]["color"] == render.COLOURS["finished"]
    )


def test_notice_with_restart_button(target: render.Target) -> None:
    notice = Notice(
        "Restart? @all",
        Audience.EPHEMERAL,
        Tone.INFO,
        (Action(EventKind.RESTART, "Yes, restart", "danger", "confirm"),),
        session_id="sess1",
    )
    post = render.notice_post(notice, target)
    assert post["message"] == "Restart? @" + render.ZWJ + "all"
    (button,) = actions_of(post)
    assert button["style"] == "danger" and button["id"] == "ev0"
    ctx = ContextSigner(SECRET).verify(button["integration"]["context"])
    assert ctx == {"a": "event", "e": "restart", "v": "confirm", "s": "sess1", "c": "chan1", "t": "team1"}
    response = render.command_response([notice], target)
    assert response["response_type"] == "ephemeral" and response["attachments"][0]["actions"][0]["id"] == "ev0"
    assert response["skip_slack_parsing"] is True


def summary(**changes: object) -> Summary:
    base = Summary(
        session_id="sess1",
        title="Social media check",
        language="en",
        final=True,
        themes=(
            ThemeResult("fit", "Fit", 3.5, 1.0, 5.0, 5, 3, 3, ("Does it fit?",)),
            ThemeResult("plan", "Plan", None, None, None, 5, 2, 0, ()),
        ),
        questions=(
            QuestionResult(
                "audiences",
                4,
                "Who do we want to reach?",
                "multi",
                "Needs",
                (
                    OptionView(1, "customers", "Customers", 2, ("Anna", "Bram")),
                    OptionView(2, "media", "Media", 0),
                ),
                (),
                Spread(2),
                False,
                False,
            ),
            QuestionResult(
                "owner",
                20,
                "Who owns it?",
                "text",
                "Plan",
                (),
                (TextAnswerView("Carla", "Me, @channel"),),
                Spread(1),
                False,
                False,
            ),
            QuestionResult("later", 21, "Later?", "text", "Plan", (), (), Spread(0), True, False),
        ),
        concerns=(NoteView("Bram", "Does it fit?", "Time is short"),),
        decision=DecisionView(
            "pilot",
            "Pilot",
            True,
            ("small start",),
            "Carla",
            ("LinkedIn",),
            ("HR",),
            "3 months",
            "",
            date(2027, 3, 1),
            "1 March 2027",
        ),
        participants=("Anna", "Bram", "Carla"),
        participant_count=3,
        anonymous=False,
        ui={},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_summary_posts_hold_everything_decision_first() -> None:
    (post,) = summary_posts(summary(), ["file1"])
    message = post["message"]
    assert post["file_ids"] == ["file1"]
    for expected in (
        "#### Social media check — Summary",
        "Fit",
        "⌀ 3.5 of 5 (colleagues 1.0–5.0)",
        "Disagreement",
        "Customers: 2 — Anna, Bram",
        "Carla: Me, @" + render.ZWJ + "channel",
        "**Decision:** Pilot",
        "Carla",
        "LinkedIn",
        "1 March 2027",
        "Time is short",
        "**Participants:** Anna, Bram, Carla",
        "**21. Later?** — _not answered_",
    ):
        assert expected in message, expected
    assert "Media" not in message  # options nobody chose are left out
    assert "@channel" not in message
    order = [message.index(s) for s in ("**Decision:**", "**Participants:**", "**Fit**", "**4. Who", "Time is short")]
    assert order == sorted(order)


def test_anonymous_summary_has_no_names() -> None:
    anon = summary(anonymous=True, participants=(), concerns=(NoteView(None, "q", "worry"),))
    (post,) = summary_posts(anon)
    assert "3 participants" in post["message"] and "file_ids" not in post
    assert "Anna" not in post["message"] and "Bram" not in post["message"]


@pytest.mark.parametrize("language", ["en", "nl"])
def test_a_very_long_summary_splits_over_posts_losing_nothing(language: str) -> None:
    notes = tuple(NoteView(f"User{i}", "Does it fit?", f"note{i:03d} " + "x" * 1500) for i in range(40))
    people = tuple(f"Person{i}" for i in range(200))
    long = summary(language=language, concerns=notes, participants=people, participant_count=len(people))
    posts = summary_posts(long, ["chart"])
    assert len(posts) >= 4
    assert all(len(p["message"]) <= render.MAX_POST for p in posts)
    assert posts[0]["file_ids"] == ["chart"] and all("file_ids" not in p for p in posts[1:])
    first = posts[0]["message"]
    decision = "**Besluit:** Pilot" if language == "nl" else "**Decision:** Pilot"
    assert first.startswith("#### Social media check — ") and decision in first
    assert "Person199" in first  # participants come right after the decision
    assert ("deel 1 van" if language == "nl" else "part 1 of") in first
    joined = "\n".join(p["message"] for p in posts)
    for i in range(40):  # every note, whole, exactly once
        assert joined.count(f"- User{i}: note{i:03d} " + "x" * 1500 + " _(Does it fit?)_") == 1, i
    assert joined.index(decision) < joined.index("**4. Who") < joined.index("note000")
    assert sum("— Summary" in p["message"] or "— Samenvatting" in p["message"] for p in posts) == 1


def test_an_answer_longer_than_a_post_is_clipped_not_lost() -> None:
    huge = QuestionResult(
        "w", 5, "Wishes?", "text", "Plan", (), (TextAnswerView("Anna", "y" * 40000),), Spread(1), False, False
    )
    posts = summary_posts(summary(questions=(huge,)))
    assert all(len(p["message"]) <= render.MAX_POST for p in posts)
    joined = "\n".join(p["message"] for p in posts)
    assert "**Decision:** Pilot" in joined and "Time is short" in joined and "- Anna: yyy" in joined


def test_dialogs() -> None:
    body = dialog_bodies.answer_dialog(view(kind="date"), "STATE", URL, 5000)
    dialog = body["dialog"]
    assert body["url"] == URL and dialog["state"] == "STATE" and dialog["callback_id"] == "answer"
    (element,) = dialog["elements"]
    assert element["name"] == "text" and element["type"] == "textarea" and element["max_length"] == 3000
    assert len(element["display_name"]) <= dialog_bodies.MAX_DIALOG_LABEL
    assert "2027-06-01" in element["help_text"]
    ui = {"note_label": "Your note (a concern, a doubt, an idea)", "note_title": "Add a note"}
    note = dialog_bodies.note_dialog(view(ui=ui), "S", URL, 1000)["dialog"]
    assert note["elements"][0]["display_name"] == "Add a note"
    assert note["elements"][0]["placeholder"].startswith("Your note")
    assert note["elements"][0]["max_length"] == 1000


def test_action_and_error_responses() -> None:
    assert render.action_response([]) == {}
    assert render.action_response(["@here nope"])["ephemeral_text"] == "@" + render.ZWJ + "here nope"
    assert render.error_response("stale")["ephemeral_text"] == "stale"


def test_dutch_fallbacks() -> None:
    assert render.t({}, "nl", "multi_hint").startswith("Kies")
    assert render.t({"next": "Verder"}, "nl", "next") == "Verder"
    assert render.t({}, "xx", "next") == "Next"
    assert render.t({}, "en", "participants_count", n=1) == "1 participant"
    assert render.t({}, "nl", "participants_count", n=1) == "1 deelnemer"
    assert render.t({}, "en", "no_answers_yet", wrong=1) == "No answers yet"
