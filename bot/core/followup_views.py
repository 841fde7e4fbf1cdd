"""What the bot says after a check: reminder posts, the reminder list, history, the comparison.

Pure, like the engine: records and reminders in, neutral messages out. Names appear only for checks
that were not anonymous (the facilitator of an anonymous check is not named either).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, tzinfo

from bot.core.messages import Action, Audience, Comparison, EventKind, Notice, Summary, ThemeChange
from bot.core.reminders import Reminder, State, is_late
from bot.core.report import THEME_SCALE, fmt_score
from bot.core.session import SessionRecord
from bot.core.summary import build_summary, check_day
from bot.core.views import Lens

COMMAND = "/socialmedia-check"
CHECKIN_QUESTIONS = ("q1", "q2")  # B10 talking or broadcasting; B11 answering feedback ourselves
CHECKIN_OPTIONS = 3
MAX_CONCERNS = 5
HISTORY_PAGE = 5


def format_moment(lens: Lens, epoch: float, zone: tzinfo) -> str:
    """``1 June 2027, 09:00`` in the check's language and SMC_TIMEZONE (the date as every date reads)."""
    from babel.dates import format_time  # loaded with the first date shown (bot.core.views.Lens)

    moment = datetime.fromtimestamp(epoch, tz=zone)
    return f"{lens.format_date(moment.date())}, {format_time(moment, 'HH:mm', locale=lens.language)}"


def _facilitator(lens: Lens, record: SessionRecord) -> str:
    if record.meta.anonymous or not record.meta.facilitator_name:
        return ""
    return lens.t("revisit_by", name=record.meta.facilitator_name)


def theme_means(lens: Lens, record: SessionRecord) -> dict[str, tuple[str, float | None]]:
    """theme id -> (title, mean on the 1..5 scale)."""
    return {t.theme_id: (t.title, t.average) for t in build_summary(lens, record).themes}


def _themes_line(lens: Lens, record: SessionRecord, summary: Summary | None = None) -> str:
    """``Time and people ⌀ 2.3 of 5 · …`` (from ``summary`` when the caller built it already)."""
    themes = (summary or build_summary(lens, record)).themes
    means = ((t.title, t.average) for t in themes)
    parts = [  # "Time and people ⌀ 2.3 of 5": the theme's scale said, as everywhere
        f"{title} {fmt_score(mean, THEME_SCALE, lens.language, lens.ui)}" for title, mean in means if mean is not None
    ]
    return " · ".join(parts)


# --- the posts of due reminders ----------------------------------------------------------------------


def _actions(lens: Lens, reminder: Reminder) -> tuple[Action, ...]:
    rid = reminder.id
    return (
        Action(
            EventKind.REMINDER, lens.t("reminder_start"), "primary", f"start:{rid}", f"{COMMAND} reminder {rid} start"
        ),
        Action(
            EventKind.REMINDER,
            lens.t("reminder_snooze_1"),
            "default",
            f"snooze1:{rid}",
            f"{COMMAND} reminder {rid} snooze 1 month",
        ),
        Action(
            EventKind.REMINDER,
            lens.t("reminder_snooze_3"),
            "default",
            f"snooze3:{rid}",
            f"{COMMAND} reminder {rid} snooze 3 months",
        ),
        Action(
            EventKind.REMINDER,
            lens.t("reminder_dismiss"),
            "danger",
            f"dismiss:{rid}",
            f"{COMMAND} reminder {rid} dismiss",
        ),
    )


def revisit_post(lens: Lens, reminder: Reminder, record: SessionRecord, now: float, zone: tzinfo) -> Notice:
    """In the channel (not the old thread): what was decided when, the scores and concerns then, four actions."""
    day = lens.format_date(check_day(record))
    lines = [
        lens.t(
            "revisit_intro", date=day, decision=lens.decision_label(record.meta.decision), by=_facilitator(lens, record)
        )
    ]
    if is_late(reminder, now):
        lines.append(lens.t("revisit_late", due=format_moment(lens, reminder.due, zone)))
    summary = build_summary(lens, record)
    if summary.decision.owner and record.meta.decision != "not_now":
        lines.append(lens.t("revisit_owner", owner=summary.decision.owner))
    themes = _themes_line(lens, record, summary)
    if themes:
        lines.append(lens.t("revisit_themes", themes=themes))
    if summary.concerns:
        lines.append(lens.t("revisit_concerns"))
        lines += [f"• {note.text}" for note in summary.concerns[:MAX_CONCERNS]]
    lines.append(lens.t("revisit_what_now"))
    return Notice("\n".join(lines), Audience.CHANNEL, actions=_actions(lens, reminder), session_id=None)


