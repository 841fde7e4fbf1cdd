"""Reminders: the posts the bot owes a channel later — pure values and the rules for their times.

Four kinds share one durable schedule (bot.store.reminders):

``revisit``  the decision's revisit date has come: what was decided, with Start / Snooze / Dismiss
``checkin``  half-way through a pilot: two questions on how the pilot is going (B10, B11)
``nudge``    a question of a running check has been open for SMC_NUDGE_AFTER (once per question)
``summary``  the end-of-check summary, kept until it is out (the outbox behind the inline post)

Ids are short and typeable (people write ``reminders cancel 3f9a2c1b``). A reminder that belongs to
one check has an id derived from the check (and question), so scheduling it twice is a no-op: a
question is nudged once however often the facilitator goes back to it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from bot.core.numbers import has_non_ascii_digits

MAX_AHEAD = timedelta(days=3652)  # "more than 10 years ahead" is refused
LATE_AFTER = 60.0  # seconds: a reminder posted later than this after its due time says so
REVISIT_HOUR = time(9, 0)  # a revisit on a date (no time given) comes at 09:00 in SMC_TIMEZONE
ID_PATTERN = re.compile(r"^[0-9a-f]{8}$")


class Kind(StrEnum):
    REVISIT = "revisit"
    CHECKIN = "checkin"
    NUDGE = "nudge"
    SUMMARY = "summary"


class State(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its time (or for a retry)
    CLAIMED = "claimed"  # a process is posting it (until its lease runs out)
    POSTED = "posted"  # out; a revisit or check-in still takes answers (snooze, dismiss, ...)
    DONE = "done"  # nothing more to do
    FAILED = "failed"  # the platform kept refusing it: see ``error``
    CANCELLED = "cancelled"
    DISMISSED = "dismissed"


OPEN_STATES = frozenset({State.SCHEDULED, State.CLAIMED, State.POSTED, State.FAILED})


@dataclass(frozen=True)
class Reminder:
    id: str
    kind: Kind
    channel: str  # str(ChannelKey)
    session_id: str
    due: float  # epoch seconds
    state: State = State.SCHEDULED
    attempts: int = 0  # claims so far (a claim that died counts too)
    error: str = ""  # why the last attempt failed
    question_id: str = ""  # nudge: the question
    token: str = ""  # the claim's token, while claimed
    extra: dict[str, str] = field(default_factory=dict)  # any other stored field, kept as is

    def fields(self) -> dict[str, str]:
        """The stored form (a Redis hash)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "channel": self.channel,
            "sid": self.session_id,
            "due": repr(float(self.due)),
            "state": self.state.value,
            "attempts": str(self.attempts),
            "error": self.error,
            "q": self.question_id,
        }

    @classmethod
    def from_fields(cls, data: dict[str, str]) -> Reminder:
        known = {"id", "kind", "channel", "sid", "due", "state", "attempts", "error", "q", "token"}
        return cls(
            id=data["id"],
            kind=Kind(data["kind"]),
            channel=data["channel"],
            session_id=data.get("sid", ""),
            due=float(data["due"]),
            state=State(data.get("state", State.SCHEDULED)),
            attempts=int(data.get("attempts") or 0),
            error=data.get("error", ""),
            question_id=data.get("q", ""),
            token=data.get("token", ""),
            extra={k: v for k, v in data.items() if k not in known},
        )


def reminder_id(kind: Kind, session_id: str, question_id: str = "") -> str:
    """The id of a check's reminder of ``kind`` (and question): the same every time it is asked for."""
    return hashlib.sha256(f"{kind.value}|{session_id}|{question_id}".encode()).hexdigest()[:8]


def for_check(kind: Kind, channel: str, session_id: str, due: float, question_id: str = "") -> Reminder:
    return Reminder(reminder_id(kind, session_id, question_id), kind, channel, session_id, due, question_id=question_id)


def at_revisit_hour(day: date, zone: tzinfo) -> float:
    """Epoch seconds of ``day`` at 09:00 in ``zone``: when a revisit on a date comes back."""
    return datetime.combine(day, REVISIT_HOUR, tzinfo=zone).timestamp()


def finish_reminders(
    *,
    channel: str,
    session_id: str,
    decision: str | None,
    revisit: date | None,
    now: float,
    zone: tzinfo,
    summary_grace: float,
) -> list[Reminder]:
    """What finishing a check schedules, atomically with it: the summary's outbox entry, the revisit,
    and for a pilot the check-in half-way to its evaluation date."""
    planned = [for_check(Kind.SUMMARY, channel, session_id, now + summary_grace)]
    if revisit is not None:
        due = at_revisit_hour(revisit, zone)
        planned.append(for_check(Kind.REVISIT, channel, session_id, due))
        if decision == "pilot" and due > now:
            planned.append(for_check(Kind.CHECKIN, channel, session_id, now + (due - now) / 2))
    return planned


def is_late(reminder: Reminder, now: float) -> bool:
    return now - reminder.due > LATE_AFTER


def snoozed(reminder: Reminder, due: float) -> Reminder:
    return replace(reminder, due=due, state=State.SCHEDULED, attempts=0, error="", token="")


# --- "in 18 months", "on 2027-06-01", "over 2 jaar", "volgend jaar", "in 20 seconds" -------------

_LEAD_WORDS = re.compile(r"^(in|over|on|op|at|per)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Moment:
    at: datetime  # aware, in the zone it was parsed in
    dated: bool  # a calendar date without a time of day (fires at REVISIT_HOUR)


def parse_moment(text: str, language: str, now: datetime) -> Moment | None:
    """A moment after ``now`` (aware) from a duration or a date, in ``language`` or English.

    Durations keep the time of day ("in 3 months" comes back at this hour); a date without a time
    comes back at 09:00. None when the text is neither."""
    import dateparser  # slow to import; only these commands need it

    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > 80 or has_non_ascii_digits(cleaned):
        return None
    zone = now.tzinfo
    base = now.replace(tzinfo=None)
    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False}
    languages = list(dict.fromkeys([language, "en", "nl"]))
    bare = _LEAD_WORDS.sub("", cleaned)
    for candidate in dict.fromkeys((cleaned, bare)):
        parsed = dateparser.parse(candidate, languages=languages, settings=settings)
        if parsed is None:
            continue
        dated = parsed.time() == time(0, 0) and base.time() != time(0, 0)
        if dated:
            parsed = datetime.combine(parsed.date(), REVISIT_HOUR)
        return Moment(parsed.replace(tzinfo=zone), dated)
    return None


def check_moment(moment: Moment, now: datetime) -> str | None:
    """None when ``moment`` can be scheduled; else the UI key that says why not."""
    if moment.at <= now:
        return "when_past"
    if moment.at - now > MAX_AHEAD:
        return "when_too_far"
    return None


def is_reminder_id(text: str) -> bool:
    return bool(ID_PATTERN.match(text))


def later(now: float, months: int, zone: tzinfo) -> float:
    """``now`` plus whole calendar months in ``zone`` (snooze 1 month / 3 months)."""
    from dateutil.relativedelta import relativedelta

    moment = datetime.fromtimestamp(now, tz=zone)
    return float((moment + relativedelta(months=months)).timestamp())
