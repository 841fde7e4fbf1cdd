"""The answer and note dialogs as Mattermost's ``POST /actions/dialogs/open`` takes them. Pure: no SDK, no I/O.

:mod:`bot.adapters.mattermost.dialogs` opens them and takes their submissions; the ``state`` it passes
in is already signed. Every text goes through :func:`bot.adapters.mattermost.render.neutralise`.
"""

from __future__ import annotations

from typing import Any

from bot.adapters.mattermost.render import neutralise, one_line, t
from bot.core.messages import QuestionView

MAX_DIALOG_LABEL = 24  # display_name of a dialog element
MAX_DIALOG_TITLE = 24


def _dialog(
    title: str,
    intro: str,
    label: str,
    placeholder: str,
    help_text: str,
    submit: str,
    state: str,
    url: str,
    callback_id: str,
    max_length: int,
) -> dict[str, Any]:
    return {
        "url": url,
        "dialog": {
            "callback_id": callback_id,
            "title": one_line(title, MAX_DIALOG_TITLE),
            "introduction_text": neutralise(intro, 2000),
            "elements": [
                {
                    "display_name": one_line(label if len(label) <= MAX_DIALOG_LABEL else title, MAX_DIALOG_LABEL),
                    "name": "text",
                    "type": "textarea",
                    "placeholder": one_line(placeholder or label, 150),
                    "help_text": one_line(help_text, 150),
                    "optional": False,
                    "min_length": 1,
                    "max_length": max(1, min(max_length, 3000)),
                }
            ],
            "submit_label": one_line(submit, MAX_DIALOG_LABEL),
            "notify_on_cancel": False,
            "state": state,
        },
    }


def answer_dialog(view: QuestionView, state: str, url: str, max_length: int) -> dict[str, Any]:
    ui, lang = view.ui, view.language
    hint = t(ui, lang, "date_hint") if view.kind == "date" else ""
    return _dialog(
        t(ui, lang, "answer_title"),
        view.text,
        t(ui, lang, "answer_label"),
        "",
        hint,
        t(ui, lang, "submit"),
        state,
        url,
        "answer",
        max_length,
    )


def note_dialog(view: QuestionView, state: str, url: str, max_length: int) -> dict[str, Any]:
    ui, lang = view.ui, view.language
    return _dialog(
        t(ui, lang, "note_title"),
        view.text,
        t(ui, lang, "note_label"),
        "",
        "",
        t(ui, lang, "submit"),
        state,
        url,
        "note",
        max_length,
    )
