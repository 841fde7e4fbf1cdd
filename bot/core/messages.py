"""Platform-neutral values that cross the seam between adapters and the engine.

Adapters translate platform payloads into an :class:`Event` and render the returned messages
(:class:`Notice`, :class:`HeaderCard`, :class:`QuestionCard`, :class:`SummaryCard`) as Block Kit,
Mattermost attachments or terminal text. Nothing here knows a platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from bot.errors import BotError


class ChannelKeyError(BotError):
    """A text that is not a channel key (``platform:team:channel``)."""


@dataclass(frozen=True)
class ChannelKey:
    """Where a check runs: one running check per key."""

    platform: str  # "slack", "mattermost", "console"
    team: str
    channel: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.team}:{self.channel}"

    @classmethod
    def parse(cls, text: str) -> ChannelKey:
        """The key whose ``str()`` is ``text``; the platform and channel must not be empty."""
        platform, sep, rest = str(text).partition(":")
        team, sep2, channel = rest.partition(":")
        if not (sep and sep2 and platform and channel) or not platform.isidentifier():
            raise ChannelKeyError(f"not a channel key (platform:team:channel): {str(text)[:80]!r}")
        return cls(platform, team, channel)


class EventKind(StrEnum):
    SHOW = "show"  # bare command: start a check, or show the running one
    START = "start"
    RESTART = "restart"  # facilitator: abandon the running check and start anew (needs confirm)
    ANSWER = "answer"
    NOTE = "note"
    STATUS = "status"
    NEXT = "next"
    BACK = "back"
    SKIP = "skip"
    DECIDE = "decide"  # facilitator: confirm the team's decision explicitly
    SUMMARY = "summary"
    CANCEL = "cancel"
    HELP = "help"
    REVISIT = "revisit"  # change when the channel's last decision comes back
    REMINDERS = "reminders"  # list the channel's reminders (value "cancel:<id>": cancel one)
    REMINDER = "reminder"  # act on a reminder: value "start:<id>", "snooze:<id>" (+ text), "dismiss:<id>", ...
    HISTORY = "history"  # past checks of the channel (value: the page)
    FORGET_ME = "forget-me"  # remove the caller from every check of the team (needs confirm)
    PURGE = "purge"  # remove everything stored about the channel (facilitator or admin; needs confirm)
    EXPORT = "export"  # the running or a past check as a file (value: format[:private], text: n-th in history)


@dataclass(frozen=True)
class Event:
    """One thing a user did, whatever the platform.

    ``question_id``/``session_id`` are set when the event comes from a button or dialog that belongs
    to a specific question of a specific check, so that stale buttons can be refused politely.
    """

    kind: EventKind
    user: str  # the platform's stable user id
    user_name: str = ""
    text: str = ""  # free-text answer, note text, or the raw arguments
    choices: tuple[int, ...] = ()  # 1-based option numbers
    toggle: bool = False  # multi-choice button: add/remove one option instead of replacing
    language: str | None = None
    anonymous: bool = False
    quorum: int | None = None
    confirm: bool = False  # restart confirm
    value: str = ""  # decide: go | pilot | not_now
    question_id: str | None = None
    session_id: str | None = None
    via_button: bool = False  # button clicks need no "recorded" confirmation


class Audience(StrEnum):
    CHANNEL = "channel"  # visible to everyone in the channel itself
    THREAD = "thread"  # in the check's thread (under the header)
    EPHEMERAL = "ephemeral"  # only the user who acted


class Tone(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    REFUSAL = "refusal"
    ERROR = "error"


@dataclass(frozen=True)
class Action:
    """A button attached to a notice (for example: confirm a restart)."""

    event: EventKind
    label: str
    style: str = "default"  # default | primary | danger
    value: str = ""  # extra argument (e.g. "confirm")
    command: str = ""  # the same action typed, for surfaces without buttons (the console)


@dataclass(frozen=True)
class Notice:
    text: str
    audience: Audience = Audience.EPHEMERAL
    tone: Tone = Tone.INFO
    actions: tuple[Action, ...] = ()
    session_id: str | None = None
    key: str = field(default="", compare=False)  # a refusal's UI key: its reason on /metrics


@dataclass(frozen=True)
class OptionView:
    number: int  # 1-based, what users type
    value: str
    label: str
    count: int = 0
    voters: tuple[str, ...] = ()  # display names; always empty when anonymous
    selected_by_all: bool = False


@dataclass(frozen=True)
class TextAnswerView:
    author: str | None  # None when anonymous
    text: str


@dataclass(frozen=True)
class Spread:
    """How the answers to one question are distributed, and whether the team disagrees."""

    respondents: int
    # scale questions only, in the buttons' own numbering (1 = the first option), as people see them
    average: float | None = None
    minimum: int | None = None
    maximum: int | None = None
    disagreement: bool = False
    reason: str = ""  # human text in the session's language, empty when no disagreement


@dataclass(frozen=True)
class QuestionView:
    session_id: str
    question_id: str
    number: int  # position on the path so far, 1-based
    total: int  # expected length of the path with the answers so far
    phase: str  # phase title in the session's language
    theme: str  # theme title
    kind: str  # scale | single | multi | text | date
    text: str
    help: str
    options: tuple[OptionView, ...]
    respondents: tuple[str, ...]  # display names; empty when anonymous
    respondent_count: int
    text_answers: tuple[TextAnswerView, ...]
    spread: Spread
    notes_count: int
    facilitator: str  # display name of the facilitator (never hidden: they steer)
    is_decision: bool
    closed: bool  # the check has moved on; buttons should be removed
    skipped: bool
    anonymous: bool
    language: str
    ui: Mapping[str, str]  # button labels and short phrases in the session's language
    # ready to print, in the session's language (bot.core.views; numbers formatted by bot.core.report):
    progress: str = ""  # "Question 12 · Considerations (phase 2 of 5)"
    progress_note: str = ""  # why a phase is (or will be) skipped, empty when none is
    chosen: str = ""  # "2 × Well, 1 × Partly", most chosen first; empty without options or answers
    mean: str = ""  # "⌀ 2.7 of 3" in the buttons' own numbering, scale questions only


class CardMode(StrEnum):
    POST = "post"  # a new message (in the thread for questions, the channel for headers)
    UPDATE = "update"  # update the message posted earlier for the same question/header


@dataclass(frozen=True)
class QuestionCard:
    view: QuestionView
    mode: CardMode


@dataclass(frozen=True)
class TallyChanged:
    """The answers or notes of a question changed: refresh its message (coalesced).

    Cheap on purpose: a burst of clicks produces many of these, and the adapter renders the card
    (``CheckService.question_card``) only when it actually updates the message."""

    session_id: str
    question_id: str
    # Set when the click's own write entered the coalescing window (bot.store.clicks): True, this
    # click leads it (``card`` drawn from the write's snapshot, ``ref`` the message's id, "" unknown);
    # False, the window was open (its close edits). None: the outbox enters the window itself.
    lead: bool | None = None
    card: QuestionCard | None = None
    ref: str = ""


@dataclass(frozen=True)
class HeaderCard:
    session_id: str
    title: str
    intro: str
    facilitator: str
    language: str
    anonymous: bool
    quorum: int | None
    state: str  # running | finished | cancelled
    status_line: str  # e.g. "Question 7 of 24 · 3 people answered so far"
    mode: CardMode
    ui: Mapping[str, str]


@dataclass(frozen=True)
class ThemeResult:
    theme_id: str
    title: str
    average: float | None  # 1..scale_max, None when the theme had no answered scale question
    minimum: float | None
    maximum: float | None
    scale_max: int
    questions: int
    answered: int
    disagreements: tuple[str, ...]  # question texts where the team disagrees
    # each participant's mean on the theme's scale questions, sorted (no order that could name anyone)
    scores: tuple[float, ...] = ()


@dataclass(frozen=True)
class QuestionResult:
    question_id: str
    number: int
    text: str
    kind: str
    theme: str
    options: tuple[OptionView, ...]
    text_answers: tuple[TextAnswerView, ...]
    spread: Spread
    unanswered: bool
    skipped: bool


@dataclass(frozen=True)
class NoteView:
    author: str | None  # None when anonymous
    question: str
    text: str


@dataclass(frozen=True)
class DecisionView:
    value: str | None  # go | pilot | not_now, None while undecided
    label: str
    confirmed: bool
    reasons: tuple[str, ...]
    owner: str
    channels: tuple[str, ...]
    domain: tuple[str, ...]
    pilot_scope: str
    reconsider: str
    revisit: date | None
    revisit_text: str  # formatted in the session's language


@dataclass(frozen=True)
class ThemeChange:
    """One theme's mean in the channel's previous check and in this one (1..5, None: no score)."""

    theme_id: str
    title: str
    before: float | None
    now: float | None


@dataclass(frozen=True)
class Comparison:
    """The channel's previous finished check, as the summary of a new one compares with it."""

    session_id: str
    decision_label: str
    date_text: str  # when it finished, in the session's language
    themes: tuple[ThemeChange, ...]
    checkin: tuple[str, ...] = ()  # the pilot check-in answers kept with it, one line per question


