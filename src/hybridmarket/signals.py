"""The change signal, one gateway for every writer: after a transaction that changes what the
API shows (an indexed batch, a reconciliation repair, a posted or deleted comment), `Signals`
announces which markets changed. PostgreSQL NOTIFY on `hybridmarket_changes` always (sent inside
the transaction, so only committed changes are announced); Redis PUBLISH on the same channel as
well, after the commit, when `REDIS_URL` is set, for API processes that follow Redis rather than
a database session. Every process builds it the same way (`hybridmarket.bootstrap`), so a worker,
`hybridmarket indexer` and `up` announce alike.

Payload: JSON `{"slot": N, "markets": ["<hex id>", ...]}` (at most 100 ids per message), or
`{"markets": [id], "comment": {...}}` for a comment.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection

log = structlog.get_logger(__name__)

CHANNEL = "hybridmarket_changes"
IDS_PER_PAYLOAD = 100  # 100 × 67 bytes stays under PostgreSQL's 8000-byte payload limit
REDIS_TIMEOUT_S = 1.0

Publish = Callable[[str], Awaitable[Any]]


def market_changes(markets: Iterable[str], slot: int) -> list[str]:
    """The payloads announcing that `markets` changed as of `slot`."""
    ids = sorted(markets)
    return [
        json.dumps({"slot": slot, "markets": ids[i : i + IDS_PER_PAYLOAD]})
        for i in range(0, len(ids), IDS_PER_PAYLOAD)
    ]


def comment_change(market_id: str, comment: dict[str, Any]) -> str:
    """The payload announcing a posted or deleted comment: API caches drop the market and
    `GET /api/stream` emits a `comment` event."""
    return json.dumps({"markets": [market_id], "comment": comment}, separators=(",", ":"))


class Signals:
    """Announces changes: `async with signals.transaction(conn) as announce:` is
    `conn.transaction()`, and the payloads appended to `announce` are NOTIFYed inside it and
    PUBLISHed to Redis (when configured) once it has committed; a rollback announces nothing."""

    def __init__(self, publish: Publish | None = None) -> None:
        self.publish = publish  # Redis PUBLISH (redis_channel), or None without Redis

    @asynccontextmanager
    async def transaction(self, conn: AsyncConnection[Any]) -> AsyncIterator[list[str]]:
        payloads: list[str] = []
        async with conn.transaction():
            yield payloads
            for p in payloads:
                await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, p))
        await self.published(payloads)

    async def published(self, payloads: Iterable[str]) -> None:
        """PUBLISH committed changes to Redis. A failure is logged, never raised: the change is
        committed, and an API that lost Redis clears its cache when it reconnects."""
        if self.publish is None:
            return
        for p in payloads:
            try:
                await self.publish(p)
            except Exception as e:  # Redis down or slow: the writer carries on
                log.warning("change signal not published", error=f"{type(e).__name__}: {e}")
                return


def redis_channel(redis_url: str) -> str:
    """The Redis channel of the deployment at `redis_url`. Redis pub/sub ignores the database
    number, so deployments sharing one server on different databases (the URL's `/N`) would
    hear each other's changes: the channel names the database."""
    from redis.connection import parse_url

    db = parse_url(redis_url).get("db", 0)  # type: ignore[no-untyped-call]
    return f"{CHANNEL}:{db}"


@asynccontextmanager
async def redis_publisher(redis_url: str | None) -> AsyncIterator[Publish | None]:
    """A `publish(payload)` on the deployment's channel, or None without Redis."""
    if not redis_url:
        yield None
        return
    import redis.asyncio as aioredis

    client = aioredis.from_url(
        redis_url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
    )
    channel = redis_channel(redis_url)
    try:
        yield lambda payload: client.publish(channel, payload)
    finally:
        await client.aclose()


@asynccontextmanager
async def signals_for(redis_url: str | None) -> AsyncIterator[Signals]:
    """The signals every process uses: NOTIFY, and Redis when `redis_url` is set."""
    async with redis_publisher(redis_url) as publish:
        yield Signals(publish)


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
            await ps.subscribe(redis_channel(redis_url))
            async for msg in ps.listen():
                if msg.get("type") == "message":
                    yield json.loads(msg["data"])
    finally:
        await client.aclose()
