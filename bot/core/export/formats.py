"""The export formats: one table from a format's name to its file type and its formatter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.export import csv_rows, html_page, json_record, markdown
from bot.core.export.source import Source
from bot.core.summary import check_day

# The chart an HTML page embeds, drawn by the adapter layer: PNG bytes and their alt text.
Chart = tuple[bytes, str]


@dataclass(frozen=True)
class Format:
    name: str  # what people type: md | csv | json | html
    label: str  # how the format is named in a title
    extension: str
    mime: str
    render: Callable[[Source, Chart | None], str]
    wants_chart: bool = False


FORMATS: dict[str, Format] = {
    "md": Format("md", "Markdown", "md", "text/markdown", lambda s, _: markdown.decision_record(s)),
    "csv": Format("csv", "CSV", "csv", "text/csv", lambda s, _: csv_rows.answers_csv(s)),
    "json": Format("json", "JSON", "json", "application/json", lambda s, _: json_record.dumps(s)),
    "html": Format(
        "html",
        "HTML",
        "html",
        "text/html",
        lambda s, chart: html_page.page(s, *(chart or (None, ""))),
        wants_chart=True,
    ),
}
DEFAULT = "md"


def filename(source: Source, fmt: Format) -> str:
    """``socialmedia-check-2026-11-28-3f2a9c1b.md``: the check's day and id, so exports sort and never clash."""
    return f"socialmedia-check-{check_day(source.record).isoformat()}-{source.record.id[:8]}.{fmt.extension}"


def title(source: Source, fmt: Format) -> str:
    return source.t("export_title", title=source.report.title, date=source.summary.date_text, format=fmt.label)


def render(source: Source, fmt: Format, chart: Chart | None = None) -> bytes:
    return fmt.render(source, chart).encode("utf-8")
