"""What the service's answers say about a check, for ``/metrics`` and the log.

:class:`bot.service.CheckService` hands every answer to an event here (refusals are counted by the
UI key of their text; a DEBUG line per event, without what anyone typed) and every stored start,
end or cancellation of a check (counted, and one INFO line each). The labels are the platform and
fixed keys only; the check's id goes into the log line, never into a label.
"""

from __future__ import annotations

import logging

from bot.core.messages import ChannelKey, Event, Message, Notice, Tone, session_of
from bot.core.session import CANCELLED, FINISHED, SessionRecord
from bot.runtime.metrics import NO_METRICS, Metrics

log = logging.getLogger(__name__)


def where(channel: ChannelKey) -> dict[str, str]:
    """The log fields of a channel (bot.runtime.logs)."""
    return {"platform": channel.platform, "team": channel.team, "channel": channel.channel}


def platform_of(channel: str) -> str:
    """The platform of a channel key's text (``slack:T:C`` → ``slack``)."""
    return channel.partition(":")[0] or "none"


class Observer:
    def __init__(self, metrics: Metrics = NO_METRICS) -> None:
        self.metrics = metrics

    def handled(self, channel: ChannelKey, event: Event | None, messages: list[Message]) -> list[Message]:
        """Count the refusals among the answer to an event; one DEBUG line per event. Returns ``messages``."""
        outcome = "ok"
        for message in messages:
            if isinstance(message, Notice) and message.tone is Tone.REFUSAL:
                outcome = f"refused:{message.key or 'other'}"
                self.metrics.refused(channel.platform, message.key or "other")
            elif isinstance(message, Notice) and message.tone is Tone.ERROR:
                outcome = "error"
        if log.isEnabledFor(logging.DEBUG):
            kind = event.kind.value if event is not None else "command"
            check = (event.session_id if event else None) or next(filter(None, map(session_of, messages)), None)
            fields = {**where(channel), "check": check, "event": kind, "outcome": outcome}
            log.debug("%s in %s: %s", kind, channel, outcome, extra=fields)
        return messages

    def started(self, channel: str, record: SessionRecord, replaced: SessionRecord | None = None) -> None:
        """A new check is stored (and, for a restart, the one it replaced is abandoned)."""
        self.metrics.check_started(platform_of(channel))
        log.info("check %s started in %s", record.id, channel, extra={"check": record.id, "outcome": "started"})
        if replaced is not None:
            self.metrics.check_cancelled(platform_of(channel))
            fields = {"check": replaced.id, "outcome": "restarted"}
            log.info("check %s restarted as %s", replaced.id, record.id, extra=fields)

    def moved(self, channel: str, before: SessionRecord | None, after: SessionRecord) -> None:
        """A facilitator's move is stored: counted when it ended the check."""
        status = after.meta.status
        if before is not None and before.meta.status == status:
            return
        if status == FINISHED:
            decision = after.meta.decision or "none"
            self.metrics.check_finished(platform_of(channel), decision)
            log.info("check %s finished: %s", after.id, decision, extra={"check": after.id, "outcome": "finished"})
        elif status == CANCELLED:
            self.metrics.check_cancelled(platform_of(channel))
            log.info("check %s cancelled", after.id, extra={"check": after.id, "outcome": "cancelled"})
