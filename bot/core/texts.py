"""The one translation lookup: every text people see goes through :func:`phrase`.

The check's catalogue first (a team's own dialogue may carry its own ui.yaml), then the shipped one
in the check's language, then English, then the key itself. A text whose placeholders do not fit
the values is shown unformatted and logged, never raised: a typo in a catalogue must not break a check.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.core.dialogue.load import packaged_ui

log = logging.getLogger(__name__)


def phrase(ui: Mapping[str, str] | None, key: str, language: str | None = None, /, **values: object) -> str:
    """A UI phrase: the session's catalogue first, then the shipped one (in ``language``, then English),
    then the key itself. A phrase whose placeholders do not fit is shown unformatted, never raised."""
    text = (ui or {}).get(key)
    if text is None:
        shipped = packaged_ui()
        text = shipped.get(language or "en", shipped["en"]).get(key) or shipped["en"].get(key, key)
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        log.warning("the UI text %r does not fit its values (%s); shown unformatted", key, exc)
        return text
