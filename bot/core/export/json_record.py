"""The whole record of a check as JSON, shaped by the schema shipped beside this module.

``schema.json`` (JSON Schema 2020-12) is the published contract: ``socialmedia-check schema export``
prints it, and the tests validate every export against it. It also states the anonymity promise:
in an anonymous check no respondent, note or facilitator carries a name or a user id.
What is left out on purpose: the salt and the salted keys of an anonymous check, the platform's
message ids, and the bot's bookkeeping (versions, reminders, dedup marks).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from bot.core.export.csv_rows import answer_score, option_labels
from bot.core.export.source import Source, iso
from bot.core.messages import QuestionResult, ThemeResult
from bot.core.summary import check_day

FORMAT = "socialmedia-check/export"
SCHEMA_VERSION = 1


@cache
def schema_text() -> str:
    return resources.files("bot.core.export").joinpath("schema.json").read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


def record(source: Source) -> dict[str, Any]:
    meta, summary = source.record.meta, source.summary
    decision = summary.decision
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "exported_at": source.exported_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "check": {
            "id": meta.id,
            "dialogue": {"id": source.lens.dialogue.id, "version": source.lens.dialogue.version},
            "title": summary.title,
            "language": source.language,
            "status": meta.status,
            "anonymous": meta.anonymous,
            "quorum": meta.quorum,
            "day": check_day(source.record).isoformat(),
            "created_at": iso(meta.created_at),
            "updated_at": iso(meta.updated_at or meta.created_at),
            "finished_at": iso(meta.finished_at),
            "facilitator": None
            if meta.anonymous
            else {"name": meta.facilitator_name or None, "user_id": meta.facilitator},
        },
        "decision": {
            "value": decision.value,
            "label": decision.label,
            "confirmed": decision.confirmed,
            "reasons": list(decision.reasons),
            "owner": decision.owner or None,
            "channels": list(decision.channels),
            "domain": list(decision.domain),
            "pilot_scope": decision.pilot_scope or None,
            "reconsider": decision.reconsider or None,
            "revisit": decision.revisit.isoformat() if decision.revisit else None,
        },
        "participants": {
            "count": summary.participant_count,
            "respondents": [
                {"id": r.id, "label": r.label, "name": r.name, "user_id": r.user_id}
                for r in source.respondents.values()
            ],
        },
        "themes": [_theme(theme) for theme in summary.themes],
        "questions": [_question(source, result) for result in summary.questions],
        "notes": [
            {
                "respondent": source.respondent(note.user).id,
                "question_id": note.question,
                "question": _question_text(source, note.question),
                "text": note.text,
                "at": iso(note.at),
            }
            for note in source.record.notes
        ],
        "previous": None
        if summary.previous is None
        else {
            "id": summary.previous.session_id,
            "date": summary.previous.date_text,
            "decision": summary.previous.decision_label,
            "themes": [
                {"id": c.theme_id, "title": c.title, "before": c.before, "now": c.now} for c in summary.previous.themes
            ],
            "checkin": list(summary.previous.checkin),
        },
        "checkin": list(summary.checkin),
    }


def dumps(source: Source) -> str:
    return json.dumps(record(source), ensure_ascii=False, indent=2) + "\n"


def _theme(theme: ThemeResult) -> dict[str, Any]:
    return {
        "id": theme.theme_id,
        "title": theme.title,
        "average": theme.average,
        "minimum": theme.minimum,
        "maximum": theme.maximum,
        "scale_max": theme.scale_max,
        "questions": theme.questions,
        "answered": theme.answered,
        "disagreements": list(theme.disagreements),
    }


def _question_text(source: Source, question_id: str) -> str:
    dialogue = source.lens.dialogue
    return dialogue.text(source.language, question_id).text if question_id in dialogue.questions else ""


def _question(source: Source, result: QuestionResult) -> dict[str, Any]:
    question = source.lens.dialogue.question(result.question_id)
    state = "skipped" if result.skipped else "unanswered" if result.unanswered else "answered"
    answers = sorted(source.record.answers_to(result.question_id).items(), key=lambda kv: (kv[1].at, kv[0]))
    spread = result.spread
    return {
        "id": result.question_id,
        "number": result.number,
        "text": result.text,
        "kind": result.kind,
        "theme": {"id": question.theme, "title": result.theme},
        "state": state,
        "options": [
            {
                "number": option.number,
                "value": option.value,
                "label": option.label,
                "score": question.options[option.number - 1].score,
                "count": option.count,
            }
            for option in result.options
        ],
        "spread": {
            "respondents": spread.respondents,
            "average": spread.average,
            "minimum": spread.minimum,
            "maximum": spread.maximum,
            "disagreement": spread.disagreement,
            "reason": spread.reason,
        },
        "answers": [
            {
                "respondent": source.respondent(user).id,
                "order": order,
                "choices": [question.options[n - 1].value for n in answer.choices if 1 <= n <= len(question.options)],
                "labels": option_labels(source, question, answer),
                "text": answer.text,
                "score": answer_score(question, answer),
            }
            for order, (user, answer) in enumerate(answers, start=1)
        ],
    }
