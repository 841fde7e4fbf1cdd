"""What people read (issue #10, "Numbers and words"), through the real engine and store:

- one scale per surface: a question's tally says what people chose and averages in its buttons' own
  numbering ("2 × Well, 1 × Poorly · ⌀ 2.3 of 3"); a theme's score is on 1–5 and says so ("of 5");
- one formatting of every number, from the report model, in the check's language ("2,3" in Dutch),
  the same on the console, Slack and Mattermost;
- counted phrases follow Babel's plural rules ("1 participant", "1 geschreven antwoord"), and the
  catalogue is complete: every key and every plural form in both languages;
- progress that a branch cannot renumber ("Question 22 · Decision (phase 4 of 5)"), saying which
  phase was skipped and why;
- Dutch: one term per concept, Dutch command words in the Dutch help, the console in the check's language.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.adapters.console import ConsoleChat
from bot.adapters.mattermost import render as mm
from bot.adapters.mattermost.signing import ContextSigner
from bot.adapters.mattermost.summary import summary_posts
from bot.adapters.slack import blocks as sb
from bot.adapters.slack.summary import summary_messages
from bot.core.commands import parse_command
from bot.core.dialogue import plurals
from bot.core.dialogue.load import load_dialogue, packaged_dialogues_dir
from bot.core.messages import ChannelKey, Event, EventKind, QuestionCard, QuestionView, SummaryCard
from bot.core.render_text import question_text, summary_text, tally_line
from bot.core.report import QuestionsSection, ThemesSection, build_report, fmt_mean, fmt_theme_score
from bot.core.texts import phrase
from bot.errors import DialogueError
from bot.service import CheckService
from bot.store.store import Store
from tests.fakes.slack_api import check_message_blocks
from tests.team import FIXED_NOW, Team, notices, option_number, render, summary_of

DIALOGUE = load_dialogue()
UI_FILE = packaged_dialogues_dir() / "ui.yaml"
# Every phrase that counts something people could have one of. "{n} answered" needs no plural form in
# either language; a text too long "at most {max} characters" is never about one (SMC_MAX_TEXT >= 20).
COUNTED = {
    "participants_count",
    "theme_answered",
    "spread_text",
    "reason_gap",
    "quorum_note",
    "auto_advanced",
    "cancelled",
    "notes_count",
    "history_bad_page",
}
TARGET = mm.Target(
    ChannelKey("mattermost", "t", "c"), "https://bot.example/mattermost/actions", ContextSigner("k" * 32)
)


@pytest.fixture
def team(store: Store) -> Team:
    return Team(CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW))


def surfaces(view: QuestionView) -> dict[str, str]:
    """The same card as the console, Slack and Mattermost show it."""
    post = mm.question_post(view, TARGET)
    return {
        "text": question_text(view),
        "slack": json.dumps(sb.question_message(view), ensure_ascii=False),
        "mattermost": post["message"] + "\n" + "\n".join(a.get("text", "") for a in post["props"]["attachments"]),
    }


def answer_first_question(team: Team, language: str) -> QuestionView:
    """strategy (Poorly / Partly / Well, hidden scores 1 / 3 / 5): anna and carla say Well, bram Poorly."""
    team.say("anna", f"start {language}")
    team.say("anna", "answer 3")
    team.say("bram", "answer 1")
    return team.tally(team.say("carla", "answer 3"))


# --- one scale per surface -------------------------------------------------------------------


def test_a_question_tally_counts_what_people_chose_on_the_buttons_scale(team: Team) -> None:
    view = answer_first_question(team, "en")
    assert view.chosen == "2 × Well, 1 × Poorly"
    assert view.mean == "⌀ 2.3 of 3", "(3 + 1 + 3) / 3 on the buttons 1..3, not (5 + 1 + 5) / 3 = 3.7 in scores"
    assert (view.spread.average, view.spread.minimum, view.spread.maximum) == (2.33, 1, 3)
    assert tally_line(view).startswith("3 answered (Anna, Bram, Carla) · 2 × Well, 1 × Poorly · ⌀ 2.3 of 3 · ⚠")
    for surface, text in surfaces(view).items():
        assert "2 × Well, 1 × Poorly" in text and "⌀ 2.3 of 3" in text, surface
        assert "3.7" not in text and "(1–5)" not in text and "Ø" not in text, surface


def test_a_four_step_question_says_of_4_and_dutch_writes_a_comma(team: Team) -> None:
    view = answer_first_question(team, "nl")
    assert (view.chosen, view.mean) == ("2 × Goed, 1 × Slecht", "⌀ 2,3 van 3")
    for surface, text in surfaces(view).items():
        assert "⌀ 2,3 van 3" in text and "2.3" not in text, surface
    team.say("anna", "next")
    view = team.current().view  # vision: three steps again; listening has four
    while view.question_id != "listening":
        team.say("anna", "next")
        view = team.current().view
    team.say("anna", "answer 4")
    assert team.tally(team.say("bram", "answer 1")).mean == "⌀ 2,5 van 4"


def test_the_closing_line_says_what_was_chosen(team: Team) -> None:
    answer_first_question(team, "en")
    closing = [n.text for n in notices(team.say("anna", "next")) if "closed" in n.text]
    assert closing == [
        "Question 1 closed · 3 answered · 2 × Well, 1 × Poorly · ⌀ 2.3 of 3 · "
        "⚠ Disagreement: answers lie 2 steps apart on the scale"
    ]


def test_themes_keep_the_1_to_5_scale_and_say_so(team: Team) -> None:
    answer_first_question(team, "en")
    report = build_report(summary_of(team.say("anna", "summary")).summary)
    themes = next(s for s in report.sections if isinstance(s, ThemesSection))
    questions = next(s for s in report.sections if isinstance(s, QuestionsSection))
    (fit,) = themes.rows
    assert fit.average == 3.67 and fit.score == "⌀ 3.7 of 5 (colleagues 1.0–5.0)"
    assert questions.rows[0].score == "⌀ 2.3 of 3", "a question in the summary reads as on its card"


# --- one formatting, from the report model -------------------------------------------------


@pytest.mark.parametrize("language", ["en", "nl"])
@pytest.mark.parametrize(("mean", "low", "high"), [(3.0, 2.6667, 3.6667), (3.45, 1.0, 5.0), (2.0, 2.0, 2.0)])
def test_every_renderer_prints_the_report_s_own_score(
    team: Team, language: str, mean: float, low: float, high: float
) -> None:
    from dataclasses import replace

    team.say("anna", f"start {language}")
    team.say("anna", "answer 2")
    summary = summary_of(team.say("anna", "summary")).summary
    summary = replace(summary, themes=(replace(summary.themes[0], average=mean, minimum=low, maximum=high),))
    score = fmt_theme_score(mean, low, high, 5, language)
    texts = {
        "text": summary_text(summary),
        "slack": "\n".join(json.dumps(m["blocks"], ensure_ascii=False) for m in summary_messages(summary)),
        "mattermost": "\n".join(p["message"] for p in summary_posts(summary)),
    }
    for platform, out in texts.items():
        assert score in out, (platform, score)
        assert "2.67" not in out and "2,67" not in out and "Ø" not in out and "/5" not in out, platform
    assert ("," in score) == (language == "nl")


def test_counts_and_plurals_in_a_real_summary(team: Team) -> None:
    team.say("anna", "start --anonymous")
    team.say("anna", "answer 2")
    for _ in range(7):  # to the listening question, the only question of its theme
        team.say("anna", "next")
    team.say("anna", "answer 2")
    text = render(team.say("anna", "summary"))
    assert "1 participant" in text and "1 participants" not in text
    assert "1 of 1 question answered" in text and "1 of 1 questions" not in text
    assert "1 of 3 questions answered" in text, "fit: strategy answered; vision and field not"


# --- plurals -------------------------------------------------------------------------------


def test_babel_picks_the_form() -> None:
    assert [phrase(None, "participants_count", "en", n=n) for n in (0, 1, 2)] == [
        "0 participants",
        "1 participant",
        "2 participants",
    ]
    assert phrase(None, "spread_text", "nl", n=1) == "1 geschreven antwoord"
    assert phrase(None, "spread_text", "nl", n=3) == "3 geschreven antwoorden"
    assert phrase(None, "reason_gap", "nl", gap=1, n=1) == "de antwoorden liggen 1 stap uit elkaar op de schaal"
    assert phrase(None, "quorum_note", "en", quorum=1, n=1) == "Moves on by itself once 1 person has answered."
    assert phrase(None, "history_bad_page", "en", page=3, pages=1, n=1).endswith("has only 1 page.")
    assert phrase(None, "participants_count", "en", n=True) == "True participants", "a flag is no count"
    assert phrase(None, "participants_count", "xx", n=1) == "1 participant", "unknown to Babel: English, whole"
    assert (fmt_mean(3.45, "nl"), fmt_mean(3.45, "xx"), fmt_mean(3.45)) == ("3,5", "3.5", "3.5")


def test_the_plural_rule_read_alone_is_babels_for_every_locale() -> None:
    """plurals reads only the rule from Babel's locale files; it must be the one Babel's whole
    locale gives, parents (pt_AO from pt_PT) and root (all "other") included. In a child process:
    Babel keeps every locale it loads, which would stay in this one."""
    script = """
