"""Draws the README's example charts: English and Dutch, with and without an earlier check.

    .venv/bin/python scripts/render-charts.py [OUTPUT_DIR]      (default: docs/)

The summaries come from the real code: the shipped dialogue, a check's record with six colleagues'
answers to every scale question, and ``build_summary`` (so the dots, means and disagreement flags are
what a real check gives); the earlier check is a second record, a year before, compared theme by theme.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.chart import render_chart
from bot.core.dialogue.flow import Flow
from bot.core.dialogue.load import Dialogue, load_dialogue
from bot.core.messages import Comparison, Summary, ThemeChange
from bot.core.session import END, FINISHED, Answer, SessionMeta, SessionRecord
from bot.core.summary import build_summary, check_day
from bot.core.views import Lens

ROOT = Path(__file__).resolve().parents[1]
TODAY = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
A_YEAR_AGO = datetime(2025, 12, 3, 15, 0, tzinfo=UTC)
# Where each colleague leans on every theme (1..5), and how the team stood per theme.
LEANINGS = (0.0, 0.4, -0.5, 0.9, -1.0, 0.2)
TODAY_THEMES = {"fit": 3.9, "needs": 3.2, "listening": 2.6, "capacity": 2.2, "dialogue": 3.4, "judgement": 3.6}
EARLIER_THEMES = {"fit": 3.1, "needs": 2.5, "listening": 2.6, "capacity": 3.0, "dialogue": 2.8, "judgement": 3.7}
# Themes on which the team's answers lie far apart (the disagreement rule will flag them).
SPLIT = {"capacity": 1.6, "needs": 1.2}


def record(
    dialogue: Dialogue, session_id: str, when: datetime, themes: dict[str, float], decision: str
) -> SessionRecord:
    scales = [q for q in dialogue.questions.values() if q.kind == "scale" and q.theme in themes]
    users = [f"u{n}" for n in range(1, len(LEANINGS) + 1)]
    meta = SessionMeta(
        id=session_id,
        channel="console:local:room",
        dialogue="socialmedia-check",
        language="en",
        facilitator=users[0],
        facilitator_name="Anna",
        state=END,
        path=[q.id for q in scales],
        status=FINISHED,
        decision=decision,
        created_at=when.timestamp() - 3600,
        updated_at=when.timestamp(),
        finished_at=when.timestamp(),
    )
    answers: dict[str, dict[str, Answer]] = {}
    for question in scales:
        per_user: dict[str, Answer] = {}
        for i, (user, lean) in enumerate(zip(users, LEANINGS, strict=True)):
            split = SPLIT.get(question.theme, 0.0) * (1 if i % 2 else -1)
            target = themes[question.theme] + lean * 0.8 + split
            scores = [option.score or 0 for option in question.options]
            choice = min(range(len(scores)), key=lambda n: (abs(scores[n] - target), n))  # noqa: B023
            per_user[user] = Answer(choices=(choice + 1,), at=when.timestamp() + i)
        answers[question.id] = per_user
    return SessionRecord(meta=meta, answers=answers, users=users)


def summaries(language: str) -> tuple[Summary, Summary]:
    """This check's summary, alone and compared with the channel's check of a year before."""
    dialogue = load_dialogue()
    lens = Lens(dialogue, Flow(dialogue), language)
    now = build_summary(lens, record(dialogue, "3f9a1c2e7b01", TODAY, TODAY_THEMES, "pilot"))
    earlier_record = record(dialogue, "0c4d2b9e8a55", A_YEAR_AGO, EARLIER_THEMES, "not_now")
    earlier = build_summary(lens, earlier_record)
    before = {t.theme_id: t.average for t in earlier.themes}
    previous = Comparison(
        session_id=earlier.session_id,
        decision_label=earlier.decision.label,
        date_text=lens.format_date(check_day(earlier_record)),
        themes=tuple(ThemeChange(t.theme_id, t.title, before.get(t.theme_id), t.average) for t in now.themes),
    )
    return now, replace(now, previous=previous)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for language in ("en", "nl"):
        alone, compared = summaries(language)
        for name, summary in ((f"chart-{language}.png", alone), (f"chart-{language}-earlier.png", compared)):
            (out / name).write_bytes(render_chart(summary))
            print(out / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
