"""One row per answer, as RFC 4180 CSV (UTF-8, CRLF, a header row), safe to open in a spreadsheet.

Columns: check id, question id, question text, theme, respondent (the name in a named check, a stable
pseudonym such as ``respondent 2`` in an anonymous one), the answer (option labels joined with
``; ``, or the text as typed; dates as ISO 8601), its score on the 1–5 scale (scale questions), and
its order among that question's answers (1 = first). The record keeps the order of answers, not the
moment each was given, so that is what the export can say.

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return) get a leading apostrophe, as OWASP recommends against CSV injection.
"""

from __future__ import annotations

import csv
import io

from bot.core.dialogue.load import Question
from bot.core.export.source import Source
from bot.core.session import Answer

COLUMNS = ("check_id", "question_id", "question", "theme", "respondent", "answer", "score", "answer_order")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading ``'`` when it would start a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def rows(source: Source) -> list[tuple[str, ...]]:
    """Every answer of the check, question by question in the order they were asked, then by arrival."""
    lens, record = source.lens, source.record
    dialogue = lens.dialogue
    out: list[tuple[str, ...]] = []
    for question_id in record.meta.path:
        if question_id not in dialogue.questions:
            continue
        question = dialogue.question(question_id)
        text = dialogue.text(lens.language, question_id).text
        theme = dialogue.texts[lens.language].themes[question.theme]
        answers = sorted(record.answers_to(question_id).items(), key=lambda kv: (kv[1].at, kv[0]))
        for order, (user, answer) in enumerate(answers, start=1):
            score = answer_score(question, answer)
            out.append(
                (
                    record.id,
                    question_id,
                    text,
                    theme,
                    source.respondent(user).shown,
                    answer_text(source, question, answer),
                    "" if score is None else str(score),
                    str(order),
                )
            )
    return out


def answer_text(source: Source, question: Question, answer: Answer) -> str:
    if answer.text is not None:
        return answer.text
    return "; ".join(option_labels(source, question, answer))


def option_labels(source: Source, question: Question, answer: Answer) -> list[str]:
    dialogue, language = source.lens.dialogue, source.lens.language
    return [
        dialogue.option_label(language, question.id, question.options[n - 1].value)
        for n in answer.choices
        if 1 <= n <= len(question.options)
    ]


def answer_score(question: Question, answer: Answer) -> int | None:
    """The score of a scale answer (its option's place on the 1–5 scale); None for other kinds."""
    if question.kind != "scale" or not answer.choices or not 1 <= answer.choices[0] <= len(question.options):
        return None
    return question.options[answer.choices[0] - 1].score


def answers_csv(source: Source) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    writer.writerows(tuple(neutralise(cell) for cell in row) for row in rows(source))
    return buffer.getvalue()
