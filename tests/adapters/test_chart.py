"""The summary chart decodes as a PNG of a sane size, for ordinary, anonymous and empty summaries."""

from __future__ import annotations

import struct
import threading
from dataclasses import replace
from datetime import date

from bot.adapters.chart import render_chart
from bot.core.messages import DecisionView, Summary, ThemeResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def summary(**changes: object) -> Summary:
    themes = (
        ThemeResult("fit", "Fit with our strategy", 3.7, 1.0, 5.0, 5, 3, 3, ("Does it fit?",)),
        ThemeResult("needs", "Audience needs", 2.0, 2.0, 2.0, 5, 2, 2, ()),
        ThemeResult("capacity", "Capacity", None, None, None, 5, 2, 0, ()),
    )
    decision = DecisionView("go", "Go", True, (), "Ann", (), (), "", "", date(2026, 6, 1), "1 June 2026")
    base = Summary(
        "s1",
        "Social media check",
        "en",
        True,
        themes,
        (),
        (),
        decision,
        ("Ann", "Bob"),
        2,
        False,
        {"chart_title": "Where the team stands", "not_answered": "not answered"},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_chart_is_a_png_of_sane_size() -> None:
    data = render_chart(summary())
    width, height = png_size(data)
    assert 400 <= width <= 2000 and 150 <= height <= 2000


def test_chart_is_deterministic() -> None:
    assert render_chart(summary()) == render_chart(summary())


def test_chart_for_anonymous_summary_in_dutch() -> None:
    data = render_chart(
        summary(
            anonymous=True,
            participants=(),
            language="nl",
            ui={"chart_title": "Waar het team staat", "not_answered": "niet beantwoord"},
        )
    )
    png_size(data)


def test_chart_without_scale_answers() -> None:
    empty = tuple(
        replace(t, average=None, minimum=None, maximum=None, answered=0, disagreements=()) for t in summary().themes
    )
    png_size(render_chart(summary(themes=empty)))
    png_size(render_chart(summary(themes=())))


def test_chart_renders_from_several_threads() -> None:
    results: list[bytes] = []
    lock = threading.Lock()

    def work() -> None:
        data = render_chart(summary())
        with lock:
            results.append(data)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert len(results) == 4 and len(set(results)) == 1
