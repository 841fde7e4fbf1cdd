"""Counted phrases in the UI catalogue: Babel's (CLDR) plural rules, kept in the same YAML.

A counted phrase is a mapping of plural categories to texts, in every language that needs it::

    participants_count: {one: "{n} participant", other: "{n} participants"}

The loaded catalogue stays a flat table of strings: the key holds the ``other`` text (what a team's
own catalogue, or a reader of the table, sees first) and ``key.one`` (``key.few`` …) the others.
:func:`bot.core.texts.phrase` picks the form from the value called ``n``. Each language must give
every category its own plural rule distinguishes (English and Dutch: ``one`` and ``other``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from babel import Locale, UnknownLocaleError

CATEGORIES = ("zero", "one", "two", "few", "many", "other")  # CLDR's plural categories
OTHER = "other"


class PluralProblem(ValueError):
    """A counted phrase that lacks a form its language needs, or names a category that does not exist."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@functools.cache
def _locale(language: str) -> Locale | None:
    try:
        return Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        return None


def forms_of(language: str) -> tuple[str, ...]:
    """The plural categories ``language`` distinguishes, ``other`` always among them, in CLDR order."""
    locale = _locale(language)
    tags = set(locale.plural_form.tags) if locale is not None else set()
    return tuple(c for c in CATEGORIES if c in tags or c == OTHER)


def category(language: str, n: float) -> str:
    """``one`` / ``other`` (…) for the count ``n`` by the language's plural rule (English's for a
    language Babel does not know: its texts fall back on the English ones)."""
    locale = _locale(language) or _locale("en")
    return str(locale.plural_form(abs(n))) if locale is not None else OTHER


def form_key(key: str, form: str) -> str:
    """Where the catalogue keeps the ``form`` text of a counted phrase (``other`` is the key itself)."""
    return key if form == OTHER else f"{key}.{form}"


def flatten(language: str, texts: Mapping[object, object], counted: frozenset[str]) -> dict[str, str]:
    """One language's phrases as a flat table; ``counted`` are the keys English gives plural forms,
    which must be counted in every language. Raises :class:`PluralProblem` naming the key."""
    needed = forms_of(language)
    flat: dict[str, str] = {}
    for raw_key, value in texts.items():
        key = str(raw_key)
        if not isinstance(value, Mapping):
            if key in counted:
                raise PluralProblem(key, f"a counted phrase: give its plural forms ({', '.join(needed)})")
            flat[key] = str(value)
            continue
        forms = {str(k): str(v) for k, v in value.items()}
        unknown = sorted(set(forms) - set(CATEGORIES))
        if unknown:
            raise PluralProblem(key, f"{', '.join(unknown)} is not a plural category ({', '.join(CATEGORIES)})")
        missing = [form for form in needed if form not in forms]
        if missing:
            raise PluralProblem(key, f"{language} needs the plural form(s) {', '.join(missing)}")
        for form, text in forms.items():
            flat[form_key(key, form)] = text
    return flat
