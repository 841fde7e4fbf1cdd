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
from pathlib import Path
from typing import TextIO

from bot.adapters.console_out import ConsoleOutbound, MemoryRefs
from bot.adapters.outbox import Outbox, ReplyTo
from bot.core.messages import ChannelKey, Event, EventKind, Message, language_of
from bot.core.render_text import phrase
from bot.errors import BotError
from bot.service import CheckService

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
    _outbox: Outbox | None = field(default=None, init=False, repr=False)
    _reader: int | None = field(default=None, init=False, repr=False)  # the thread reading typed lines

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
        if self._reader is not None and threading.get_ident() != self._reader:
            # a reminder printed while the person is at the prompt: a fresh line, then the prompt again
            print(f"\n{text}\n{self.user}> ", end="", file=self.out, flush=True)
            return
        print(text, file=self.out, flush=True)
