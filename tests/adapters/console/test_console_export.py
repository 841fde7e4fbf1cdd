"""`export` in the console: the file is written (SMC_EXPORT_DIR, else the current directory) and its
path printed; privately, with the "only you" prefix. In-process through the outbox, and in the real
``socialmedia-check console`` process with SMC_EXPORT_DIR set."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from bot.adapters.console import ConsoleChat
from bot.config import load_settings
from bot.core.messages import ChannelKey
from bot.store.store import Store
from tests.core.export_world import make_world

_beside = Path(sys.executable).parent / "socialmedia-check"
CLI = str(_beside) if _beside.exists() else shutil.which("socialmedia-check")
PATH_LINE = re.compile(r"→ (\S+)")


def chat(store: Store, folder: Path | None) -> tuple[ConsoleChat, io.StringIO]:
    world = make_world(store, "team")
    out = io.StringIO()
    return ConsoleChat(world.service, ChannelKey("console", "local", "team"), out=out, export_dir=folder), out


def printed_paths(out: io.StringIO) -> list[Path]:
    return [Path(p) for p in PATH_LINE.findall(out.getvalue())]


def test_an_export_is_written_to_the_export_dir_and_its_path_printed(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "exports"  # created when the first export is written
    console, out = chat(store, folder)
    for line in ("/start", "3", "/as bram", "1", "/export csv"):
        console.handle_line(line)
    [path] = printed_paths(out)
    assert path.parent == folder.resolve() and path.suffix == ".csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    assert [row[4] for row in rows[1:]] == ["you", "bram"]
    assert "Social media check — decision record of" in out.getvalue()
    assert not [p for p in folder.iterdir() if p.name.startswith(".export-")]  # no temporary file left


def test_a_private_export_says_it_is_only_for_you(store: Store, tmp_path: Path) -> None:
    console, out = chat(store, tmp_path)
    console.handle_line("/start")
    console.handle_line("/export md private")
    text = out.getvalue()
    assert "(only you sees this) I'm sending socialmedia-check-" in text
    assert re.search(r"\(only you sees this\) Social media check — decision record of .*\n  → ", text)
    [path] = printed_paths(out)
    assert path.read_text(encoding="utf-8").startswith("# Social media check — decision record\n")


def test_without_an_export_dir_the_file_goes_to_the_current_directory(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    console, out = chat(store, None)
    console.handle_line("/start")
    console.handle_line("/export html")
    [path] = printed_paths(out)
    assert path.parent == tmp_path.resolve() and path.read_bytes().startswith(b"<!DOCTYPE html>")


def test_the_export_dir_is_a_setting(tmp_path: Path) -> None:
    assert load_settings({"SMC_EXPORT_DIR": str(tmp_path)}).export_dir == tmp_path
    assert load_settings({}).export_dir is None


def test_the_real_console_writes_into_smc_export_dir(tmp_path: Path) -> None:
    if CLI is None:
        pytest.fail("the socialmedia-check command is not installed (pip install -e .)")
    exports = tmp_path / "exports"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "SMC_"))}
    env["SMC_EXPORT_DIR"] = str(exports)
    child = pexpect.spawn(
        CLI,
        ["console", "--data-dir", str(tmp_path / "data")],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(200, 200),
    )
    try:
        child.expect_exact("you> ")
        for line in ("/start", "2", "/export json"):
            child.sendline(line)
            child.expect_exact("you> ")
        found = PATH_LINE.search(child.before)
        assert found, child.before
        path = Path(found.group(1))
        assert path.parent == exports.resolve()
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["check"]["status"] == "running" and data["questions"][0]["answers"][0]["choices"]
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
