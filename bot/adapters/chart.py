"""The summary chart: per theme every colleague's score as a dot on the 1–5 scale, the team mean marked.

One row per theme. A dot is one colleague's own mean on that theme (no names: the dots are spread up
and down at random, seeded by the check and the theme, so the same check always gives the same
picture but a dot's height names nobody). A dark bar is the team mean, its value in the right-hand
column. A theme where the disagreement rule applies (the text's rule: ``ThemeResult.disagreements``)
gets the highlight colour and a tinted band; the others do not. With an earlier check in the channel a
pale bar marks its mean, with an arrow to today's. The legend names only the marks that are drawn.

Sized for Slack's preview (about 360 px wide): 6.4 in at 150 dpi with 12–17 pt type, so the smallest
text is still about 10 px high in the thumbnail.

Pure and deterministic: the same summary gives the same PNG bytes (no timestamps or version strings in
the file). Uses matplotlib's object API with the Agg canvas, never pyplot, so it keeps no global state
and is safe to call from several threads. Only this module imports matplotlib, and only
:mod:`bot.adapters.summary_chart` imports it, when a summary is drawn.
"""

from __future__ import annotations

import io
import random
import textwrap
from collections.abc import Sequence
from math import ceil

from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from bot.adapters.chart_text import ChartWords, decimal, earlier_means, words
from bot.core.messages import Summary, ThemeResult

# Okabe–Ito colours (distinguishable with colour blindness); the highlight is also a band, not a hue alone.
PERSON = "#0072B2"
HIGHLIGHT = "#D55E00"
BAND = "#FBE3D3"
MEAN = "#222222"
GHOST = "#A9B7C6"
ARROW = "#7D8A97"
MUTED = "#5A6570"
GRID = "#E2E2E2"

DPI = 150
WIDTH_IN = 6.4
ROW_IN = 0.7
LEFT_IN, RIGHT_IN = 2.05, 0.62  # theme titles on the left, the mean's value on the right
TOP_IN = 1.0  # heading and subtitle
AXIS_IN = 0.7  # tick labels and the axis title
LEGEND_ROW_IN = 0.34
EDGE_IN = 0.15

DOT_PT = 10
JITTER = 0.26  # dots stay within ±JITTER of a row's centre (a row is 1 data unit high)
STACK_STEP = 0.23  # dots of one stack this far apart (a dot is about 0.2 rows high) while they fit
DOT_SCALE = 0.18  # a dot's width in scale units (3.7 in of axis for 4.6 units): closer scores stack
BAR = 0.46  # mean bars reach ±BAR
ARROW_Y = 0.41  # the earlier-to-today arrow runs below the dots
LABEL_CHARS = 17
HEADING_PT, SUBTITLE_PT, LABEL_PT, VALUE_PT, LEGEND_PT = 17, 13, 13, 14, 12
SMALLEST_PT = LEGEND_PT


def offsets(session_id: str, theme_id: str, scores: Sequence[float]) -> list[float]:
    """Vertical places (row fractions) of a theme's dots, one per score, in the order given.

    Dots that would touch (scores closer than a dot's width) stand one above the other, evenly spaced,
    so five people on "3" read as five dots; each such stack is shifted up or down at random within
    the row, seeded by the check and the theme (string seeds are hashed with SHA-512: the same on
    every run and machine), so a dot's height means nothing and names nobody."""
    rng = random.Random(f"{session_id}:{theme_id}")
    order = sorted(range(len(scores)), key=lambda n: scores[n])
    places = [0.0] * len(scores)
    stacks: list[list[int]] = []
    for n in order:
        if stacks and scores[n] - scores[stacks[-1][-1]] < DOT_SCALE:
            stacks[-1].append(n)
        else:
            stacks.append([n])
    for stack in stacks:
        step = min(STACK_STEP, 2 * JITTER / (len(stack) - 1)) if len(stack) > 1 else 0.0
        height = step * (len(stack) - 1)
        centre = rng.uniform(-(JITTER - height / 2), JITTER - height / 2)
        for k, n in enumerate(stack):
            places[n] = centre - height / 2 + k * step
    return places


def theme_label(title: str) -> str:
    lines = textwrap.wrap(title, LABEL_CHARS, break_long_words=True) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), LABEL_CHARS, placeholder="…")]
    return "\n".join(lines)


def _legend(summary: Summary, chart: ChartWords) -> tuple[list[Line2D], list[str]]:
    def dot(colour: str) -> Line2D:
        return Line2D([], [], ls="none", marker="o", ms=DOT_PT, mfc=colour, mec="white")

    def bar(colour: str) -> Line2D:
        return Line2D([], [], ls="none", marker="|", ms=17, mew=3.5, color=colour)

    handles, labels = [dot(PERSON), bar(MEAN)], [chart.person, chart.mean]
    if any(theme.disagreements for theme in summary.themes):
        handles.append(dot(HIGHLIGHT))
        labels.append(chart.disagree)
    if chart.before:
        handles.append(bar(GHOST))
        labels.append(chart.before)
    return handles, labels


