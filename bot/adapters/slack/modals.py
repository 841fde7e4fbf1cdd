"""Slack modals: the free-text answer and the note, as ``views.open`` takes them."""

from __future__ import annotations

from collections.abc import Mapping

from bot.adapters.slack.blocks import ANSWER_VIEW, INPUT_ACTION, INPUT_BLOCK, NOTE_VIEW, Ref, t
from bot.adapters.slack.text import MAX_INPUT, MAX_LABEL, MAX_MODAL_BUTTON, MAX_MODAL_TITLE, Block, esc, plain, section
from bot.core.messages import QuestionView


def _modal(
    callback_id: str,
    title: str,
    label: str,
    ui: Mapping[str, str],
    ref: Ref,
    *,
    question: str,
    max_length: int,
    multiline: bool,
    hint: str = "",
) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": INPUT_ACTION,
        "multiline": multiline,
        "max_length": max(1, min(max_length, MAX_INPUT)),
    }
    input_block: Block = {
        "type": "input",
        "block_id": INPUT_BLOCK,
        "label": plain(label, MAX_LABEL),
        "element": element,
    }
    if hint:
        input_block["hint"] = plain(hint, MAX_LABEL)
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, MAX_MODAL_TITLE),
        "submit": plain(t(ui, "submit"), MAX_MODAL_BUTTON),
        "close": plain(t(ui, "close"), MAX_MODAL_BUTTON),
        "private_metadata": ref.encode(),
        "blocks": [section(f"*{esc(question)}*"), input_block],
    }


def note_modal(view: QuestionView, channel: str, max_length: int) -> Block:
    ref = Ref(view.session_id, view.question_id, channel=channel)
    return _modal(
        NOTE_VIEW,
        t(view.ui, "note_title"),
        t(view.ui, "note_label"),
        view.ui,
        ref,
        question=view.text,
        max_length=max_length,
        multiline=True,
    )


def answer_modal(view: QuestionView, channel: str, max_length: int) -> Block:
    ref = Ref(view.session_id, view.question_id, channel=channel)
    return _modal(
        ANSWER_VIEW,
        t(view.ui, "answer_title"),
        t(view.ui, "answer_label"),
        view.ui,
        ref,
        question=view.text,
        max_length=max_length,
        multiline=view.kind == "text",
        hint=view.help if view.kind == "date" else "",
    )
