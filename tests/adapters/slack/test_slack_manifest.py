"""The Slack app manifest matches what the adapter serves and uses; the adapter's import boundary."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from bot.adapters.slack.app import EVENTS_PATH

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "deploy" / "slack" / "manifest.yaml"


def test_manifest_points_command_and_interactivity_at_the_events_route() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/socialmedia-check"]
    assert commands[0]["url"] == f"https://YOUR-HOST{EVENTS_PATH}"
    assert commands[0]["should_escape"] is False
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity == {"is_enabled": True, "request_url": f"https://YOUR-HOST{EVENTS_PATH}"}
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["features"]["bot_user"]["display_name"] == "socialmedia-check"


def test_manifest_asks_only_for_the_scopes_used() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    scopes = ["chat:write", "commands", "files:write", "im:write", "users:read"]
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == scopes
    assert "user" not in manifest["oauth_config"]["scopes"]


def test_only_the_slack_adapter_imports_the_slack_sdks() -> None:
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in ("slack_bolt", "slack_sdk") for n in names):
                offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders, "the Slack adapter should import the SDK"
    assert all(o.startswith("bot/adapters/slack/") for o in offenders), sorted(set(offenders))
