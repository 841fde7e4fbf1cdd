"""``socialmedia-check``: the thin entry point. Parses arguments, builds the app, runs one mode."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.errors import BotError, ConfigError

if TYPE_CHECKING:
    from bot.app import Mode

log = logging.getLogger("socialmedia-check")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        _say(f"socialmedia-check: {exc}")
        return 2
    except BotError as exc:
        _say(f"socialmedia-check: error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socialmedia-check",
        description="A team-chat bot that walks a team through deciding what to do with social media.",
        epilog="Configuration comes from environment variables; see the README.",
    )
    parser.add_argument("--version", action="version", version=f"socialmedia-check {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    console = sub.add_parser("console", help="a local team chat in the terminal (no chat server needed)")
    console.add_argument("--channel", default="team", help="name of the local channel (default: team)")
    console.add_argument("--user", default="you", help="who you are at the start (default: you)")
    console.add_argument("--data-dir", type=Path, help="where the private Redis keeps its data")
    console.set_defaults(run=_console)

    validate = sub.add_parser("validate-dialogue", help="check a dialogue folder (flow.yaml + texts)")
    validate.add_argument("path", type=Path, help="a dialogue folder, its flow.yaml, or a folder of dialogues")
    validate.set_defaults(run=_validate)

    serve = sub.add_parser(
        "serve", help="HTTP server for Slack and Mattermost, with /healthz and /readyz (PORT, default 3000)"
    )
    serve.set_defaults(run=_serve)

    socket = sub.add_parser(
        "socket", help="Slack Socket Mode (SLACK_APP_TOKEN), no public URL needed; /healthz, /readyz on PORT"
    )
    socket.set_defaults(run=_socket)

    worker = sub.add_parser(
        "worker",
        help="only the reminder scheduler (revisits, check-ins, nudges, pending summaries) for the configured "
        "platforms; /healthz, /readyz on PORT",
    )
    worker.set_defaults(run=_worker)

    schema = sub.add_parser("schema", help="print a published JSON Schema (export: what `export json` writes)")
    schema.add_argument("name", choices=["export"], help="which schema")
    schema.set_defaults(run=_schema)

    mm_setup = sub.add_parser("mattermost-setup", help="create or update the slash command in Mattermost")
    mm_setup.add_argument("--team", required=True, help="the team's name (as in its URL)")
    mm_setup.set_defaults(run=_mattermost_setup)
    return parser


def _settings(quiet: bool = False):  # type: ignore[no-untyped-def]
    from bot.config import env_names, load_settings
    from bot.runtime import logs

    # The console shares the terminal with the chat: only warnings, unless asked for more.
    default_level = "WARNING" if quiet else "INFO"
    # The first lines (a setting that does not validate included) already in the format asked for.
    early = os.environ.get("SMC_LOG_FORMAT", "").strip().lower() or None
    logs.configure(logs.choose_format(early), default_level, logs.secrets_of(os.environ))
    settings = load_settings()
    values = {env: getattr(settings, name) for env, name in env_names().items()}
    level = settings.log_level or default_level
    logs.configure(logs.choose_format(settings.log_format), level, logs.secrets_of(values))
    return settings


def _say(text: str) -> None:
    """A line for the operator on stderr: a JSON log line when the log is JSON, else as it is."""
    from bot.runtime import logs

    if logs.is_json():
        log.error(text)
    else:
        print(text, file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    from bot.core.dialogue.load import load_dialogue

    dialogue = load_dialogue(args.path)
    print(
        f"{dialogue.source}: ok — dialogue '{dialogue.id}' v{dialogue.version}, "
        f"{len(dialogue.questions)} questions, languages: {', '.join(dialogue.languages)}"
    )
    return 0


def _schema(args: argparse.Namespace) -> int:
    from bot.core.export.json_record import schema_text

    sys.stdout.write(schema_text())
    return 0


def _console(args: argparse.Namespace) -> int:
    from bot.app import App, ConsoleOptions

    options = ConsoleOptions(channel=args.channel, user=args.user, data_dir=args.data_dir)
    App(_settings(quiet=True), "console", options).run()
    return 0


def _serve(args: argparse.Namespace) -> int:
    return _run_server("serve")


def _socket(args: argparse.Namespace) -> int:
    return _run_server("socket")


def _worker(args: argparse.Namespace) -> int:
    return _run_server("worker")


def _run_server(mode: Mode) -> int:
    settings = _settings()  # the log first: what importing the app warns about is logged in its format
    from bot.app import App

    if not App(settings, mode).run():
        # The grace period ran out: threads still busy would keep the interpreter from exiting.
        logging.shutdown()
        os._exit(0)
    return 0


def _mattermost_setup(args: argparse.Namespace) -> int:
    from bot.adapters.mattermost.setup import setup_command

    settings = _settings()
    print(setup_command(settings, args.team))
    return 0


if __name__ == "__main__":
    sys.exit(main())
