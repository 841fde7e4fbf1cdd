"""The summary chart, checked by what it shows: its pixels where the scale puts them, its colours, its words.

Every pixel check reads the PNG that is uploaded (decoded with matplotlib.image.imread) and finds its
places through the figure's own axis transform: a dot for a score of 2 must sit where the x axis puts
2, in the colour of its kind. ``chart_problems`` is that whole content check; it is itself tested
against a blank picture, pictures of one colour and the picture of another summary.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from bot.adapters import chart, summary_chart
from bot.adapters.chart import render_chart
from bot.adapters.chart_text import ALT_MAX, alt_text
from bot.core.dialogue.flow import Flow
from bot.core.dialogue.load import load_dialogue
from bot.core.messages import ChannelKey, Comparison, DecisionView, Summary, ThemeChange, ThemeResult
from bot.core.session import END, FINISHED, Answer, SessionMeta, SessionRecord
from bot.core.summary import build_summary
from bot.core.views import Lens

ROOT = Path(__file__).resolve().parents[2]
DIALOGUE = load_dialogue()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WHITE = (255, 255, 255)

Pixels = np.ndarray


def rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def theme(theme_id: str, title: str, scores: tuple[float, ...], disagreements: tuple[str, ...] = ()) -> ThemeResult:
    if not scores:
        return ThemeResult(theme_id, title, None, None, None, 5, 2, 0, ())
    average = round(sum(scores) / len(scores), 2)
    return ThemeResult(
        theme_id, title, average, min(scores), max(scores), 5, 2, 2, disagreements, tuple(sorted(scores))
    )


THEMES = (
    theme("fit", "Fit with our course", (2.0, 4.5, 5.0)),  # mean 3.83: no dot under the mean's bar
    theme("capacity", "Time and people", (1.0, 1.5, 4.5), ("How much time can we give it?",)),  # mean 2.33
    theme("listening", "Listening", ()),
)


def summary(**changes: object) -> Summary:
    decision = DecisionView("pilot", "Pilot", True, (), "Ann", (), (), "", "", date(2027, 3, 1), "1 March 2027")
    base = Summary(
        session_id="s1",
        title="Social media check",
        language="en",
        final=True,
        themes=THEMES,
        questions=(),
        concerns=(),
        decision=decision,
        participants=("Annabel", "Bartholomew", "Carla"),
        participant_count=3,
        anonymous=False,
        ui={},
        date_text="2 December 2026",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


PREVIOUS = Comparison(
    session_id="s0",
    decision_label="Not now",
    date_text="3 December 2025",
    themes=(
        ThemeChange("fit", "Fit with our course", 2.6, 3.83),
        ThemeChange("capacity", "Time and people", 3.2, 2.33),
        ThemeChange("listening", "Listening", None, None),
    ),
)


# --- reading the picture -------------------------------------------------------------------------


def picture(s: Summary) -> tuple[Pixels, Figure]:
    """The uploaded PNG as RGB bytes, and the figure it was drawn from (for its transforms)."""
    png = render_chart(s)
    assert png.startswith(PNG_SIGNATURE)
    image = (imread(io.BytesIO(png), format="png")[:, :, :3] * 255).round().astype(np.uint8)
    fig = chart.figure(s)
    fig.canvas.draw()
    width, height = fig.canvas.get_width_height()
    assert image.shape == (height, width, 3), "the PNG is the figure, pixel for pixel"
    return image, fig


def at(fig: Figure, x: float, y: float) -> tuple[int, int]:
    """(row, column) of the pixel where the chart's axes put data point (x, y)."""
    ax = fig.axes[0]
    px, py = ax.transData.transform((x, y))
    height = fig.canvas.get_width_height()[1]
    return int(height - py), int(px)


