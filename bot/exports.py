"""Exports: the running check, the channel's last finished one, or the n-th of its history, as a file.

The service side of :mod:`bot.core.export`, like :mod:`bot.followups` is for reminders: it reads the
store (one or two reads, never a write), builds the summary with the comparison beside it, lets a
pure formatter write the file, and returns neutral messages — a :class:`FileExport` for the channel
or, with ``private``, for the person who asked (and a private line saying so). The outbox uploads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from bot.core.engine.plans import Context
from bot.core.messages import Audience, ChannelKey, Event, FileExport, Message, Notice, Summary, Tone
from bot.core.session import SessionRecord
from bot.core.summary import build_summary
from bot.core.views import Lens

if TYPE_CHECKING:
    from bot.core.export.formats import Chart

log = logging.getLogger(__name__)

# The summary chart for an HTML page (bot.adapters.outbox_files.export_chart); None: no picture.
ChartMaker = Callable[[Summary], "Chart | None"]
WithPrevious = Callable[[Lens, Summary, SessionRecord], Summary]


class ExportStore(Protocol):
    """What exports read of bot.store.store.Store."""

    def load_running(self, channel: str) -> SessionRecord | None: ...
    def history(self, channel: str, limit: int = 20, offset: int = 0) -> list[SessionRecord]: ...
    def history_size(self, channel: str) -> int: ...


class Exports:
    def __init__(
        self,
        store: ExportStore,
        context: Callable[[ChannelKey | None], Context],
        with_previous: WithPrevious,
        chart: ChartMaker | None = None,
    ) -> None:
        self._store = store
        self._context = context
        self._with_previous = with_previous
        self._chart = chart

    def handle(self, channel: ChannelKey, event: Event) -> list[Message]:
        # The formats (their modules, csv among them) load with the first export: an idle process
        # that never exports does not hold them (issue 13's idle memory).
        from bot.core.export.formats import DEFAULT, FORMATS, filename, render, title
        from bot.core.export.source import build_source

        ctx = self._context(channel)
        fmt_name, _, audience = event.value.partition(":")
        fmt = FORMATS.get(fmt_name or DEFAULT)
        private = audience == "private"
        found = self._find(channel, event.text)
        if isinstance(found, Notice):
            return [found]
        if fmt is None:  # the grammar only lets known formats through; a button could carry anything
            return [self._refusal(ctx, found, "bad_arguments", detail="export [md|csv|json|html] [<n>] [private]")]
        lens = ctx.lens(found.meta.language)
        summary = self._with_previous(lens, build_summary(lens, found), found)
        source = build_source(lens, found, summary, ctx.now)
        chart = self._draw(summary) if fmt.wants_chart else None
        name = filename(source, fmt)
        export = FileExport(
            filename=name,
            content=render(source, fmt, chart),
            mime=fmt.mime,
            title=title(source, fmt),
            audience=Audience.EPHEMERAL if private else Audience.CHANNEL,
        )
        if not private:
            return [export]
        return [Notice(lens.t("export_private", filename=name), Audience.EPHEMERAL, Tone.SUCCESS), export]

    def _find(self, channel: ChannelKey, nth: str) -> SessionRecord | Notice:
        """The check to export: the n-th of the history, else the running one, else the last finished."""
        key = str(channel)
        if nth:
            number = int(nth)
            records = self._store.history(key, limit=1, offset=number - 1)
            if records:
                return records[0]
            size = self._store.history_size(key)
            return self._refusal(self._context(channel), None, "export_bad_number", n=number, count=size)
        running = self._store.load_running(key)
        if running is not None:
            return running
        last = self._store.history(key, limit=1)
        if last:
            return last[0]
        return self._refusal(self._context(channel), None, "export_nothing")

    def _draw(self, summary: Summary) -> Chart | None:
        if self._chart is None:
            return None
        try:
            return self._chart(summary)
        except Exception:  # the page is still worth having without its picture
            log.exception("could not draw the chart of an HTML export; the page goes without it")
            return None

    @staticmethod
    def _refusal(ctx: Context, record: SessionRecord | None, key: str, **values: object) -> Notice:
        lens = ctx.lens(record.meta.language if record else None)
        return Notice(lens.t(key, **values), Audience.EPHEMERAL, Tone.REFUSAL, key=key)