def checkin_posts(lens: Lens, reminder: Reminder, record: SessionRecord, now: float, zone: tzinfo) -> list[Notice]:
    """Half-way through a pilot: an intro and the two questions, each with its three answers as buttons."""
    until = lens.format_date(date.fromisoformat(record.meta.revisit)) if record.meta.revisit else ""
    intro = lens.t("checkin_intro", date=lens.format_date(check_day(record)), until=until)
    if is_late(reminder, now):
        intro += "\n" + lens.t("revisit_late", due=format_moment(lens, reminder.due, zone))
    posts = [Notice(intro, Audience.CHANNEL)]
    for number, question in enumerate(CHECKIN_QUESTIONS, start=1):
        actions = tuple(
            Action(
                EventKind.REMINDER,
                lens.t(f"checkin_{question}_{n}"),
                "default",
                f"answer:{reminder.id}:{number}:{n}",
                f"{COMMAND} reminder {reminder.id} answer {number} {n}",
            )
            for n in range(1, CHECKIN_OPTIONS + 1)
        )
        posts.append(Notice(f"*{number}.* {lens.t(f'checkin_{question}')}", Audience.CHANNEL, actions=actions))
    return posts


def nudge_post(lens: Lens, record: SessionRecord, question_id: str) -> Notice:
    """In the check's thread: the open question and how many have answered."""
    number = record.meta.path.index(question_id) + 1 if question_id in record.meta.path else len(record.meta.path)
    answered = len(record.answers_to(question_id))
    return Notice(
        lens.t(
            "nudge",
            number=number,
            question=lens.dialogue.text(lens.language, question_id).text,
            answered=lens.t("answers_count", n=answered) if answered else lens.t("no_answers_yet"),
        ),
        Audience.THREAD,
        session_id=record.id,
    )


# --- lists ------------------------------------------------------------------------------------------


def reminders_list(lens: Lens, reminders: list[Reminder], zone: tzinfo) -> Notice:
    shown = [r for r in reminders if r.state in (State.SCHEDULED, State.CLAIMED, State.POSTED, State.FAILED)]
    if not shown:
        return Notice(lens.t("reminders_none"), Audience.EPHEMERAL)
    lines = [lens.t("reminders_header")]
    for reminder in shown:
        state = lens.t(f"reminder_state_{reminder.state.value}", error=reminder.error or "?")
        lines.append(
            lens.t(
                "reminder_line",
                id=reminder.id,
                kind=lens.t(f"reminder_kind_{reminder.kind.value}"),
                due=format_moment(lens, reminder.due, zone),
                state=state,
            )
        )
    lines.append(lens.t("reminders_cancel_hint"))
    return Notice("\n".join(lines), Audience.EPHEMERAL)


def history_page(lens: Lens, records: list[SessionRecord], page: int, pages: int) -> Notice:
    if not records:
        return Notice(lens.t("history_none"), Audience.EPHEMERAL)
    lines = [lens.t("history_header", page=page, pages=pages)]
    for record in records:
        own = (
            Lens(lens.dialogue, lens.flow, record.meta.language)
            if record.meta.language in lens.dialogue.languages
            else lens
        )
        summary = build_summary(own, record)
        lines.append(
            lens.t(
                "history_line",
                date=lens.format_date(check_day(record)),
                decision=lens.decision_label(record.meta.decision),
                owner=summary.decision.owner or lens.t("not_set"),
                themes=_themes_line(own, record, summary) or lens.t("not_answered"),
            )
        )
    if page < pages:
        lines.append(lens.t("history_more", next=page + 1))
    return Notice("\n".join(lines), Audience.EPHEMERAL)


# --- the comparison and the check-in in a summary --------------------------------------------------


def checkin_lines(lens: Lens, record: SessionRecord) -> tuple[str, ...]:
    """``Are we talking with people…? 2 × Talking with people, 1 × Some of both`` per answered question."""
    lines = []
    for number, question in enumerate(CHECKIN_QUESTIONS, start=1):
        chosen = Counter(record.checkin.get(str(number), {}).values())
        if not chosen:
            continue
        counts = ", ".join(
            f"{count} × {lens.t(f'checkin_{question}_{n}')}" for n, count in sorted(chosen.items()) if 1 <= n <= 3
        )
        lines.append(lens.t("checkin_line", question=lens.t(f"checkin_{question}"), counts=counts))
    return tuple(lines)


def with_previous(lens: Lens, summary: Summary, current: SessionRecord, previous: SessionRecord | None) -> Summary:
    """The summary with the channel's previous finished check beside it, and its own check-in answers."""
    from dataclasses import replace

    checkin = checkin_lines(lens, current)
    if previous is None:
        return replace(summary, checkin=checkin) if checkin else summary
    before = theme_means(lens, previous)
    now = {t.theme_id: t.average for t in summary.themes}
    changes = tuple(
        ThemeChange(theme_id, title, before.get(theme_id, ("", None))[1], now.get(theme_id))
        for theme_id, title in ((t, lens.dialogue.texts[lens.language].themes[t]) for t in lens.dialogue.themes)
        if theme_id in before or theme_id in now
    )
    comparison = Comparison(
        session_id=previous.id,
        decision_label=lens.decision_label(previous.meta.decision),
        date_text=lens.format_date(check_day(previous)),
        themes=changes,
        checkin=checkin_lines(lens, previous),
    )
    return replace(summary, previous=comparison, checkin=checkin)
