"""The summary chart: per theme the team's average score, with the min–max spread of the answers.

Pure and deterministic: the same summary gives the same PNG bytes (no timestamps or version strings in
the file). Uses matplotlib's object API with the Agg canvas, never pyplot, so it keeps no global state
and is safe to call from several threads.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.core.messages import Summary, ThemeResult

_BAR = "#4C72B0"
_BAR_DISAGREE = "#DD8452"
_SPREAD = "#333333"
_EMPTY = "#999999"
_DPI = 100


def _ui(summary: Summary, key: str, default: str) -> str:
    return summary.ui.get(key) or default


def render_chart(summary: Summary) -> bytes:
    """PNG bytes of a horizontal bar chart, labelled in the summary's language."""
    themes: tuple[ThemeResult, ...] = summary.themes
    scale_max = max((t.scale_max for t in themes), default=5) or 5
    rows = max(len(themes), 1)
    fig = Figure(figsize=(8.0, 1.4 + 0.55 * rows), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    not_answered = _ui(summary, "not_answered", "not answered")

    labels: list[str] = []
    for row, theme in enumerate(reversed(themes)):
        label = theme.title if len(theme.title) <= 40 else theme.title[:39] + "…"
        if theme.disagreements:
            label += " (!)"
        labels.append(label)
        if theme.average is None:
            ax.text(0.05, row, not_answered, va="center", ha="left", color=_EMPTY, fontstyle="italic", fontsize=9)
            continue
        color = _BAR_DISAGREE if theme.disagreements else _BAR
        ax.barh(row, theme.average, height=0.55, color=color, zorder=2)
        if theme.minimum is not None and theme.maximum is not None:
            ax.hlines(row, theme.minimum, theme.maximum, colors=_SPREAD, linewidth=2, zorder=3)
            ax.vlines([theme.minimum, theme.maximum], row - 0.15, row + 0.15, colors=_SPREAD, linewidth=2, zorder=3)
        ax.text(min(theme.average, scale_max) + 0.08, row + 0.3, f"{theme.average:.1f}", va="center", fontsize=8)

    if not themes:
        ax.text(scale_max / 2, 0, not_answered, va="center", ha="center", color=_EMPTY, fontstyle="italic")
        labels = [""]
    ax.set_yticks(range(len(labels)), labels=labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlim(0, scale_max + 0.5)
    ax.set_xticks(range(1, scale_max + 1))
    ax.grid(axis="x", color="#DDDDDD", zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    title = _ui(summary, "chart_title", "Where the team stands")
    ax.set_title(f"{title} — {summary.title}" if summary.title else title, fontsize=11, loc="left")
    fig.tight_layout()

    buffer = io.BytesIO()
    # No "Software"/creation metadata: identical input gives identical bytes.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
