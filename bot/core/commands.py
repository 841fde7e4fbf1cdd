"""The command grammar, the same on every platform:

    /socialmedia-check                       start a check in this channel, or show the running one
    /socialmedia-check start [nl|en] [--anonymous] [--quorum N]
    /socialmedia-check answer <n>[,<n>...] | <text>
    /socialmedia-check note <text>
    /socialmedia-check status [repost] | next | back | skip | summary | cancel | help
    /socialmedia-check decide go|pilot|not-now   (facilitator, at the decision)
    /socialmedia-check restart [confirm]         (facilitator: abandon the running check, start anew)
    /socialmedia-check revisit in <duration> | on <date>
    /socialmedia-check reminders [cancel <id>]
    /socialmedia-check reminder <id> start | snooze <duration> | dismiss | answer <question> <n>
    /socialmedia-check history [page]
    /socialmedia-check forget-me [confirm]       (Dutch: vergeet-mij [bevestig]) the caller's data, team-wide
    /socialmedia-check purge [confirm]           (facilitator or admin: everything stored about the channel)
    /socialmedia-check export [md|csv|json|html] [<n>] [private]   (Dutch: exporteer … [privé])

Dutch command words are accepted too (antwoord, notitie, volgende, terug, overslaan, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.messages import Event, EventKind
from bot.core.numbers import parse_number

_WORDS: dict[str, EventKind] = {
    "start": EventKind.START,
    "begin": EventKind.START,
    "restart": EventKind.RESTART,
    "herstart": EventKind.RESTART,
    "answer": EventKind.ANSWER,
    "antwoord": EventKind.ANSWER,
    "note": EventKind.NOTE,
    "notitie": EventKind.NOTE,
    "status": EventKind.STATUS,
    "next": EventKind.NEXT,
    "volgende": EventKind.NEXT,
    "back": EventKind.BACK,
    "terug": EventKind.BACK,
    "skip": EventKind.SKIP,
    "overslaan": EventKind.SKIP,
    "decide": EventKind.DECIDE,
    "besluit": EventKind.DECIDE,
    "summary": EventKind.SUMMARY,
    "samenvatting": EventKind.SUMMARY,
    "cancel": EventKind.CANCEL,
    "annuleer": EventKind.CANCEL,
    "help": EventKind.HELP,
    "hulp": EventKind.HELP,
    "revisit": EventKind.REVISIT,
    "herzien": EventKind.REVISIT,
    "herzie": EventKind.REVISIT,
    "reminders": EventKind.REMINDERS,
    "herinneringen": EventKind.REMINDERS,
    "reminder": EventKind.REMINDER,
    "remind": EventKind.REMINDER,
    "herinnering": EventKind.REMINDER,
    "history": EventKind.HISTORY,
    "geschiedenis": EventKind.HISTORY,
    "forget-me": EventKind.FORGET_ME,
    "forgetme": EventKind.FORGET_ME,
    "vergeet-mij": EventKind.FORGET_ME,
    "vergeetmij": EventKind.FORGET_ME,
    "purge": EventKind.PURGE,
    "wissen": EventKind.PURGE,
    "export": EventKind.EXPORT,
    "exporteer": EventKind.EXPORT,
}

# reminder <id> <verb> [...]: the verbs (and their Dutch words) -> the action's name
_REMINDER_VERBS = {
    "start": "start",
    "new": "start",
    "nieuw": "start",
    "begin": "start",
    "snooze": "snooze",
    "uitstellen": "snooze",
    "stel-uit": "snooze",
    "dismiss": "dismiss",
    "laten-vallen": "dismiss",
    "negeer": "dismiss",
    "answer": "answer",
    "antwoord": "answer",
}

_DECISIONS = {
    "go": "go",
    "yes": "go",
    "ja": "go",
    "doen": "go",
    "pilot": "pilot",
    "proef": "pilot",
    "not-now": "not_now",
    "not_now": "not_now",
    "notnow": "not_now",
    "not now": "not_now",
    "niet-nu": "not_now",
    "niet nu": "not_now",
    "nu-niet": "not_now",  # as the Dutch help and the decision's label say it
    "nu niet": "not_now",
    "nietnu": "not_now",
}

LANGUAGES = ("en", "nl")
MAX_QUORUM = 500


@dataclass(frozen=True)
class CommandError:
    """The text could not be understood. ``key`` names a UI text; ``detail`` fills it in."""

    key: str
    detail: str = ""


def parse_command(text: str, user: str, user_name: str = "") -> Event | CommandError:
    """Turn what followed the slash command into an :class:`Event` (or say what is wrong)."""
    text = " ".join(text.replace("\u00a0", " ").split()) if "\n" not in text else text.strip()
    if not text:
        return Event(EventKind.SHOW, user=user, user_name=user_name)
    word, _, rest = text.partition(" ")
    kind = _WORDS.get(word.lower())
    if kind is None:
        return CommandError("unknown_command", word[:40])
    rest = rest.strip()
    base = Event(kind, user=user, user_name=user_name)
    if kind is EventKind.START:
        return _parse_start(rest, base)
    if kind is EventKind.STATUS and rest:
        if rest.lower() not in ("repost", "opnieuw"):
            return CommandError("bad_arguments", "status [repost]")
        return _replace(base, confirm=True)  # post the open question again (a lost post, a buried thread)
    if kind in (EventKind.RESTART, EventKind.FORGET_ME, EventKind.PURGE):
        if rest and rest.lower() not in ("confirm", "bevestig"):
            return CommandError("bad_arguments", f"{kind.value} [confirm]")
        return _replace(base, confirm=bool(rest))
    if kind in (EventKind.ANSWER, EventKind.NOTE):
        if not rest:
            return CommandError("missing_text", kind.value)
        return _replace(base, text=rest)
    if kind is EventKind.DECIDE:
        value = _DECISIONS.get(rest.lower())
        if value is None:
            return CommandError("bad_arguments", "decide go | pilot | not-now")
        return _replace(base, value=value)
    if kind in _FOLLOW_UPS:
        return _FOLLOW_UPS[kind](rest, base)
    if rest and kind is not EventKind.HELP:
        return CommandError("bad_arguments", kind.value)
    return base


def _parse_revisit(rest: str, base: Event) -> Event | CommandError:
    if not rest:
        return CommandError("revisit_usage")
    return _replace(base, text=rest)


def _parse_reminders(rest: str, base: Event) -> Event | CommandError:
    if not rest:
        return base
    verb, _, target = rest.partition(" ")
    target = target.strip().lower()
    if verb.lower() not in ("cancel", "annuleer") or not target or " " in target:
        return CommandError("bad_arguments", "reminders [cancel <id>]")
    return _replace(base, value=f"cancel:{target}")


def _parse_reminder(rest: str, base: Event) -> Event | CommandError:
    usage = CommandError("bad_arguments", "reminder <id> start | snooze <duration> | dismiss")
    parts = rest.split()
    if len(parts) < 2:
        return usage
    target, verb = parts[0].lower(), _REMINDER_VERBS.get(parts[1].lower())
    if verb is None:
        return usage
    more = parts[2:]
    if verb == "snooze":
        return _replace(base, value=f"snooze:{target}", text=" ".join(more)) if more else usage
    if verb == "answer":
        numbers = [parse_number(p) for p in more]
        if len(numbers) != 2 or any(n is None for n in numbers):
            return CommandError("bad_arguments", "reminder <id> answer <question> <n>")
        return _replace(base, value=f"answer:{target}:{numbers[0]}:{numbers[1]}")
    return usage if more else _replace(base, value=f"{verb}:{target}")


def _parse_history(rest: str, base: Event) -> Event | CommandError:
    if not rest:
        return _replace(base, value="1")
    page = parse_number(rest)
    if page is None or page < 1:
        return CommandError("bad_arguments", "history [page]")
    return _replace(base, value=str(page))


_EXPORT_FORMATS = {"md": "md", "markdown": "md", "csv": "csv", "json": "json", "html": "html"}
_PRIVATE = frozenset({"private", "privately", "privé", "prive"})


def _parse_export(rest: str, base: Event) -> Event | CommandError:
    """``export [md|csv|json|html] [<n>] [private]``, in any order: value ``md`` or ``md:private``,
    text the n-th check of the channel's history (empty: the running or the last finished one)."""
    usage = CommandError("bad_arguments", "export [md|csv|json|html] [<n>] [private]")
    fmt: str | None = None
    number: int | None = None
    private = False
    for token in rest.split():
        word = token.lower()
        if word in _EXPORT_FORMATS and fmt is None:
            fmt = _EXPORT_FORMATS[word]
        elif word in _PRIVATE and not private:
            private = True
        elif number is None and (n := parse_number(token)) is not None and n >= 1:
            number = n
        else:
            return usage
    value = (fmt or "md") + (":private" if private else "")
    return _replace(base, value=value, text=str(number) if number is not None else "")


