"""Whole checks through every branch, in both languages: real engine, real Redis store."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.dialogue.load import load_dialogue
from bot.core.messages import Audience, HeaderCard, QuestionCard, SummaryCard
from bot.core.session import FINISHED
from bot.service import CheckService
from bot.store.store import Store
from tests.team import FIXED_NOW, Team, notices, option_number, render, summary_of

DIALOGUE = load_dialogue()
USERS = ("anna", "bram", "carla")
DATES = {"en": ("in 18 months", date(2028, 5, 28)), "nl": ("over 2 jaar", date(2028, 11, 28))}


@pytest.fixture
def team(store: Store) -> Team:
    return Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW))


def run_check(team: Team, language: str, branch: str, answer_dates: bool) -> tuple[list[str], dict[str, int]]:
    """Walk a whole check; anna facilitates, everyone answers. Returns the path and answers given."""
    messages = team.say("anna", f"start {language}")
    assert any(isinstance(m, HeaderCard) for m in messages)
    given: dict[str, int] = {}
    path: list[str] = []
    for _ in range(80):
        card = team.current()
        qid = card.view.question_id
        path.append(qid)
        question = DIALOGUE.question(qid)
        for i, user in enumerate(USERS):
            text = _answer_for(question, qid, i, branch, language, answer_dates)
            if text is None:
                continue
            reply = team.say(user, f"answer {text}")
            assert not [n for n in notices(reply) if n.tone.value == "refusal"], render(reply)
            given[qid] = given.get(qid, 0) + 1
        reply = team.say("anna", "next")
        if any(isinstance(m, SummaryCard) for m in reply):
            return path, given
    raise AssertionError("the check never ended")


def _answer_for(question, qid: str, i: int, branch: str, language: str, answer_dates: bool) -> str | None:
    if qid == "leaning":
        value = "not_now" if branch == "not_now" else "try"
        return str(option_number(DIALOGUE, qid, value))
    if question.is_decision:
        return str(option_number(DIALOGUE, qid, branch))
    if question.kind == "scale":
        return str((3, 1, 2)[i] if len(question.options) >= 3 else 1)
    if question.kind == "single":
        return "1"
    if question.kind == "multi":
        return ("1,2", "2", "2,3")[i]
    if question.kind == "date":
        return DATES[language][0] if answer_dates and i == 0 else None
    return f"{qid} by {USERS[i]}"


@pytest.mark.parametrize("language", ["en", "nl"])
@pytest.mark.parametrize("branch", ["go", "pilot", "not_now"])
def test_whole_check_through_each_branch(team: Team, language: str, branch: str) -> None:
    answer_dates = branch != "not_now"
    path, given = run_check(team, language, branch, answer_dates)

    if branch == "not_now":
        assert "channels" not in path and "depth" not in path, "leaning 'not now' skips the channel choices"
        assert path[-2:] == ["revisit_not_now", "reconsider"]
    else:
        assert {"channels", "depth", "domain"} <= set(path)
    if branch == "pilot":
        assert path[-3:] == ["pilot_scope", "pilot_owner", "pilot_review"], "channels answered: not asked again"
    if branch == "go":
        assert path[-2:] == ["go_owner", "go_review"]

    summary = summary_of(team.log).summary
    assert summary.final and summary.language == language
    assert summary.decision.value == branch and summary.decision.confirmed
    # every answer is in the summary exactly once
    for result in summary.questions:
        counted = sum(o.count for o in result.options) if result.options else len(result.text_answers)
        respondents = result.spread.respondents
        assert respondents == given.get(result.question_id, 0), result.question_id
        if DIALOGUE.question(result.question_id).kind in ("scale", "single", "text", "date"):
            assert counted == respondents, result.question_id
    # the decision record
    if branch == "not_now":
        assert summary.decision.revisit == date(2027, 11, 28), "default for 'not now' is 12 months"
    else:
        assert summary.decision.revisit == DATES[language][1]
        owner_q = "go_owner" if branch == "go" else "pilot_owner"
        assert summary.decision.owner == f"{owner_q} by anna", "the facilitator's answer is the record"
        channel_label = DIALOGUE.option_label(language, "channels", DIALOGUE.question("channels").options[1].value)
        assert summary.decision.channels == (channel_label,), "options held by at least half"
    assert summary.participants == ("Anna", "Bram", "Carla")
    # the summary is posted to the channel itself, and the header says finished
    final = [m for m in team.log if isinstance(m, SummaryCard)][-1]
    assert final.audience is Audience.CHANNEL
    headers = [m for m in team.log if isinstance(m, HeaderCard)]
    assert headers[-1].state == FINISHED
    text = render(team.log)
    first = {"nl": "Vraag 1 · Onze situatie (fase 1 van 5)", "en": "Question 1 · Our situation (phase 1 of 5)"}
    assert first[language] in text
    # progress counts up to the end of the path actually taken
    posted = [m.view for m in team.log if isinstance(m, QuestionCard) and m.mode.value == "post"]
    assert [v.number for v in posted] == list(range(1, len(path) + 1))
    assert posted[-1].total == len(path)


def test_disagreement_is_flagged_by_the_documented_rule(team: Team) -> None:
    team.say("anna", "start")
    team.say("anna", "answer 3")
    reply = team.say("bram", "answer 2")
    view = team.tally(reply)
    assert not view.spread.disagreement, "one step apart is not a disagreement"
    reply = team.say("carla", "answer 1")
    view = team.tally(reply)
    assert view.spread.disagreement and "2" in view.spread.reason
    closing = team.say("anna", "next")
    report = [n.text for n in notices(closing) if n.audience is Audience.THREAD]
    assert any("⚠" in line and "3 answered" in line for line in report)


def test_only_themes_with_scale_questions_get_a_score(team: Team) -> None:
    run_check(team, "en", "go", answer_dates=True)
    summary = summary_of(team.log).summary
    scored = {t.theme_id for t in summary.themes}
    with_scales = {DIALOGUE.question(q.question_id).theme for q in summary.questions if q.kind == "scale"}
    assert scored == with_scales
    assert all(t.average is not None for t in summary.themes), "every scored theme was answered"
