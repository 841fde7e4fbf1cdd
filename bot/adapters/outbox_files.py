"""Files on their way out: the outbox's operation for a :class:`FileExport`, and the chart an HTML
export embeds (drawn here, in the adapter layer, because only this layer may load matplotlib)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.adapters import summary_chart
from bot.adapters.chart_text import alt_text
from bot.core.messages import Audience, ChannelKey, FileExport, Summary
from bot.ports import ReplyTo

if TYPE_CHECKING:
    from bot.adapters.outbox import Outbox

log = logging.getLogger(__name__)


def deliver_file(self: Outbox, channel: ChannelKey, export: FileExport, reply: ReplyTo, session: str | None) -> None:
    """Upload the file to the channel, or privately to whoever asked (``Audience.EPHEMERAL``).

    Retried like every post while the platform's failure is transient; a file that finally fails
    is reported to the person who asked, as any failed delivery is."""
    user: str | None = None
    if export.audience is Audience.EPHEMERAL:
        if not reply.user:
            log.info("a private export for nobody in %s was not sent", channel)
            return
        user = reply.user
    where = self.call(
        self.port.upload_file, channel, export.content, export.filename, export.mime, export.title, None, user
    )
    log.info("exported %s (%d bytes) to %s", export.filename, len(export.content), where or channel)


def export_chart(summary: Summary) -> tuple[bytes, str] | None:
    """The summary chart as PNG bytes with its alt text, for an HTML export; None when it cannot be drawn."""
    png = summary_chart.draw(summary)
    return None if png is None else (png, alt_text(summary))
