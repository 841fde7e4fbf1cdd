"""The summary as Mattermost posts: markdown formatting of the core's report (decision first, then
participants, themes with text bars and flags, every answer, concerns), split over as many channel
posts as it needs, each within :data:`MAX_POST`; the chart rides on the first post by file id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.adapters.mattermost.render import MAX_POST, neutralise, one_line
from bot.core.messages import Summary
from bot.core.report import (
    ChoiceRow,
    ConcernsSection,
    DecisionSection,
    ListSection,
    ParticipantsSection,
    QuestionsSection,
    Report,
    Section,
    ThemesSection,
    build_report,
)

MAX_FILES = 5  # file_ids per post
TEXT = 4000  # the longest a typed answer, note or decision value may grow in a post
LABEL = 300  # question texts, option labels, theme titles
NAME = 60
HEADING_ROOM = 400  # kept free in every post for its heading


def _section_parts(section: Section) -> list[str]:
    """The section as markdown parts: a part is kept in one post when it fits."""
    title = [f"**{one_line(section.title, LABEL)}**"] if section.title else []
    match section:
        case DecisionSection():
            mark = " :white_check_mark:" if section.confirmed else ""
            return [
                f"**{row.label}:** {one_line(row.value, TEXT)}{mark if row.key == 'decision' else ''}"
                for row in section.rows
            ]
        case ParticipantsSection():
            people = ", ".join(one_line(n, NAME) for n in section.names) or one_line(section.text, TEXT)
            return [f"**{section.title}:** {people}"]
        case ThemesSection():
            parts = list(title)
            for theme in section.rows:
                lines = [f"`{theme.bar}` **{one_line(theme.title, LABEL)}**: {theme.score} · {theme.answered}"]
                lines += [f"- ⚠️ {one_line(flag, LABEL)}" for flag in theme.flags]
                parts.append("\n".join(lines))
            return parts
        case QuestionsSection():
            parts = list(title)
            for q in section.rows:
                head = f"**{q.number}. {one_line(q.text, LABEL)}**" + (f" — _{q.state}_" if q.state else "")
                lines = [head]
                for answer in q.answers:
                    if isinstance(answer, ChoiceRow):
                        voters = " — " + ", ".join(one_line(v, NAME) for v in answer.voters) if answer.voters else ""
                        lines.append(f"- {one_line(answer.label, LABEL)}: {answer.count}{voters}")
                    else:
                        who = f"{one_line(answer.author, NAME)}: " if answer.author else ""
                        lines.append(f"- {who}{one_line(answer.text, TEXT)}")
                if q.score:
                    lines.append(q.score)
                if q.disagreement:
                    lines.append(f"⚠️ {one_line(q.disagreement, LABEL)}")
                parts.append("\n".join(lines))
            return parts
        case ConcernsSection():
            parts = [f"**{section.title}:**"]
            for note in section.rows:
                who = f"{one_line(note.author, NAME)}: " if note.author else ""
                about = f" _({one_line(note.question, LABEL)})_" if note.question else ""
                parts.append(f"- {who}{one_line(note.text, TEXT)}{about}")
            return parts if section.rows else [*parts, neutralise(section.empty)]
        case ListSection():
            return [*title, *(f"- {one_line(line, TEXT)}" for line in section.lines)]
    return []


def _pack(parts: Sequence[str], limit: int) -> list[str]:
    """Join parts with newlines into as few texts of at most ``limit`` characters as keep their order;
    a part too long for one post is split at its lines."""
    texts: list[str] = []
    current = ""
    for part in parts:
        pieces = [part] if len(part) <= limit else [neutralise(line, limit) for line in part.split("\n")]
        for piece in pieces:
            if current and len(current) + 1 + len(piece) > limit:
                texts.append(current)
                current = ""
            current = f"{current}\n{piece}" if current else piece
    if current:
        texts.append(current)
    return texts or [""]


def _parts(report: Report) -> list[str]:
    parts: list[str] = []
    for section in report.sections:
        if parts:
            parts.append("")  # a blank line between sections
        parts += _section_parts(section)
    return parts


def summary_posts(summary: Summary, file_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The summary as one or more channel posts, decision first, each within :data:`MAX_POST`;
    the chart (``file_ids``) rides on the first post."""
    report = build_report(summary)
    title = one_line(report.title, 200)
    bodies = _pack(_parts(report), MAX_POST - HEADING_ROOM)
    posts: list[dict[str, Any]] = []
    for n, body in enumerate(bodies, 1):
        part = f" ({report.part_label(n, len(bodies))})" if len(bodies) > 1 else ""
        heading = f"#### {title} — {report.heading}{part}" if n == 1 else f"_{title}{part}_"
        posts.append({"message": neutralise(f"{heading}\n\n{body}".rstrip(), MAX_POST)})
    if file_ids:
        posts[0]["file_ids"] = list(file_ids)[:MAX_FILES]
    return posts
