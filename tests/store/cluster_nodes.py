"""A real Redis Cluster on loopback: six redis-server nodes (three primaries, a replica each) joined by
``redis-cli --cluster create``, for the tests of the store's cluster mode.

Tests take the module-scoped ``cluster`` fixture (``from tests.store.cluster_nodes import cluster``) and
``failover(cluster, primary)`` to promote a primary's replica. Nothing here sleeps a fixed time: every
step waits for the state it needs, as each node reports it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from redis.cluster import RedisCluster

from tests.store.redis_nodes import HOST, WAIT, Node, free_port, redis_server, start_node, wait_for

SLOTS = 16384
PRIMARIES = 3
NODE_TIMEOUT_MS = 2000  # how long a silent node goes before it is suspected down


def redis_cli() -> str:
    """The redis-cli next to the redis-server the tests run (Debian ships it in redis-tools)."""
    beside = Path(redis_server()).with_name("redis-cli")
    found = str(beside) if beside.exists() else shutil.which("redis-cli")
    if found is None:
        pytest.fail(
            "the cluster tests need redis-cli to create the cluster "
            "(Debian/Ubuntu: apt-get install -y redis-tools; macOS: brew install redis)",
            pytrace=False,
        )
    return found


def cluster_node(directory: Path, name: str) -> Node:
    def config(port: int) -> list[str]:
        # The bus gets a port of its own from the OS rather than the default port + 10000, which may be
        # taken, or above 65535 (redis refuses a cluster node on a port over 55535). Should another
        # process take it first, redis exits with "Address already in use" and start_node starts again.
        return [
            f"port {port}",
            f"cluster-port {free_port()}",
            "cluster-enabled yes",
            f"cluster-config-file nodes-{name}.conf",
            f"cluster-node-timeout {NODE_TIMEOUT_MS}",
            "appendonly no",
            'save ""',
            "repl-diskless-sync-delay 0",  # a replica syncs at once, not after the default 5 s
            # CLUSTER SLOTS leaves out a replica until its replication offset moves past 0; on an idle
            # primary only its ping to the replicas moves it, every 10 s by default.
            "repl-ping-replica-period 1",
        ]

    return start_node(directory, name, config)


def _info(node: Node, section: str) -> dict[str, Any]:
    with node.connected() as client:
        return dict(client.info(section))


def cluster_info(node: Node) -> dict[str, str]:
    with node.connected() as client:
        info = client.execute_command("CLUSTER INFO")  # redis-py parses it into {field: text}
    return {str(k): str(v) for k, v in info.items()}


def slot_map(node: Node) -> list[tuple[int, int, int, tuple[int, ...]]]:
    """The node's view of the cluster: (first slot, last slot, primary's port, replicas' ports)."""
    with node.connected() as client:
        ranges = client.execute_command("CLUSTER SLOTS")
    # Each range: [first, last, [host, port, id, ...] of the primary, then one such entry per replica].
    return sorted(
        (int(first), int(last), int(primary[1]), tuple(sorted(int(r[1]) for r in replicas)))
        for first, last, primary, *replicas in ranges
    )


def role(node: Node) -> str:
    """ "master" or "slave", as the node itself says."""
    with node.connected() as client:
        return str(client.execute_command("ROLE")[0])


@dataclass
class Cluster:
    nodes: list[Node]
    _clients: list[RedisCluster] = field(default_factory=list, repr=False)

    def by_port(self, port: int | str) -> Node:
        (node,) = (n for n in self.nodes if n.port == int(port))
        return node

    def primaries(self) -> list[Node]:
        """The nodes that are primaries now (a failover changes them), in the order of ``nodes``."""
        return [n for n in self.nodes if role(n) == "master"]

    def replica_of(self, primary: Node) -> Node:
        replication = _info(primary, "replication")
        assert replication.get("connected_slaves") == 1, f"{primary.name} has no single replica: {replication}"
        return self.by_port(replication["slave0"]["port"])

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.primaries()[0].port}"

    def client(self, **options: Any) -> RedisCluster:
        """A cluster client starting from one primary; the fixture closes it (a test may close it first)."""
        options.setdefault("socket_timeout", 5.0)
        options.setdefault("socket_connect_timeout", 5.0)
        client = RedisCluster(host=HOST, port=self.primaries()[0].port, decode_responses=True, **options)
        self._clients.append(client)
        return client

    def settled(self) -> bool:
        """Every node reports the cluster ok with all slots served, every replica is linked to its
        primary, and all nodes give the same slot map: three primaries with one replica each."""
        for node in self.nodes:
            info = cluster_info(node)
            served = (info.get("cluster_state"), info.get("cluster_slots_assigned"), info.get("cluster_slots_ok"))
            if served != ("ok", str(SLOTS), str(SLOTS)) or info.get("cluster_known_nodes") != str(len(self.nodes)):
                return False
            replication = _info(node, "replication")
            if replication["role"] == "slave" and replication.get("master_link_status") != "up":
                return False
        maps = [slot_map(n) for n in self.nodes]
        if any(m != maps[0] for m in maps):
            return False
        owners = {(primary, replicas) for _first, _last, primary, replicas in maps[0]}
        return len(owners) == PRIMARIES and all(len(replicas) == 1 for _primary, replicas in owners)

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


def start_cluster(directory: Path, size: int = 2 * PRIMARIES) -> Cluster:
    """Start ``size`` nodes and join them, one replica per primary; ``stop_cluster`` stops them."""
    cluster = Cluster([])
    try:
        for i in range(size):
            cluster.nodes.append(cluster_node(directory, f"c{i}"))
        created = subprocess.run(
            [redis_cli(), "--cluster", "create", *(f"{HOST}:{n.port}" for n in cluster.nodes)]
            + ["--cluster-replicas", "1", "--cluster-yes"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=4 * WAIT,
        )
        if created.returncode != 0:
            raise AssertionError(f"redis-cli --cluster create failed:\n{created.stdout}{created.stderr}")
        wait_for("the cluster to settle", cluster.settled)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    cluster.close_clients()
    for node in cluster.nodes:
        node.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield started
    finally:
        stop_cluster(started)


def failover(cluster: Cluster, primary: Node) -> Node:
    """Promote ``primary``'s replica with CLUSTER FAILOVER (the coordinated kind: the replica first
    catches up) and return it once it is a primary, the old primary follows it and all nodes agree."""
    replica = cluster.replica_of(primary)
    with replica.connected() as client:
        assert client.execute_command("CLUSTER FAILOVER") in (True, "OK")

    def promoted() -> bool:
        return role(replica) == "master" and role(primary) == "slave" and cluster.settled()

    wait_for(f"{replica.name} to take over from {primary.name}", promoted)
    return replica
