"""The dialogue data: covers the article, both languages complete, errors point at the bad line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dateutil.relativedelta import relativedelta

from bot.core.dialogue.load import load_dialogue, packaged_dialogues_dir
from bot.errors import DialogueError

CONTENT = Path(__file__).resolve().parents[3] / "shared" / "CONTENT.md"
ITEMS = [f"A{i}" for i in range(1, 10)] + [f"B{i}" for i in range(1, 13)] + ["C1", "C2", "C3"]


@pytest.fixture
def dialogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "dialogues"
    shutil.copytree(packaged_dialogues_dir(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target / "socialmedia-check"


def test_every_item_of_the_article_is_covered_in_both_languages() -> None:
    dialogue = load_dialogue()
    covered = {item for q in dialogue.questions.values() for item in q.covers}
    assert set(ITEMS) <= covered, f"not covered: {sorted(set(ITEMS) - covered)}"
    for item in ITEMS:
        questions = [q.id for q in dialogue.questions.values() if item in q.covers]
        for language in ("en", "nl"):
            for qid in questions:
                assert dialogue.text(language, qid).text.strip(), f"{item}/{qid} has no {language} text"


def _shipped_items() -> list[str]:
    lines = (Path(__file__).parent / "data" / "content_items.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.startswith("- ")]


def test_content_items_lists_the_items_we_check() -> None:
    """ITEMS (used above) is exactly the content brief's list, shipped in tests/core/data; when the brief
    itself is beside this checkout, the shipped copy must still match it."""
    shipped = _shipped_items()
    assert [line.split()[1] for line in shipped] == ITEMS
    if CONTENT.exists():
        brief = CONTENT.read_text(encoding="utf-8").splitlines()
        assert [line for line in brief if line.startswith("- ") and line.split()[1] in ITEMS] == shipped


def test_dutch_and_english_have_the_same_keys() -> None:
    folder = packaged_dialogues_dir() / "socialmedia-check"
    en = yaml.safe_load((folder / "en.yaml").read_text(encoding="utf-8"))
    nl = yaml.safe_load((folder / "nl.yaml").read_text(encoding="utf-8"))

    def keys(data: object, prefix: str = "") -> set[str]:
        if isinstance(data, dict):
            return {
                k2 for k, v in data.items() if k != "language" for k2 in keys(v, f"{prefix}.{k}") | {f"{prefix}.{k}"}
            }
        return set()

    assert keys(en) == keys(nl)
    ui = yaml.safe_load((packaged_dialogues_dir() / "ui.yaml").read_text(encoding="utf-8"))
    assert set(ui["en"]) == set(ui["nl"])


def test_flow_has_the_required_phases_and_branches() -> None:
    dialogue = load_dialogue()
    assert dialogue.phases == ("context", "considerations", "channels", "decision", "follow_up")
    kinds = {q.kind for q in dialogue.questions.values()}
    assert kinds == {"scale", "single", "multi", "text", "date"}
    assert dialogue.revisit_defaults == {
        "go": relativedelta(months=6),
        "pilot": relativedelta(months=3),
        "not_now": relativedelta(months=12),
    }


def test_the_packaged_dialogue_is_valid_from_any_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "validate-dialogue", str(packaged_dialogues_dir())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, fragment: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(fragment)


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        ("flow.yaml", "kind: scale", "kind: slider", "invalid enum value 'slider'"),
        ("flow.yaml", "theme: fit", "theme: nonsense", "unknown theme 'nonsense'"),
        ("flow.yaml", "goto: decision", "goto: nowhere", "unknown question 'nowhere'"),
        ("flow.yaml", "{value: partly, score: 3}", "{value: partly, score: 9}", "expected `int` <= 5"),
        ("nl.yaml", "  strategy:\n    text:", "  strategy:\n    txet:", "unknown field `txet`"),
    ],
)
def test_an_invalid_file_names_the_file_the_line_and_the_problem(
    dialogue_copy: Path, file: str, old: str, new: str, problem: str
) -> None:
    path = dialogue_copy / file
    _break(path, old, new)
    with pytest.raises(DialogueError) as info:
        load_dialogue(dialogue_copy)
    message = str(info.value)
    assert str(path) in message and problem in message
    bad_line = _line_of(path, new.splitlines()[-1].strip())
    assert f"{path}:{bad_line}:" in message or f"{path}:{bad_line - 1}:" in message, message


def test_missing_translation_is_reported(dialogue_copy: Path) -> None:
    path = dialogue_copy / "nl.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  wishes:")
    end = text.index("\n  listening:", start)
    path.write_text(text[:start] + text[end + 1 :], encoding="utf-8")
    with pytest.raises(DialogueError, match="no text for question 'wishes'"):
        load_dialogue(dialogue_copy)


def test_validate_dialogue_command_reports_the_bad_line(dialogue_copy: Path, tmp_path: Path) -> None:
    _break(dialogue_copy / "flow.yaml", "start: strategy", "start: nothing_here")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "validate-dialogue", str(dialogue_copy)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert f"{dialogue_copy / 'flow.yaml'}:" in result.stderr and "nothing_here" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_teams_own_dialogue_folder_is_used(dialogue_copy: Path) -> None:
    _break(dialogue_copy / "en.yaml", 'title: "Social media check"', 'title: "Our own check"')
    assert load_dialogue(dialogue_copy.parent).texts["en"].title == "Our own check"
