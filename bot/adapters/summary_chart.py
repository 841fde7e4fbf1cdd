"""The summary's chart on its way out: drawn once, uploaded by the platform. A bonus: a failure to
draw or upload it never holds back the text summary, and an upload is not retried."""

from __future__ import annotations

import logging

from bot.adapters.chart_text import alt_text
from bot.core.messages import ChannelKey, Summary
from bot.core.render_text import phrase
from bot.ports import OutboundPort

log = logging.getLogger(__name__)


def draw(summary: Summary) -> bytes | None:
    try:
        from bot.adapters.chart import render_chart  # matplotlib: loaded only when a summary is sent

        return render_chart(summary)
    except Exception:
        log.exception("could not draw the summary chart; the summary goes out without it")
        return None


def upload(port: OutboundPort, channel: ChannelKey, summary: Summary, png: bytes, thread: str | None) -> str:
    title = f"{phrase(summary.ui, 'chart_title', summary.language)} — {summary.title}"[:250]
    alt = alt_text(summary)  # the values themselves, for whoever cannot see the picture
    filename = f"socialmedia-check-{summary.session_id[:12]}.png"
    return port.upload_image(channel, png, filename, title, alt, thread)
