"""The README's architecture map is the tree: every module under bot/ is on it, and nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDENT = 2


def map_block() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Architecture\n", 1)[1]
    block = re.search(r"```\n(.*?)\n```", section, re.S)
    assert block, "the Architecture section starts with a code block: the map"
    return [line for line in block.group(1).splitlines() if line.strip()]


def documented_paths() -> set[str]:
    """``name  description`` lines, indented two spaces per folder level; ``a.py, b.py`` lists several."""
    paths: set[str] = set()
    folders: list[str] = []
    for line in map_block():
        depth = (len(line) - len(line.lstrip(" "))) // INDENT
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        del folders[depth:]
        parent = "".join(folders)
        for name in (n.strip() for n in names.split(",")):
            paths.add(parent + name)
        if names.endswith("/") and "," not in names:
            folders.append(names)
    return paths


def actual_bot_paths() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*"):
        rel = path.relative_to(ROOT).as_posix()
        if "__pycache__" in rel or path.name == "__init__.py":
            continue
        if path.is_dir():
            found.add(rel + "/")
        elif path.suffix in (".py", ".yaml", ".json"):
            found.add(rel)
    return found


def test_every_module_of_bot_is_on_the_map_and_the_map_names_no_ghosts() -> None:
    documented = {p for p in documented_paths() if p.startswith("bot/")}
    actual = actual_bot_paths() | {"bot/"}
    assert not actual - documented, f"on disk but not in the README's map: {sorted(actual - documented)}"
    assert not documented - actual, f"in the README's map but not on disk: {sorted(documented - actual)}"


def test_the_top_level_folders_on_the_map_exist() -> None:
    for path in documented_paths():
        if "/" in path.rstrip("/") or path.startswith("bot"):
            continue
        assert (ROOT / path).exists(), f"the README's map names {path}, which does not exist"
