"""Work kept in Redis under a key that names everything it was built from, so a change is never served stale:
what changes makes a new key, and the next look builds anew. For what is costly to build and read far more
often than it changes (the week board, the dashboard's count of devices due); database triggers move the
per-company counters that such keys carry (migrations 0021, 0022). Entries expire after ten minutes, so old
keys do not pile up. Without Redis the work is built every time. Also an upload kept for a few minutes between two
steps of a form (`park`), so the person does not choose the file twice."""
from __future__ import annotations

import logging
from typing import Callable

from redis.exceptions import RedisError

from flowtrack.core.regions import current_region

log = logging.getLogger("flowtrack.core.cache")

KEEP_SECONDS = 600


def kept(key: str, build: Callable[[], str]) -> str:
    """The text kept under `key`, or `build()`'s, kept from now on."""
    redis = current_region().redis
    try:
        cached = redis.get(key)
    except RedisError:
        log.warning("cache unavailable; building %s without it", key.split(":")[1])
        cached = None
    if cached is not None:
        return cached.decode()
    text = build()
    try:
        redis.set(key, text.encode(), ex=KEEP_SECONDS)
    except RedisError:
        pass
    return text


def park(key: str, data: bytes, seconds: int) -> bool:
    """Keep a person's upload for their next step (naming a file's columns, say); False when Redis is away."""
    try:
        current_region().redis.set(key, data, ex=seconds)
    except RedisError:
        log.warning("cache unavailable; an upload could not be kept")
        return False
    return True


def parked(key: str) -> bytes | None:
    """What `park` kept under the key, if it is still there."""
    try:
        return current_region().redis.get(key)
    except RedisError:
        return None


def unpark(key: str) -> None:
    try:
        current_region().redis.delete(key)
    except RedisError:
        pass
