"""A real Redis Cluster on loopback (tests/store/cluster_nodes.py): the fixture itself, then the store on it."""

from __future__ import annotations

import pytest
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from tests.store.cluster_nodes import SLOTS, Cluster, cluster, failover, slot_map  # noqa: F401  (the fixture)

# Sets both keys and reads them back: runs only when they share a slot.
BOTH = (
    "redis.call('SET', KEYS[1], ARGV[1]) redis.call('SET', KEYS[2], ARGV[1]) "
    "return redis.call('MGET', KEYS[1], KEYS[2])"
)


def key_on(topology: Cluster, port: int) -> str:
    """A key whose slot the primary on ``port`` serves."""
    ranges = [(first, last) for first, last, primary, _replicas in slot_map(topology.nodes[0]) if primary == port]
    return next(f"{{k{n}}}x" for n in range(100_000) if any(a <= key_slot(f"k{n}".encode()) <= b for a, b in ranges))


# --- the fixture ---------------------------------------------------------------------------------


def test_three_primaries_share_the_slots_each_with_a_replica(cluster: Cluster) -> None:  # noqa: F811
    primaries = cluster.primaries()
    assert len(primaries) == 3 and len(cluster.nodes) == 6
    owned: dict[int, int] = {}
    for first, last, primary, replicas in slot_map(cluster.nodes[0]):
        owned[primary] = owned.get(primary, 0) + last - first + 1
        assert len(replicas) == 1 and replicas[0] == cluster.replica_of(cluster.by_port(primary)).port
    assert set(owned) == {p.port for p in primaries} and all(n > 0 for n in owned.values())
    assert sum(owned.values()) == SLOTS
    assert cluster.url in {f"redis://127.0.0.1:{p.port}" for p in primaries}


def test_a_cluster_client_writes_each_key_on_the_primary_of_its_slot(cluster: Cluster) -> None:  # noqa: F811
    client = cluster.client()
    for primary in cluster.primaries():
        key = key_on(cluster, primary.port)
        assert client.set(key, primary.name) and client.get(key) == primary.name
        with primary.connected() as direct:
            assert direct.get(key) == primary.name


def test_a_script_takes_keys_of_one_slot_and_keys_of_two_are_refused(cluster: Cluster) -> None:  # noqa: F811
    client = cluster.client()
    sha = client.script_load(BOTH)
    assert client.evalsha(sha, 2, "{t}a", "{t}b", "v") == ["v", "v"]
    assert key_slot(b"a") != key_slot(b"b")
    with pytest.raises(RedisClusterException, match="same key slot"):
        client.evalsha(sha, 2, "a", "b", "v")


def test_a_failover_keeps_what_was_written_and_the_client_follows(cluster: Cluster) -> None:  # noqa: F811
    client = cluster.client()
    primary = cluster.primaries()[0]
    key = key_on(cluster, primary.port)
    client.set(key, "before")
    promoted = failover(cluster, primary)
    assert promoted in cluster.primaries() and primary not in cluster.primaries()
    assert promoted.port in {owner for _a, _b, owner, _r in slot_map(primary)}
    assert client.get(key) == "before"  # answered MOVED by the old primary, the client asks the new one
    assert client.set(key, "after") and client.get(key) == "after"
    # and back, so the tests after this one find the cluster as it started
    assert failover(cluster, promoted) is primary
    assert client.get(key) == "after"


# --- the store on a cluster (added with the cluster-safe key layout) -----------------------------
