"""The summary as one report: ordered, typed sections whose rows are ready to print.

Every renderer (plain text, Slack, Mattermost, and the exports to come) only formats a
:class:`Report`; what a summary shows, in which order, and how its numbers read is decided here,
once. Labels come from the session's UI texts (:func:`phrase`; the shipped texts fill gaps).
Values are raw user text where users wrote them: each renderer escapes and clips for its own
platform. Raw numbers are kept beside the formatted ones for machine-readable exports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.messages import QuestionResult, Summary, ThemeResult
from bot.core.texts import phrase

MEAN_SIGN = "⌀"  # the sign of a mean on every surface (the catalogue's score_of carries it)
RANGE_SIGN = "–"  # en dash
BAR_WIDTH = 10
THEME_SCALE = 5  # every theme's score lies on 1..5 (bot.core.summary)


def bar(value: float | None, maximum: float = 5, width: int = BAR_WIDTH) -> str:
    """``███████░░░`` for value/maximum (clamped); an empty track when there is no value."""
    if value is None or maximum <= 0:
        return "░" * width
    filled = max(0, min(width, round(value / maximum * width)))
    return "█" * filled + "░" * (width - filled)


# --- the one way numbers read, on every surface -------------------------------------------------
# Two scales, each where people see it: a question's mean counts in its buttons' own numbering
# ("⌀ 2.7 of 3"), a theme's on the 1–5 scale ("⌀ 3.4 of 5"); both say which.


def fmt_mean(value: float, language: str | None = None) -> str:
    """The one way a mean reads: one decimal, as the language writes it (``2.7``; Dutch ``2,7``)."""
    if language is None or language == "en":
        return f"{value:.1f}"
    from babel import UnknownLocaleError
    from babel.numbers import format_decimal

    # round first, as the English form does, so every surface shows the same digit (3.45 -> 3.5)
    try:
        return str(format_decimal(float(f"{value:.1f}"), format="0.0", locale=language))
    except (UnknownLocaleError, ValueError):  # a team's own dialogue in a language Babel does not know
        return f"{value:.1f}"


def fmt_range(low: float, high: float, language: str | None = None) -> str:
    """The one way a spread reads: ``2.7–3.7`` (Dutch ``2,7–3,7``)."""
    return f"{fmt_mean(low, language)}{RANGE_SIGN}{fmt_mean(high, language)}"


def fmt_score(mean: float, scale_max: int, language: str | None = None, ui: Mapping[str, str] | None = None) -> str:
    """A mean with its scale: ``⌀ 3.4 of 5`` (Dutch ``⌀ 3,4 van 5``)."""
    return phrase(ui, "score_of", language, mean=fmt_mean(mean, language), max=scale_max)


def fmt_theme_score(
    mean: float,
    low: float | None,
    high: float | None,
    scale_max: int,
    language: str | None = None,
    ui: Mapping[str, str] | None = None,
) -> str:
    """``⌀ 3.4 of 5 (colleagues 2.7–3.7)``: the range of the colleagues' own means, only when they differ."""
    score = fmt_score(mean, scale_max, language, ui)
    if low is None or high is None or fmt_mean(low, language) == fmt_mean(high, language):
        return score
    return phrase(ui, "score_spread", language, score=score, range=fmt_range(low, high, language))


def fmt_chosen(
    counted: Sequence[tuple[str, int]], language: str | None = None, ui: Mapping[str, str] | None = None
) -> str:
    """What people chose: ``2 × Well, 1 × Partly`` from (label, count) in the options' order; most chosen
    first, ties in the options' order, options nobody chose left out."""
    ranked = sorted(((label, count) for label, count in counted if count > 0), key=lambda lc: -lc[1])
    return ", ".join(phrase(ui, "chosen_option", language, n=count, option=label) for label, count in ranked)


def _mean_or_dash(value: float | None, language: str | None) -> str:
    return "–" if value is None else fmt_mean(value, language)


