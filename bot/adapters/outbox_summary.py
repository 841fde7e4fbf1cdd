"""The outbox's summary operation: the chart (attached or after), the report's posts in order, and the
durable outbox entry settled once the summary is out (bot.core.reminders, kind ``summary``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.adapters import summary_chart
from bot.core.messages import Audience, ChannelKey, SummaryCard
from bot.errors import PlatformError
from bot.ports import OutboundError, ReplyTo

if TYPE_CHECKING:
    from bot.adapters.outbox import Outbox

log = logging.getLogger(__name__)


def deliver_summary(self: Outbox, channel: ChannelKey, card: SummaryCard, reply: ReplyTo, session: str | None) -> None:
    summary = card.summary
    if card.audience is Audience.EPHEMERAL:
        for body in self.port.summary_bodies(channel, summary, ()):
            self.private(channel, reply, body)
        return
    thread = self.ref(summary.session_id, "header") if card.audience is Audience.THREAD else None
    chart = summary_chart.draw(summary) if self.port.chart_mode != "none" else None
    file_ids: list[str] = []
    if chart is not None and self.port.chart_mode == "attach":
        try:
            file_ids.append(summary_chart.upload(self.port, channel, summary, chart, thread))
        except PlatformError:
            log.exception("could not upload the summary chart; posting the summary without it")
    bodies = self.port.summary_bodies(channel, summary, file_ids)
    try:
        first = self.call(self.port.post, channel, bodies[0], thread)
    except OutboundError:
        if not file_ids:
            raise
        log.exception("the summary with its chart failed; posting the text alone")
        bodies = self.port.summary_bodies(channel, summary, ())
        first = self.call(self.port.post, channel, bodies[0], thread)
    for body in bodies[1:]:  # a very long summary continues in the thread of its first message
        self.call(self.port.post, channel, body, thread or first)
    if card.outbox_job and self.settle_job is not None:
        try:  # out: the durable entry that would post it later if this had failed is not needed
            self.settle_job(card.outbox_job, channel)
        except Exception:
            log.exception("could not settle the outbox entry %s; the summary may be posted twice", card.outbox_job)
    if chart is not None and self.port.chart_mode == "after":
        try:  # the chart is a bonus: the text summary is already out
            summary_chart.upload(self.port, channel, summary, chart, thread)
        except PlatformError:
            log.exception("could not upload the summary chart of session %s", summary.session_id)
