"""Block Kit rendering of the neutral messages. Pure: dicts in, dicts out, no SDK import.

Every text goes through :mod:`bot.adapters.slack.text`: user-supplied strings escaped, everything
clipped to Block Kit's limits.

Interactive elements carry a compact JSON ``value`` (:class:`Ref`): session id, question id and option
number, so a click can be routed to the right check and stale buttons refused by the engine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.adapters.slack.text import (
    MAX_BLOCKS,
    MAX_BUTTON,
    MAX_BUTTON_OPTIONS,
    MAX_HEADER,
    MAX_OPTION,
    MAX_OPTION_VALUE,
    MAX_PLACEHOLDER,
    MAX_SELECT_OPTIONS,
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
from bot.core.messages import (
    Audience,
    EventKind,
    HeaderCard,
    Notice,
    QuestionView,
    Tone,
)
from bot.core.render_text import bar, phrase

# --- action ids and callback ids ----------------------------------------------------------------
PREFIX = "smc:"
ANSWER = "smc:answer"  # + ":<n>" per option button
SELECT = "smc:select"  # static_select for a single choice with many options
TOGGLE = "smc:toggle"  # + ":<n>": multi choice, one button per option, each click adds/removes it
MULTI = "smc:multi"  # multi_static_select, only for a multi choice of more than 10 options
TEXT = "smc:text"  # opens the answer modal
NOTE = "smc:note"  # opens the note modal
NEXT = "smc:next"
BACK = "smc:back"
SKIP = "smc:skip"
NOTICE_ACTION = "smc:act"  # + ":<i>" buttons attached to a notice
NOTE_VIEW = "smc:note_view"
ANSWER_VIEW = "smc:answer_view"
INPUT_BLOCK = "smc_input"
INPUT_ACTION = "value"

FACILITATOR_ACTIONS = {NEXT: EventKind.NEXT, BACK: EventKind.BACK, SKIP: EventKind.SKIP}


def t(ui: Mapping[str, str], key: str, **values: object) -> str:
    """A UI phrase of the session's language (see :func:`bot.core.render_text.phrase`)."""
    return phrase(ui, key, **values)


# --- values carried by buttons and modals --------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """What a button or modal belongs to."""

    session_id: str
    question_id: str = ""
    number: int = 0  # option number (1-based) for answer buttons
    channel: str = ""  # modals: the channel the check runs in
    kind: str = ""  # notice actions: the EventKind value
    value: str = ""  # notice actions: extra argument (e.g. "confirm")

    def encode(self) -> str:
        data: dict[str, Any] = {"s": self.session_id}
        for key, val in (
            ("q", self.question_id),
            ("n", self.number),
            ("c", self.channel),
            ("k", self.kind),
            ("v", self.value),
        ):
            if val:
                data[key] = val
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str | None) -> Ref | None:
        try:
            data = json.loads(raw or "")
            if not isinstance(data, dict) or not isinstance(data.get("s"), str):
                return None
            return cls(
                session_id=data["s"],
                question_id=str(data.get("q", "")),
                number=int(data.get("n", 0)),
                channel=str(data.get("c", "")),
                kind=str(data.get("k", "")),
                value=str(data.get("v", "")),
            )
        except (ValueError, TypeError):
            return None


def _button(action_id: str, label: str, ref: Ref, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": plain(label, MAX_BUTTON),
        "value": ref.encode(),
    }
    if style in ("primary", "danger"):
        button["style"] = style
    return button


def _option(label: str, value: str) -> Block:
    return {"text": plain(label, MAX_OPTION), "value": value[:MAX_OPTION_VALUE]}


# --- header ----------------------------------------------------------------------------------------

_STATE_ICON = {
    "running": ":large_green_circle:",
    "finished": ":white_check_mark:",
    "cancelled": ":no_entry_sign:",
}