# --- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRow:
    """One field of the decision record: ``label: value``."""

    key: str  # decision | reasons | pilot_scope | owner | channels | domain | reconsider | revisit
    label: str
    value: str


@dataclass(frozen=True)
class ThemeRow:
    title: str
    bar: str  # ``███████░░░``, an empty track when not answered
    score: str  # ``⌀ 3.4 of 5 (colleagues 2.7–3.7)``, or the "not answered" label
    answered: str  # ``3 of 3 questions answered`` (``1 of 1 question answered``)
    flags: tuple[str, ...]  # ``Disagreement: <question>``, one per question the team disagrees on
    average: float | None
    minimum: float | None
    maximum: float | None
    scale_max: int


@dataclass(frozen=True)
class ChoiceRow:
    label: str
    count: int
    voters: tuple[str, ...]  # empty when anonymous


@dataclass(frozen=True)
class TextRow:
    author: str  # empty when anonymous
    text: str


@dataclass(frozen=True)
class QuestionRow:
    number: int
    text: str
    state: str  # empty when answered, else the "skipped" / "not answered" label
    answers: tuple[ChoiceRow | TextRow, ...]  # chosen options (count > 0) first, then written answers
    score: str  # ``⌀ 2.7 of 3`` for a scale question, in its buttons' own numbering; else empty
    disagreement: str  # ``Disagreement: <reason>``, empty when the team agrees


@dataclass(frozen=True)
class NoteRow:
    author: str  # empty when anonymous
    question: str
    text: str


# --- sections, in the order a report holds them ---------------------------------------------------


@dataclass(frozen=True)
class DecisionSection:
    title: str
    rows: tuple[FieldRow, ...]  # the decision itself first
    confirmed: bool


@dataclass(frozen=True)
class ParticipantsSection:
    title: str
    names: tuple[str, ...]  # empty when anonymous
    text: str  # the names joined, or ``3 participants`` (``1 participant``)


@dataclass(frozen=True)
class ThemesSection:
    title: str
    rows: tuple[ThemeRow, ...]


@dataclass(frozen=True)
class QuestionsSection:
    title: str
    rows: tuple[QuestionRow, ...]


@dataclass(frozen=True)
class ConcernsSection:
    title: str
    rows: tuple[NoteRow, ...]
    empty: str  # shown when there are no rows


@dataclass(frozen=True)
class ListSection:
    """A titled list of lines ready to print: the comparison with the previous check, the pilot check-in."""

    key: str  # previous | checkin
    title: str
    lines: tuple[str, ...]


Section = DecisionSection | ParticipantsSection | ThemesSection | QuestionsSection | ConcernsSection | ListSection


@dataclass(frozen=True)
class Report:
    session_id: str
    title: str  # the dialogue's title
    heading: str  # "Summary" or "Summary so far"
    language: str
    final: bool
    anonymous: bool
    sections: tuple[Section, ...]
    ui: Mapping[str, str]

    def part_label(self, n: int, total: int) -> str:
        """``part 2 of 3``, for a report split over several messages."""
        return phrase(self.ui, "summary_part", self.language, n=n, total=total)


# --- building ------------------------------------------------------------------------------------


class _Labels:
    def __init__(self, summary: Summary) -> None:
        self.ui, self.language = summary.ui, summary.language

    def __call__(self, key: str, **values: object) -> str:
        return phrase(self.ui, key, self.language, **values)


def build_report(summary: Summary) -> Report:
    """The summary's report: decision, participants, themes, every question, concerns."""
    t = _Labels(summary)
    return Report(
        session_id=summary.session_id,
        title=summary.title,
        heading=t("summary_title" if summary.final else "summary_so_far"),
        language=summary.language,
        final=summary.final,
        anonymous=summary.anonymous,
        sections=(
            _decision(summary, t),
            _participants(summary, t),
            ThemesSection(t("themes_header"), tuple(_theme(theme, t) for theme in summary.themes)),
            *_follow_up(summary, t),
            QuestionsSection(t("answers_header"), tuple(_question(q, summary.anonymous, t) for q in summary.questions)),
            ConcernsSection(
                t("concerns"),
                tuple(
                    NoteRow("" if summary.anonymous else n.author or "", n.question, n.text) for n in summary.concerns
                ),
                t("no_concerns"),
            ),
        ),
        ui=summary.ui,
    )


