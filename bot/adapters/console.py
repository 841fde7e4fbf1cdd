"""The console: a local team chat in the terminal, a real adapter like the chat platforms.

Several simulated colleagues take turns (``/as anna``); a bare number answers the current question
as the current user, free text answers a text question, ``/next`` (or ``/socialmedia-check next``)
runs any command of the grammar.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from bot.core.messages import (
    Audience,
    CardMode,
    ChannelKey,
    Event,
    EventKind,
    HeaderCard,
    Message,
    Notice,
    QuestionCard,
    SummaryCard,
    TallyChanged,
    language_of,
)
from bot.core.render_text import header_text, phrase, question_text, summary_text, tally_line
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

    def run(self) -> None:
        self._print("socialmedia-check console — a local team chat. Type /help for the commands.")
        card = self.service.current(self.channel)
        if card is None:
            self._print("No check is running yet. Type /start (or /start nl) to begin.")
        else:
            self._print("Resuming the running check.")
            self._render([card])
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
            if isinstance(message, Notice):
                private = message.audience is Audience.EPHEMERAL
                prefix = phrase(self.service.ui(self.language), "only_you", name=self.user) + " " if private else ""
                self._print(prefix + message.text)
            elif isinstance(message, HeaderCard):
                if message.mode is CardMode.POST:
                    self._print("\n" + header_text(message))
            elif isinstance(message, QuestionCard):
                if message.mode is CardMode.POST:
                    self._print("\n" + question_text(message.view))
                elif not message.view.closed:
                    self._print("  " + tally_line(message.view))
            elif isinstance(message, TallyChanged):
                card = self.service.question_card(message.session_id, message.question_id)
                if card is not None:
                    self._print("  " + tally_line(card.view))
            elif isinstance(message, SummaryCard):
                self._print("\n" + summary_text(message.summary) + "\n")

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)
