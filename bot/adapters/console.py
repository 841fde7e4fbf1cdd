"""The console: a local team chat in the terminal, a real adapter like the chat platforms.

Several simulated colleagues take turns (``/as anna``); a bare number answers the current question
as the current user, free text answers a text question, ``/next`` (or ``/socialmedia-check next``)
runs any command of the grammar.

At a terminal, typing goes through GNU readline (:class:`LineEditor`): line editing, history (kept
beside the private Redis's data when there is one), Ctrl-C clears the line and a second Ctrl-C on the
empty line leaves, as Ctrl-D does. Whatever is printed goes through
:class:`bot.adapters.console_out.Terminal` (styles, wrapping); a reminder printed by the scheduler's
thread while someone types appears above their line, which is drawn again as it was.
"""

from __future__ import annotations

import ctypes
import logging
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.adapters.console_out import ConsoleOutbound, MemoryRefs, Terminal
from bot.adapters.outbox import Outbox, ReplyTo
from bot.core.messages import ChannelKey, Event, EventKind, Message, language_of
from bot.core.render_text import phrase
from bot.errors import BotError
from bot.service import CheckService

log = logging.getLogger(__name__)

COMMAND = "/socialmedia-check"
USER_NAME = re.compile(r"^[\w.-]{1,32}$")


@dataclass
class ConsoleChat:
    service: CheckService
    channel: ChannelKey = field(default_factory=lambda: ChannelKey("console", "local", "team"))
    user: str = "you"
    out: TextIO = field(default_factory=lambda: sys.stdout)
    read: Callable[[str], str] = input
    language: str | None = None  # of the check last shown; the console's own phrases follow it
    # told when a summary went out, so its durable outbox entry is not printed again later
    settle: Callable[[str, ChannelKey], None] | None = None
    export_dir: Path | None = None  # where `export` writes its files (SMC_EXPORT_DIR); None: the current directory
    history_file: Path | None = None  # where typed lines are kept between runs (None: for this run only)
    _outbox: Outbox | None = field(default=None, init=False, repr=False)
    _reader: int | None = field(default=None, init=False, repr=False)  # the thread reading typed lines
    _editor: LineEditor | None = field(default=None, init=False, repr=False)
    _at_prompt: bool = field(default=False, init=False, repr=False)  # the reader waits for a line
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def run(self) -> None:
        card = self.service.current(self.channel)
        self.language = language_of(card) if card is not None else self.language
        self._print(self._say("console_welcome"))
        if card is None:
            self._print(self._say("console_no_check"))
        else:
            self._print(self._say("console_resuming"))
            self._render([card])
        self._reader = threading.get_ident()
        self._editor = LineEditor.at_terminal(self.history_file) if self.read is input else None
        interrupted = False  # the last key was a Ctrl-C
        while True:
            try:
                line = self._read_line()
            except EOFError:
                self._print("")
                return
            except KeyboardInterrupt:
                typed = self._editor.typed() if self._editor is not None else ""
                self._print("")
                if interrupted and not typed:
                    return
                if not typed:
                    self._print(self._say("console_leave_hint"))
                interrupted = True  # the line is gone; one more on the empty line leaves
                continue
            interrupted = False
            if not self.handle_line(line):
                return

    def _read_line(self) -> str:
        with self._lock:
            self._at_prompt = True
        try:
            return self.read(f"{self.user}> ")
        finally:
            with self._lock:
                self._at_prompt = False
            if self._editor is not None:
                self._editor.keep()

    def handle_line(self, line: str) -> bool:
        """Handle one typed line; False when the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit"):
            return False
        if line.startswith("/as"):
            self._switch_user(line[3:].strip())
            return True
        if line in ("/help", "/hulp"):
            self._print(self._say("console_help"))
        try:
            self._render(self._dispatch(line))
        except BotError as exc:
            self._print(f"! {exc}")
        return True

    def _dispatch(self, line: str) -> list[Message]:
        if line.startswith(COMMAND):
            return self.service.handle_command(self.channel, line[len(COMMAND) :].strip(), self.user, self.user)
        if line.startswith("/"):
            return self.service.handle_command(self.channel, line[1:], self.user, self.user)
        event = Event(EventKind.ANSWER, user=self.user, user_name=self.user, text=line)
        return self.service.handle(self.channel, event)

    def _switch_user(self, name: str) -> None:
        if not USER_NAME.match(name):
            self._print(self._say("console_as_usage"))
            return
        self.user = name
        self._print(self._say("console_you_are", name=name))

    def _say(self, key: str, **values: object) -> str:
        """The console's own line, in the language of the check last shown (dialogues/ui.yaml)."""
        return phrase(self.service.ui(self.language), key, self.language, **values)

    def _render(self, messages: list[Message]) -> None:
        for message in messages:
            self.language = language_of(message) or self.language
        self.outbox.send(self.channel, messages, reply=ReplyTo(user=self.user, language=self.language))

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            port = ConsoleOutbound(
                self._print,
                lambda: phrase(self.service.ui(self.language), "only_you", name=self.user),
                self.export_dir,
            )
            self._outbox = Outbox(
                port,
                MemoryRefs(),
                ui=self.service.ui,
                cards=self.service.question_card,
                workers=0,
                ref_wait=0,
                settle=self.settle,
            )
        return self._outbox

    def _print(self, text: str) -> None:
        shown = Terminal.of(self.out).render(text)
        with self._lock:
            if self._at_prompt and threading.get_ident() != self._reader:
                self._above_prompt(shown)
                return
            print(shown, file=self.out, flush=True)

    def _above_prompt(self, shown: str) -> None:
        """Printed by another thread (a reminder) while the person is at the prompt: in place of the
        prompt's line, then the prompt and what they had typed so far, drawn again."""
        if self._editor is None:
            print(f"\n{shown}\n{self.user}> ", end="", file=self.out, flush=True)
            return
        print(f"\r\x1b[K{shown}", file=self.out, flush=True)  # carriage return, erase the line
        self._editor.redraw(f"{self.user}> ", self.out)


