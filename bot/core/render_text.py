"""Plain-text rendering of the neutral messages: the console shows these, and the chat adapters
use them as fallback text. Light markdown only (``*bold*``); no platform syntax, no escaping:
each adapter neutralises user text for its own platform."""

from __future__ import annotations

from bot.core.messages import HeaderCard, Notice, QuestionView, Summary
from bot.core.report import (
    ChoiceRow,
    ConcernsSection,
    DecisionSection,
    ListSection,
    ParticipantsSection,
    QuestionsSection,
    Section,
    ThemesSection,
    bar,
    build_report,
)
from bot.core.texts import phrase

# bar lives with the report, phrase in bot.core.texts; both are imported from here too.
__all__ = ["bar", "header_text", "notice_text", "phrase", "question_text", "summary_text", "tally_line"]


def progress(view: QuestionView) -> str:
    """``Question 12 · Considerations (phase 2 of 5)``, as the view says it."""
    return view.progress


def question_text(view: QuestionView, numbered: bool = True) -> str:
    state = ""
    if view.skipped:
        state = f" · {phrase(view.ui, 'skipped', view.language)}"
    elif view.closed:
        state = f" · {phrase(view.ui, 'closed', view.language)}"
    lines = [f"{progress(view)}{state}"]
    if view.progress_note:
        lines.append(f"_{view.progress_note}_")
    lines.append(f"*{view.text}*")
    if view.help and not view.closed:
        lines.append(f"_{view.help}_")
    for option in view.options:
        count = f" — {option.count}" if option.count else ""
        voters = f" ({', '.join(option.voters)})" if option.voters else ""
        prefix = f"{option.number}. " if numbered else "• "
        lines.append(f"  {prefix}{option.label}{count}{voters}")
    for answer in view.text_answers:
        author = f"{answer.author}: " if answer.author else ""
        lines.append(f"  • {author}{answer.text}")
    lines.append(tally_line(view))
    return "\n".join(lines)


def tally_line(view: QuestionView) -> str:
    """``3 answered (anna, bram, cas) · 2 × Well, 1 × Poorly · ⌀ 2.3 of 3 · ⚠ Disagreement: …``"""
    ui, language = view.ui, view.language
    if view.respondent_count == 0:
        line = phrase(ui, "no_answers_yet", language)
    else:
        line = phrase(ui, "answers_count", language, n=view.respondent_count)
        if view.respondents:
            line += f" ({', '.join(view.respondents)})"
        line += "".join(f" · {part}" for part in (view.chosen, view.mean) if part)
    if view.spread.disagreement:
        line += f" · ⚠ {phrase(ui, 'disagreement', language)}: {view.spread.reason}"
    if view.notes_count:
        line += f" · ✎ {view.notes_count}"
    return line


def header_text(card: HeaderCard) -> str:
    lines = [f"*{card.title}*", card.intro, card.status_line]
    if card.anonymous:
        lines.append(phrase(card.ui, "anonymous_note", card.language))
    if card.quorum:
        lines.append(phrase(card.ui, "quorum_note", card.language, quorum=card.quorum, n=card.quorum))
    return "\n".join(lines)


def notice_text(notice: Notice) -> str:
    return notice.text


def summary_text(summary: Summary) -> str:
    """The summary's report as plain text, one section after another."""
    report = build_report(summary)
    lines = [f"*{report.title} — {report.heading}*"]
    for section in report.sections:
        lines.append("")
        lines += _section_lines(section)
    return "\n".join(lines)


def _section_lines(section: Section) -> list[str]:
    title = [f"*{section.title}*"] if section.title else []
    match section:
        case DecisionSection():
            mark = " ✓" if section.confirmed else ""
            return [f"*{row.label}:* {row.value}{mark if row.key == 'decision' else ''}" for row in section.rows]
        case ParticipantsSection():
            return [f"*{section.title}:* {section.text}"]
        case ThemesSection():
            lines = title
            for theme in section.rows:
                lines.append(f"{theme.bar}  {theme.title}: {theme.score} · {theme.answered}")
                lines += [f"    ⚠ {flag}" for flag in theme.flags]
            return lines
        case QuestionsSection():
            lines = title
            for q in section.rows:
                lines.append(f"*{q.number}. {q.text}*" + (f" — {q.state}" if q.state else ""))
                for answer in q.answers:
                    if isinstance(answer, ChoiceRow):
                        voters = f" ({', '.join(answer.voters)})" if answer.voters else ""
                        lines.append(f"  • {answer.label}: {answer.count}{voters}")
                    else:
                        lines.append(f"  • {answer.author + ': ' if answer.author else ''}{answer.text}")
                if q.score:
                    lines.append(f"  {q.score}")
                if q.disagreement:
                    lines.append(f"  ⚠ {q.disagreement}")
            return lines
        case ConcernsSection():
            lines = [f"*{section.title}:*"]
            for note in section.rows:
                about = f"  ({note.question})" if note.question else ""
                lines.append(f"  • {note.author + ': ' if note.author else ''}{note.text}{about}")
            return lines if section.rows else [*lines, f"  {section.empty}"]
        case ListSection():
            return [f"*{section.title}:*", *(f"  • {line}" for line in section.lines)]
