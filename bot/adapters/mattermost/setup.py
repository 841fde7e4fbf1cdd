"""``socialmedia-check mattermost-setup``: create or update the team's custom slash command.

Finds the team by name, lists its custom commands (``GET /api/v4/commands?team_id=…&custom_only=true``)
and either creates (``POST /api/v4/commands``) or updates (``PUT /api/v4/commands/{id}``) the
``/socialmedia-check`` trigger so that it POSTs to ``SMC_PUBLIC_URL/mattermost/command``. It reports
the command's token, which goes into ``MATTERMOST_COMMAND_TOKEN`` (comma-separated, one per team).

The token used needs the ``manage_slash_commands`` permission in the team (a team or system admin,
or a bot account that was given that role); ``MATTERMOST_SETUP_TOKEN`` may name a different token
for this one-off step than the bot's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.adapters.mattermost.api import MattermostApi
from bot.adapters.mattermost.routes import COMMAND_PATH
from bot.config import Settings
from bot.errors import ConfigError, PlatformError

TRIGGER = "socialmedia-check"

COMMAND_FIELDS: dict[str, Any] = {
    "trigger": TRIGGER,
    "method": "P",
    "display_name": "Social media check",
    "description": "Walk the team through deciding what to do with social media.",
    "auto_complete": True,
    "auto_complete_desc": "Start or steer a social media check in this channel",
    "auto_complete_hint": "[start [nl|en] | answer <n> | note <text> | status | next | help]",
    "username": "",
    "icon_url": "",
}


def setup_command(
    settings: Settings,
    team_name: str,
    command_url: str | None = None,
    *,
    token: str | None = None,
    api: MattermostApi | None = None,
    echo: Callable[[str], None] | None = None,
) -> str:
    """Create or update the slash command in ``team_name``; return the report (``echo`` prints it too)."""
    if not settings.mattermost_url:
        raise ConfigError("MATTERMOST_URL is not set (the Mattermost server, e.g. https://chat.example.com)")
    token = token or settings.mattermost_setup_token or settings.mattermost_bot_token
    if not token:
        raise ConfigError("MATTERMOST_BOT_TOKEN (or MATTERMOST_SETUP_TOKEN) is not set")
    if command_url is None:
        if not settings.public_url:
            raise ConfigError("SMC_PUBLIC_URL is not set: the command must point at the bot's own base URL")
        command_url = settings.public_url.rstrip("/") + COMMAND_PATH
    client = api or MattermostApi(settings.mattermost_url, token)
    try:
        team = client.team_by_name(team_name)
    except PlatformError as exc:
        raise ConfigError(f"team {team_name!r} was not found on {settings.mattermost_url} ({exc})") from None
    team_id = str(team["id"])
    existing = [c for c in client.list_commands(team_id) if c.get("trigger") == TRIGGER and not c.get("delete_at")]
    fields = {**COMMAND_FIELDS, "team_id": team_id, "url": command_url}
    if existing:
        current = existing[0]
        command = client.update_command(str(current["id"]), {**current, **fields})
        done = "Updated"
    else:
        command = client.create_command(fields)
        done = "Created"
    command_token = str(command.get("token") or (existing[0].get("token") if existing else "") or "")
    tokens = list(settings.mattermost_command_tokens)
    if command_token and command_token not in tokens:
        tokens.append(command_token)
    lines = [
        f"{done} the slash command /{TRIGGER} in team {team_name} ({team_id}).",
        f"It POSTs to {command_url}",
        "",
        "Put this in the bot's environment (one token per team, comma-separated):",
        f"MATTERMOST_COMMAND_TOKEN={','.join(tokens)}",
    ]
    if len(existing) > 1:
        lines.append(f"Note: {len(existing)} commands use /{TRIGGER} in this team; only the first was updated.")
    report = "\n".join(lines)
    if echo is not None:
        echo(report)
    return report
