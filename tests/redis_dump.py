"""Every key of a Redis, with every value of every type: what the privacy tests search for a person."""

from __future__ import annotations

import redis


def values_of(client: redis.Redis, key: str) -> list[str]:
    """The key's values as text (hash fields as ``field=value``, zset members with their scores)."""
    kind = client.type(key)
    if kind == "string":
        return [str(client.get(key))]
    if kind == "hash":
        # sorted: a hash's order is not stable (a hashtable's incremental rehash reorders it on a read)
        return sorted(f"{k}={v}" for k, v in client.hgetall(key).items())
    if kind == "list":
        return list(client.lrange(key, 0, -1))
    if kind == "set":
        return sorted(client.smembers(key))
    if kind == "zset":
        return [f"{m}@{s}" for m, s in client.zrange(key, 0, -1, withscores=True)]
    if kind == "none":  # expired between the scan and the read
        return []
    raise AssertionError(f"a key of a type this dump does not read: {key} ({kind})")


def dump(client: redis.Redis) -> dict[str, str]:
    """key -> its name and values as one text, for every key."""
    return {key: "\n".join([key, *values_of(client, key)]) for key in client.scan_iter("*")}


def holding(client: redis.Redis, *needles: str) -> dict[str, str]:
    """The keys whose name or values contain any of ``needles`` (case-sensitive), with the needle found."""
    found: dict[str, str] = {}
    for key, text in dump(client).items():
        for needle in needles:
            if needle and needle in text:
                found[key] = needle
                break
    return found