def count(image: Pixels, centre: tuple[int, int], colour: str, radius: int = 2, tolerance: int = 3) -> int:
    """How many pixels within ``radius`` of ``centre`` have ``colour``."""
    row, col = centre
    patch = image[max(row - radius, 0) : row + radius + 1, max(col - radius, 0) : col + radius + 1].astype(int)
    return int((np.abs(patch - np.array(rgb(colour))).max(axis=2) <= tolerance).sum())


def everywhere(image: Pixels, colour: str, tolerance: int = 3) -> int:
    return int((np.abs(image.astype(int) - np.array(rgb(colour))).max(axis=2) <= tolerance).sum())


def dots(s: Summary) -> list[tuple[int, float, float, str]]:
    """Every dot the summary calls for: (row, score, height in the row, colour)."""
    found = []
    for row, t in enumerate(s.themes):
        colour = chart.HIGHLIGHT if t.disagreements else chart.PERSON
        for score, dy in zip(t.scores, chart.offsets(s.session_id, t.theme_id, t.scores), strict=True):
            found.append((row, score, row + dy, colour))
    return found


def chart_problems(image: Pixels, fig: Figure, s: Summary) -> list[str]:
    """The content check: what is wrong with ``image`` as the chart of ``s`` (nothing: an empty list)."""
    problems = []
    for row, score, y, colour in dots(s):
        r, c = at(fig, score, y)
        average = s.themes[row].average
        if average is not None and abs(score - average) < 0.15:  # under the mean's bar: its sides show
            seen = max(count(image, (r, c - 8), colour, 1), count(image, (r, c + 8), colour, 1)) >= 5
        else:
            seen = count(image, (r, c), colour) >= 20  # a 5x5 core of the dot, all in its colour
        if not seen:
            problems.append(f"no {colour} dot for {score} in row {row}")
    for row, t in enumerate(s.themes):
        background = chart.BAND if t.disagreements else "#FFFFFF"
        if t.average is not None and count(image, at(fig, t.average, row - chart.BAR + 0.02), chart.MEAN, 1) < 3:
            problems.append(f"no mean bar at {t.average} in row {row}")
        # a place on the scale that nothing marks must show the row's background
        empty = [x for x in (1.25, 2.75, 4.75) if all(abs(x - v) > 0.3 for v in (*t.scores, t.average or 0))]
        if empty and count(image, at(fig, empty[0], row - 0.1), background, 3) < 49:
            problems.append(f"row {row} is not {background} at {empty[0]}")
    packed = image.astype(np.int32)
    if len(np.unique(packed[:, :, 0] << 16 | packed[:, :, 1] << 8 | packed[:, :, 2])) < 20:
        problems.append("hardly any colours: not a chart")
    return problems


# --- the content check, and a test of it -------------------------------------------------------------


def test_the_dots_sit_where_the_scale_puts_them() -> None:
    image, fig = picture(summary())
    assert chart_problems(image, fig, summary()) == []
    # spelled out for one known score: the colleague who gave 2 on "Fit" is a blue dot over the 2
    (row, score, y, colour) = dots(summary())[0]
    assert (row, score, colour) == (0, 2.0, chart.PERSON)
    assert count(image, at(fig, 2.0, y), chart.PERSON) == 25
    # and the printed scale agrees: the tick label "2" stands under that dot
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    label = next(t for t in fig.axes[0].get_xticklabels() if t.get_text() == "2")
    box = label.get_window_extent(renderer)
    assert abs((box.x0 + box.x1) / 2 - at(fig, 2.0, y)[1]) <= 2
    assert count(image, at(fig, 1.0, y), chart.PERSON) == 0 and count(image, at(fig, 3.0, y), chart.PERSON) == 0


def test_the_content_check_fails_a_blank_or_one_colour_picture_and_another_summary() -> None:
    image, fig = picture(summary())
    for colour in ("#FFFFFF", chart.PERSON, chart.HIGHLIGHT, chart.BAND, "#000000"):
        flat = np.broadcast_to(np.array(rgb(colour), dtype=np.uint8), image.shape)
        assert chart_problems(flat, fig, summary()), f"an all-{colour} picture passed"
    moved = replace(THEMES[0], scores=(3.0, 4.5, 5.0), average=4.17)
    other, _ = picture(summary(themes=(moved, *THEMES[1:])))
    assert chart_problems(other, fig, summary()), "the chart of other scores passed for these"


