"""Neutral messages -> Mattermost post bodies (``message`` + ``props.attachments`` with actions).

Pure: no SDK, no I/O. The adapter (:mod:`bot.adapters.mattermost.routes`) sends what this module builds.

Three things matter on Mattermost and are handled here:

* **Mentions.** Every string that reaches Mattermost goes through :func:`neutralise`: a zero-width
  joiner after each ``@`` (so ``@channel``, ``@all``, ``@here`` and ``@user`` never notify) and after
  ``<`` in ``<!`` (Mattermost expands Slack-style ``<!channel>`` in attachments), control characters
  dropped, and a length cap. Bot texts go through it too: defence in depth costs nothing.
* **Unforgeable buttons.** Anyone who can post to the API can craft a post whose buttons point at our
  URL. Every action ``context`` and dialog ``state`` therefore carries an HMAC-SHA256 over its
  canonical fields (:class:`ContextSigner`); the adapter refuses what does not verify.
* **Limits.** Action ids must be alphanumeric (the server routes ``/posts/{id}/actions/{action_id}``
  with ``[A-Za-z0-9]+``), dialog labels are short, a post holds at most 16383 characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.adapters.mattermost.signing import ContextSigner
from bot.core.messages import (
    Action,
    ChannelKey,
    HeaderCard,
    Notice,
    OptionView,
    QuestionView,
    Spread,
    Tone,
)
from bot.core.render_text import bar, phrase

ZWJ = "\u200d"
MAX_POST = 16000  # Mattermost's limit is 16383 runes; keep a margin for the attachment wrapper
MAX_ATTACHMENT_TEXT = 7000
MAX_BUTTON = 60
MAX_TEXT_ANSWERS_SHOWN = 25

COLOURS = {
    "open": "#1c58d9",
    "disagreement": "#e0a100",
    "closed": "#8b8b8b",
    "finished": "#2e8540",
    "cancelled": "#8b8b8b",
    Tone.INFO: "#1c58d9",
    Tone.SUCCESS: "#2e8540",
    Tone.REFUSAL: "#e0a100",
    Tone.ERROR: "#d24b4e",
}
BUTTON_STYLES = {"default": "default", "primary": "primary", "danger": "danger"}

# Short phrases the engine's UI catalogue may not carry; the catalogue wins when it has the key.


def t(ui: Mapping[str, str] | None, language: str | None, key: str, **values: object) -> str:
    """A UI phrase of the session's language (see :func:`bot.core.render_text.phrase`)."""
    return phrase(ui, key, language, **values)


# --------------------------------------------------------------------------------------------
# Neutralising user text
# --------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralise(text: str | None, limit: int | None = None) -> str:
    """Make ``text`` safe to echo: no mentions, no Slack-style announcements, bounded length."""
    if not text:
        return ""
    text = _CONTROL.sub("", str(text))
    text = unicodedata.normalize("NFC", text)
    # Drop joiners a user typed next to '@' so the result is canonical, then add ours.
    text = text.replace("@" + ZWJ, "@").replace("@", "@" + ZWJ)
    text = text.replace("<" + ZWJ + "!", "<!").replace("<!", "<" + ZWJ + "!")
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return text


