"""The one translation lookup: every text people see goes through :func:`phrase`.

The check's catalogue first (a team's own dialogue may carry its own ui.yaml), then the shipped one
in the check's language, then English, then the key itself. A counted phrase takes the plural form of
the value called ``n`` by the language's CLDR rule (:mod:`bot.core.dialogue.plurals`): ``phrase(ui,
"participants_count", "nl", n=1)`` is "1 deelnemer". A text whose placeholders do not fit the values is
shown unformatted and logged, never raised: a typo in a catalogue must not break a check.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.core.dialogue import plurals
from bot.core.dialogue.load import packaged_ui

log = logging.getLogger(__name__)


def phrase(ui: Mapping[str, str] | None, key: str, language: str | None = None, /, **values: object) -> str:
    """A UI phrase: the session's catalogue first, then the shipped one (in ``language``, then English),
    then the key itself; in the plural form of ``n`` when it is counted. A phrase whose placeholders do
    not fit is shown unformatted, never raised."""
    text = _lookup(ui, key, language or "en", values.get("n"))
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        log.warning("the UI text %r does not fit its values (%s); shown unformatted", key, exc)
        return text


def _lookup(ui: Mapping[str, str] | None, key: str, language: str, n: object) -> str:
    """The first catalogue that has ``key`` answers, with its own form for ``n`` when it has one: a
    team's catalogue without plural forms is never mixed with the shipped forms."""
    shipped = packaged_ui()
    form = plurals.category(language, n) if isinstance(n, int | float) and not isinstance(n, bool) else "other"
    for catalogue in (ui or {}, shipped.get(language, shipped["en"]), shipped["en"]):
        text = catalogue.get(key)
        if text is not None:
            return catalogue.get(plurals.form_key(key, form), text)
    return key
