"""Load YAML while remembering the line of every entry, so errors can point at the bad line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# libyaml's parser when PyYAML has it (every wheel does): the pure-Python one took most of the
# process's start-up. Both keep each node's line.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Loc = tuple[str | int, ...]


class YamlDocument:
    """The parsed data of one file plus a map from entry paths to 1-based line numbers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[Loc, int] = {}
        text = path.read_text(encoding="utf-8")
        loader = _Loader(text)
        try:  # one parse: the nodes (with their lines), then the data built from them
            node = loader.get_single_node()
            self.data: Any = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            raise ValueError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
        finally:
            loader.dispose()
        if node is not None:
            self._index(node, ())

    def _index(self, node: yaml.Node, loc: Loc) -> None:
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
                self._index(value_node, (*loc, key))
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*loc, i))

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest parent that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())

    def where(self, loc: Loc) -> str:
        line = self.line_of(loc)
        return f"{self.path}:{line}" if line else str(self.path)
