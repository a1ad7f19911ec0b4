"""A wallet's notifications live over `GET /api/stream?wallet=` (real uvicorn, real PostgreSQL,
real signatures): a comment on a market the wallet holds reaches its stream and nobody else's;
`events=notification` keeps market events out, and a wallet's stream without it has them too;
one read per change signal serves every stream; a notification whose transaction commits after
a later one's is still delivered; a bad wallet or kind is 422 in the envelope."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from hybridmarket.api.routes import stream

from .discussion_fixtures import Served, Wallet, post_comment
from .test_follows import api  # noqa: F401 - the fixture
from .trade_fixtures import insert_market, insert_position

pytestmark = pytest.mark.integration


@asynccontextmanager
async def events(served: Served, **params: Any) -> AsyncIterator[asyncio.Queue[tuple[str, Any]]]:
    """The stream's (event, data) pairs, once it is connected."""
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    connected = asyncio.Event()

    async def read() -> None:
        async with served.http.stream("GET", "/api/stream", params=params) as r:
            assert r.status_code == 200, await r.aread()
            event = ""
            async for line in r.aiter_lines():
                if line == ": connected":
                    connected.set()
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    queue.put_nowait((event, json.loads(line[6:])))

    task = asyncio.create_task(read())
    try:
        await asyncio.wait_for(connected.wait(), timeout=10)
        yield queue
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def notify(pool: AsyncConnectionPool, mid: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "SELECT pg_notify('hybridmarket_changes', %s)",
            (json.dumps({"slot": 2, "markets": [mid]}),),
        )


async def insert_notification(conn: Any, wallet: str, mid: str) -> int:
    cur = await conn.execute(
        "INSERT INTO notifications (wallet, market_id, kind, outcome) "
        "VALUES (%s, %s, 'finalized', 'yes') RETURNING id",
        (wallet, mid),
    )
    row = await cur.fetchone()
    return int(row[0])


async def test_notifications_stream_to_their_wallet(
    api: Served,  # noqa: F811
    pool: AsyncConnectionPool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = 0
    original = stream.q_follows.notifications_after

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        return await original(*args, **kwargs)

    monkeypatch.setattr(stream.q_follows, "notifications_after", counted)
    holder, other, author = Wallet(), Wallet(), Wallet()
    async with pool.connection() as conn:
        mid = await insert_market(conn, question="Will the stream carry notifications?")
        await insert_position(conn, mid, holder.address, shares_yes=10)
    async with (
        events(api, wallet=holder.address, events="notification") as mine,
        events(api, wallet=holder.address, market=mid) as again,  # a market page's stream
        events(api, wallet=other.address, events="notification") as theirs,
        events(api, market=mid) as market_events,
    ):
        assert (await post_comment(api.http, author, mid, "a comment")).status_code == 201
        assert (await asyncio.wait_for(again.get(), timeout=10))[0] == "comment"
        for q in (mine, again):
            event, data = await asyncio.wait_for(q.get(), timeout=10)
            assert event == "notification", (event, data)
            assert (data["kind"], data["market_id"], data["author"]) == (
                "comment",
                mid,
                author.address,
            )
            assert data["question"] == "Will the stream carry notifications?"
            assert data["read"] is False and "chain_time" in data
        listed = (await api.http.get(f"/api/users/{holder.address}/notifications")).json()
        assert [n["id"] for n in listed["notifications"]] == [data["id"]]
        assert (await asyncio.wait_for(market_events.get(), timeout=10))[0] == "comment"
        assert reads == 1  # one read for the signal, for both streams of the wallet

        # Ids are taken before commit: the first transaction commits last, after a signal
        # announced the second; its notification still arrives.
        async with pool.connection() as first, pool.connection() as second:
            async with first.transaction():
                early = await insert_notification(first, holder.address, mid)
                async with second.transaction():
                    late = await insert_notification(second, holder.address, mid)
                await notify(pool, mid)
                event, data = await asyncio.wait_for(mine.get(), timeout=10)
                assert (event, data["id"]) == ("notification", late)
            await notify(pool, mid)
        event, data = await asyncio.wait_for(mine.get(), timeout=10)
        assert (event, data["id"]) == ("notification", early)
        # events=notification: no market or comment events (nor anyone else's notifications).
        await asyncio.sleep(0.3)
        assert theirs.empty()
        while not mine.empty():
            assert mine.get_nowait()[0] == "notification"

    r = await api.http.get("/api/stream", params={"wallet": "not-a-wallet"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", r.text
    r = await api.http.get("/api/stream", params={"events": "everything"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", r.text
