"""Fan-out of change signals to the API: the cache is invalidated and live subscribers
(`GET /api/stream`, Server-Sent Events) are told. Signals come from PostgreSQL NOTIFY, or Redis
pub/sub when REDIS_URL is set (see `hybridmarket.signals`); the follower reconnects on its own
and clears the cache after a gap, since signals may have been missed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog

from hybridmarket.api.cache import Cache
from hybridmarket.signals import changes_from_postgres, changes_from_redis

log = structlog.get_logger(__name__)


class Hub:
    """Subscribers each get a bounded queue; a slow one loses old events, never blocks others."""

    def __init__(self) -> None:
        self._subs: set[asyncio.Queue[dict[str, Any]]] = set()

    def publish(self, event: dict[str, Any]) -> None:
        for q in list(self._subs):
            if q.full():
                q.get_nowait()
            q.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of the changes published while the block runs (waiting on it with a
        timeout is safe: cancelling `queue.get()` loses nothing)."""
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._subs.add(q)
        try:
            yield q
        finally:
            self._subs.discard(q)

    @property
    def subscribers(self) -> int:
        return len(self._subs)


async def follow_changes(
    db_url: str, redis_url: str | None, cache: Cache, hub: Hub, stop: asyncio.Event
) -> None:
    delay = 0.2
    while not stop.is_set():
        try:
            source = changes_from_redis(redis_url) if redis_url else changes_from_postgres(db_url)
            cache.clear()  # whatever changed while not listening
            async for change in source:
                markets = [str(m) for m in change.get("markets", [])]
                cache.invalidate(markets)
                hub.publish(change)
                delay = 0.2
        except asyncio.CancelledError:
            raise
        except Exception as e:  # connection lost: reconnect
            log.warning("change signal lost; reconnecting", error=f"{type(e).__name__}: {e}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, 5.0)