import sys
from babel import Locale, localedata
from bot.core.dialogue import plurals
for name in ["nl", "en", "pl", "ar", "pt_BR", "sr_Latn", "en_US_POSIX"]:
    plurals.forms_of(name)
assert "babel.dates" not in sys.modules, "reading a plural rule loaded a locale's date data"
differ = [x for x in [*localedata.locale_identifiers(), "EN"]
          if plurals._rule(x) is None or plurals._rule(x).rules != Locale.parse(x).plural_form.rules]
print(len(localedata.locale_identifiers()), differ)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    count, differ = done.stdout.split(" ", 1)
    assert int(count) > 700 and differ.strip() == "[]"
    assert plurals.forms_of("pl") == ("one", "few", "many", "other")
    assert plurals.forms_of("xx") == ("other",) and plurals.category("xx", 1) == "one", "unknown: English's rule"
    assert plurals.forms_of("ja") == ("other",) and plurals.category("ja", 1) == "other", "Japanese's own rule"


def test_a_team_catalogue_without_plural_forms_keeps_its_own_text() -> None:
    own = {"participants_count": "{n} people took part"}
    assert phrase(own, "participants_count", "en", n=1) == "1 people took part", "never mixed with shipped forms"
    assert phrase({}, "participants_count", "en", n=1) == "1 participant"


