"""Team semantics: roles, the decision rule, quorum, anonymity, restarts, stale buttons, bad input."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.core.dialogue.load import load_dialogue
from bot.core.messages import Audience, EventKind, HeaderCard, QuestionCard, SummaryCard, Tone
from bot.service import CheckService
from bot.store.store import Store
from tests.team import FIXED_NOW, Team, notices, option_number, render, summary_of

DIALOGUE = load_dialogue()


@pytest.fixture
def team(store: Store) -> Team:
    return Team(CheckService(DIALOGUE, store, admins=frozenset({"boss"}), clock=lambda: FIXED_NOW))


def refusal(messages) -> str:
    found = [n for n in notices(messages) if n.tone is Tone.REFUSAL and n.audience is Audience.EPHEMERAL]
    assert found, "expected an ephemeral refusal, got: " + render(messages)
    return found[0].text


def go_to(team: Team, question_id: str, votes: dict[str, str] | None = None) -> None:
    """anna (facilitator) moves on until ``question_id`` is open; ``votes`` answers leaning etc."""
    for _ in range(60):
        current = team.current().view.question_id
        if current == question_id:
            return
        if votes and current in votes:
            team.say("anna", f"answer {option_number(DIALOGUE, current, votes[current])}")
        team.say("anna", "next")
    raise AssertionError(f"never reached {question_id}")


def test_only_the_facilitator_or_an_admin_moves_the_check(team: Team) -> None:
    team.say("anna", "start")
    for command in ("next", "back", "skip", "cancel", "restart"):
        text = refusal(team.say("bram", command))
        assert "Anna" in text, "the refusal says who can"
    assert team.current().view.question_id == DIALOGUE.start
    team.say("boss", "next")  # SMC_ADMINS
    assert team.current().view.number == 2


def test_anyone_answers_last_answer_counts_and_notes_keep_their_author(team: Team) -> None:
    team.say("anna", "start")
    team.say("bram", "answer 1")
    reply = team.say("bram", "answer 3")
    view = team.tally(reply)
    assert view.respondent_count == 1 and [o.count for o in view.options] == [0, 0, 1]
    team.say("carla", "note we lack time")
    summary = summary_of(team.say("carla", "summary")).summary
    assert [(c.author, c.text) for c in summary.concerns] == [("Carla", "we lack time")]


def test_back_and_skip(team: Team) -> None:
    team.say("anna", "start")
    assert "first question" in refusal(team.say("anna", "back"))
    team.say("anna", "skip")
    team.say("anna", "next")
    assert team.current().view.number == 3
    reply = team.say("anna", "back")
    posted = [m.view for m in reply if isinstance(m, QuestionCard) and m.mode.value == "post"]
    assert posted[0].question_id == DIALOGUE.order[1] and posted[0].number == 2
    summary = summary_of(team.say("anna", "summary")).summary
    first = summary.questions[0]
    assert first.skipped and first.unanswered, "a skipped question shows as unanswered"


def test_the_decision_cannot_be_passed_without_a_decision(team: Team) -> None:
    team.say("anna", "start")
    go_to(team, "decision", {"leaning": "try"})
    assert "cannot be skipped" in refusal(team.say("anna", "skip"))
    assert "no votes" in refusal(team.say("anna", "next"))
    team.say("bram", f"answer {option_number(DIALOGUE, 'decision', 'go')}")
    team.say("carla", f"answer {option_number(DIALOGUE, 'decision', 'pilot')}")
    tie = refusal(team.say("anna", "next"))
    assert "Go: 1" in tie and "Pilot: 1" in tie, "a tie is shown, not decided"
    assert "only" in refusal(team.say("bram", "decide go")).lower()
    reply = team.say("anna", "decide pilot")
    assert any("Pilot" in n.text for n in notices(reply) if n.tone is Tone.SUCCESS)
    assert team.current().view.question_id == "reasons"
    assert "decision question" in refusal(team.say("anna", "decide go"))


def test_going_back_to_the_decision_reopens_it(team: Team) -> None:
    team.say("anna", "start")
    go_to(team, "decision", {"leaning": "try"})
    team.say("anna", "decide not-now")
    team.say("anna", "next")  # reasons -> not-now branch
    assert team.current().view.question_id == "revisit_not_now"
    team.say("anna", "back")
    team.say("anna", "back")
    team.say("anna", "decide go")
    team.say("anna", "next")
    assert team.current().view.question_id == "go_owner"


def test_quorum_moves_on_by_itself(store: Store) -> None:
    team = Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW))
    team.say("anna", "start --quorum 2")
    team.say("bram", "answer 1")
    assert team.current().view.number == 1
    reply = team.say("carla", "answer 2")
    assert any("2 people answered" in n.text for n in notices(reply))
    assert team.current().view.number == 2


def test_anonymous_check_never_links_a_person_to_an_answer(store: Store, redis_client) -> None:
    team = Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW))
    team.say("anna", "start --anonymous")
    team.say("bram", "answer 1")
    team.say("carla", "answer 3")
    team.say("carla", "note the-secret-note")
    team.say("anna", "next")
    team.say("bram", "answer 2")
    everything = team.log + team.say("bram", "summary") + team.say("bram", "status")
    text = render(everything)
    assert "Carla" not in text and "Bram" not in text
    assert "the-secret-note" in text, "the note itself is kept, without its author"
    summary = summary_of(everything).summary
    assert summary.participants == () and summary.participant_count == 2
    assert all(o.voters == () for q in summary.questions for o in q.options)
    # the store keeps only salted hashes of user ids
    hashes = [key for key in redis_client.keys("*") if redis_client.type(key) == "hash"]
    dump = " ".join(k + v for key in hashes for k, v in redis_client.hgetall(key).items())
    assert "the-secret-note" in dump
    assert "bram" not in dump and "carla" not in dump


def test_second_start_shows_the_running_one_and_restart_needs_confirmation(team: Team) -> None:
    team.say("anna", "start")
    team.say("bram", "answer 1")
    shown = notices(team.say("bram", "start"))[0]
    assert "already running" in shown.text and not shown.actions
    offer = notices(team.say("anna", "start"))[0]
    assert offer.actions and offer.actions[0].event is EventKind.RESTART
    asked = notices(team.say("anna", "restart"))[0]
    assert "confirm" in asked.text.lower() and asked.actions
    old = team.current().view.session_id
    reply = team.say("anna", "restart confirm")
    assert [m.state for m in reply if isinstance(m, HeaderCard)] == ["cancelled", "running"]
    new = team.current().view
    assert new.session_id != old and new.respondent_count == 0


def test_cancel_and_then_buttons_of_the_old_check_are_refused(team: Team) -> None:
    team.say("anna", "start")
    sid = team.current().view.session_id
    reply = team.say("anna", "cancel")
    assert any(n.audience is Audience.CHANNEL for n in notices(reply))
    assert "No check is running" in refusal(team.say("bram", "answer 1"))
    stale = team.click("bram", kind=EventKind.ANSWER, choices=(1,), session_id=sid, question_id=DIALOGUE.start)
    assert "no longer open" in refusal(stale)


def test_buttons_of_an_old_question_are_refused_and_record_nothing(team: Team) -> None:
    team.say("anna", "start")
    first = team.current().view
    team.say("anna", "next")
    stale = team.click(
        "bram",
        kind=EventKind.ANSWER,
        choices=(1,),
        session_id=first.session_id,
        question_id=first.question_id,
    )
    assert "no longer open" in refusal(stale)
    old_next = team.click("anna", kind=EventKind.NEXT, session_id=first.session_id, question_id=first.question_id)
    assert "no longer open" in refusal(old_next)
    assert team.current().view.number == 2, "a stale Next button does not advance twice"
    summary = summary_of(team.say("anna", "summary")).summary
    assert summary.questions[0].unanswered


def test_button_answers_and_multi_choice_toggles(team: Team) -> None:
    team.say("anna", "start")
    go_to(team, "audiences")
    view = team.current().view
    base = dict(kind=EventKind.ANSWER, session_id=view.session_id, question_id=view.question_id)
    team.click("bram", choices=(2,), toggle=True, **base)
    team.click("bram", choices=(4,), toggle=True, **base)
    reply = team.click("bram", choices=(2,), toggle=True, **base)
    assert not notices(reply), "button clicks need no confirmation message"
    card = team.tally(reply)
    assert [o.number for o in card.options if o.count] == [4]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("answer 9", "a number from 1 to 3"),
        ("answer 1,2", "a number from 1 to 3"),
        ("answer lots", "a number from 1 to 3"),
        ("frobnicate", "don't know the command"),
        ("start --quorum zero", "whole number"),
        ("note", "add text"),
        ("next please", "Usage"),
    ],
)
def test_bad_input_gets_a_polite_answer(team: Team, command: str, expected: str) -> None:
    team.say("anna", "start")
    assert expected in refusal(team.say("anna", command))


def test_text_is_length_limited_and_nothing_is_saved(store: Store) -> None:
    team = Team(CheckService(DIALOGUE, store, max_text=50, clock=lambda: FIXED_NOW))
    team.say("anna", "start")
    assert "too long" in refusal(team.say("bram", "note " + "x" * 51))
    assert summary_of(team.say("bram", "summary")).summary.concerns == ()


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "in 18 months", date(2028, 5, 28)),
        ("en", "2027-06-01", date(2027, 6, 1)),
        ("en", "3 months", date(2027, 2, 28)),
        ("nl", "over 2 jaar", date(2028, 11, 28)),
        ("nl", "1 juni 2027", date(2027, 6, 1)),
        ("nl", "volgend jaar", date(2027, 11, 28)),
    ],
)
def test_dates_and_durations_in_both_languages(store: Store, language: str, text: str, expected: date) -> None:
    team = Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW))
    team.say("anna", f"start {language}")
    go_to(team, "decision", {"leaning": "not_now"})
    team.say("anna", "decide not-now")
    team.say("anna", "next")
    assert team.current().view.kind == "date"
    reply = team.say("anna", f"answer {text}")
    assert not [n for n in notices(reply) if n.tone is Tone.REFUSAL], render(reply)
    team.say("anna", "next")
    reply = team.say("anna", "next")
    assert summary_of(reply).summary.decision.revisit == expected


@pytest.mark.parametrize("text", ["yesterday", "2020-01-01", "no idea at all"])
def test_unusable_dates_are_refused(store: Store, text: str) -> None:
    team = Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW))
    team.say("anna", "start")
    go_to(team, "decision", {"leaning": "not_now"})
    team.say("anna", "decide not-now")
    team.say("anna", "next")
    assert re.search(r"past|could not read", refusal(team.say("anna", f"answer {text}")))


def test_help_and_messages_speak_the_sessions_language(team: Team) -> None:
    assert "/socialmedia-check start" in notices(team.say("bram", "help"))[0].text
    team.say("anna", "start nl")
    assert "gespreksleider" in notices(team.say("bram", "help"))[0].text
    assert "Alleen" in refusal(team.say("bram", "next"))
    assert "ken ik niet" in refusal(team.say("bram", "zzz"))


def test_summary_of_the_last_finished_check_after_it_ended(team: Team) -> None:
    team.say("anna", "start")
    go_to(team, "decision", {"leaning": "not_now"})
    team.say("anna", "decide not-now")
    for _ in range(3):
        reply = team.say("anna", "next")
    assert any(isinstance(m, SummaryCard) for m in reply)
    again = summary_of(team.say("bram", "summary")).summary
    assert again.final and again.decision.value == "not_now"
    assert "No check is running" in refusal(team.say("bram", "next"))


def test_simultaneous_next_clicks_advance_once(team: Team) -> None:
    import threading

    team.say("anna", "start")
    view = team.current().view
    barrier = threading.Barrier(10)
    results: list[list] = []

    def click() -> None:
        barrier.wait()
        results.append(
            team.click("anna", kind=EventKind.NEXT, session_id=view.session_id, question_id=view.question_id)
        )

    threads = [threading.Thread(target=click) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert team.current().view.number == 2, "advanced exactly once"
    moved = [r for r in results if any(isinstance(m, QuestionCard) and m.mode.value == "post" for m in r)]
    assert len(moved) == 1, "only one click posts the next question"


def test_status_offers_to_post_the_open_question_again(team: Team) -> None:
    team.say("anna", "start")
    team.say("anna", "next")
    shown = notices(team.say("bram", "status"))[0]
    assert shown.actions and shown.actions[0].event is EventKind.STATUS and shown.actions[0].value == "confirm"
    again = team.say("bram", "status repost")
    cards = [m for m in again if isinstance(m, QuestionCard)]
    assert len(cards) == 1 and cards[0].mode.value == "post"
    assert cards[0].view.question_id == team.current().view.question_id
    assert "again" in notices(again)[0].text
    assert "status [repost]" in refusal(team.say("bram", "status everything"))


def test_status_repost_in_dutch_and_by_its_button(team: Team) -> None:
    team.say("anna", "start nl")
    clicked = team.click("carla", kind=EventKind.STATUS, confirm=True)
    assert [m for m in clicked if isinstance(m, QuestionCard)]
    assert "opnieuw" in notices(clicked)[0].text
