"""Block Kit formatting of the core's summary report: the decision first, then participants,
per-theme bars and flags, every answer and the concerns.

Pure like :mod:`bot.adapters.slack.blocks`, and escaped and clipped by :mod:`bot.adapters.slack.text`
like it. A long summary is split into several messages, each within Block Kit's limits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.adapters.slack.text import (
    MAX_BLOCKS,
    MAX_HEADER,
    MAX_MESSAGE_CHARS,
    Block,
    context,
    esc,
    fallback,
    pack,
    plain,
    plain_or,
    section,
)
from bot.core import render_text
from bot.core.messages import Summary
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
    build_report,
)


def _question_line(q: QuestionRow) -> str:
    head = f"*{q.number}. {esc(q.text)}*"
    if q.state:
        return f"{head}\n_{esc(q.state)}_"
    body = [head]
    for answer in q.answers:
        if isinstance(answer, ChoiceRow):
            voters = " (" + esc(", ".join(answer.voters)) + ")" if answer.voters else ""
            body.append(f"• {esc(answer.label)}: *{answer.count}*{voters}")
        else:
            author = f" — _{esc(answer.author)}_" if answer.author else ""
            body.append("• " + esc(answer.text).replace("\n", " ") + author)
    if q.score:
        body.append(esc(q.score))
    if q.disagreement:
        body.append(f":warning: {esc(q.disagreement)}")
    return "\n".join(body)


def _section_blocks(part: Section) -> list[Block]:
    title = [section(f"*{esc(part.title)}*")] if part.title else []
    match part:
        case DecisionSection():
            mark = " :white_check_mark:" if part.confirmed else ""
            lines = [
                f"*{esc(row.label)}:* {esc(row.value)}{mark if row.key == 'decision' else ''}" for row in part.rows
            ]
            return [section(chunk) for chunk in pack(lines)]
        case ParticipantsSection():
            people = f"*{esc(part.title)}:* {esc(part.text)}" if part.names else esc(part.text)
            return [context(":busts_in_silhouette: " + people)]
        case ThemesSection():
            lines = []
            for theme in part.rows:
                line = f"*{esc(theme.title)}*\n`{theme.bar}` *{esc(theme.score)}* · {esc(theme.answered)}"
                line += "".join(f"\n:warning: {esc(flag)}" for flag in theme.flags)
                lines.append(line)
            return title + [section(chunk) for chunk in pack(lines, separator="\n\n")]
        case QuestionsSection():
            lines = [_question_line(q) for q in part.rows]
            return title + [section(chunk) for chunk in pack(lines, separator="\n\n")]
        case ConcernsSection():
            notes = [
                f"• {esc(n.question)}: {esc(n.text)}" + (f" — _{esc(n.author)}_" if n.author else "") for n in part.rows
            ]
            return title + [section(chunk) for chunk in pack(notes or [f"_{esc(part.empty)}_"])]
        case ListSection():
            return title + [section(chunk) for chunk in pack([f"• {esc(line)}" for line in part.lines])]
    return []


def summary_messages(summary: Summary) -> list[dict[str, Any]]:
    """The summary as one or more messages (each within 50 blocks and about 12k characters), in the
    report's order: the decision first, then participants, themes, every question's answers, concerns."""
    report = build_report(summary)
    blocks: list[Block] = [{"type": "header", "text": plain(f"{report.heading}: {report.title}", MAX_HEADER)}]
    for n, part in enumerate(report.sections):
        if n:
            blocks.append({"type": "divider"})
        blocks += _section_blocks(part)
    decision = next((s.rows[0].value for s in report.sections if isinstance(s, DecisionSection) and s.rows), "")
    short = f"{report.heading}: {report.title} · {decision}"
    chunks = _chunks(blocks, MAX_BLOCKS)
    messages: list[dict[str, Any]] = []
    for n, chunk in enumerate(chunks, 1):
        if n == 1:
            text = fallback(plain_or(render_text.summary_text, summary, short))
        else:
            text = fallback(f"{report.heading}: {report.title} ({report.part_label(n, len(chunks))})")
        messages.append({"text": text, "blocks": chunk})
    return messages


def _chunks(blocks: Sequence[Block], size: int, max_chars: int = MAX_MESSAGE_CHARS) -> list[list[Block]]:
    """Split blocks into messages of at most ``size`` blocks and about ``max_chars`` characters of text."""
    out: list[list[Block]] = []
    current: list[Block] = []
    chars = 0
    for block in blocks:
        weight = len(json.dumps(block, ensure_ascii=False))
        if current and (len(current) >= size or chars + weight > max_chars):
            out.append(current)
            current, chars = [], 0
        current.append(block)
        chars += weight
    if current:
        out.append(current)
    return out or [[]]