@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_counted_phrase_has_its_forms_and_uses_them(language: str) -> None:
    raw = yaml.safe_load(UI_FILE.read_text(encoding="utf-8"))
    counted = {k for k, v in raw["en"].items() if isinstance(v, dict)}
    assert counted >= COUNTED, f"counted phrases without plural forms: {sorted(COUNTED - counted)}"
    for key in counted:
        forms = raw[language][key]
        assert isinstance(forms, dict), f"{language}.{key} is counted in English, so here too"
        assert set(plurals.forms_of(language)) <= set(forms), f"{language}.{key}: {sorted(forms)}"
        values = {"n": 1, "gap": 1, "quorum": 1, "days": 1, "pages": 1, "page": 2, "answered": 1, "name": "Anna"}
        one, many = phrase(None, key, language, **values), phrase(None, key, language, **{**values, "n": 2})
        assert one != many and "{" not in one and "{" not in many, (language, key, one, many)


def test_both_languages_have_every_key_and_every_form() -> None:
    raw = yaml.safe_load(UI_FILE.read_text(encoding="utf-8"))
    assert set(raw["en"]) == set(raw["nl"])
    shipped = DIALOGUE.ui
    for language in ("en", "nl"):
        for key, value in raw["en"].items():
            if isinstance(value, dict):
                for form in plurals.forms_of(language):
                    assert plurals.form_key(key, form) in shipped[language], (language, key, form)


@pytest.fixture
def dialogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "dialogues"
    shutil.copytree(packaged_dialogues_dir(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            'participants_count: {one: "{n} deelnemer", other: "{n} deelnemers"}',
            'participants_count: {other: "{n} deelnemers"}',
            "nl needs the plural form(s) one",
        ),
        (
            'participants_count: {one: "{n} deelnemer", other: "{n} deelnemers"}',
            'participants_count: "{n} deelnemers"',
            "a counted phrase: give its plural forms (one, other)",
        ),
        (
            'participants_count: {one: "{n} deelnemer", other: "{n} deelnemers"}',
            'participants_count: {one: "{n} deelnemer", other: "{n} deelnemers", lots: "{n}"}',
            "lots is not a plural category",
        ),
    ],
)
def test_a_broken_plural_names_the_file_line_and_key(dialogue_copy: Path, old: str, new: str, problem: str) -> None:
    ui = dialogue_copy / "ui.yaml"
    text = ui.read_text(encoding="utf-8")
    assert text.count(old) == 1
    ui.write_text(text.replace(old, new), encoding="utf-8")
    line = next(i for i, row in enumerate(ui.read_text(encoding="utf-8").splitlines(), 1) if new in row)
    with pytest.raises(DialogueError) as err:
        load_dialogue(dialogue_copy)
    assert f"ui.yaml:{line}: nl.participants_count: " in str(err.value) and problem in str(err.value)


