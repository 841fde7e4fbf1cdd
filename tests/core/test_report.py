"""The one report model: section order, the one number format, labels in en and nl, and every
renderer (plain text, Slack, Mattermost) printing the same thing in the same order."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from bot.adapters.mattermost.summary import summary_posts
from bot.adapters.slack.summary import summary_messages
from bot.core.messages import (
    DecisionView,
    NoteView,
    OptionView,
    QuestionResult,
    Spread,
    Summary,
    TextAnswerView,
    ThemeResult,
)
from bot.core.render_text import summary_text
from bot.core.report import (
    ChoiceRow,
    ConcernsSection,
    DecisionSection,
    ParticipantsSection,
    QuestionsSection,
    TextRow,
    ThemesSection,
    build_report,
    fmt_chosen,
    fmt_range,
    fmt_score,
    fmt_theme_score,
)


def make_summary(**changes: object) -> Summary:
    base = Summary(
        session_id="s1",
        title="Social media check",
        language="en",
        final=True,
        themes=(
            ThemeResult("fit", "Fit", 3.0, 2.6667, 3.6667, 5, 3, 3, ("Does it fit?",)),
            ThemeResult("plan", "Plan", None, None, None, 5, 2, 0, ()),
        ),
        questions=(
            QuestionResult(
                "q1",
                1,
                "Does it fit?",
                "scale",
                "Fit",
                (
                    OptionView(1, "1", "Not at all", 1, ("Anna",)),
                    OptionView(2, "2", "A little", 0),
                    OptionView(3, "3", "Fully", 1, ("Bram",)),
                ),
                (),
                Spread(2, 2.0, 1, 3, True, "answers lie 2 steps apart"),
                False,
                False,
            ),
            QuestionResult(
                "q2", 2, "Who writes?", "text", "Plan", (), (TextAnswerView("Carla", "Me"),), Spread(1), False, False
            ),
            QuestionResult("q3", 3, "Later?", "text", "Plan", (), (), Spread(0), True, False),
            QuestionResult("q4", 4, "Budget?", "single", "Plan", (), (), Spread(0), True, True),
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


def test_sections_come_decision_first() -> None:
    report = build_report(make_summary())
    assert [type(s) for s in report.sections] == [
        DecisionSection,
        ParticipantsSection,
        ThemesSection,
        QuestionsSection,
        ConcernsSection,
    ]
    decision = report.sections[0]
    assert isinstance(decision, DecisionSection) and decision.confirmed
    assert [(r.key, r.value) for r in decision.rows] == [
        ("decision", "Pilot"),
        ("reasons", "small start"),
        ("pilot_scope", "3 months"),
        ("owner", "Carla"),
        ("channels", "LinkedIn"),
        ("domain", "HR"),
        ("revisit", "1 March 2027"),
    ]


def test_rows_carry_scores_states_and_marks() -> None:
    report = build_report(make_summary())
    themes, questions = report.sections[2], report.sections[3]
    assert isinstance(themes, ThemesSection) and isinstance(questions, QuestionsSection)
    fit, plan = themes.rows
    assert (fit.score, fit.bar, fit.answered) == (
        "⌀ 3.0 of 5 (colleagues 2.7–3.7)",
        "██████░░░░",
        "3 of 3 questions answered",
    )
    assert fit.flags == ("Disagreement: Does it fit?",) and fit.average == 3.0
    assert (plan.score, plan.bar) == ("not answered", "░" * 10)
    scale, text, unanswered, skipped = questions.rows
    assert scale.answers == (ChoiceRow("Not at all", 1, ("Anna",)), ChoiceRow("Fully", 1, ("Bram",)))
    assert scale.score == "⌀ 2.0 of 3", "a question's mean in its buttons' own numbering"
    assert scale.disagreement == "Disagreement: answers lie 2 steps apart"
    assert text.answers == (TextRow("Carla", "Me"),) and text.score == "" and text.disagreement == ""
    assert (unanswered.state, skipped.state) == ("not answered", "Skipped")


def test_one_number_format() -> None:
    assert fmt_range(2.6667, 3.6667) == "2.7–3.7"
    assert fmt_range(2.6667, 3.6667, "nl") == "2,7–3,7"
    assert fmt_score(2.6667, 3) == "⌀ 2.7 of 3"
    assert fmt_score(3.44, 5, "nl") == "⌀ 3,4 van 5"
    assert fmt_theme_score(3.0, 3.0, 3.0, 5) == "⌀ 3.0 of 5"  # no range when everyone agrees
    assert fmt_theme_score(3.0, 2.96, 3.04, 5) == "⌀ 3.0 of 5", "a range that reads 3.0–3.0 is no range"
    assert fmt_theme_score(4.25, 1, 5, 5) == "⌀ 4.2 of 5 (colleagues 1.0–5.0)"
    assert fmt_theme_score(4.25, 1, 5, 5, "nl") == "⌀ 4,2 van 5 (collega's 1,0–5,0)"
    assert fmt_chosen([("Poorly", 1), ("Partly", 0), ("Well", 2)]) == "2 × Well, 1 × Poorly"
    assert fmt_chosen([("A", 1), ("B", 1)]) == "1 × A, 1 × B", "ties keep the options' order"


def _slack_text(summary: Summary) -> str:
    return "\n".join(json.dumps(m["blocks"], ensure_ascii=False) for m in summary_messages(summary))


def _mattermost_text(summary: Summary) -> str:
    return "\n".join(p["message"] for p in summary_posts(summary))


RENDERERS = {"text": summary_text, "slack": _slack_text, "mattermost": _mattermost_text}


@pytest.mark.parametrize("platform", RENDERERS)
def test_every_renderer_prints_decision_first_and_the_same_numbers(platform: str) -> None:
    out = RENDERERS[platform](make_summary())
    marks = ["Decision:", "Look again on:", "Participants:", "Where we stand per theme", "Who writes?", "Time is short"]
    positions = [out.find(mark) for mark in marks]
    assert -1 not in positions and positions == sorted(positions), dict(zip(marks, positions, strict=True))
    assert "⌀ 3.0 of 5 (colleagues 2.7–3.7)" in out and "⌀ 2.0 of 3" in out
    assert "2.67" not in out and "Ø" not in out and "3.0–4.0" not in out and "/5" not in out


@pytest.mark.parametrize("platform", RENDERERS)
def test_dutch_labels(platform: str) -> None:
    out = RENDERERS[platform](make_summary(language="nl"))
    for label in ("Besluit", "Eigenaar", "Deelnemers", "Waar we staan per thema", "Alle antwoorden", "Open punten"):
        assert label in out, label
    assert "3 van 3 vragen beantwoord" in out and "niet beantwoord" in out
    assert "⌀ 3,0 van 5 (collega's 2,7–3,7)" in out and "⌀ 2,0 van 3" in out, "Dutch decimals, Dutch words"
    assert "Decision" not in out and "Participants" not in out


def test_not_now_hides_owner_and_an_open_vote_says_so() -> None:
    d = make_summary().decision
    report = build_report(make_summary(decision=replace(d, value="not_now", label="Not now", confirmed=False)))
    decision = report.sections[0]
    assert isinstance(decision, DecisionSection) and not decision.confirmed
    assert [r.key for r in decision.rows] == ["decision", "reasons", "pilot_scope", "revisit"]
    assert decision.rows[0].value == "Not now (not decided yet)"


def test_anonymous_report_has_no_names() -> None:
    anon = make_summary(anonymous=True, participants=(), concerns=(NoteView(None, "q", "worry"),))
    report = build_report(anon)
    people, questions, concerns = report.sections[1], report.sections[3], report.sections[4]
    assert isinstance(people, ParticipantsSection) and people.names == () and people.text == "3 participants"
    assert isinstance(questions, QuestionsSection) and isinstance(concerns, ConcernsSection)
    assert all(not a.voters for a in questions.rows[0].answers if isinstance(a, ChoiceRow))
    assert concerns.rows[0].author == ""
    for render in RENDERERS.values():
        out = render(anon)
        assert "Anna" not in out and "Bram" not in out


def test_no_concerns_says_so() -> None:
    concerns = build_report(make_summary(concerns=())).sections[4]
    assert isinstance(concerns, ConcernsSection) and concerns.rows == ()
    assert concerns.empty == "No open concerns were noted."
    assert "No open concerns were noted." in summary_text(make_summary(concerns=()))
