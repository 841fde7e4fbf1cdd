"""The console's outbound primitives for :class:`bot.adapters.outbox.Outbox`: lines on a terminal.

A header or question "post" prints it; an "update" prints the live tally line of an open question
(and nothing for a header or a closed card); a private message carries the "only you" prefix.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from bot.core.messages import ChannelKey, HeaderCard, Notice, QuestionView, Summary
from bot.core.render_text import header_text, question_text, summary_text, tally_line


class MemoryRefs:
    """References to printed "messages", kept for the life of the process (nothing to edit later)."""

    def __init__(self) -> None:
        self._refs: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def set_ref(self, session_id: str, name: str, value: str) -> None:
        with self._lock:
            self._refs[(session_id, name)] = value

    def get_ref(self, session_id: str, name: str) -> str | None:
        with self._lock:
            return self._refs.get((session_id, name))


class ConsoleOutbound:
    platform = "console"
    chart_mode: Literal["attach", "after", "none"] = "none"

    def __init__(
        self, write: Callable[[str], None], only_you: Callable[[], str], export_dir: Path | None = None
    ) -> None:
        """``export_dir``: where exports are written (SMC_EXPORT_DIR); None: the current directory."""
        self._write = write
        self._only_you = only_you
        self._export_dir = export_dir
        self._ids = itertools.count(1)

    def post(self, channel: ChannelKey, body: dict[str, Any], thread: str | None) -> str:
        self._write(str(body["text"]))
        return str(next(self._ids))

    def update(self, channel: ChannelKey, ref: str, body: dict[str, Any]) -> None:
        if body.get("tally"):
            self._write("  " + str(body["tally"]))

    def ephemeral(self, channel: ChannelKey, user: str, body: dict[str, Any], thread: str | None) -> None:
        self._write(f"{self._only_you()} {body['text']}")

    def upload_image(
        self, channel: ChannelKey, png: bytes, filename: str, title: str, alt: str, thread: str | None
    ) -> str:
        return ""

    def upload_file(
        self,
        channel: ChannelKey,
        content: bytes,
        filename: str,
        mime: str,
        title: str,
        thread: str | None,
        user: str | None,
    ) -> str:
        """Write the file (whole or not at all: a temporary file renamed into place) and print its path."""
        folder = (self._export_dir or Path.cwd()).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        path = (folder / Path(filename).name).resolve()
        handle, temporary = tempfile.mkstemp(prefix=".export-", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        line = f"{title}\n  → {path}"
        self._write(f"{self._only_you()} {line}" if user is not None else line)
        return str(path)

    def header_body(self, card: HeaderCard) -> dict[str, Any]:
        return {"text": "\n" + header_text(card)}

    def question_body(self, channel: ChannelKey, view: QuestionView) -> dict[str, Any]:
        return {"text": "\n" + question_text(view), "tally": "" if view.closed else tally_line(view)}

    def notice_body(self, channel: ChannelKey, notice: Notice) -> dict[str, Any]:
        """The text, and for each button its typed form (the console has no buttons)."""
        typed = [f"  [{a.label}]  {a.command}" for a in notice.actions if a.command]
        return {"text": "\n".join([notice.text, *typed])}

    def summary_bodies(self, channel: ChannelKey, summary: Summary, file_ids: Sequence[str]) -> list[dict[str, Any]]:
        return [{"text": "\n" + summary_text(summary) + "\n"}]