def test_the_axis_is_the_theme_scale_from_1_to_5() -> None:
    _, fig = picture(summary())
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    assert 0.5 <= low < 1 and 5 < high <= 5.5, "the 1–5 scale, never from 0"
    assert list(ax.get_xticks()) == [1, 2, 3, 4, 5]
    assert ax.get_xlabel() == "Theme score (1 = low, 5 = high)"


# --- disagreement, the earlier check --------------------------------------------------------------


def record(answers: dict[str, tuple[int, ...]]) -> SessionRecord:
    """A finished check's record: per question, each colleague's option number."""
    users = ["anna", "bram", "carla"]
    meta = SessionMeta(
        id="c0ffee",
        channel="console:local:room",
        dialogue="socialmedia-check",
        language="en",
        facilitator="anna",
        facilitator_name="Anna",
        state=END,
        path=list(answers),
        status=FINISHED,
        decision="pilot",
        finished_at=datetime(2026, 12, 2, tzinfo=UTC).timestamp(),
    )
    per_question = {
        q: {
            user: Answer(choices=(choice,), at=float(i))
            for i, (user, choice) in enumerate(zip(users, picks, strict=True))
        }
        for q, picks in answers.items()
    }
    names = {"anna": "Anna", "bram": "Bram", "carla": "Carla"}
    return SessionRecord(meta=meta, answers=per_question, users=users, names=names)


def real_summary(language: str = "en") -> Summary:
    """Through the real build_summary: "fit" answers lie one step apart (3/5/5 and 3/3/5), "capacity"
    three steps (options 1 and 4 of four: the disagreement rule flags it)."""
    answers = {"strategy": (2, 3, 3), "vision": (2, 2, 3), "time": (1, 4, 4), "management": (2, 2, 1)}
    return build_summary(Lens(DIALOGUE, Flow(DIALOGUE), language), record(answers))


def test_the_summary_carries_each_colleagues_theme_score() -> None:
    themes = {t.theme_id: t for t in real_summary().themes}
    assert themes["fit"].scores == (3.0, 4.0, 5.0)  # anna (3+3)/2, bram (5+3)/2, carla (5+5)/2
    assert themes["capacity"].scores == (1.5, 3.0, 3.5)  # anna (1+2)/2, bram (5+1)/2, carla (5+2)/2
    assert themes["fit"].disagreements == () and themes["capacity"].disagreements


def test_only_a_theme_the_disagreement_rule_flags_is_highlighted() -> None:
    s = real_summary()
    image, fig = picture(s)
    assert chart_problems(image, fig, s) == []
    rows = {t.theme_id: row for row, t in enumerate(s.themes)}
    fit, capacity = rows["fit"], rows["capacity"]
    for row, score, y, colour in dots(s):
        assert colour == (chart.HIGHLIGHT if row == capacity else chart.PERSON)
        assert count(image, at(fig, score, y), chart.HIGHLIGHT) == (25 if row == capacity else 0)
    assert count(image, at(fig, 4.75, capacity - 0.1), chart.BAND, 3) == 49
    assert count(image, at(fig, 4.75, fit - 0.1), chart.BAND, 3) == 0
    labels = {t.get_text(): t.get_color() for t in fig.axes[0].get_yticklabels()}
    assert labels["Time and people"] == chart.HIGHLIGHT and labels["Fit with our\ncourse"] == chart.MEAN  # wrapped
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "disagreement on a question" in legend

    calm = replace(s, themes=tuple(replace(t, disagreements=()) for t in s.themes))
    image, fig = picture(calm)
    assert everywhere(image, chart.HIGHLIGHT) == 0 and everywhere(image, chart.BAND) == 0
    assert "disagreement on a question" not in [t.get_text() for t in fig.legends[0].get_texts()]


