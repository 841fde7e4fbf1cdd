"""Every per-process map of the delivery path is bounded (SMC_CACHE_SIZE), and dedup marks live
SMC_DEDUP_TTL, not a day."""

from __future__ import annotations

import threading

import pytest

from bot.adapters.console_out import MemoryRefs
from bot.adapters.mattermost import routes
from bot.adapters.mattermost.routes import LOCK_STRIPES
from bot.adapters.outbox import Outbox
from bot.config import load_settings
from bot.core.messages import Audience, ChannelKey, Notice
from bot.errors import ConfigError
from tests.adapters.test_outbox import RecordingPort


def test_the_outbox_remembers_at_most_cache_size_checks_and_channels() -> None:
    outbox = Outbox(RecordingPort(), MemoryRefs(), workers=0, cache_size=100)
    for i in range(1000):
        notice = Notice("hello", Audience.CHANNEL, session_id=f"s{i}")
        outbox.send(ChannelKey("console", "t", f"c{i}"), notice)
    assert len(outbox._channels) == len(outbox._latest) == 100
    assert outbox.channel_of("s999") == ChannelKey("console", "t", "c999"), "the most recent stay"
    assert "s0" not in outbox._channels
    assert outbox.channel_of("s0") == ChannelKey("console", "t", "c0"), "an evicted one is read back from its ref"


def test_mattermost_channel_locks_are_a_fixed_stripe() -> None:
    adapter = object.__new__(routes.MattermostAdapter)
    adapter._locks = tuple(threading.Lock() for _ in range(LOCK_STRIPES))
    locks = {id(adapter._lock(ChannelKey("mattermost", "t", f"c{i}"))) for i in range(10_000)}
    assert len(locks) == LOCK_STRIPES, "10,000 channels share the fixed set; none is created per channel"


def test_dedup_marks_live_minutes_by_default_and_the_cache_size_is_a_setting() -> None:
    settings = load_settings({})
    assert settings.dedup_ttl.total_seconds() == 600
    assert settings.cache_size == 10_000
    assert load_settings({"SMC_DEDUP_TTL": "PT2M", "SMC_CACHE_SIZE": "500"}).dedup_ttl.total_seconds() == 120
    with pytest.raises(ConfigError, match="SMC_DEDUP_TTL"):
        load_settings({"SMC_DEDUP_TTL": "2"})
    with pytest.raises(ConfigError, match="SMC_CACHE_SIZE"):
        load_settings({"SMC_CACHE_SIZE": "5"})
