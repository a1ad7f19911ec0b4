"""The market rows the API's JSON is built from, read as dicts: what `api.common.market_json`
(the Python reference of that JSON) takes, for the tests that hold the database-built bodies
to it and check the list's plans and pages (the API itself reads only the JSON)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from hybridmarket.db.queries import markets as q_markets


async def page_rows(conn: AsyncConnection[Any], **kw: Any) -> list[dict[str, Any]]:
    """The rows of `q_markets.page_query(**kw)`: a page of the list, its keysets and 24-hour
    changes."""
    query, params = q_markets.page_query(**kw)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def one_row(conn: AsyncConnection[Any], market_id: str) -> dict[str, Any] | None:
    """One market with its metadata (`q_markets.ONE_ROW`), or None."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q_markets.ONE_ROW, {"id": market_id})
        return await cur.fetchone()
