"""The summary as one self-contained HTML page: inline CSS, the chart as a PNG data URI, printable.

One file a team can mail, archive or print to PDF from any browser: no script, no web font, no
request to anywhere (a Content-Security-Policy says so). Every text is escaped. The page is in the
check's language (``<html lang>``, the labels, the dates). The chart is drawn in the adapter layer
(matplotlib), so it comes in as PNG bytes; without it the page simply has no picture.
"""

from __future__ import annotations

import base64
from html import escape

from bot.core.export.source import Source
from bot.core.report import (
    ChoiceRow,
    ConcernsSection,
    DecisionSection,
    ListSection,
    ParticipantsSection,
    QuestionRow,
    QuestionsSection,
    Section,
    ThemeRow,
    ThemesSection,
)

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = """
:root { --ink: #1f2933; --muted: #5a6570; --line: #d9dee3; --accent: #0072b2; --warn: #d55e00; --band: #fbe3d3; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 52rem; padding: 2rem 1.5rem 3rem; color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif; }
header { border-bottom: 3px solid var(--accent); margin-bottom: 1.5rem; padding-bottom: .75rem; }
h1 { font-size: 1.7rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
.meta { color: var(--muted); margin: 0; }
.decision { font-size: 1.35rem; font-weight: 700; color: var(--accent); margin: .4rem 0 0; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dl.fields dt { font-weight: 600; }
dl.fields dd { margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .9rem; }
td.score { width: 14rem; }
.track { background: #eef1f4; height: .7rem; width: 9rem; border-radius: .35rem; overflow: hidden; }
.fill { background: var(--accent); height: 100%; }
tr.flagged td { background: var(--band); }
.flag { color: var(--warn); font-weight: 600; }
.state, .empty { color: var(--muted); font-style: italic; }
ul { margin: .3rem 0; padding-left: 1.3rem; }
figure { margin: 1rem 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .85rem; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .85rem; border-top: 1px solid var(--line);
  padding-top: .5rem; }
.question { break-inside: avoid; }
@page { size: A4; margin: 16mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; }
  tr, figure, .question { break-inside: avoid; }
  .track, .fill, tr.flagged td { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def page(source: Source, chart: bytes | None = None, chart_alt: str = "") -> str:
    """The whole page. ``chart``: the summary chart as PNG bytes (embedded), with its alt text."""
    report, t = source.report, source.t
    status = t("export_status_finished") if report.final else t("export_status_running")
    decision = next((s for s in report.sections if isinstance(s, DecisionSection)), None)
    headline = decision.rows[0].value if decision and decision.rows else ""
    meta = [source.summary.date_text, status]
    if source.facilitator:
        meta.append(f"{t('facilitator')}: {source.facilitator}")
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(source.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)} — {escape(t('export_record'))}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(report.title)} — {escape(t('export_record'))}</h1>",
        f'<p class="meta">{" · ".join(escape(m) for m in meta)}</p>',
        f'<p class="decision">{escape(t("decision"))}: {escape(headline)}</p>' if headline else "",
        "</header>",
        "<main>",
    ]
    for section in report.sections:
        parts.append(_section(source, section))
        if isinstance(section, ThemesSection) and chart:
            parts.append(_figure(chart, chart_alt or t("chart_title"), t("chart_title")))
    footer = t("export_footer", date=source.exported_text(), id=source.record.id)
    parts += ["</main>", f"<footer>{escape(footer)}</footer>", "</body>", "</html>", ""]
    return "\n".join(p for p in parts if p)


def _figure(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _section(source: Source, section: Section) -> str:
    t = source.t
    match section:
        case DecisionSection():
            rows = "".join(f"<dt>{escape(r.label)}</dt><dd>{escape(r.value)}</dd>" for r in section.rows)
            body = f'<dl class="fields">{rows}</dl>'
            title = section.title or t("decision")
        case ParticipantsSection():
            body, title = f"<p>{escape(section.text)}</p>", section.title
        case ThemesSection():
            head = f"<tr><th>{escape(t('export_theme'))}</th><th></th><th>{escape(t('export_score'))}</th></tr>"
            body = f"<table><thead>{head}</thead><tbody>{''.join(_theme(r) for r in section.rows)}</tbody></table>"
            title = section.title
        case ListSection():
            body = "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in section.lines) + "</ul>"
            title = section.title
        case QuestionsSection():
            body, title = "".join(_question(row) for row in section.rows), section.title
        case ConcernsSection():
            items = []
            for note in section.rows:
                by = f" — {escape(note.author)}" if note.author else ""
                on = f' <span class="state">({escape(t("export_note_on", question=note.question))})</span>'
                items.append(f"<li>“{escape(note.text)}”{by}{on if note.question else ''}</li>")
            body = f"<ul>{''.join(items)}</ul>" if items else f'<p class="empty">{escape(section.empty)}</p>'
            title = section.title
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def _theme(row: ThemeRow) -> str:
    width = 0.0 if row.average is None else max(0.0, min(100.0, row.average / max(row.scale_max, 1) * 100))
    flags = "".join(f'<div class="flag">⚠ {escape(flag)}</div>' for flag in row.flags)
    bar = f'<div class="track"><div class="fill" style="width: {width:.0f}%"></div></div>'
    cls = ' class="flagged"' if row.flags else ""
    return (
        f"<tr{cls}><td><strong>{escape(row.title)}</strong>{flags}</td><td>{bar}</td>"
        f'<td class="score">{escape(row.score)}<br><small>{escape(row.answered)}</small></td></tr>'
    )


def _question(row: QuestionRow) -> str:
    parts = [f'<div class="question"><h3>{row.number}. {escape(row.text)}</h3>']
    if row.state:
        parts.append(f'<p class="state">{escape(row.state)}</p>')
    else:
        marks = [escape(row.score)] if row.score else []
        if row.disagreement:
            marks.append(f'<span class="flag">⚠ {escape(row.disagreement)}</span>')
        if marks:
            parts.append(f"<p>{' · '.join(marks)}</p>")
        items = []
        for answer in row.answers:
            if isinstance(answer, ChoiceRow):
                voters = f" ({escape(', '.join(answer.voters))})" if answer.voters else ""
                items.append(f"<li>{escape(answer.label)}: <strong>{answer.count}</strong>{voters}</li>")
            else:
                by = f" — {escape(answer.author)}" if answer.author else ""
                items.append(f"<li>“{escape(answer.text)}”{by}</li>")
        if items:
            parts.append(f"<ul>{''.join(items)}</ul>")
    parts.append("</div>")
    return "".join(parts)