class LineEditor:
    """GNU readline under ``input()``, for a person at a terminal: editing, history, the typed line.

    Imported only at a terminal: importing ``readline`` changes ``input()`` for the whole process, and
    the tests drive the console through a pty (pexpect) and in-process through StringIO."""

    HISTORY = 1000  # lines kept in the history file

    def __init__(self, readline: Any, history_file: Path | None) -> None:
        self._readline = readline
        self._file = history_file
        self._length = 0
        readline.set_history_length(self.HISTORY)  # what write_history_file keeps
        if history_file is not None:
            try:
                history_file.touch()  # readline appends only to a file that exists
                readline.read_history_file(str(history_file))
                if readline.get_current_history_length() > self.HISTORY:
                    readline.write_history_file(str(history_file))  # trimmed once per start
            except OSError as exc:
                log.warning("the console history %s is not kept: %s", history_file, exc)
                self._file = None
        self._length = readline.get_current_history_length()
        # rl_forced_update_display redraws the prompt and the line with the cursor where it was; the
        # readline module does not offer it (its redisplay() only draws what changed)
        self._redraw: Callable[[], int] | None = None
        try:
            library = ctypes.CDLL(getattr(readline, "__file__", None))
            self._redraw = getattr(library, "rl_forced_update_display", None)
        except OSError:
            pass  # then the prompt and the line are printed again, with the cursor at the end

    @classmethod
    def at_terminal(cls, history_file: Path | None) -> LineEditor | None:
        """The editor when both stdin and stdout are a terminal (else plain ``input()``), or None
        when this Python has no readline."""
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return None
        try:
            import readline
        except ImportError:
            return None
        return cls(readline, history_file)

    def typed(self) -> str:
        """What is on the line now (after a Ctrl-C: what it cleared)."""
        return str(self._readline.get_line_buffer())

    def keep(self) -> None:
        """After a line was read: append it to the history file if readline added it to the history
        (it skips empty lines and repeats), so even a killed console keeps what was typed."""
        length = self._readline.get_current_history_length()
        if self._file is not None and length > self._length:
            try:
                self._readline.append_history_file(length - self._length, str(self._file))
            except OSError as exc:
                log.warning("could not keep the console history in %s: %s", self._file, exc)
        self._length = length

    def redraw(self, prompt: str, out: TextIO) -> None:
        """The prompt and the half-typed line again, on the fresh line the cursor is at."""
        if self._redraw is not None:
            self._redraw()
        else:
            print(prompt + self.typed(), end="", file=out)
        out.flush()