def one_line(text: str | None, limit: int) -> str:
    return neutralise(" ".join((text or "").split()), limit)


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where buttons point and which channel they are bound to."""

    channel: ChannelKey
    action_url: str  # SMC_PUBLIC_URL + /mattermost/actions
    signer: ContextSigner


def _button(target: Target, action_id: str, label: str, style: str = "default", **context: object) -> dict[str, Any]:
    if not action_id.isalnum():
        raise ValueError(f"Mattermost action ids must be alphanumeric: {action_id!r}")
    return {
        "id": action_id,
        "type": "button",
        "name": one_line(label, MAX_BUTTON),
        "style": BUTTON_STYLES.get(style, "default"),
        "integration": {
            "url": target.action_url,
            "context": target.signer.sign(c=target.channel.channel, t=target.channel.team, **context),
        },
    }


def _option_line(option: OptionView, respondents: int, anonymous: bool) -> str:
    share = option.count / respondents if respondents else 0.0
    line = f"`{bar(share, 1)}` **{option.count}** · {option.number}. {one_line(option.label, 200)}"
    if option.voters and not anonymous:
        names = ", ".join(one_line(name, 60) for name in option.voters[:20])
        more = f" +{len(option.voters) - 20}" if len(option.voters) > 20 else ""
        line += f" — _{names}{more}_"
    return line


def _disagreement_line(view_ui: Mapping[str, str], language: str, spread: Spread) -> str:
    reason = f": {neutralise(spread.reason, 300)}" if spread.reason else ""
    return f"⚠️ **{t(view_ui, language, 'disagreement')}**{reason}"


# --------------------------------------------------------------------------------------------
# Question post
# --------------------------------------------------------------------------------------------


def question_text(view: QuestionView) -> str:
    """The attachment body: help, live tally, respondents, disagreement marker."""
    ui, lang = view.ui, view.language
    parts: list[str] = []
    if view.help:
        parts.append(f"_{neutralise(view.help, 1500)}_")
    if view.kind == "multi" and not view.closed:
        parts.append(t(ui, lang, "multi_hint"))
    if view.kind == "date" and not view.closed:
        parts.append(t(ui, lang, "date_hint"))
    if view.options:
        parts.append("\n".join(_option_line(o, view.respondent_count, view.anonymous) for o in view.options))
    if view.text_answers:
        shown = view.text_answers[-MAX_TEXT_ANSWERS_SHOWN:]
        lines = []
        for answer in shown:
            who = f"**{one_line(answer.author, 60)}**: " if answer.author and not view.anonymous else ""
            lines.append(f"> {who}{one_line(answer.text, 500)}")
        if len(view.text_answers) > len(shown):
            lines.insert(0, f"> … (+{len(view.text_answers) - len(shown)})")
        parts.append("\n".join(lines))
    if view.respondent_count:
        count = t(ui, lang, "answers_count", n=view.respondent_count)
        # what people chose and the mean, as the core wrote them ("2 × Well · ⌀ 2.7 of 3")
        count += "".join(f" · {one_line(part, 2000)}" for part in (view.chosen, view.mean) if part)
        if view.respondents and not view.anonymous:
            names = ", ".join(one_line(name, 60) for name in view.respondents[:30])
            count += f" — {t(ui, lang, 'answered_by')}: {names}"
        parts.append(count)
    else:
        parts.append(t(ui, lang, "no_answers_yet"))
    if view.notes_count:
        parts.append(f"📝 {view.notes_count}")
    if view.spread.disagreement:
        parts.append(_disagreement_line(ui, lang, view.spread))
    if view.skipped:
        parts.append(f"⏭ {t(ui, lang, 'skipped')}")
    elif view.closed:
        parts.append(f"🔒 {t(ui, lang, 'closed')}")
    return neutralise("\n\n".join(parts), MAX_ATTACHMENT_TEXT)


def question_fallback(view: QuestionView) -> str:
    """Plain text for notifications and clients that cannot show attachments."""
    lines = [f"{view.progress}: {view.text}"]
    for option in view.options:
        lines.append(f"{option.number}. {option.label} ({option.count})")
    return neutralise("\n".join(lines), 3000)


def question_post(view: QuestionView, target: Target) -> dict[str, Any]:
    """``{"message", "props": {"attachments": [...]}}`` for a question card (new or updated)."""
    ui, lang = view.ui, view.language
    where = one_line(view.theme, 80)
    message = f"**{one_line(view.progress, 300)}**" + (f" · {where}" if where else "")
    if view.progress_note:
        message += f"\n_{one_line(view.progress_note, 400)}_"
    colour = (
        COLOURS["closed"] if view.closed else COLOURS["disagreement"] if view.spread.disagreement else COLOURS["open"]
    )
    main: dict[str, Any] = {
        "fallback": question_fallback(view),
        "color": colour,
        "title": one_line(view.text, 1000),
        "text": question_text(view),
    }
    attachments = [main]
    if not view.closed:
        common = {"s": view.session_id, "q": view.question_id}
        actions: list[dict[str, Any]] = []
        if view.kind in ("scale", "single", "multi"):
            action = "toggle" if view.kind == "multi" else "answer"
            for option in view.options:
                actions.append(
                    _button(
                        target,
                        f"opt{option.number}",
                        f"{option.number}. {option.label}",
                        a=action,
                        o=option.number,
                        **common,
                    )
                )
        else:
            actions.append(_button(target, "answer", t(ui, lang, "answer_button"), "primary", a="dlganswer", **common))
        actions.append(_button(target, "note", t(ui, lang, "add_note"), a="dlgnote", **common))
        main["actions"] = actions
        facilitator = one_line(view.facilitator, 80)
        attachments.append(
            {
                "fallback": f"{t(ui, lang, 'facilitator')}: {facilitator}",
                "color": "#cccccc",
                "text": f"{t(ui, lang, 'facilitator')}: **{facilitator}**",
                "actions": [
                    _button(target, "back", t(ui, lang, "back"), a="back", **common),
                    _button(target, "skip", t(ui, lang, "skip"), a="skip", **common),
                    _button(target, "next", t(ui, lang, "next"), "primary", a="next", **common),
                ],
            }
        )
    return {"message": neutralise(message, 500), "props": {"attachments": attachments}}


# --------------------------------------------------------------------------------------------
# Header, notices, summary
# --------------------------------------------------------------------------------------------


def header_post(card: HeaderCard) -> dict[str, Any]:
    ui, lang = card.ui, card.language
    colour = COLOURS.get(card.state, COLOURS["open"])
    text = [neutralise(card.intro, 3000)]
    if card.anonymous:
        text.append(f"_{t(ui, lang, 'anonymous_note')}_")
    if card.quorum:
        text.append(f"_{t(ui, lang, 'quorum_note', quorum=card.quorum, n=card.quorum)}_")
    attachment: dict[str, Any] = {
        "fallback": neutralise(f"{card.title} — {card.status_line}", 1000),
        "color": colour,
        "title": one_line(card.title, 200),
        "text": neutralise("\n\n".join(text), 4000),
        "fields": [{"short": True, "title": t(ui, lang, "facilitator"), "value": one_line(card.facilitator, 80)}],
        "footer": one_line(card.status_line, 300),
    }
    message = f"### {one_line(card.title, 200)}"
    return {"message": message, "props": {"attachments": [attachment]}}


def notice_attachments(notice: Notice, target: Target, language: str | None = None) -> list[dict[str, Any]]:
    """Buttons of a notice (e.g. "restart confirm"), as one attachment; empty when it has none."""
    if not notice.actions:
        return []
    actions = [_notice_button(target, i, action, notice.session_id) for i, action in enumerate(notice.actions)]
    return [
        {
            "fallback": neutralise(notice.text, 500),
            "color": COLOURS.get(notice.tone, COLOURS[Tone.INFO]),
            "actions": actions,
        }
    ]


def _notice_button(target: Target, index: int, action: Action, session_id: str | None) -> dict[str, Any]:
    return _button(
        target,
        f"ev{index}",
        action.label,
        action.style,
        a="event",
        e=action.event.value,
        v=action.value,
        s=session_id or "",
    )


def notice_post(notice: Notice, target: Target) -> dict[str, Any]:
    post: dict[str, Any] = {"message": neutralise(notice.text, MAX_POST)}
    attachments = notice_attachments(notice, target)
    if attachments:
        post["props"] = {"attachments": attachments}
    return post


# --------------------------------------------------------------------------------------------
# Direct replies
# --------------------------------------------------------------------------------------------


def command_response(notices: Iterable[Notice], target: Target) -> dict[str, Any]:
    """The JSON answer to a slash command: the caller's ephemeral notices, or nothing visible."""
    notices = list(notices)
    texts = [neutralise(n.text, MAX_POST // max(len(notices), 1)) for n in notices]
    response: dict[str, Any] = {
        "response_type": "ephemeral",
        "text": "\n\n".join(t for t in texts if t),
        "skip_slack_parsing": True,
    }
    attachments = [a for n in notices for a in notice_attachments(n, target)]
    if attachments:
        response["attachments"] = attachments
    return response


def action_response(ephemeral_texts: Sequence[str], update: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON answer to a button click: the texts only the clicker sees, and ``update``, the
    clicked post's new body (``{"message", "props"}``), which Mattermost applies before it answers
    the clicker's client."""
    text = "\n\n".join(neutralise(x, MAX_POST // max(len(ephemeral_texts), 1)) for x in ephemeral_texts if x)
    out: dict[str, Any] = {"ephemeral_text": text, "skip_slack_parsing": True} if text else {}
    if update is not None:
        out["update"] = update
    return out


def error_response(message: str) -> dict[str, Any]:
    """A refusal of an action request, as a polite ephemeral line under the post.

    ``ephemeral_text`` is what Mattermost's own plugins answer with (``SlackAttachmentError``); the
    newer ``{"error": {...}}`` shape (10.5+) would be dropped silently by older servers.
    """
    return {"ephemeral_text": neutralise(message, 1000), "skip_slack_parsing": True}
