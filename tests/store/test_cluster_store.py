"""The store on a real Redis Cluster (three primaries with a replica each, tests/store/cluster_nodes.py):
whole checks in channels spread over every primary, their reminders, history, click path and privacy."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.core.messages import ChannelKey, Notice
from bot.core.reminders import Kind, State, for_check, reminder_id
from bot.core.session import Answer, new_session_id
from bot.ports import Delivery
from bot.runtime.scheduler import ReminderScheduler, SchedulerOptions
from bot.service import CheckService
from bot.store.connect import RedisTarget
from bot.store.keys import BUCKET_TAGS, CLUSTER_BUCKETS, Keys
from bot.store.store import Store
from tests.conftest import make_record
from tests.store.cluster_nodes import Cluster, cluster  # noqa: F401  (the module-scoped fixture)
from tests.team import Team
from tests.test_followups import DIALOGUE, NUDGE_AFTER, Clock, Posts, World, finish

# One console channel per bucket: the checks' keys land on every primary.
ROOMS = [f"room{n}" for n in range(200)]


def rooms_per_bucket() -> list[ChannelKey]:
    keys, chosen = Keys("smc", cluster=True), {}
    for room in ROOMS:
        channel = ChannelKey("console", "local", room)
        chosen.setdefault(keys.bucket_of_channel(str(channel)), channel)
    assert len(chosen) == CLUSTER_BUCKETS
    return [chosen[b] for b in sorted(chosen)]


@pytest.fixture
def cluster_store(cluster: Cluster) -> Iterator[Store]:  # noqa: F811
    store = Store.connect(RedisTarget(redis_url=cluster.url, redis_mode="cluster"), prefix=f"t{time.time_ns()}")
    store.preload_scripts()
    yield store
    store.close()


def test_the_bucket_tags_spread_over_the_slots_and_a_channels_keys_share_one() -> None:
    from redis.crc import key_slot

    assert [key_slot(tag.encode()) // 1024 for tag in BUCKET_TAGS] == list(range(CLUSTER_BUCKETS))
    keys = Keys("smc", cluster=True)
    channel = "slack:T1:C1"
    sid = new_session_id(channel)
    same = {
        key_slot(k.encode())
        for k in (
            keys.session(sid),
            keys.refs(sid),
            keys.running(channel),
            keys.history(channel),
            keys.reminder("abcd1234", channel),
            keys.queue_of_channel(channel),
            keys.channel_reminders(channel),
            keys.channel_sessions(channel),
            keys.team_channels(channel),
            keys.channel_marks(channel),
            keys.once("mark", b"k", channel),
            keys.claim_window("guard", b"k", channel),
            *keys.window(f"tally:{sid}:q1"),
        )
    }
    assert len(same) == 1
    assert len({key_slot(k.encode()) for k in keys.window("other")}) == 1
    # outside a cluster the names are those the bot always used
    plain = Keys("smc")
    assert (plain.session("s1"), plain.running(channel), plain.reminder_queue("slack")) == (
        "smc:s:s1",
        f"smc:ch:{channel}",
        "smc:remq:slack",
    )


def test_whole_checks_in_every_bucket_finish_and_their_reminders_fire_once(
    cluster: Cluster,  # noqa: F811
    cluster_store: Store,
) -> None:
    channels = rooms_per_bucket()
    clock = Clock()
    service = CheckService(DIALOGUE, cluster_store, clock=clock, nudge_after=NUDGE_AFTER)
    posts = Posts()
    scheduler = ReminderScheduler(
        cluster_store.reminders,
        service.followups,
        {str(c): posts for c in channels},
        options=SchedulerOptions(attempts=3, backoff=60),
        clock=clock.epoch,
    )
    summaries = []
    for channel in channels:
        world = World(Team(service, channel=channel), clock, posts, scheduler, cluster_store)
        summary = finish(world, decision="pilot")
        assert summary.summary.revisit_scheduled
        cluster_store.settle_outbox(summary.outbox_job, str(channel))
        assert [r.id for r in cluster_store.history(str(channel))] == [summary.summary.session_id]
        summaries.append((channel, summary))
    # the keys are spread over all three primaries
    holding = set()
    for node in cluster.primaries():
        with node.connected() as client:
            if client.dbsize() > 0:
                holding.add(node.port)
    assert len(holding) == 3
    revisits = [
        cluster_store.reminders.get(reminder_id(Kind.REVISIT, s.summary.session_id), str(c)) for c, s in summaries
    ]
    assert all(r is not None and r.state is State.SCHEDULED for r in revisits)
    clock.to(max(r.due for r in revisits if r is not None))
    fired = 0
    for _ in range(10):
        fired += scheduler.tick()
    # each channel: its pilot check-in and its revisit, once each
    assert fired == 2 * len(channels)
    assert scheduler.tick() == 0
    per_channel: dict[str, int] = {}
    for channel, batch in posts.sent:
        assert any(isinstance(m, Notice) for m in batch)
        per_channel[str(channel)] = per_channel.get(str(channel), 0) + 1
    assert per_channel == {str(c): 2 for c in channels}
    assert all(
        cluster_store.reminders.get(reminder_id(Kind.REVISIT, s.summary.session_id), str(c)).state  # type: ignore[union-attr]
        is State.POSTED
        for c, s in summaries
    )


def test_the_click_path_forget_me_and_purge_on_a_cluster(cluster_store: Store) -> None:
    channels = [str(c).replace("console:local", "slack:T9") for c in rooms_per_bucket()[:4]]
    records = []
    for channel in channels:
        record = make_record(channel=channel, sid=new_session_id(channel))
        assert cluster_store.create(record).ok
        records.append(record)
    for record in records:
        channel = record.meta.channel
        delivery = Delivery(channel=channel, mark=f"click:{record.id}", mark_ttl=600, window_ms=500)
        first = cluster_store.record_click(record.id, "q1", "U1", Answer(choices=(1,)), "Una", None, delivery)
        again = cluster_store.record_click(record.id, "q1", "U1", Answer(choices=(1,)), "Una", None, delivery)
        assert (first.status, first.lead, again.status) == ("ok", True, "duplicate")
        assert cluster_store.add_note(record.id, make_note(), "Una").ok
        assert cluster_store.load_running(channel) is not None
        cluster_store.reminders.schedule([for_check(Kind.NUDGE, channel, record.id, time.time() + 3600, "q1")])
    # forget-me finds the team's checks in every bucket
    team = cluster_store.privacy.team_checks(channels[0])
    assert {r.id for r in team} == {r.id for r in records}
    gone = cluster_store.privacy.forget(team[0], "U1")
    assert gone.status == "ok" and gone.answers == 1
    purged = cluster_store.privacy.purge(channels[1], [records[1].id], ["q1"])
    assert purged.checks == 1 and purged.reminders == 1
    assert cluster_store.load(records[1].id) is None and cluster_store.load(records[2].id) is not None


def make_note():  # type: ignore[no-untyped-def]
    from bot.core.session import Note

    return Note(question="q1", user="U1", text="we have no time", at=time.time())


def test_the_settings_reach_the_cluster(cluster: Cluster) -> None:  # noqa: F811
    from bot.app import build_store
    from bot.config import load_settings

    store = build_store(load_settings({"SMC_REDIS_MODE": "cluster", "REDIS_URL": cluster.url}))
    try:
        assert store.ping()
        record = make_record(channel="mattermost:team1:chan1", sid=new_session_id("mattermost:team1:chan1"))
        assert store.create(record).ok and store.load(record.id) is not None
    finally:
        store.close()
