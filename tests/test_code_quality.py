"""The boundaries and the tooling, checked like any other behaviour."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"

# Which modules (or packages, ending in /) may import which third-party package (by top-level name).
OWNERS = {
    "slack_bolt": {"bot/adapters/slack/"},
    "slack_sdk": {"bot/adapters/slack/"},
    "mattermostdriver": {"bot/adapters/mattermost/api.py"},
    "mattermostautodriver": {"bot/adapters/mattermost/api.py"},
    "redis": {"bot/store/", "bot/runtime/redis_server.py"},
    "flask": set(),  # the bench's baselines only (bench/e2e.py, floors.py); the bot routes with runtime/wsgi.py
    "waitress": {"bot/runtime/web.py"},
    "matplotlib": {"bot/adapters/chart.py"},
    "prometheus_client": {"bot/runtime/metrics.py"},
}
# The engine is pure: no I/O libraries and none of the bot's I/O modules.
CORE_FORBIDDEN = {
    "redis",
    "slack_bolt",
    "slack_sdk",
    "mattermostdriver",
    "requests",
    "httpx",
    "flask",
    "waitress",
    "socket",
    "subprocess",
    "bot.store.store",
    "bot.service",
    "bot.adapters",
    "bot.runtime.web",
    "bot.runtime.wsgi",
    "bot.app",
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules() -> list[Path]:
    return sorted(BOT.rglob("*.py"))


def test_each_sdk_and_redis_is_imported_by_its_owner_only() -> None:
    offenders = []
    for path in modules():
        rel = path.relative_to(ROOT).as_posix()
        for name in imports_of(path):
            top = name.split(".")[0]
            if top in OWNERS and not any(
                rel == own or (own.endswith("/") and rel.startswith(own)) for own in OWNERS[top]
            ):
                offenders.append(f"{rel} imports {name}")
    assert not offenders, offenders


def test_the_engine_is_pure() -> None:
    offenders = []
    for path in sorted((BOT / "core").rglob("*.py")):
        for name in imports_of(path):
            if any(name == bad or name.startswith(bad + ".") for bad in CORE_FORBIDDEN):
                offenders.append(f"{path.name} imports {name}")
    assert not offenders, offenders


def test_adapters_reach_redis_only_through_the_store_protocol() -> None:
    """Adapters are handed a narrow store object; they import neither redis nor the store's module."""
    for path in (BOT / "adapters").rglob("*.py"):
        names = imports_of(path)
        assert not names & {"redis", "bot.store.store", "bot.store.scripts"}, f"{path.name} imports {names}"


def _tool(name: str) -> list[str]:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'", pytrace=False)
    return [found]


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [*_tool("ruff"), "check", "bot", "tests", "bench"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = subprocess.run([*_tool("mypy"), "bot"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
