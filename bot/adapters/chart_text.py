"""The chart's words and numbers in the check's language: heading, subtitle, legend, axis and alt text.

Pure (no matplotlib), so the alt text is written without drawing anything. A decimal reads as the
language writes it (``3,4`` in Dutch) through Babel, with the digits of the text summary (one decimal).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.core import UnknownLocaleError
from babel.numbers import format_decimal

from bot.core.messages import Summary, ThemeResult
from bot.core.texts import phrase

ALT_MAX = 1000  # Slack's limit for a file's alt_txt


@dataclass(frozen=True)
class ChartWords:
    heading: str  # "Decision: Pilot · 2 December 2026"
    subtitle: str  # "Participants: 6 · look again on 1 March 2027"
    axis: str
    person: str
    mean: str
    disagree: str
    before: str  # the ghost marker's legend; "" without an earlier check
    not_answered: str


def decimal(value: float, language: str) -> str:
    """``3.4`` / ``3,4``: rounded as the text summary rounds (``f"{:.1f}"``), the sign from Babel."""
    rounded = Decimal(f"{value:.1f}")
    try:
        return format_decimal(rounded, format="0.0", locale=language)
    except (UnknownLocaleError, ValueError):  # a team's own dialogue in a language Babel does not know
        return format_decimal(rounded, format="0.0", locale="en")


def earlier_means(summary: Summary) -> dict[str, float]:
    """Per theme id, the team mean of the channel's previous check (only themes that had one)."""
    if summary.previous is None:
        return {}
    return {c.theme_id: c.before for c in summary.previous.themes if c.before is not None}


def words(summary: Summary) -> ChartWords:
    def t(key: str, **values: object) -> str:
        return phrase(summary.ui, key, summary.language, **values)

    heading = t("chart_heading", decision=summary.decision.label)
    if summary.date_text:
        heading += f" · {summary.date_text}"
    subtitle = t("chart_people", n=summary.participant_count)
    if summary.decision.revisit is not None:
        subtitle += " · " + t("chart_revisit", date=summary.decision.revisit_text)
    previous = summary.previous
    before = t("chart_before", date=previous.date_text) if previous and earlier_means(summary) else ""
    return ChartWords(
        heading=heading,
        subtitle=subtitle,
        axis=t("chart_axis"),
        person=t("chart_person"),
        mean=t("chart_mean"),
        disagree=t("chart_disagree"),
        before=before,
        not_answered=t("not_answered"),
    )


def _theme_alt(summary: Summary, theme: ThemeResult, before: float | None) -> str:
    def t(key: str, **values: object) -> str:
        return phrase(summary.ui, key, summary.language, **values)

    if theme.average is None:
        return f"{theme.title} {t('not_answered')}"
    language = summary.language
    text = t("chart_alt_theme", theme=theme.title, mean=decimal(theme.average, language), max=theme.scale_max)
    notes: list[str] = []
    low, high = theme.minimum, theme.maximum  # the range of the colleagues' own means
    if low is not None and high is not None and high > low:
        notes.append(t("chart_alt_range", low=decimal(low, language), high=decimal(high, language)))
    if theme.disagreements:
        notes.append(t("chart_disagree"))
    if before is not None:
        notes.append(t("chart_was", mean=decimal(before, language)))
    return f"{text} ({', '.join(notes)})" if notes else text


def alt_text(summary: Summary) -> str:
    """What the picture shows, values included, within :data:`ALT_MAX` characters."""
    chart = words(summary)
    earlier = earlier_means(summary)
    items = [_theme_alt(summary, theme, earlier.get(theme.theme_id)) for theme in summary.themes]
    lead = f"{chart.heading}. {chart.subtitle}. "
    shown = len(items)
    while True:  # too long: whole themes are left out from the end, and "…" says so
        themes = "; ".join(items[:shown] + (["…"] if shown < len(items) else [])) or chart.not_answered
        text = lead + phrase(summary.ui, "chart_alt", summary.language, themes=themes)
        if len(text) <= ALT_MAX or shown == 0:
            return text[:ALT_MAX]
        shown -= 1
