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
import pickle
from collections.abc import Mapping
from typing import Any

from babel import Locale, UnknownLocaleError, localedata
from babel.core import get_global
from babel.plural import PluralRule

CATEGORIES = ("zero", "one", "two", "few", "many", "other")  # CLDR's plural categories
OTHER = "other"


class PluralProblem(ValueError):
    """A counted phrase that lacks a form its language needs, or names a category that does not exist."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@functools.cache
def _rule(language: str) -> PluralRule | None:
    """The language's CLDR plural rule from Babel's data, or None for a language Babel does not know.

    ``Locale.parse(language).plural_form`` would load and keep the whole locale (number and date
    formats, names of every language and territory: 5.6 MiB for Dutch and English, a tenth of an
    idle process) and import ``babel.dates`` to unpickle it. The rule is one entry of the file of
    the locale or of the parent it inherits it from (pt_AO from pt_PT), so read just that."""
    try:
        name = str(Locale.parse(language))  # Babel's own spelling: nl, pt_BR, sr_Latn_RS
    except (ValueError, UnknownLocaleError):
        return None
    while True:  # the locale, then its parents as Babel merges them, ending with root (all "other")
        rule = _read_rule(name)
        if rule is not None or name == "root":
            return rule
        name = get_global("parent_exceptions").get(name) or "_".join(name.split("_")[:-1]) or "root"


class _Discarded:
    """Whatever else a locale file pickles (date patterns, aliases …): built as nothing, then dropped."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _Discarded:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


class _RuleOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return PluralRule if (module, name) == ("babel.plural", "PluralRule") else _Discarded


def _read_rule(name: str) -> PluralRule | None:
    try:
        with open(localedata.resolve_locale_filename(name), "rb") as file:
            data = _RuleOnly(file).load()
    except FileNotFoundError:
        return None
    rule = data.get("plural_form") if isinstance(data, dict) else None
    return rule if isinstance(rule, PluralRule) else None


def forms_of(language: str) -> tuple[str, ...]:
    """The plural categories ``language`` distinguishes, ``other`` always among them, in CLDR order."""
    rule = _rule(language)
    tags = set(rule.tags) if rule is not None else set()
    return tuple(c for c in CATEGORIES if c in tags or c == OTHER)


def category(language: str, n: float) -> str:
    """``one`` / ``other`` (…) for the count ``n`` by the language's plural rule (English's for a
    language Babel does not know: its texts fall back on the English ones)."""
    rule = _rule(language)
    if rule is None:  # (a rule for "other" only, as Japanese has, is a rule: not English's)
        rule = _rule("en")
    return str(rule(abs(n))) if rule is not None else OTHER


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
