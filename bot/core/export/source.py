"""What every export is made from: one check's record, its summary and report, and who is who.

Respondents get a stable pseudonym in order of arrival (``respondent 1``, ``respondent 2``…): in an
anonymous check that is all an export ever says of a person, never a name, a platform id or the
salted key Redis keeps. In a named check the display name stands beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.messages import Summary
from bot.core.report import Report, build_report
from bot.core.session import SessionRecord
from bot.core.views import Lens


@dataclass(frozen=True)
class Respondent:
    id: str  # ``r1``, ``r2``…: stable within one check, the same in every format
    label: str  # ``respondent 1`` in the check's language
    name: str | None  # the display name; None in an anonymous check
    user_id: str | None  # the platform's user id; None in an anonymous check

    @property
    def shown(self) -> str:
        """How a person is shown in a table: their name, else the pseudonym."""
        return self.name or self.label


@dataclass(frozen=True)
class Source:
    lens: Lens
    record: SessionRecord
    summary: Summary  # with the comparison with the channel's previous check, when there is one
    report: Report
    exported_at: datetime  # aware
    respondents: dict[str, Respondent]  # user key -> respondent, in order of arrival

    @property
    def anonymous(self) -> bool:
        return self.record.meta.anonymous

    @property
    def language(self) -> str:
        return self.lens.language

    def t(self, key: str, **values: object) -> str:
        return self.lens.t(key, **values)

    def respondent(self, user_key: str) -> Respondent:
        found = self.respondents.get(user_key)
        if found is not None:
            return found
        # not among the participants (cannot happen for answers and notes; kept total on purpose)
        return Respondent("r0", self.t("export_respondent", n=0), None, None)

    @property
    def facilitator(self) -> str | None:
        """The facilitator's name; None in an anonymous check (an export names nobody there)."""
        meta = self.record.meta
        return None if meta.anonymous else (meta.facilitator_name or meta.facilitator)

    def exported_text(self) -> str:
        return self.lens.format_date(self.exported_at.date())


def build_source(lens: Lens, record: SessionRecord, summary: Summary, exported_at: datetime) -> Source:
    respondents: dict[str, Respondent] = {}
    for number, user in enumerate(record.participants(), start=1):
        label = lens.t("export_respondent", n=number)
        if record.meta.anonymous:
            respondents[user] = Respondent(f"r{number}", label, None, None)
        else:
            respondents[user] = Respondent(f"r{number}", label, record.display_name(user), user)
    moment = exported_at if exported_at.tzinfo is not None else exported_at.replace(tzinfo=UTC)
    return Source(lens, record, summary, build_report(summary), moment, respondents)


def iso(epoch: float | None) -> str | None:
    """An epoch as ISO 8601 in UTC (``2026-11-28T10:00:00Z``), None for None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
