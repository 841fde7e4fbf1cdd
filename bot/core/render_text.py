"""Plain-text rendering of the neutral messages: the console shows these, and the chat adapters
use them as fallback text. Light markdown only (``*bold*``); no platform syntax, no escaping:
each adapter neutralises user text for its own platform."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.dialogue.load import packaged_ui
from bot.core.messages import HeaderCard, Notice, QuestionView, Summary

BAR_WIDTH = 10


def bar(value: float | None, maximum: float = 5, width: int = BAR_WIDTH) -> str:
    """``███████░░░`` for value/maximum (clamped); an empty track when there is no value."""
    if value is None or maximum <= 0:
        return "░" * width
    filled = max(0, min(width, round(value / maximum * width)))
    return "█" * filled + "░" * (width - filled)


def phrase(ui: Mapping[str, str] | None, key: str, language: str | None = None, /, **values: object) -> str:
    """A UI phrase: the session's catalogue first, then the shipped one (in ``language``, then English),
    then the key itself. A phrase whose placeholders do not fit is shown unformatted, never raised."""
    text = (ui or {}).get(key)
    if text is None:
        shipped = packaged_ui()
        text = shipped.get(language or "en", shipped["en"]).get(key) or shipped["en"].get(key, key)
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return text


def progress(view: QuestionView) -> str:
    return view.ui["progress"].format(number=view.number, total=view.total)


def question_text(view: QuestionView, numbered: bool = True) -> str:
    ui = view.ui
    state = ""
    if view.skipped:
        state = f" · {ui['skipped']}"
    elif view.closed:
        state = f" · {ui['closed']}"
    lines = [f"{progress(view)} · {view.phase}{state}", f"*{view.text}*"]
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
    ui = view.ui
    if view.respondent_count == 0:
        line = ui["no_answers_yet"]
    else:
        line = ui["answers_count"].format(n=view.respondent_count)
        if view.respondents:
            line += f" ({', '.join(view.respondents)})"
        if view.spread.average is not None:
            line += f" · ⌀ {view.spread.average:.1f}"
    if view.spread.disagreement:
        line += f" · ⚠ {ui['disagreement']}: {view.spread.reason}"
    if view.notes_count:
        line += f" · ✎ {view.notes_count}"
    return line


def header_text(card: HeaderCard) -> str:
    lines = [f"*{card.title}*", card.intro, card.status_line]
    if card.anonymous:
        lines.append(card.ui["anonymous_note"])
    if card.quorum:
        lines.append(card.ui["quorum_note"].format(quorum=card.quorum))
    return "\n".join(lines)


def notice_text(notice: Notice) -> str:
    return notice.text


def decision_rows(summary: Summary) -> list[tuple[str, str, str]]:
    """The decision record as (field, label, value) rows, in order: which fields a summary shows, for
    every renderer. Values are raw user text where users wrote them; each renderer escapes and clips."""
    ui, d = summary.ui, summary.decision
    pending = "" if d.confirmed or d.value is None else f" ({phrase(ui, 'undecided')})"
    rows = [("decision", f"{d.label}{pending}")]
    if d.reasons:
        rows.append(("reasons", " / ".join(d.reasons)))
    if d.pilot_scope:
        rows.append(("pilot_scope", d.pilot_scope))
    if d.value != "not_now":
        rows.append(("owner", d.owner or phrase(ui, "not_set")))
        if d.channels:
            rows.append(("channels", ", ".join(d.channels)))
        if d.domain:
            rows.append(("domain", ", ".join(d.domain)))
    if d.reconsider:
        rows.append(("reconsider", d.reconsider))
    rows.append(("revisit", d.revisit_text))
    return [(field, phrase(ui, field), value) for field, value in rows]


def summary_text(summary: Summary) -> str:
    ui = summary.ui
    title = ui["summary_title"] if summary.final else ui["summary_so_far"]
    lines = [f"*{summary.title} — {title}*", "", f"*{ui['themes_header']}*"]
    for theme in summary.themes:
        if theme.average is None:
            lines.append(f"{bar(None)}  {theme.title}: {ui['not_answered']}")
        else:
            spread = ""
            if theme.minimum is not None and theme.maximum is not None and theme.maximum > theme.minimum:
                spread = f" ({theme.minimum:.1f}–{theme.maximum:.1f})"
            lines.append(
                f"{bar(theme.average, theme.scale_max)}  {theme.title}: {theme.average:.1f}/{theme.scale_max}{spread}"
            )
        for flagged in theme.disagreements:
            lines.append(f"    ⚠ {ui['disagreement']}: {flagged}")
    unanswered = [q for q in summary.questions if q.unanswered]
    if unanswered:
        numbers = ", ".join(str(q.number) for q in unanswered)
        lines.append(f"{ui['not_answered']}: {numbers}")
    lines.append("")
    lines += [f"*{label}:* {value}" for _, label, value in decision_rows(summary)]
    lines += ["", f"*{ui['concerns']}:*"]
    if summary.concerns:
        for note in summary.concerns:
            author = f"{note.author}: " if note.author else ""
            lines.append(f"  • {author}{note.text}  ({note.question})")
    else:
        lines.append(f"  {ui['no_concerns']}")
    if summary.anonymous or not summary.participants:
        lines.append(f"*{ui['participants']}:* " + ui["participants_count"].format(n=summary.participant_count))
    else:
        lines.append(f"*{ui['participants']}:* {', '.join(summary.participants)}")
    return "\n".join(lines)