def _decision(summary: Summary, t: _Labels) -> DecisionSection:
    d = summary.decision
    pending = "" if d.confirmed or d.value is None else f" ({t('undecided')})"
    rows = [("decision", f"{d.label}{pending}")]
    if d.reasons:
        rows.append(("reasons", " / ".join(d.reasons)))
    if d.pilot_scope:
        rows.append(("pilot_scope", d.pilot_scope))
    if d.value != "not_now":
        rows.append(("owner", d.owner or t("not_set")))
        if d.channels:
            rows.append(("channels", ", ".join(d.channels)))
        if d.domain:
            rows.append(("domain", ", ".join(d.domain)))
    if d.reconsider:
        rows.append(("reconsider", d.reconsider))
    promise = summary.revisit_scheduled and d.revisit is not None
    rows.append(("revisit", t("revisit_promise", date=d.revisit_text) if promise else d.revisit_text))
    return DecisionSection("", tuple(FieldRow(key, t(key), value) for key, value in rows), d.confirmed)


def _follow_up(summary: Summary, t: _Labels) -> list[ListSection]:
    """The comparison with the channel's previous check, and pilot check-in answers, when there are any."""
    sections = []
    previous = summary.previous
    if previous is not None:
        lines = [
            t(
                "previous_theme",
                theme=c.title,
                before=_mean_or_dash(c.before, summary.language),
                now=_mean_or_dash(c.now, summary.language),
                max=THEME_SCALE,
            )
            for c in previous.themes
        ]
        title = t("previous_header", date=previous.date_text, decision=previous.decision_label)
        sections.append(ListSection("previous", title, (*lines, *previous.checkin)))
    if summary.checkin:
        sections.append(ListSection("checkin", t("checkin_header"), summary.checkin))
    return sections


def _participants(summary: Summary, t: _Labels) -> ParticipantsSection:
    if summary.anonymous or not summary.participants:
        return ParticipantsSection(t("participants"), (), t("participants_count", n=summary.participant_count))
    return ParticipantsSection(t("participants"), summary.participants, ", ".join(summary.participants))


def _theme(theme: ThemeResult, t: _Labels) -> ThemeRow:
    scale = max(theme.scale_max, 1)
    return ThemeRow(
        title=theme.title,
        bar=bar(theme.average, scale),
        score=t("not_answered")
        if theme.average is None
        else fmt_theme_score(theme.average, theme.minimum, theme.maximum, scale, t.language, t.ui),
        answered=t("theme_answered", answered=theme.answered, questions=theme.questions, n=theme.questions),
        flags=tuple(f"{t('disagreement')}: {question}" for question in theme.disagreements),
        average=theme.average,
        minimum=theme.minimum,
        maximum=theme.maximum,
        scale_max=scale,
    )


def _question(q: QuestionResult, anonymous: bool, t: _Labels) -> QuestionRow:
    state = t("skipped") if q.skipped else t("not_answered") if q.unanswered else ""
    answers: list[ChoiceRow | TextRow] = []
    if not state:
        answers += [ChoiceRow(o.label, o.count, () if anonymous else o.voters) for o in q.options if o.count]
        answers += [TextRow("" if anonymous else a.author or "", a.text) for a in q.text_answers]
    spread = q.spread
    score = ""
    if not state and spread.average is not None and q.options:
        score = fmt_score(spread.average, len(q.options), t.language, t.ui)
    disagreement = ""
    if not state and spread.disagreement:
        disagreement = t("disagreement") + (f": {spread.reason}" if spread.reason else "")
    return QuestionRow(q.number, q.text, state, tuple(answers), score, disagreement)