def header_message(card: HeaderCard) -> dict[str, Any]:
    ui = card.ui
    blocks: list[Block] = [{"type": "header", "text": plain(card.title, MAX_HEADER)}]
    if card.intro and card.state == "running":
        blocks.append(section(esc(card.intro)))
    notes = []
    if card.anonymous:
        notes.append(":bust_in_silhouette: " + esc(t(ui, "anonymous_note")))
    if card.quorum:
        notes.append(esc(phrase(ui, "quorum_note", card.language, quorum=card.quorum, n=card.quorum)))
    blocks.append(context(f"{_STATE_ICON.get(card.state, '')} {esc(card.status_line)}".strip(), *notes))
    short = f"{card.title} · {card.status_line}"
    return {"text": fallback(plain_or(render_text.header_text, card, short)), "blocks": blocks}


# --- question ------------------------------------------------------------------------------------


def progress(view: QuestionView) -> str:
    """``Question 12 · Considerations (phase 2 of 5)``, as the view says it."""
    return view.progress


def _option_lines(view: QuestionView) -> list[str]:
    # Bars are shares of the people who answered (a multi-choice option can reach everyone).
    most = max(view.respondent_count, *(o.count for o in view.options), 1)
    lines = []
    for o in view.options:
        line = f"`{o.number}` {esc(o.label)}   `{bar(o.count, most)}` *{o.count}*"
        if o.voters and not view.anonymous:
            line += " · " + esc(", ".join(o.voters))
        lines.append(line)
    return lines


def _text_answer_lines(view: QuestionView) -> list[str]:
    lines = []
    for answer in view.text_answers:
        quote = esc(answer.text).replace("\n", "\n>")
        author = "" if view.anonymous or not answer.author else f" — _{esc(answer.author)}_"
        lines.append(f">{quote}{author}")
    return lines


def _tally_blocks(view: QuestionView, budget: int) -> list[Block]:
    ui = view.ui
    blocks: list[Block] = []
    if view.options:
        blocks += [section(chunk) for chunk in pack(_option_lines(view))]
    if view.text_answers:
        chunks = pack(_text_answer_lines(view))
        if len(chunks) > budget:
            hidden = len(chunks) - budget + 1
            chunks = chunks[: budget - 1] + [f"_… +{hidden}_"]
        blocks += [section(chunk) for chunk in chunks]
    count = view.respondent_count
    who = esc(t(ui, "answers_count", n=count)) if count else esc(t(ui, "no_answers_yet"))
    if count and view.respondents and not view.anonymous:
        who += f" · {esc(t(ui, 'answered_by'))}: " + esc(", ".join(view.respondents))
    who += "".join(f" · {esc(part)}" for part in (view.chosen, view.mean) if part)  # as the core wrote them
    spread = view.spread
    blocks.append(context(":busts_in_silhouette: " + who))
    if spread.disagreement:
        reason = f" — {esc(spread.reason)}" if spread.reason else ""
        blocks.append(section(f":warning: *{esc(t(ui, 'disagreement'))}*{reason}"))
    return blocks


def _answer_elements(view: QuestionView) -> list[Block]:
    ui = view.ui
    base = Ref(view.session_id, view.question_id)
    if view.kind in ("text", "date"):
        return [_button(TEXT, t(ui, "answer_button"), base, "primary")]
    options = view.options[:MAX_SELECT_OPTIONS]
    if view.kind == "multi":
        # Toggle buttons, not checkboxes: Slack resets a user's ticks whenever the message is edited
        # (every tally update), so a later tick would report a selection without the earlier ones.
        # A toggle changes one option of the stored answer, atomically in Redis.
        if len(options) <= MAX_BUTTON_OPTIONS:
            return [
                _button(
                    f"{TOGGLE}:{o.number}", f"{o.number}. {o.label}", Ref(view.session_id, view.question_id, o.number)
                )
                for o in options
            ]
        opts = [_option(f"{o.number}. {o.label}", str(o.number)) for o in options]
        return [
            {
                "type": "multi_static_select",
                "action_id": MULTI,
                "options": opts,
                "placeholder": plain(t(ui, "select_placeholder"), MAX_PLACEHOLDER),
            }
        ]
    if len(options) <= MAX_BUTTON_OPTIONS:
        return [
            _button(
                f"{ANSWER}:{o.number}",
                f"{o.number}. {o.label}",
                Ref(view.session_id, view.question_id, o.number),
            )
            for o in options
        ]
    return [
        {
            "type": "static_select",
            "action_id": SELECT,
            "options": [_option(f"{o.number}. {o.label}", str(o.number)) for o in options],
            "placeholder": plain(t(ui, "select_placeholder"), MAX_PLACEHOLDER),
        }
    ]