def _row(ax: Axes, summary: Summary, row: int, theme: ThemeResult, chart: ChartWords, before: float | None) -> None:
    highlight = bool(theme.disagreements)
    colour = HIGHLIGHT if highlight else PERSON
    if highlight:
        ax.axhspan(row - 0.5, row + 0.5, color=BAND, lw=0, zorder=0)
    if theme.average is None:
        ax.text(3, row, chart.not_answered, ha="center", va="center", color=MUTED, fontsize=LABEL_PT, style="italic")
        return
    if before is not None:
        ax.plot([before, before], [row - BAR, row + BAR], color=GHOST, lw=3.5, solid_capstyle="butt", zorder=2)
        if abs(theme.average - before) >= 0.05:
            ax.annotate(
                "",
                xy=(theme.average, row + ARROW_Y),
                xytext=(before, row + ARROW_Y),
                arrowprops={"arrowstyle": "-|>", "color": ARROW, "lw": 2, "shrinkA": 0, "shrinkB": 4},
                zorder=2,
            )
    scores = list(theme.scores)
    ys = [row + dy for dy in offsets(summary.session_id, theme.theme_id, scores)]
    ax.plot(scores, ys, ls="none", marker="o", ms=DOT_PT, mfc=colour, mec="white", mew=1, zorder=4)
    ax.plot(
        [theme.average, theme.average],
        [row - BAR, row + BAR],
        color=MEAN,
        lw=3.5,
        solid_capstyle="butt",
        zorder=5,
        path_effects=[patheffects.Stroke(linewidth=6, foreground="white"), patheffects.Normal()],
    )
    ax.text(
        1.03,
        row,
        decimal(theme.average, summary.language),
        transform=ax.get_yaxis_transform(),  # x in axes fractions, y in rows
        ha="left",
        va="center",
        fontsize=VALUE_PT,
        fontweight="bold",
        color=HIGHLIGHT if highlight else MEAN,
    )


def _fit(text: Text, width_px: float, renderer: object) -> None:
    """A heading wider than the picture (a team's own long decision label) is set smaller, down to
    :data:`SMALLEST_PT`, and then cut with an ellipsis."""

    def too_wide() -> bool:
        return bool(text.get_window_extent(renderer).width > width_px)  # type: ignore[arg-type]

    size = float(text.get_fontsize())
    while size > SMALLEST_PT and too_wide():
        size -= 1
        text.set_fontsize(size)
    words = text.get_text()
    while too_wide() and len(words) > 1:
        words = words[:-1].rstrip()
        text.set_text(words + "…")


def figure(summary: Summary) -> Figure:
    """The chart as a laid-out figure on an Agg canvas (``render_chart`` saves it; tests read its pixels)."""
    chart = words(summary)
    themes = summary.themes
    rows = max(len(themes), 1)
    handles, labels = _legend(summary, chart)
    legend_in = LEGEND_ROW_IN * ceil(len(handles) / 2) + 0.1
    height = TOP_IN + rows * ROW_IN + AXIS_IN + legend_in
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    fig.subplots_adjust(
        left=LEFT_IN / WIDTH_IN,
        right=1 - RIGHT_IN / WIDTH_IN,
        top=1 - TOP_IN / height,
        bottom=(AXIS_IN + legend_in) / height,
    )
    ax = fig.add_subplot(1, 1, 1)

    earlier = earlier_means(summary)
    for row, theme in enumerate(themes):
        _row(ax, summary, row, theme, chart, earlier.get(theme.theme_id))
    if not themes:
        ax.text(3, 0, chart.not_answered, ha="center", va="center", color=MUTED, fontsize=LABEL_PT, style="italic")

    scale_max = max((t.scale_max for t in themes), default=5) or 5
    ax.set_xlim(0.7, scale_max + 0.3)  # the scale, 1 to 5: never from 0
    ax.set_xticks(range(1, scale_max + 1))
    ax.tick_params(axis="x", labelsize=LABEL_PT, length=0, pad=6)
    ax.set_xlabel(chart.axis, fontsize=LEGEND_PT, color=MUTED, labelpad=6)
    ax.set_ylim(rows - 0.5, -0.5)  # the first theme on top
    ax.set_yticks(range(len(themes)), labels=[theme_label(t.title) for t in themes], fontsize=LABEL_PT)
    ax.tick_params(axis="y", length=0, pad=8)
    for tick, theme in zip(ax.get_yticklabels(), themes, strict=True):
        tick.set_color(HIGHLIGHT if theme.disagreements else MEAN)
    ax.grid(axis="x", color=GRID, lw=1)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#BBBBBB")

    edge = EDGE_IN / WIDTH_IN
    heading = fig.text(edge, 1 - EDGE_IN / height, chart.heading, fontsize=HEADING_PT, fontweight="bold", va="top")
    subtitle = fig.text(
        edge, 1 - (EDGE_IN + 0.42) / height, chart.subtitle, fontsize=SUBTITLE_PT, color=MUTED, va="top"
    )
    fig.legend(
        handles,
        labels,
        loc="lower left",
        bbox_to_anchor=(edge, 0.05 / height),
        ncols=2,
        fontsize=LEGEND_PT,
        frameon=False,
        handletextpad=0.4,
        columnspacing=1.4,
        borderaxespad=0,
    )
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    for text in (heading, subtitle):
        _fit(text, (WIDTH_IN - 2 * EDGE_IN) * DPI, renderer)
    return fig


def render_chart(summary: Summary) -> bytes:
    """PNG bytes of the chart, in the summary's language."""
    buffer = io.BytesIO()
    # No "Software"/creation metadata: identical input gives identical bytes.
    figure(summary).savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
