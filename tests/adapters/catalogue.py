"""What the bot says, as adapter tests expect it: phrases taken from the interface catalogue
(dialogues/ui.yaml), so a reworded text does not break a test that checks *that* something is said
(and with which values), not its exact wording."""

from __future__ import annotations

from collections.abc import Mapping

_UNKNOWN = "\x00"


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return _UNKNOWN


def plain(text: str) -> str:
    """``text`` without the emphasis marks the renderers keep or add (``*``, ``_``)."""
    return text.replace("*", "").replace("_", "")


def said(ui: Mapping[str, str], key: str, **values: object) -> str:
    """The phrase ``key`` with ``values`` filled in; where a value is not given, the longest part of the
    phrase that does not depend on it. Without emphasis marks: look for it in :func:`plain` of a post."""
    filled = ui[key].format_map(_Values({name: str(value) for name, value in values.items()}))
    return plain(max(filled.split(_UNKNOWN), key=len)).strip()
