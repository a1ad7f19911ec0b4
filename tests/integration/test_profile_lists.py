"""A profile's lists through the API (real uvicorn, real PostgreSQL, real signatures): the
markets a wallet proposed and its comments, newest first, deleted comments left out, nobody
else's; a page of each read from its index in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from hybridmarket.db.queries import portfolio as q_portfolio

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


async def test_a_profiles_lists_read_their_page_from_the_index(pool: AsyncConnectionPool) -> None:
    """Of a wallet with many markets and comments, a page of each reads that many entries of
    its index, in the page's order (migration 0015): no sort of everything the wallet wrote."""
    me, page, many = Wallet().address, 10, 400
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO markets (id, on_chain_address, creator_wallet, resolver_wallet, state, "
            "b_parameter, current_price, initial_liquidity, created_at, last_slot) "
            "SELECT md5(i::text) || md5((-i)::text), "
            "lpad(translate(i::text, '0123456789', 'ABCDEFGHJK'), 32, '1'), %s, repeat('3', 32), "
            "'ACTIVE', 10^12, 0.5, 10^9, %s::timestamptz + (i %% 50) * interval '1 hour', 1 "
            "FROM generate_series(1, %s) i",
            (me, t0, many),
        )
        await conn.execute(
            "INSERT INTO discussions (market_id, user_wallet, content, created_at, "
            "signed_message, signature) SELECT id, %s, 'a comment', created_at, 'signed', 'sig' "
            "FROM markets",
            (me,),
        )
        await conn.execute("ANALYZE markets")
        await conn.execute("ANALYZE discussions")
        plans: list[dict[str, Any]] = []

        class Explaining(psycopg.AsyncCursor[Any]):
            async def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
                await super().execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query, params)
                row = await self.fetchone()  # a dict: the reads' cursors make dict rows
                assert row is not None
                plans.append(next(iter(row.values()))[0]["Plan"])
                return await super().execute(query, params, **kw)

        conn.cursor_factory = Explaining
        markets = await q_portfolio.created_markets(conn, me, page)
        comments = await q_portfolio.comments(conn, me, page)
        conn.cursor_factory = psycopg.AsyncCursor
    assert len(markets) == len(comments) == page
    assert [m["created_at"] for m in markets] == sorted(
        (m["created_at"] for m in markets), reverse=True
    )
    indexes = ("markets_creator_newest_idx", "discussions_user_newest_idx")
    for plan, index in zip(plans, indexes, strict=True):
        nodes = list(_nodes(plan))
        assert not [n for n in nodes if "Sort" in n["Node Type"]], plan
        scans = [n for n in nodes if n.get("Index Name") == index]
        assert scans and scans[0]["Actual Rows"] <= page, plan


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)