def test_the_engine_counts_in_its_notices(team: Team) -> None:
    team.say("anna", "start --quorum 1")
    moved = [n.text for n in notices(team.say("anna", "answer 2"))]
    assert "1 person answered: moving on." in moved


# --- progress a branch cannot renumber ---------------------------------------------------------


def walk_to_leaning(team: Team, language: str, leaning: str) -> QuestionView:
    team.say("anna", f"start {language}")
    while team.current().view.question_id != "leaning":
        team.say("anna", "next")
    for user in ("anna", "bram", "carla"):
        team.say(user, f"answer {option_number(DIALOGUE, 'leaning', leaning)}")
    return team.current().view


def test_a_skipped_phase_is_announced_and_explained(team: Team) -> None:
    leaning = walk_to_leaning(team, "en", "not_now")
    assert leaning.progress == "Question 21 · Considerations (phase 2 of 5)"
    assert leaning.progress_note == "With “Not now” as the team’s answer, Next skips What and how far (phase 3)."
    team.say("anna", "next")
    decision = team.current().view
    assert decision.question_id == "decision"
    assert decision.progress == "Question 22 · Decision (phase 4 of 5)"
    assert decision.progress_note == "What and how far (phase 3) skipped: the team answered “Not now” to question 21."
    for surface, text in surfaces(decision).items():
        assert "Question 22 · Decision (phase 4 of 5)" in text and "What and how far (phase 3) skipped" in text, surface
    status = render(team.say("anna", "status"))
    assert status.startswith("Question 22 · Decision (phase 4 of 5): So what do we decide?")


def test_dutch_progress_and_skip(team: Team) -> None:
    walk_to_leaning(team, "nl", "not_now")
    team.say("anna", "next")
    view = team.current().view
    assert view.progress == "Vraag 22 · Besluit (fase 4 van 5)"
    assert view.progress_note == "Wat en hoe ver (fase 3) overgeslagen: het team antwoordde „Nu niet” op vraag 21."


def test_no_note_when_no_phase_is_skipped_and_numbers_never_move(team: Team) -> None:
    walk_to_leaning(team, "en", "try")
    assert team.current().view.progress_note == ""
    seen: list[QuestionView] = []
    for _ in range(40):
        view = team.current().view
        seen.append(view)
        if view.is_decision:
            team.say("anna", f"answer {option_number(DIALOGUE, 'decision', 'pilot')}")
        reply = team.say("anna", "next")
        if any(isinstance(m, SummaryCard) for m in reply):
            break
    assert all(v.progress_note == "" for v in seen), [v.progress_note for v in seen if v.progress_note]
    cards = [m.view for m in team.log if isinstance(m, QuestionCard)]
    for card in cards:  # the number is the place on the path; the phase is the dialogue's, out of 5
        phase = DIALOGUE.question(card.question_id).phase
        assert card.progress.startswith(f"Question {card.number} · ")
        assert card.progress.endswith(f"(phase {DIALOGUE.phases.index(phase) + 1} of 5)")


def test_the_header_and_a_second_start_speak_of_the_same_place(team: Team) -> None:
    walk_to_leaning(team, "en", "yes")
    again = render(team.say("bram", "start"))
    assert "A check is already running here (question 21, facilitator: Anna)." in again
    assert "Question 21 · Considerations (phase 2 of 5): Honestly: is this a good idea for us?" in again


# --- Dutch ---------------------------------------------------------------------------------


def _dutch_texts() -> str:
    raw = yaml.safe_load(UI_FILE.read_text(encoding="utf-8"))["nl"]
    values = [v for value in raw.values() for v in (value.values() if isinstance(value, dict) else [value])]
    dialogue = (packaged_dialogues_dir() / "socialmedia-check" / "nl.yaml").read_text(encoding="utf-8")
    return "\n".join(str(v) for v in values) + dialogue


