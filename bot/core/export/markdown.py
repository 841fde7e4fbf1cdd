"""The decision record as CommonMark, for a team's wiki: headings, lists and emphasis only.

Nothing beyond CommonMark (no tables, no HTML), so it reads the same in any wiki that speaks
Markdown. Every text people wrote is escaped (:func:`inline`): a note such as ``# <b>[x](y)</b>``
shows as typed and never becomes a heading, a tag or a link. Sections follow the report model
(:mod:`bot.core.report`), decision first, like every other rendering of the summary.
"""

from __future__ import annotations

import re

from bot.core.export.source import Source
from bot.core.report import (
    ChoiceRow,
    ConcernsSection,
    DecisionSection,
    ListSection,
    ParticipantsSection,
    QuestionRow,
    QuestionsSection,
    Section,
    ThemesSection,
)

# Characters CommonMark (and the common wiki dialects) may read as markup anywhere in a line.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#!|~&])")
# What would open a block at the start of a line: an ordered-list marker, a bullet, a setext line.
_LEADING_NUMBER = re.compile(r"^(\d{1,9})([.)])")
WARNING = "⚠"


def inline(text: str) -> str:
    """``text`` as literal inline CommonMark: one line, every markup character escaped."""
    out = _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    out = _LEADING_NUMBER.sub(r"\1\\\2", out)
    if out[:1] in ("-", "+", "="):
        out = "\\" + out
    return out


def _field(label: str, value: str) -> str:
    return f"- **{inline(label)}:** {inline(value)}"


def decision_record(source: Source) -> str:
    report = source.report
    t = source.t
    lines = [f"# {inline(report.title)} — {inline(t('export_record'))}", ""]
    status = t("export_status_finished") if report.final else t("export_status_running")
    lines += [_field(t("export_date"), source.summary.date_text), _field(t("export_status"), status)]
    if source.facilitator:
        lines.append(_field(t("facilitator"), source.facilitator))
    lines.append(f"- **{inline(t('export_check'))}:** `{source.record.id}`")
    lines += [_field(t("export_exported"), source.exported_text()), ""]
    for section in report.sections:
        lines += _section(source, section)
    return "\n".join(lines).rstrip("\n") + "\n"


def _section(source: Source, section: Section) -> list[str]:
    t = source.t
    match section:
        case DecisionSection():
            out = [f"## {inline(section.title or t('decision'))}", ""]
            out += [_field(row.label, row.value) for row in section.rows]
        case ParticipantsSection():
            out = [f"## {inline(section.title)}", "", inline(section.text)]
        case ThemesSection():
            out = [f"## {inline(section.title)}", ""]
            for theme in section.rows:
                out.append(f"- **{inline(theme.title)}:** {inline(theme.score)} · {inline(theme.answered)}")
                out += [f"  - {WARNING} {inline(flag)}" for flag in theme.flags]
        case ListSection():
            out = [f"## {inline(section.title)}", ""]
            out += [f"- {inline(line)}" for line in section.lines]
        case QuestionsSection():
            out = [f"## {inline(section.title)}", ""]
            for row in section.rows:
                out += _question(row)
        case ConcernsSection():
            out = [f"## {inline(section.title)}", ""]
            if not section.rows:
                out.append(f"*{inline(section.empty)}*")
            for note in section.rows:
                by = f" — {inline(note.author)}" if note.author else ""
                on = f" ({inline(t('export_note_on', question=note.question))})" if note.question else ""
                out.append(f"- “{inline(note.text)}”{by}{on}")
    while out and out[-1] == "":
        out.pop()
    return [*out, ""]


def _question(row: QuestionRow) -> list[str]:
    out = [f"### {row.number}. {inline(row.text)}", ""]
    if row.state:
        return [*out, f"*{inline(row.state)}*", ""]
    marks = [inline(row.score)] if row.score else []
    if row.disagreement:
        marks.append(f"{WARNING} **{inline(row.disagreement)}**")
    if marks:
        out += [" · ".join(marks), ""]
    for answer in row.answers:
        if isinstance(answer, ChoiceRow):
            voters = f" ({inline(', '.join(answer.voters))})" if answer.voters else ""
            out.append(f"- {inline(answer.label)}: **{answer.count}**{voters}")
        else:
            by = f" — {inline(answer.author)}" if answer.author else ""
            out.append(f"- “{inline(answer.text)}”{by}")
    return [*out, ""]
