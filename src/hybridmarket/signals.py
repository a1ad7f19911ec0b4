"""The cache-invalidation signal: after each applied batch the indexer announces which markets
changed. PostgreSQL NOTIFY on `hybridmarket_changes` always (sent inside the batch's transaction,
so only committed changes are announced); Redis PUBLISH on the same channel as well when
`REDIS_URL` is set, for API processes that share Redis rather than a database session.

Payload: JSON `{"slot": N, "markets": ["<hex id>", ...]}` (at most 100 ids per message).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg

CHANNEL = "hybridmarket_changes"


@asynccontextmanager
async def redis_publisher(
    redis_url: str | None,
) -> AsyncIterator[Callable[[str], Awaitable[Any]] | None]:
    """A `publish(payload)` for the indexer, or None when Redis is not configured."""
    if not redis_url:
        yield None
        return
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    try:
        yield lambda payload: client.publish(CHANNEL, payload)
    finally:
        await client.aclose()


async def changes_from_postgres(db_url: str) -> AsyncIterator[dict[str, Any]]:
    """Follow the NOTIFY signal on a dedicated connection (ends if the connection drops)."""
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        async for note in conn.notifies():
            yield json.loads(note.payload)


async def changes_from_redis(redis_url: str) -> AsyncIterator[dict[str, Any]]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    try:
        async with client.pubsub() as ps:
            await ps.subscribe(CHANNEL)
            async for msg in ps.listen():
                if msg.get("type") == "message":
                    yield json.loads(msg["data"])
    finally:
        await client.aclose()