_FOLLOW_UPS = {
    EventKind.REVISIT: _parse_revisit,
    EventKind.REMINDERS: _parse_reminders,
    EventKind.REMINDER: _parse_reminder,
    EventKind.HISTORY: _parse_history,
    EventKind.EXPORT: _parse_export,
}


def parse_choices(text: str) -> tuple[int, ...] | None:
    """``"2"`` or ``"1, 3"`` or ``"1 3"`` -> option numbers; None when it is not a list of numbers.

    Only ASCII digits count (see :mod:`bot.core.numbers`): ``"¹"``, ``"①"`` or ``"٣"`` are not numbers.
    """
    parts = [p for p in text.replace(",", " ").replace(";", " ").split() if p]
    numbers = [parse_number(p) for p in parts]
    if not numbers or any(n is None for n in numbers):
        return None
    return tuple(dict.fromkeys(n for n in numbers if n is not None))


def _parse_start(rest: str, base: Event) -> Event | CommandError:
    language: str | None = None
    anonymous = False
    quorum: int | None = None
    tokens = rest.split()
    i = 0
    while i < len(tokens):
        token = tokens[i].lower()
        if token in LANGUAGES:
            language = token
        elif token in ("--anonymous", "--anoniem", "anonymous", "anoniem"):
            anonymous = True
        elif token.startswith("--quorum"):
            value = token.partition("=")[2]
            if not value:
                i += 1
                value = tokens[i] if i < len(tokens) else ""
            number = parse_number(value)
            if number is None or not 1 <= number <= MAX_QUORUM:
                return CommandError("bad_quorum", str(MAX_QUORUM))
            quorum = number
        else:
            return CommandError("bad_arguments", "start [nl|en] [--anonymous] [--quorum N]")
        i += 1
    return _replace(base, language=language, anonymous=anonymous, quorum=quorum)


def _replace(event: Event, **changes: object) -> Event:
    from dataclasses import replace

    return replace(event, **changes)  # type: ignore[arg-type]
