"""Block Kit rendering of the summary: per-theme bars and flags, the decision, every answer.

Pure like :mod:`bot.adapters.slack.blocks`, whose escaping and clipping it uses. A long summary is
split into several messages, each within Block Kit's limits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.adapters.slack.blocks import (
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
    t,
)
from bot.core import render_text
from bot.core.messages import Summary
from bot.core.render_text import bar, decision_rows


def _theme_lines(summary: Summary) -> list[str]:
    ui = summary.ui
    lines = []
    for theme in summary.themes:
        if theme.average is None:
            line = f"*{esc(theme.title)}*\n`{bar(None)}` _{esc(t(ui, 'not_answered'))}_"
        else:
            scale = max(theme.scale_max, 1)
            line = f"*{esc(theme.title)}*\n`{bar(theme.average, scale)}` *{theme.average:.1f}* / {scale}"
            if theme.minimum is not None and theme.maximum is not None:
                line += f"  ({theme.minimum:g}–{theme.maximum:g})"
        line += f" · {theme.answered}/{theme.questions}"
        for question in theme.disagreements:
            line += f"\n:warning: {esc(t(ui, 'disagreement'))}: {esc(question)}"
        lines.append(line)
    return lines


def _decision_lines(summary: Summary) -> list[str]:
    rows = decision_rows(summary)
    mark = " :white_check_mark:" if summary.decision.confirmed else ""
    return [f"*{esc(label)}:* {esc(value)}{mark if field == 'decision' else ''}" for field, label, value in rows]


def _question_lines(summary: Summary) -> list[str]:
    ui = summary.ui
    lines = []
    for q in summary.questions:
        head = f"*{q.number}. {esc(q.text)}*"
        if q.skipped:
            lines.append(f"{head}\n_{esc(t(ui, 'skipped'))}_")
            continue
        if q.unanswered:
            lines.append(f"{head}\n_{esc(t(ui, 'not_answered'))}_")
            continue
        body: list[str] = []
        for o in q.options:
            if o.count == 0:
                continue
            line = f"• {esc(o.label)}: *{o.count}*"
            if o.voters and not summary.anonymous:
                line += " (" + esc(", ".join(o.voters)) + ")"
            body.append(line)
        for a in q.text_answers:
            author = "" if summary.anonymous or not a.author else f" — _{esc(a.author)}_"
            body.append("• " + esc(a.text).replace("\n", " ") + author)
        if q.spread.disagreement:
            reason = f" — {esc(q.spread.reason)}" if q.spread.reason else ""
            body.append(f":warning: {esc(t(ui, 'disagreement'))}{reason}")
        lines.append("\n".join([head, *body]))
    return lines


def summary_messages(summary: Summary) -> list[dict[str, Any]]:
    """The summary as one or more messages (each within 50 blocks): the first carries the decision,
    the per-theme bars, concerns and participants; the rest continue with every question's answers."""
    ui = summary.ui
    title = t(ui, "summary_title" if summary.final else "summary_so_far")
    blocks: list[Block] = [{"type": "header", "text": plain(f"{title}: {summary.title}", MAX_HEADER)}]
    blocks += [section(chunk) for chunk in pack(_decision_lines(summary))]
    blocks.append({"type": "divider"})
    blocks.append(section(f"*{esc(t(ui, 'themes_header'))}*"))
    blocks += [section(chunk) for chunk in pack(_theme_lines(summary), separator="\n\n")]
    blocks.append({"type": "divider"})
    concerns = [
        f"• {esc(n.question)}: {esc(n.text)}" + ("" if summary.anonymous or not n.author else f" — _{esc(n.author)}_")
        for n in summary.concerns
    ]
    blocks.append(section(f"*{esc(t(ui, 'concerns'))}*"))
    blocks += [section(chunk) for chunk in pack(concerns or [f"_{esc(t(ui, 'no_concerns'))}_"])]
    if summary.participants and not summary.anonymous:
        people = f"*{esc(t(ui, 'participants'))}:* " + esc(", ".join(summary.participants))
    else:
        people = esc(t(ui, "participants_count", n=summary.participant_count))
    blocks.append(context(":busts_in_silhouette: " + people))
    details = [section(chunk) for chunk in pack(_question_lines(summary), separator="\n\n")]
    decision = summary.decision.label
    text = fallback(
        plain_or(render_text.summary_text, summary, f"{title}: {summary.title} · {t(ui, 'decision')}: {decision}")
    )
    messages: list[dict[str, Any]] = []
    for chunk in _chunks(blocks + ([{"type": "divider"}] if details else []) + details, MAX_BLOCKS):
        messages.append({"text": text if not messages else fallback(f"{title}: {summary.title} (…)"), "blocks": chunk})
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
