"""The console: a local team chat in the terminal, a real adapter like the chat platforms.

Several simulated colleagues take turns (``/as anna``); a bare number answers the current question
as the current user, free text answers a text question, ``/next`` (or ``/socialmedia-check next``)
runs any command of the grammar.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from bot.adapters.console_out import ConsoleOutbound, MemoryRefs
from bot.adapters.outbox import Outbox, ReplyTo
from bot.core.messages import ChannelKey, Event, EventKind, Message, language_of
from bot.core.render_text import phrase
from bot.errors import BotError
from bot.service import CheckService

COMMAND = "/socialmedia-check"
USER_NAME = re.compile(r"^[\w.-]{1,32}$")

CONSOLE_HELP = """\
Console: you are one colleague at a time.
  /as NAME         speak as another colleague (e.g. /as anna, /as bram)
  1  or  1,3       answer the current question with option number(s)
  any other text   answer a free-text or date question
  /start [nl|en] [--anonymous] [--quorum N], /next, /back, /skip, /note TEXT,
  /status, /summary, /decide go|pilot|not-now, /cancel, /restart, /help   (the bot's commands)
  /quit            leave (the check is kept; start again to resume)"""


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
    _outbox: Outbox | None = field(default=None, init=False, repr=False)
    _reader: int | None = field(default=None, init=False, repr=False)  # the thread reading typed lines

    def run(self) -> None:
        self._print("socialmedia-check console — a local team chat. Type /help for the commands.")
        card = self.service.current(self.channel)
        if card is None:
            self._print("No check is running yet. Type /start (or /start nl) to begin.")
        else:
            self._print("Resuming the running check.")
            self._render([card])
        self._reader = threading.get_ident()
        while True:
            try:
                line = self.read(f"{self.user}> ")
            except EOFError:
                self._print("")
                return
            except KeyboardInterrupt:
                self._print("")
                return
            if not self.handle_line(line):
                return

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
        if line == "/help":
            self._print(CONSOLE_HELP)
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
            self._print("Usage: /as NAME (letters, digits, . _ -; at most 32)")
            return
        self.user = name
        self._print(f"You are now {name}.")

    def _render(self, messages: list[Message]) -> None:
        for message in messages:
            self.language = language_of(message) or self.language
        self.outbox.send(self.channel, messages, reply=ReplyTo(user=self.user, language=self.language))

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            port = ConsoleOutbound(
                self._print, lambda: phrase(self.service.ui(self.language), "only_you", name=self.user)
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
        if self._reader is not None and threading.get_ident() != self._reader:
            # a reminder printed while the person is at the prompt: a fresh line, then the prompt again
            print(f"\n{text}\n{self.user}> ", end="", file=self.out, flush=True)
            return
        print(text, file=self.out, flush=True)
