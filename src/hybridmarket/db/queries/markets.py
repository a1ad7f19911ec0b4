"""The `markets` table: the cached chain state of each market."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from hybridmarket.db.queries._util import upsert_rows, upsert_sql
from hybridmarket.indexer.model import MARKET_COLUMNS, MarketRow

_SELECT = sql.SQL("SELECT {} FROM markets").format(
    sql.SQL(", ").join(map(sql.Identifier, MARKET_COLUMNS))
)
_UPSERT = upsert_sql("markets", MARKET_COLUMNS, ("id",), touch="updated_at")
_SMALL = 8  # below this many rows, a pipelined statement beats COPY + INSERT … SELECT


def _row(d: dict[str, Any]) -> MarketRow:
    for k, v in d.items():
        if k != "current_price" and v is not None and type(v).__name__ == "Decimal":
            d[k] = int(v)
    return MarketRow(**d)


async def load(
    conn: AsyncConnection[Any], ids: Collection[str], *, for_update: bool = False
) -> dict[str, MarketRow]:
    if not ids:
        return {}
    q = _SELECT + sql.SQL(" WHERE id = ANY(%s) ORDER BY id")
    if for_update:
        q += sql.SQL(" FOR UPDATE")
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q, (list(ids),))
        return {r.id: r for r in map(_row, await cur.fetchall())}


async def load_all(conn: AsyncConnection[Any]) -> dict[str, MarketRow]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_SELECT + sql.SQL(" ORDER BY id"))
        return {r.id: r for r in map(_row, await cur.fetchall())}


async def upsert(conn: AsyncConnection[Any], rows: Iterable[MarketRow]) -> None:
    """Insert or update market rows (set-based; inside a transaction)."""
    params = [tuple(getattr(r, c) for c in MARKET_COLUMNS) for r in rows]
    if len(params) <= _SMALL:
        if params:
            async with conn.cursor() as cur:
                await cur.executemany(_UPSERT, params)
        return
    await upsert_rows(conn, "markets", MARKET_COLUMNS, ("id",), params, touch="updated_at")