def question_message(view: QuestionView) -> dict[str, Any]:
    """The thread message of one question: progress, text, live tally, and (while open) its buttons."""
    ui = view.ui
    ref = Ref(view.session_id, view.question_id)
    top: list[Block] = [
        context(f"*{esc(progress(view))}* · {esc(view.theme)}"),
        section(f"*{esc(view.text)}*"),
    ]
    if view.progress_note:
        top.insert(1, context(f"_{esc(view.progress_note)}_"))
    if view.help:
        top.append(context(esc(view.help)))
    if view.kind == "multi" and not view.closed:
        top.append(context(f"_{esc(t(ui, 'multi_hint'))}_"))
    controls: list[Block] = []
    footer_parts = [f"{esc(t(ui, 'facilitator'))}: {esc(view.facilitator)}"]
    if view.notes_count:
        footer_parts.append(f":memo: {view.notes_count}")
    if view.closed:
        state = t(ui, "skipped") if view.skipped else t(ui, "closed")
        top.insert(1, context(f":lock: *{esc(state)}*"))
    else:
        # Selects and checkboxes carry no value of their own: the block id says what they belong to.
        answer_block_id = ref.encode()
        if len(answer_block_id) > 255:
            answer_block_id = f"a:{view.question_id}"[:255]
        controls.append({"type": "actions", "block_id": answer_block_id, "elements": _answer_elements(view)})
        controls.append(
            {
                "type": "actions",
                "block_id": "controls",
                "elements": [
                    _button(NOTE, t(ui, "add_note"), ref),
                    _button(NEXT, t(ui, "next"), ref, "primary"),
                    _button(BACK, t(ui, "back"), ref),
                    _button(SKIP, t(ui, "skip"), ref),
                ],
            }
        )
    footer = [context(*footer_parts)]
    budget = MAX_BLOCKS - len(top) - len(controls) - len(footer) - 3  # room for counts/disagreement
    blocks = top + _tally_blocks(view, budget) + controls + footer
    text = plain_or(render_text.question_text, view, f"{progress(view)}: {view.text}")
    return {"text": fallback(text), "blocks": blocks[:MAX_BLOCKS]}


# --- notices ---------------------------------------------------------------------------------------

_TONE_ICON = {
    Tone.INFO: "",
    Tone.SUCCESS: ":white_check_mark: ",
    Tone.REFUSAL: ":raised_hand: ",
    Tone.ERROR: ":warning: ",
}


def notice_message(notice: Notice) -> dict[str, Any]:
    text = _TONE_ICON.get(notice.tone, "") + esc(notice.text)
    blocks: list[Block] = [section(chunk) for chunk in pack(text.split("\n"))][: MAX_BLOCKS - 1]
    if notice.actions:
        blocks.append(
            {
                "type": "actions",
                "block_id": "notice_actions",
                "elements": [
                    _button(
                        f"{NOTICE_ACTION}:{i}",
                        a.label,
                        Ref(notice.session_id or "", kind=a.event.value, value=a.value),
                        a.style,
                    )
                    for i, a in enumerate(notice.actions[:25])
                ],
            }
        )
    return {"text": fallback(render_text.notice_text(notice)), "blocks": blocks}


def error_message(ui: Mapping[str, str]) -> dict[str, Any]:
    return notice_message(Notice(t(ui, "error_generic"), Audience.EPHEMERAL, Tone.ERROR))