@dataclass(frozen=True)
class Summary:
    session_id: str
    title: str
    language: str
    final: bool
    themes: tuple[ThemeResult, ...]
    questions: tuple[QuestionResult, ...]
    concerns: tuple[NoteView, ...]
    decision: DecisionView
    participants: tuple[str, ...]  # empty when anonymous
    participant_count: int
    anonymous: bool
    ui: Mapping[str, str] = field(default_factory=dict)
    date_text: str = ""  # the day of the check (finished, or last moved), in the session's language
    previous: Comparison | None = None  # the channel's previous finished check, when there is one
    checkin: tuple[str, ...] = ()  # this check's own pilot check-in answers, one line per question
    revisit_scheduled: bool = False  # a reminder will come back at decision.revisit


@dataclass(frozen=True)
class SummaryCard:
    summary: Summary
    audience: Audience
    outbox_job: str = ""  # the durable outbox entry this post settles once it is out (bot.core.reminders)


@dataclass(frozen=True)
class FileExport:
    """A file for the channel (or, ``Audience.EPHEMERAL``, only for the person who asked): an export.

    ``session_id`` stays None on purpose: an export of an old check must not become the channel's
    "latest" check in the outbox (thread notices follow that)."""

    filename: str
    content: bytes
    mime: str
    title: str
    audience: Audience = Audience.CHANNEL
    session_id: str | None = None


Message = Notice | HeaderCard | QuestionCard | TallyChanged | SummaryCard | FileExport


def session_of(message: Message) -> str | None:
    """The check a message belongs to, when it says."""
    if isinstance(message, QuestionCard):
        return message.view.session_id
    if isinstance(message, SummaryCard):
        return message.summary.session_id
    return message.session_id


def language_of(message: Message) -> str | None:
    """The language a message was rendered in, when it says (notices are already translated)."""
    if isinstance(message, QuestionCard):
        return message.view.language
    if isinstance(message, HeaderCard):
        return message.language
    if isinstance(message, SummaryCard):
        return message.summary.language
    return None
