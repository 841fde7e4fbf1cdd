"""The process's log: one line per event on stderr, JSON or text (``SMC_LOG_FORMAT``), never a secret.

The standard library's logging, with a JSON formatter of our own: every library the bot runs on
(waitress, bolt and slack_sdk, the Mattermost driver, urllib3, Python's warnings) already logs
through it, so one handler on the root logger makes every line JSON; structlog would only add a
second pipeline in front of the same handler.

A JSON line holds ``time``, ``level``, ``logger`` and ``message``, then what is known of where it
happened — ``check``, ``platform``, ``team``, ``channel``, ``event`` (what someone did: answer, next …)
and ``outcome`` — from :func:`bound` (the service sets it around each command or click)
or a log call's ``extra=``; a traceback goes into ``exception``, so it stays on the one line. Both
formats pass every line through a :class:`Redactor` that knows the configured tokens and secrets
and the shapes of Slack tokens and ``Bearer`` headers. Uncaught exceptions of the main thread and
of other threads, and "exception ignored" reports, are logged through it too.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any, Literal, TextIO, cast
from urllib.parse import unquote, urlsplit

Format = Literal["json", "text"]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
CONTEXT_FIELDS = ("check", "platform", "team", "channel", "event", "outcome")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The settings whose values never appear in a line (REDIS_URL: its password).
SECRET_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "MATTERMOST_BOT_TOKEN",
    "MATTERMOST_COMMAND_TOKEN",
    "MATTERMOST_SETUP_TOKEN",
    "SMC_SECRET",
    "REDIS_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
)
MIN_SECRET = 6  # shorter values would blank ordinary words; no real token or secret is that short
REDACTED = "[redacted]"
_TOKEN_SHAPES = (
    (re.compile(r"\b(xox[a-z])-[A-Za-z0-9-]+"), r"\1-" + REDACTED),  # Slack bot, user, refresh tokens
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), "xapp-" + REDACTED),  # Slack app-level tokens
    (re.compile(r"\b([Bb]earer|BEARER|Token)(\s+)[A-Za-z0-9._~+/=-]+"), r"\1\2" + REDACTED),  # Authorization values
    (re.compile(r"(rediss?://[^:/@\s]*:)[^@\s]+@"), r"\1" + REDACTED + "@"),  # a password in a Redis URL
)

_NOTHING: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("smc_log_context", default=_NOTHING)
_handler: logging.Handler | None = None  # the one handler configure() installed


# --- what is known of where a line happened ------------------------------------------------------


def bind(**fields: str | None) -> Token[Mapping[str, str]]:
    """Add ``fields`` (those with a value) to every line logged in this context until :func:`unbind`."""
    return _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})


def unbind(token: Token[Mapping[str, str]]) -> None:
    _context.reset(token)


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


# --- secrets out ---------------------------------------------------------------------------------


class Redactor:
    """Replaces every configured secret, and anything shaped like a token, with ``[redacted]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if len(s) >= MIN_SECRET}
        # longest first, so a secret that contains another is replaced whole
        alternatives = "|".join(re.escape(s) for s in sorted(values, key=len, reverse=True))
        self._secrets = re.compile(alternatives) if values else None

    def __call__(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(REDACTED, text)
        for shape, replacement in _TOKEN_SHAPES:
            text = shape.sub(replacement, text)
        return text


def secrets_of(values: Mapping[str, object]) -> set[str]:
    """The secret values among settings (by variable name); REDIS_URL contributes its password."""
    found: set[str] = set()
    for name in SECRET_SETTINGS:
        value = values.get(name)
        if isinstance(value, str) and value:
            found |= {value, *(part.strip() for part in value.split(","))}
    url = values.get("REDIS_URL")
    if isinstance(url, str) and url:
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            found |= {password, unquote(password)}
    return found


# --- the two formats ------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context fields, the exception."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        # Formatting runs in the thread that logged (a StreamHandler), so the context is the caller's.
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        known = _context.get()
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None) or known.get(name)
            if value:
                entry[name] = self._redact(str(value))
        if record.exc_info:
            entry["exception"] = self._redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self._redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Today's human format (``time LEVEL logger: message``), redacted."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


def choose_format(setting: str | None, stream: TextIO | None = None) -> Format:
    """``SMC_LOG_FORMAT`` when set; else text on a terminal (stderr is a tty), JSON otherwise."""
    if setting in ("json", "text"):
        return "json" if setting == "json" else "text"
    target = stream if stream is not None else sys.stderr
    try:
        return "text" if target.isatty() else "json"
    except (AttributeError, ValueError):  # closed or replaced
        return "json"


# --- the process ------------------------------------------------------------------------------------


def configure(fmt: Format, level: str, secrets: Iterable[str] = (), stream: TextIO | None = None) -> logging.Handler:
    """Route every logger, Python's warnings and uncaught exceptions through one handler on ``stream``
    (stderr) in ``fmt``. Called again (the settings are read after the first lines), it replaces its
    own handler."""
    global _handler
    redact = Redactor(secrets)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else TextFormatter(redact))
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(level)
    _handler = handler
    logging.getLogger("transitions").setLevel(logging.WARNING)  # it logs every state change at INFO
    logging.captureWarnings(True)
    _catch_uncaught()
    return handler


def is_json() -> bool:
    return _handler is not None and isinstance(_handler.formatter, JsonFormatter)


def _catch_uncaught() -> None:
    log = logging.getLogger("socialmedia-check")

    def main_thread(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        log.critical("uncaught exception", exc_info=(kind, exc, tb))

    def other_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        details = cast(ExcInfo, (args.exc_type, args.exc_value, args.exc_traceback))  # exc_value: None at worst
        log.error("uncaught exception in thread %s", name, exc_info=details)

    def unraisable(report: Any) -> None:  # sys.UnraisableHookArgs
        log.warning(
            "%s: %r",
            report.err_msg or "Exception ignored in",
            report.object,
            exc_info=(report.exc_type, report.exc_value, report.exc_traceback),
        )

    sys.excepthook = main_thread
    threading.excepthook = other_thread
    sys.unraisablehook = unraisable