def test_the_earlier_mean_is_a_ghost_with_an_arrow_only_when_there_was_an_earlier_check() -> None:
    alone, alone_fig = picture(summary())
    assert everywhere(alone, chart.GHOST) == 0 and everywhere(alone, chart.ARROW) == 0
    assert len(alone_fig.legends[0].get_texts()) == 3

    s = summary(previous=PREVIOUS)
    image, fig = picture(s)
    assert chart_problems(image, fig, s) == []
    for row, change in enumerate(PREVIOUS.themes[:2]):
        assert change.before is not None and change.now is not None
        assert count(image, at(fig, change.before, row - 0.4), chart.GHOST, 1) == 9, "the earlier mean's bar"
        middle = (change.before + change.now) / 2
        assert count(image, at(fig, middle, row + chart.ARROW_Y), chart.ARROW, 1) >= 3, "the arrow to today"
    assert "last check (3 December 2025)" in [t.get_text() for t in fig.legends[0].get_texts()]
    no_history = replace(PREVIOUS, themes=tuple(replace(c, before=None) for c in PREVIOUS.themes))
    image, _ = picture(summary(previous=no_history))
    assert everywhere(image, chart.GHOST) == 0, "an earlier check without these themes leaves no ghost"


# --- words: title, language, alt text ---------------------------------------------------------------


def figure_texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text"))]  # type: ignore[attr-defined]


def test_the_title_says_the_decision_and_the_date_and_the_subtitle_who_and_when_again() -> None:
    _, fig = picture(summary())
    texts = figure_texts(fig)
    assert "Decision: Pilot · 2 December 2026" in texts
    assert "Participants: 3 · look again on 1 March 2027" in texts
    assert not any(name in text for text in texts for name in ("Annabel", "Bartholomew", "Carla")), "anonymous"
    not_now = summary(decision=replace(summary().decision, value="not_now", label="Not now"))
    assert render_chart(not_now) != render_chart(summary())


def test_the_dutch_chart_speaks_dutch_with_a_decimal_comma() -> None:
    s = real_summary("nl")
    _, fig = picture(s)
    texts = figure_texts(fig)
    assert "Besluit: Pilot · 2 december 2026" in texts
    assert "Themascore (1 = laag, 5 = hoog)" in texts
    values = [t.get_text() for t in fig.axes[0].texts]
    assert "4,0" in values and "2,7" in values and not any("." in v for v in values)
    alt = alt_text(s)
    assert "Tijd en mensen 2,7 van 5 (collega's van 1,5 tot 3,5, verschil van mening bij een vraag)" in alt
    assert "2.7" not in alt


def test_the_alt_text_carries_the_values_and_fits_slacks_limit() -> None:
    alt = alt_text(summary(previous=PREVIOUS))
    assert alt.startswith("Decision: Pilot · 2 December 2026. Participants: 3 · look again on 1 March 2027. ")
    assert "Fit with our course 3.8 of 5 (colleagues from 2.0 to 5.0, was 2.6)" in alt
    assert "Time and people 2.3 of 5 (colleagues from 1.0 to 4.5, disagreement on a question, was 3.2)" in alt
    assert "Listening not answered" in alt
    many = tuple(replace(THEMES[0], theme_id=f"t{n}", title=f"A rather long theme title number {n}") for n in range(40))
    long = alt_text(summary(themes=many))
    assert len(long) <= ALT_MAX and long.endswith("; ….") and "number 0 3.8 of 5" in long


def test_the_upload_sends_the_alt_text_and_the_png() -> None:
    sent: list[tuple[str, str, bytes]] = []

    class Port:
        def upload_image(self, channel, png, filename, title, alt, thread):  # type: ignore[no-untyped-def]
            sent.append((title, alt, png))
            return "F1"

    png = summary_chart.draw(summary())
    assert png is not None
    summary_chart.upload(Port(), ChannelKey("slack", "T1", "C1"), summary(), png, None)  # type: ignore[arg-type]
    assert sent == [("Where the team stands — Social media check", alt_text(summary()), png)]


