"""The one outbound path to the chat, for every platform and every process.

``Outbox.send(channel, messages, reply=...)`` needs nothing but a channel key and neutral messages,
so a background job in another process can post as well as a request handler can. One table maps
each message type to its operation (header post-or-update, question post, coalesced tally edit,
notice, summary with chart); a platform only implements the primitives of
:class:`bot.ports.OutboundPort` (post, update, ephemeral, upload, and its renderers).

Jobs of one channel run strictly in order on a small worker pool, and every call is retried with
exponential backoff while the platform's failure is transient (:mod:`bot.adapters.outbox_calls`). A
message that finally fails is logged and the user who caused it is told privately; it is never
dropped silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from cachetools import LRUCache

from bot.adapters.outbox_calls import PlatformCalls, Wait, failure_reason
from bot.adapters.outbox_files import deliver_file
from bot.adapters.outbox_summary import deliver_summary
from bot.adapters.outbox_tally import TallyEdits
from bot.core.messages import (
    Audience,
    CardMode,
    ChannelKey,
    FileExport,
    HeaderCard,
    Message,
    Notice,
    QuestionCard,
    SummaryCard,
    TallyChanged,
    Tone,
    language_of,
    session_of,
)
from bot.core.render_text import phrase
from bot.errors import BotError
from bot.ports import AdapterStore, ChatService, OutboundError, OutboundPort, RefStore, ReplyTo
from bot.runtime.clock import Clock
from bot.runtime.coalesce import CoalescingStore, Snapshots, TallyCoalescer
from bot.runtime.metrics import NO_METRICS, Metrics
from bot.runtime.workers import OrderedWorkers

log = logging.getLogger(__name__)

__all__ = ["OutboundError", "Outbox", "ReplyTo", "Wait"]

CACHE_SIZE = 10_000  # sessions and channels remembered per process (SMC_CACHE_SIZE); least recent out first
REF_WAIT_MAX = 1.6  # seconds of back-off for a question ref another replica is still storing
TALLY_SPREAD = 0.5  # a tally window lasts 1 to 1.5 times its length (bot.runtime.coalesce)
T = TypeVar("T")


class Outbox(TallyEdits):
    def __init__(
        self,
        port: OutboundPort,
        refs: RefStore,
        *,
        ui: Callable[[str | None], Mapping[str, str]] | None = None,
        cards: Callable[[str, str], QuestionCard | None] | None = None,
        tally_store: CoalescingStore | None = None,
        window: float = 1.0,
        workers: int = 4,
        attempts: int = 5,
        wait: Wait | None = None,
        sleep: Callable[[float], None] = time.sleep,
        ref_wait: float = REF_WAIT_MAX,
        settle: Callable[[str, ChannelKey], None] | None = None,
        metrics: Metrics = NO_METRICS,
        snapshots: Snapshots | None = None,
        cache_size: int = CACHE_SIZE,
        tally_clock: Clock | None = None,
        tally_spread: float = TALLY_SPREAD,
    ) -> None:
        """``workers=0`` delivers in the caller's thread (the console; one batch at a time, whichever
        thread sends it); without ``tally_store`` tally changes are rendered and edited at once instead
        of being coalesced. ``settle(job, channel)`` is told when a summary that has a durable outbox
        entry (``SummaryCard.outbox_job``) went out, so the entry is not posted again. ``snapshots``
        (the service) renders a window's closing edit from what its close script returned;
        ``cache_size`` bounds the per-process maps below; ``tally_clock``: the tally windows' (tests);
        ``tally_spread``: how much longer than ``window`` a window may last, drawn per window so
        windows opened together drift apart (bot.runtime.coalesce; tests that move the clock by
        exact windows pass 0)."""
        self.port = port
        self._refs = refs
        self._ui = ui
        self._cards = cards
        self._calls = PlatformCalls(port.platform, attempts=attempts, wait=wait, sleep=sleep, metrics=metrics)
        self._ref_wait = ref_wait
        self._workers = OrderedWorkers(workers, name=f"{port.platform}-out") if workers > 0 else None
        self._snapshots = snapshots
        self.coalescer = (
            TallyCoalescer(
                tally_store,
                self._render_fresh,
                self._queue_edit,
                window=window,
                clock=tally_clock,
                spread=tally_spread,
                snapshots=self if snapshots is not None else None,
                deliver_to=self._queue_edit,
            )
            if tally_store is not None
            else None
        )
        self._last_cards: OrderedDict[tuple[str, str], QuestionCard] = OrderedDict()
        self._guard = threading.Lock()
        # Bounded (least recently used out first), read and written under self._guard:
        self._channels: LRUCache[str, ChannelKey] = LRUCache(cache_size)  # session id -> channel ("channel" ref)
        self._latest: LRUCache[ChannelKey, str] = LRUCache(cache_size)  # channel -> session last sent to
        self._languages: LRUCache[str, str] = LRUCache(cache_size)  # session id -> the check's language
        self._stopped = threading.Event()
        self._local = threading.local()  # .channel: the channel whose job this thread is running
        self.settle_job = settle
        self._inline = threading.RLock()  # workers=0: batches from several threads run one at a time

    @classmethod
    def for_service(
        cls, port: OutboundPort, service: ChatService, store: AdapterStore, *, window: float = 1.0, **options: Any
    ) -> Outbox:
        """The outbox of a chat adapter: refs and tally windows in the store, cards and texts from the service."""
        return cls(
            port,
            store,
            ui=service.ui,
            cards=service.question_card,
            tally_store=store,
            snapshots=service,
            window=window,
            settle=lambda job, channel: store.settle_outbox(job, str(channel)),
            **options,
        )

    # --- public surface ------------------------------------------------------------------------

    def send(
        self,
        channel: ChannelKey,
        messages: Message | Sequence[Message],
        *,
        reply: ReplyTo | None = None,
        on_done: Callable[[str | None], None] | None = None,
        still_wanted: Callable[[], bool] | None = None,
    ) -> None:
        """Deliver ``messages`` to ``channel``, after everything sent to it before. ``on_done`` is
        called once the batch is through: with None when all of it went out, else with why not.
        ``still_wanted`` is asked when the batch's turn comes: False drops the batch unsent, and then
        ``on_done`` is not called (a reminder settled or taken over while it waited its turn)."""
        batch = list(messages) if isinstance(messages, Sequence) else [messages]
        if batch:
            self._submit(channel, partial(self._run, channel, batch, reply or ReplyTo(), on_done, still_wanted))
        elif on_done is not None:
            on_done(None)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued job and coalesced tally update went out (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(deadline - time.monotonic(), 0.0)
            if not self._idle(left):
                return False
            if self._idle(0):  # a coalesced edit queues a job, a job may open a window
                return True

    def close(self, timeout: float = 5.0) -> None:
        self.wait_idle(timeout)
        self._stopped.set()
        if self.coalescer is not None:
            self.coalescer.close()
        if self._workers is not None:
            self._workers.shutdown(wait=True)

    def channel_of(self, session_id: str) -> ChannelKey | None:
        """The channel a check posts to, from the ``channel`` ref (``platform:team:channel``)."""
        with self._guard:
            channel = self._channels.get(session_id)
        if channel is None:
            text = self._refs.get_ref(session_id, "channel")
            if not text:
                return None
            try:
                channel = ChannelKey.parse(text)
            except BotError as exc:
                log.warning("unreadable channel ref of session %s: %s", session_id, exc)
                return None
            with self._guard:
                self._channels[session_id] = channel
        return channel

    # --- running a batch -----------------------------------------------------------------------

    def _idle(self, timeout: float) -> bool:
        workers = self._workers.wait_idle(timeout) if self._workers is not None else True
        return workers and (self.coalescer.wait_idle(timeout) if self.coalescer is not None else True)

    def _submit(self, channel: ChannelKey, job: Callable[[], None]) -> None:
        if self._workers is None:
            with self._inline:
                job()
        else:
            self._workers.submit(channel, job)

    def _run(
        self,
        channel: ChannelKey,
        batch: list[Message],
        reply: ReplyTo,
        on_done: Callable[[str | None], None] | None,
        still_wanted: Callable[[], bool] | None = None,
    ) -> None:
        if still_wanted is not None and not still_wanted():
            return
        self._local.channel = channel
        error: str | None = "the delivery stopped unexpectedly"
        try:
            error = self._run_batch(channel, batch, reply)
        finally:
            self._local.channel = None
            if on_done is not None:
                try:
                    on_done(error)
                except Exception:
                    log.exception("the completion callback of a delivery to %s failed", channel)

    def _run_batch(self, channel: ChannelKey, batch: list[Message], reply: ReplyTo) -> str | None:
        """Deliver the batch; None when everything went out, else what went wrong first."""
        # Thread notices do not always name their check; the cards around them do.
        with self._guard:
            latest = self._latest.get(channel)
        session = next((sid for m in batch if (sid := session_of(m))), None) or latest
        failed: str | None = None
        later = False  # a summary that failed here, which its durable outbox entry will post later
        for message in batch:
            session = session_of(message) or session
            try:
                if session:
                    # a click's tally change writes no "channel" ref: its question's post did
                    self._remember(session, channel, language_of(message), write=not isinstance(message, TallyChanged))
                _OPERATIONS[type(message)](self, channel, message, reply, session)
            except OutboundError as exc:
                if exc.not_member and reply.hook is not None:
                    log.warning("the bot is not a member of %s; asking the user to invite it", channel)
                    self._say_privately(reply, phrase(self._ui_for(reply, session), "invite_hint", reply.language))
                    return f"not a member of the channel ({exc})"
                log.exception("could not deliver a %s to %s", type(message).__name__, channel)
                failed = failed or failure_reason(exc)
                later = later or (isinstance(message, SummaryCard) and bool(message.outbox_job))
            except Exception as exc:  # one failed message must not lose the rest of the batch
                log.exception("could not deliver a %s to %s", type(message).__name__, channel)
                failed = failed or repr(exc)
        if failed:
            self._tell_failure(channel, reply, session, "delivery_failed_later" if later else "delivery_failed")
        return failed

    def _remember(self, session: str, channel: ChannelKey, language: str | None, write: bool = True) -> None:
        with self._guard:
            self._latest[channel] = session
            known = self._channels.get(session) == channel
            self._channels[session] = channel
            if language:
                self._languages[session] = language
        if write and not known:
            self._refs.set_ref(session, "channel", str(channel))

    def _language_of(self, session: str | None) -> str | None:
        with self._guard:
            return self._languages.get(session) if session else None

    def _ui_for(self, reply: ReplyTo, session: str | None) -> Mapping[str, str]:
        language = reply.language or self._language_of(session)
        try:
            return self._ui(language) if self._ui is not None else {}
        except Exception:
            log.exception("no interface texts for %s", language)
            return {}

    def _tell_failure(self, channel: ChannelKey, reply: ReplyTo, session: str | None, key: str) -> None:
        language = reply.language or self._language_of(session)
        text = phrase(self._ui_for(reply, session), key, language)
        if reply.user:
            try:
                body = self.port.notice_body(channel, Notice(text, Audience.EPHEMERAL, Tone.ERROR))
                self.call(self.port.ephemeral, channel, reply.user, body, reply.thread)
                return
            except Exception:
                log.exception("could not tell %s privately that a delivery to %s failed", reply.user, channel)
        if reply.hook is not None:
            self._say_privately(reply, text)
        elif not reply.user:
            log.error("a delivery to %s failed and no user is there to tell", channel)

    @staticmethod
    def _say_privately(reply: ReplyTo, text: str) -> None:
        assert reply.hook is not None
        try:
            reply.hook(text)
        except Exception:
            log.exception("could not answer through the request's reply hook")

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """One platform call, retried while its failure is transient (bot.adapters.outbox_calls)."""
        return self._calls.call(fn, *args)

    def ref(self, session_id: str | None, name: str) -> str | None:
        return self._refs.get_ref(session_id, name) if session_id else None

    # --- the operations, one per message type ------------------------------------------------

    def _header(self, channel: ChannelKey, card: HeaderCard, reply: ReplyTo, session: str | None) -> None:
        body = self.port.header_body(card)
        if card.mode is CardMode.UPDATE:
            ref = self.ref(card.session_id, "header")
            if ref:
                self.call(self.port.update, channel, ref, body)
                return
            log.warning("no header message known for session %s; posting a new one", card.session_id)
        self._refs.set_ref(card.session_id, "header", self.call(self.port.post, channel, body, None))

    def _question(self, channel: ChannelKey, card: QuestionCard, reply: ReplyTo, session: str | None) -> None:
        view = card.view
        if card.mode is CardMode.UPDATE:
            self._updated(channel, card)
            return
        name = f"q:{view.question_id}"
        earlier = self.ref(view.session_id, name)
        if earlier:  # the question is asked again (back): retire the old message's buttons first
            try:
                self.call(
                    self.port.update, channel, earlier, self.port.question_body(channel, replace(view, closed=True))
                )
            except OutboundError:
                log.warning("could not close the earlier message of question %s", view.question_id)
        body = self.port.question_body(channel, view)
        thread = self.ref(view.session_id, "header")
        self._refs.set_ref(view.session_id, name, self.call(self.port.post, channel, body, thread))

    def _notice(self, channel: ChannelKey, notice: Notice, reply: ReplyTo, session: str | None) -> None:
        body = self.port.notice_body(channel, notice)
        if notice.audience is Audience.EPHEMERAL:
            self.private(channel, reply, body)
            return
        thread = self.ref(notice.session_id or session, "header") if notice.audience is Audience.THREAD else None
        self.call(self.port.post, channel, body, thread)

    def private(self, channel: ChannelKey, reply: ReplyTo, body: dict[str, Any]) -> None:
        if not reply.user:
            log.info("a private message for nobody in %s was not sent", channel)
            return
        self.call(self.port.ephemeral, channel, reply.user, body, reply.thread)


_Operation = Callable[[Outbox, ChannelKey, Any, ReplyTo, "str | None"], None]
_OPERATIONS: dict[type, _Operation] = {
    HeaderCard: Outbox._header,
    QuestionCard: Outbox._question,
    TallyChanged: Outbox._tally,
    Notice: Outbox._notice,
    SummaryCard: deliver_summary,
    FileExport: deliver_file,
}
