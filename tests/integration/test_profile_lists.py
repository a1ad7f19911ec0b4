"""A profile's lists through the API (real uvicorn, real PostgreSQL, real signatures): the
markets a wallet proposed and its comments, newest first, deleted comments left out, nobody
else's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from .discussion_fixtures import Served, Wallet, post_comment
from .test_follows import api  # noqa: F401 - the fixture
from .trade_fixtures import insert_market

pytestmark = pytest.mark.integration


async def test_a_wallets_markets_and_comments(
    api: Served,  # noqa: F811
    pool: AsyncConnectionPool,
) -> None:
    me, other = Wallet(), Wallet()
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    async with pool.connection() as conn:
        old = await insert_market(conn, creator=me.address, question="Old?", created_at=t0)
        new = await insert_market(
            conn,
            creator=me.address,
            question="New?",
            state="PROPOSED",
            created_at=t0 + timedelta(days=1),
            total_volume=5,
        )
        theirs = await insert_market(conn, creator=other.address, question="Theirs?")
    for mid, text in ((old, "first"), (new, "second"), (new, "deleted later")):
        assert (await post_comment(api.http, me, mid, text)).status_code == 201
    assert (await post_comment(api.http, other, theirs, "not mine")).status_code == 201
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE discussions SET deleted_at = now() WHERE content = 'deleted later'"
        )

    r = await api.http.get(f"/api/users/{me.address}/markets")
    assert r.status_code == 200, r.text
    assert [
        (m["market_id"], m["question"], m["state"], m["volume"]) for m in r.json()["markets"]
    ] == [
        (new, "New?", "PROPOSED", 5),
        (old, "Old?", "ACTIVE", 0),
    ]
    r = await api.http.get(f"/api/users/{me.address}/markets", params={"limit": 1})
    assert [m["market_id"] for m in r.json()["markets"]] == [new]

    r = await api.http.get(f"/api/users/{me.address}/comments")
    assert r.status_code == 200, r.text
    assert [(c["market_id"], c["question"], c["content"]) for c in r.json()["comments"]] == [
        (new, "New?", "second"),
        (old, "Old?", "first"),
    ]
    r = await api.http.get(f"/api/users/{Wallet().address}/comments")
    assert r.status_code == 200 and r.json()["comments"] == []
    r = await api.http.get("/api/users/not-a-wallet/markets")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
