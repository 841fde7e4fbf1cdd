"""The summary as a Mattermost post: markdown with per-theme bars and flags, the decision and
every answer, the chart attached by file id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.adapters.mattermost.render import MAX_POST, fmt_number, neutralise, one_line, t
from bot.core.messages import Summary
from bot.core.render_text import bar, decision_rows

# The longest each row of the decision record may grow in the post.
ROW_LIMITS = {
    "decision": 200,
    "reasons": 1200,
    "pilot_scope": 500,
    "owner": 100,
    "channels": 600,
    "domain": 600,
    "reconsider": 500,
    "revisit": 100,
}


def summary_markdown(summary: Summary) -> str:
    """The summary as Mattermost markdown: themes with text bars and flags, every answer, the decision."""
    ui, lang = summary.ui, summary.language
    lines: list[str] = [f"**{t(ui, lang, 'themes_header')}**"]
    for theme in summary.themes:
        title = one_line(theme.title, 80)
        if theme.average is None:
            lines.append(f"`{bar(0.0, 1)}` {title}: {t(ui, lang, 'not_answered')}")
        else:
            share = theme.average / theme.scale_max if theme.scale_max else 0.0
            spread = ""
            if theme.minimum is not None and theme.maximum is not None and theme.maximum > theme.minimum:
                spread = f" ({fmt_number(theme.minimum)}–{fmt_number(theme.maximum)})"
            lines.append(f"`{bar(share, 1)}` **{title}**: {fmt_number(theme.average)}/{theme.scale_max}{spread}")
        for flagged in theme.disagreements:
            lines.append(f"- ⚠️ {t(ui, lang, 'disagreement')}: {one_line(flagged, 300)}")
    answered = [q for q in summary.questions if not q.unanswered]
    if answered:
        lines.append("")
        for q in answered:
            lines.append(f"**{q.number}. {one_line(q.text, 300)}**")
            for option in q.options:
                if not option.count:
                    continue
                voters = ""
                if option.voters and not summary.anonymous:
                    voters = " — " + ", ".join(one_line(v, 60) for v in option.voters)
                lines.append(f"- {one_line(option.label, 200)}: {option.count}{voters}")
            for answer in q.text_answers:
                who = f"{one_line(answer.author, 60)}: " if answer.author and not summary.anonymous else ""
                lines.append(f"- {who}{one_line(answer.text, 500)}")
    unanswered = [q for q in summary.questions if q.unanswered]
    if unanswered:
        lines.append(f"_{t(ui, lang, 'not_answered')}: {', '.join(str(q.number) for q in unanswered)}_")
    lines.append("")
    lines += [f"**{label}:** {one_line(value, ROW_LIMITS[field])}" for field, label, value in decision_rows(summary)]
    lines.append("")
    lines.append(f"**{t(ui, lang, 'concerns')}:**")
    if summary.concerns:
        for note in summary.concerns:
            who = f"{one_line(note.author, 60)}: " if note.author and not summary.anonymous else ""
            about = f" _({one_line(note.question, 120)})_" if note.question else ""
            lines.append(f"- {who}{one_line(note.text, 500)}{about}")
    else:
        lines.append(t(ui, lang, "no_concerns"))
    if summary.anonymous or not summary.participants:
        people = t(ui, lang, "participants_count", n=summary.participant_count)
    else:
        people = ", ".join(one_line(p, 60) for p in summary.participants)
    lines.append(f"**{t(ui, lang, 'participants')}:** {people}")
    return neutralise("\n".join(lines), MAX_POST - 500)


def summary_post(summary: Summary, file_ids: Sequence[str] = ()) -> dict[str, Any]:
    ui, lang = summary.ui, summary.language
    heading = t(ui, lang, "summary_title" if summary.final else "summary_so_far")
    post: dict[str, Any] = {
        "message": neutralise(
            f"#### {one_line(summary.title, 200)} — {heading}\n\n" + summary_markdown(summary), MAX_POST
        ),
    }
    if file_ids:
        post["file_ids"] = list(file_ids)[:5]
    return post