# --- drawing: sizes, empty checks, determinism, threads, lazy import --------------------------------


@pytest.mark.parametrize("count_themes", [0, 1, 8])
def test_sizes_stay_readable_for_a_preview(count_themes: int) -> None:
    themes = tuple(replace(THEMES[0], theme_id=f"t{n}") for n in range(count_themes))
    image, fig = picture(summary(themes=themes))
    height, width = image.shape[:2]
    assert width == 960, "6.4 in at 150 dpi: at 360 px wide, 12 pt type is still about 10 px high"
    assert 300 <= height <= 1600
    shown = [t for t in fig.findobj(match=lambda a: hasattr(a, "get_fontsize")) if t.get_text()]  # type: ignore[attr-defined]
    assert shown and min(t.get_fontsize() for t in shown) >= 12


def test_a_check_without_scale_answers_says_not_answered() -> None:
    empty = tuple(replace(t, average=None, minimum=None, maximum=None, scores=(), disagreements=()) for t in THEMES)
    for themes in (empty, ()):
        image, fig = picture(summary(themes=themes))
        assert "not answered" in figure_texts(fig)
        assert [line for line in fig.axes[0].lines if len(line.get_xdata())] == [], "no dot, no mean"
        assert chart_problems(image, fig, summary(themes=themes)) == []


def test_a_long_heading_is_shrunk_to_fit() -> None:
    label = "a decision with a very long name that a team wrote itself"
    _, fig = picture(summary(decision=replace(summary().decision, label=label)))
    width = fig.canvas.get_width_height()[0]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    heading = next(t for t in fig.texts if t.get_text().startswith("Decision: a decision"))
    assert heading.get_window_extent(renderer).x1 <= width
    assert heading.get_fontsize() == chart.SMALLEST_PT and heading.get_text().endswith("…")
    short = next(t for t in chart.figure(summary()).texts if t.get_text().startswith("Decision: Pilot"))
    assert short.get_fontsize() == chart.HEADING_PT and not short.get_text().endswith("…")


def test_dot_places_are_deterministic_and_stack_equal_scores() -> None:
    scores = (3.0, 3.0, 3.0, 5.0)
    places = chart.offsets("s1", "fit", scores)
    assert places == chart.offsets("s1", "fit", scores)
    assert places != chart.offsets("s2", "fit", scores), "seeded by the check"
    stack = sorted(places[:3])
    assert stack[1] - stack[0] == pytest.approx(chart.STACK_STEP) == stack[2] - stack[1]
    assert all(abs(p) <= chart.JITTER + 1e-9 for p in places)
    assert chart.offsets("s1", "fit", tuple(3.0 for _ in range(10)))[0] >= -chart.JITTER - 1e-9


def test_chart_is_deterministic() -> None:
    assert render_chart(summary(previous=PREVIOUS)) == render_chart(summary(previous=PREVIOUS))


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


def test_start_up_does_not_import_matplotlib() -> None:
    code = "import bot.adapters.slack.app, bot.adapters.outbox, bot.app"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "bot.adapters.outbox" in result.stderr, "importtime lists the imported modules"
    assert "matplotlib" not in result.stderr


def test_the_readme_charts_script_draws_all_four(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/render-charts.py", str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["chart-en-earlier.png", "chart-en.png", "chart-nl-earlier.png", "chart-nl.png"]
    pictures = {name: (tmp_path / name).read_bytes() for name in names}
    assert all(data.startswith(PNG_SIGNATURE) for data in pictures.values()) and len(set(pictures.values())) == 4
    for name in names:
        assert (ROOT / "docs" / name).exists(), f"docs/{name} is missing: run scripts/render-charts.py"