def test_one_dutch_term_for_the_pilot_and_no_awkward_labels() -> None:
    texts = _dutch_texts()
    assert not re.search(r"\bproef\b", texts, re.I), "the questions say pilot; so does everything else"
    assert DIALOGUE.ui["nl"]["decision_pilot"] == "Pilot"
    for awkward in ("Het proberen waard, klein", "Ja, steunt het", "Past het bij onze koers?", "Wijzelf,"):
        assert awkward not in texts, awkward


def test_the_dutch_help_shows_dutch_command_words_that_work() -> None:
    help_nl = DIALOGUE.ui["nl"]["help"]
    shown = re.findall(r"`/socialmedia-check ([^`]+)`", help_nl)
    words = {line.split()[0] for line in shown if line.split()}
    assert {"antwoord", "notitie", "volgende", "besluit", "samenvatting", "annuleer", "herstart"} <= words
    assert not {"answer", "note", "next", "back", "skip", "decide", "summary", "cancel", "restart"} & words
    for typed, kind, value in [
        ("antwoord 2", EventKind.ANSWER, ""),
        ("notitie geen tijd", EventKind.NOTE, ""),
        ("volgende", EventKind.NEXT, ""),
        ("terug", EventKind.BACK, ""),
        ("overslaan", EventKind.SKIP, ""),
        ("besluit doen", EventKind.DECIDE, "go"),
        ("besluit pilot", EventKind.DECIDE, "pilot"),
        ("besluit nu-niet", EventKind.DECIDE, "not_now"),
        ("samenvatting", EventKind.SUMMARY, ""),
        ("annuleer", EventKind.CANCEL, ""),
        ("herstart bevestig", EventKind.RESTART, ""),
        ("herinnering 3f9a2c1b nieuw", EventKind.REMINDER, "start:3f9a2c1b"),
        ("hulp", EventKind.HELP, ""),
    ]:
        event = parse_command(typed, "U1")
        assert isinstance(event, Event) and event.kind is kind and event.value == value, typed
    for key in ("decision_needed", "restart_hint", "restart_confirm", "needs_text", "unknown_command"):
        hints = re.findall(r"`/socialmedia-check ([a-z-]+)", DIALOGUE.ui["nl"][key])
        assert hints and all(w in words | {"hulp"} for w in hints), (key, hints)


def test_the_console_speaks_the_check_s_language(store: Store) -> None:
    service = CheckService(DIALOGUE, store, clock=lambda: FIXED_NOW)
    out = io.StringIO()
    chat = ConsoleChat(service, ChannelKey("console", "local", "team"), "anna", out)
    chat.handle_line("/start nl")
    chat.handle_line("/as bram")
    chat.handle_line("/as ?")
    chat.handle_line("/hulp")
    text = out.getvalue()
    assert "Je bent nu bram." in text and "You are now" not in text
    assert "Gebruik: /as NAAM" in text and "Console: je bent steeds één collega tegelijk." in text
    again = io.StringIO()

    def leave(_prompt: str) -> str:
        raise EOFError

    ConsoleChat(service, ChannelKey("console", "local", "team"), "anna", again, read=leave).run()
    assert again.getvalue().startswith("socialmedia-check console — een teamchat in je terminal.")
    assert "De lopende check gaat verder." in again.getvalue() and "Resuming" not in again.getvalue()
    fresh = io.StringIO()
    ConsoleChat(service, ChannelKey("console", "local", "other"), "you", fresh, read=leave).run()
    assert "No check is running yet." in fresh.getvalue(), "no check yet: the default language"


# --- the platforms' limits still hold --------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "nl"])
def test_cards_with_notes_and_tallies_pass_slack_s_checks_and_mattermost_s_limits(team: Team, language: str) -> None:
    walk_to_leaning(team, language, "not_now")
    team.say("anna", "next")
    for user in ("anna", "bram", "carla"):
        team.say(user, f"answer {option_number(DIALOGUE, 'decision', 'not_now')}")
    views = [m.view for m in team.log if isinstance(m, QuestionCard)] + [team.current().view]
    assert any(v.progress_note for v in views) and any(v.chosen for v in views)
    for view in views:
        assert check_message_blocks(sb.question_message(view)["blocks"]) == [], view.question_id
        post = mm.question_post(view, TARGET)
        assert len(json.dumps(post, ensure_ascii=False)) < mm.MAX_POST, view.question_id
    summary = summary_of(team.say("anna", "summary")).summary
    for message in summary_messages(summary):
        assert check_message_blocks(message["blocks"]) == []
    assert all(len(p["message"]) <= mm.MAX_POST for p in summary_posts(summary))
