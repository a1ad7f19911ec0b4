"""The `positions` table: each wallet's position in each market, as on chain; the indexer's
loads and upserts, and a wallet's positions with their markets for the API."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from hybridmarket.db.queries._util import upsert_rows, upsert_sql
from hybridmarket.db.rows import POSITION_COLUMNS, PositionRow

_SELECT = sql.SQL("SELECT {} FROM positions").format(
    sql.SQL(", ").join(map(sql.Identifier, POSITION_COLUMNS))
)
_UPSERT = upsert_sql("positions", POSITION_COLUMNS, ("market_id", "user_wallet"))
_SMALL = 8  # below this many rows, a pipelined statement beats COPY + INSERT … SELECT


def _row(d: dict[str, Any]) -> PositionRow:
    for k, v in d.items():
        if v is not None and type(v).__name__ == "Decimal":
            d[k] = int(v)
    return PositionRow(**d)


async def load(
    conn: AsyncConnection[Any], keys: Collection[tuple[str, str]], *, for_update: bool = False
) -> dict[tuple[str, str], PositionRow]:
    if not keys:
        return {}
    markets, users = zip(*sorted(keys), strict=True)
    q = _SELECT + sql.SQL(
        " WHERE (market_id, user_wallet) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
        " ORDER BY market_id, user_wallet"
    )
    if for_update:
        q += sql.SQL(" FOR UPDATE")
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q, (list(markets), list(users)))
        return {(r.market_id, r.user_wallet): r for r in map(_row, await cur.fetchall())}


async def load_all(conn: AsyncConnection[Any]) -> dict[tuple[str, str], PositionRow]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_SELECT + sql.SQL(" ORDER BY market_id, user_wallet"))
        return {(r.market_id, r.user_wallet): r for r in map(_row, await cur.fetchall())}


async def upsert(conn: AsyncConnection[Any], rows: Iterable[PositionRow]) -> None:
    """Insert or update position rows (set-based; inside a transaction)."""
    params = [tuple(getattr(r, c) for c in POSITION_COLUMNS) for r in rows]
    if len(params) <= _SMALL:
        if params:
            async with conn.cursor() as cur:
                await cur.executemany(_UPSERT, params)
        return
    await upsert_rows(conn, "positions", POSITION_COLUMNS, ("market_id", "user_wallet"), params)


async def of_wallet_with_markets(conn: AsyncConnection[Any], wallet: str) -> list[dict[str, Any]]:
    """The wallet's positions, each with its market's state, price, outcome and question; most
    recently traded first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT p.*, m.state, m.current_price, m.final_outcome, m.question, m.finalized_at "
            "FROM positions p JOIN markets m ON m.id = p.market_id WHERE p.user_wallet = %s "
            "ORDER BY p.last_trade_at DESC NULLS LAST",
            (wallet,),
        )
        return await cur.fetchall()


async def top_holders(
    conn: AsyncConnection[Any], market_id: str, *, outcome: bool, limit: int
) -> list[tuple[str, int]]:
    """(wallet, shares) of the market's largest holders of one side, largest first, ties by
    wallet (positions_market_yes_idx / positions_market_no_idx)."""
    column = "shares_yes" if outcome else "shares_no"
    cur = await conn.execute(
        sql.SQL(
            "SELECT user_wallet, {c} FROM positions WHERE market_id = %s AND {c} > 0 "
            "ORDER BY {c} DESC, user_wallet LIMIT %s"
        ).format(c=sql.Identifier(column)),
        (market_id, limit),
    )
    return [(r[0], int(r[1])) for r in await cur.fetchall()]
