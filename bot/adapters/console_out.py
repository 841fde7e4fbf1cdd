"""The console's outbound primitives for :class:`bot.adapters.outbox.Outbox`: lines on a terminal.

A header or question "post" prints it; an "update" prints the live tally line of an open question
(and nothing for a header or a closed card); a private message carries the "only you" prefix.

:class:`Terminal` is how the console's text reaches the screen: the renderer's ``*bold*`` and
``_italic_`` as ANSI styles on a terminal (the marks only taken out under ``NO_COLOR`` or when the
output is not a terminal), and on a terminal lines wrapped at word boundaries to its width.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

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


# --- on a terminal: *bold* and _italic_ as ANSI styles, lines wrapped at word boundaries ---------------

BOLD, ITALIC, CODE = 1, 2, 4
_SGR = ((BOLD, "1"), (ITALIC, "3"))
# `code` first (nothing inside it is markup), then *bold* and _italic_ as Slack reads them: the marks
# hug the text and touch no word character, so snake_case, 2*3*4 and "* note" stay as typed.
_SPANS = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?<![\w*])\*(?![\s*])(?P<bold>.+?)(?<![\s*])\*(?![\w*])"
    r"|(?<![\w_])_(?![\s_])(?P<italic>.+?)(?<![\s_])_(?![\w_])"
)
# Lines that are commands to type ("/next …", "`/socialmedia-check …` — …", "[Snooze 1 month]  /…") are
# never wrapped: a command broken over two lines cannot be copied. Code spans never break either.
_COMMAND_LINE = re.compile(r"^\s*(?:/|`|\[[^\]\n]*\]\s+/)")
_BULLET = re.compile(r"(?:[•◦\-–]|\d+\.)\s+")  # continuation lines of a list item hang under its text
Run = tuple[str, int]  # text and its style flags


@dataclass(frozen=True)
class Terminal:
    """How text shows on one output: ANSI-styled or plain, wrapped at ``width`` columns (0: never)."""

    styled: bool = False
    width: int = 0

    @classmethod
    def of(cls, stream: TextIO) -> Terminal:
        """A terminal gets styles (unless ``NO_COLOR`` is set) and its width at this moment, so a
        resized window is followed; a pipe, a file or a StringIO gets plain, unwrapped text."""
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):  # no isatty, or already closed
            tty = False
        if not tty:
            return cls()
        return cls(styled=not os.environ.get("NO_COLOR"), width=shutil.get_terminal_size().columns)

    def render(self, text: str) -> str:
        """``text`` (the plain-text renderer's, light markdown) as this terminal shows it."""
        return "\n".join(shown for line in text.split("\n") for shown in self._lines(line))

    def _lines(self, line: str) -> list[str]:
        runs = _runs(line, 0)
        if not self.width or _COMMAND_LINE.match(line) or _width("".join(t for t, _ in runs)) <= self.width:
            return [self._paint(runs)]
        return [self._paint(row) for row in _wrap(runs, self.width)]

    def _paint(self, runs: list[Run]) -> str:
        if not self.styled:
            return "".join(text for text, _ in runs)
        painted: list[str] = []
        for text, style in _merged(runs):
            codes = ";".join(code for flag, code in _SGR if style & flag)
            painted.append(f"\x1b[{codes}m{text}\x1b[0m" if codes else text)
        return "".join(painted)


def _runs(text: str, style: int) -> list[Run]:
    """The line as runs of one style each, the marks taken out (code spans keep their backticks)."""
    runs: list[Run] = []
    at = 0
    for span in _SPANS.finditer(text):
        if span.start() > at:
            runs.append((text[at : span.start()], style))
        if span.group("code"):
            runs.append((span.group("code"), style | CODE))
        elif span.group("bold") is not None:
            runs += _runs(span.group("bold"), style | BOLD)
        else:
            runs += _runs(span.group("italic"), style | ITALIC)
        at = span.end()
    if at < len(text):
        runs.append((text[at:], style))
    return runs


def _wrap(runs: list[Run], width: int) -> list[list[Run]]:
    """Greedy word wrap keeping the line's indentation (and a list item's hang); a word or code span
    wider than the terminal gets a line of its own, unbroken."""
    tokens: list[Run] = []
    for text, style in runs:
        pieces = [text] if style & CODE else re.split(r"(\s+)", text)
        tokens += [(piece, style) for piece in pieces if piece]
    indent = tokens[0][0] if tokens and tokens[0][0].isspace() else ""
    body = tokens[1:] if indent else tokens
    bullet = _BULLET.match("".join(text for text, _ in body))
    hang = indent + " " * (_width(bullet.group(0)) if bullet else 0)
    rows: list[list[Run]] = []
    row: list[Run] = [(indent, 0)] if indent else []
    used, words, space = _width(indent), 0, None
    for text, style in body:
        if text.isspace():
            space = (text, style)
            continue
        size, gap = _width(text), (_width(space[0]) if space and words else 0)
        if words and used + gap + size > width:
            rows.append(row)
            row, used, words = ([(hang, 0)] if hang else []), _width(hang), 0
        elif space and words:
            row.append(space)
            used += gap
        row.append((text, style))
        used, words, space = used + size, words + 1, None
    rows.append(row)
    return rows


def _merged(runs: list[Run]) -> list[Run]:
    """Neighbouring runs of the same style as one (one pair of escape codes each)."""
    merged: list[Run] = []
    for text, style in runs:
        style &= ~CODE
        if merged and merged[-1][1] == style:
            merged[-1] = (merged[-1][0] + text, style)
        else:
            merged.append((text, style))
    return merged


def _width(text: str) -> int:
    """Columns on a terminal: wide (East Asian) characters take two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
