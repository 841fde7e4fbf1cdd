"""Reading numbers typed or sent by people and platforms.

The rule, everywhere in the bot: ONLY the ASCII digits ``0``-``9`` make a number. Python's
``str.isdigit()`` is true for superscripts (``¹``), circled digits (``①``) and other characters that
``int()`` then rejects, and ``int()`` itself accepts Arabic-Indic (``٣``) and mathematical (``𝟑``)
digits; neither is what a person answering "1 to 5" meant to be able to type. Anything else is
simply "not a number" and gets the usual polite refusal.
"""

from __future__ import annotations

ASCII_DIGITS = frozenset("0123456789")


def is_ascii_number(text: object, max_digits: int = 3) -> bool:
    """True when ``text`` is a str of 1..``max_digits`` ASCII digits and nothing else (no sign, no spaces)."""
    return isinstance(text, str) and 0 < len(text) <= max_digits and all(c in ASCII_DIGITS for c in text)


def parse_number(text: object, max_digits: int = 3) -> int | None:
    """``text`` as a non-negative int when it is 1..``max_digits`` ASCII digits; otherwise None.

    Accepts ``str`` (and ``int``, as some payloads send numbers as JSON numbers; ``bool`` is not a
    number). Never raises.
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if 0 <= text < 10**max_digits else None
    if not isinstance(text, str) or not is_ascii_number(text, max_digits):
        return None
    return int(text)


def has_non_ascii_digits(text: str) -> bool:
    """True when ``text`` holds a digit-like character other than 0-9 (``¹``, ``①``, ``٣``, ``𝟑``, ``Ⅷ``)."""
    return any(c.isnumeric() and c not in ASCII_DIGITS for c in text)
