"""The outbox's file operation: to the channel, privately to the one who asked, retried while the
platform's failure is transient, and a final failure told to the person who asked."""

from __future__ import annotations

from dataclasses import dataclass, field

from tenacity import wait_none

from bot.adapters.console_out import MemoryRefs
from bot.adapters.outbox import OutboundError, Outbox, ReplyTo
from bot.core.messages import Audience, ChannelKey, FileExport
from tests.adapters.test_outbox import RecordingPort

KEY = ChannelKey("test", "team", "room")


@dataclass
class FilePort(RecordingPort):
    uploads: list[tuple[str, bytes, str, str, str | None]] = field(default_factory=list)
    upload_failures: list[OutboundError] = field(default_factory=list)

    def upload_file(
        self,
        channel: ChannelKey,
        content: bytes,
        filename: str,
        mime: str,
        title: str,
        thread: str | None,
        user: str | None,
    ) -> str:
        if self.upload_failures:
            self.log.append(("upload failed", filename))
            raise self.upload_failures.pop(0)
        self.uploads.append((filename, content, mime, title, user))
        return user or channel.channel


def export(audience: Audience = Audience.CHANNEL) -> FileExport:
    return FileExport("record.md", b"# Record\n", "text/markdown", "Record (Markdown)", audience)


def test_to_the_channel_and_privately_to_whoever_asked() -> None:
    port = FilePort()
    outbox = Outbox(port, MemoryRefs(), workers=0, wait=wait_none())
    outbox.send(KEY, export(), reply=ReplyTo(user="U1"))
    outbox.send(KEY, export(Audience.EPHEMERAL), reply=ReplyTo(user="U2"))
    assert port.uploads == [
        ("record.md", b"# Record\n", "text/markdown", "Record (Markdown)", None),
        ("record.md", b"# Record\n", "text/markdown", "Record (Markdown)", "U2"),
    ]


def test_a_private_file_for_nobody_is_not_sent_to_the_channel() -> None:
    port = FilePort()
    done: list[str | None] = []
    Outbox(port, MemoryRefs(), workers=0).send(KEY, export(Audience.EPHEMERAL), on_done=done.append)
    assert port.uploads == [] and done == [None]


def test_a_transient_failure_is_retried_and_a_lasting_one_reported_to_the_asker() -> None:
    port = FilePort(upload_failures=[OutboundError("502", transient=True)])
    outbox = Outbox(port, MemoryRefs(), workers=0, wait=wait_none(), attempts=3)
    outbox.send(KEY, export(), reply=ReplyTo(user="U1"))
    assert len(port.uploads) == 1 and port.log == [("upload failed", "record.md")]

    port = FilePort(upload_failures=[OutboundError("403 forbidden")])
    done: list[str | None] = []
    outbox = Outbox(port, MemoryRefs(), workers=0, wait=wait_none(), attempts=3)
    outbox.send(KEY, export(), reply=ReplyTo(user="U1"), on_done=done.append)
    assert port.uploads == [] and len(done) == 1 and "403 forbidden" in str(done[0])
    assert [who for who, _ in port.log] == ["upload failed", "ephemeral:U1"]  # not retried; U1 is told
