"""`trades` and `price_history`: appended from trade (and activation) events; read back for
charts, a wallet's history and its totals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from hybridmarket.db.queries._util import copy_rows

TRADE_COLUMNS = (
    "market_id",
    "user_wallet",
    "trade_type",
    "outcome",
    "shares",
    "cost",
    "protocol_fee",
    "resolver_fee",
    "lp_fee",
    "total",
    "price_after",
    "shares_yes_after",
    "shares_no_after",
    "slot",
    "tx_signature",
    "instruction_index",
    "event_index",
    "created_at",
)
PRICE_COLUMNS = (
    "market_id",
    "at",
    "price",
    "slot",
    "tx_signature",
    "instruction_index",
    "event_index",
)


async def append_trades(conn: AsyncConnection[Any], rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        await copy_rows(conn, "trades", TRADE_COLUMNS, rows)


async def append_prices(conn: AsyncConnection[Any], rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        await copy_rows(conn, "price_history", PRICE_COLUMNS, rows)


async def price_points(
    conn: AsyncConnection[Any], market_id: str, *, since: datetime | None, limit: int
) -> list[tuple[datetime, Decimal]]:
    """(at, YES price) of each price change of the market from `since`, oldest first."""
    cur = await conn.execute(
        "SELECT at, price FROM price_history "
        "WHERE market_id = %s AND at >= coalesce(%s::timestamptz, '-infinity') "
        "ORDER BY slot, seq LIMIT %s",
        (market_id, since, limit),
    )
    return [(r[0], r[1]) for r in await cur.fetchall()]


async def price_candles(
    conn: AsyncConnection[Any],
    market_id: str,
    *,
    seconds: int,
    since: datetime | None,
    limit: int,
) -> list[tuple[datetime, Decimal, Decimal, Decimal, Decimal, int]]:
    """(interval start, open, high, low, close, changes) of each `seconds`-long interval with
    a price change from `since`, oldest first (grouped by the database)."""
    cur = await conn.execute(
        "SELECT to_timestamp(floor(extract(epoch FROM at) / %s) * %s) AS bucket, "
        "(array_agg(price ORDER BY slot, seq))[1], max(price), min(price), "
        "(array_agg(price ORDER BY slot DESC, seq DESC))[1], count(*) "
        "FROM price_history "
        "WHERE market_id = %s AND at >= coalesce(%s::timestamptz, '-infinity') "
        "GROUP BY bucket ORDER BY bucket LIMIT %s",
        (seconds, seconds, market_id, since, limit),
    )
    return [(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in await cur.fetchall()]


async def of_wallet(
    conn: AsyncConnection[Any], wallet: str, *, before: tuple[int, int] | None, limit: int
) -> list[dict[str, Any]]:
    """The wallet's trades before the (slot, seq) `before`, newest first (chain order
    backwards: trades_user_order_idx), each with its market's question."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT t.*, m.question FROM trades t JOIN markets m ON m.id = t.market_id "
            "WHERE t.user_wallet = %s "
            "AND (%s::bigint IS NULL OR (t.slot, t.seq) < (%s::bigint, %s::bigint)) "
            "ORDER BY t.slot DESC, t.seq DESC LIMIT %s",
            (wallet, *((None, None, None) if before is None else (before[0], *before)), limit),
        )
        return await cur.fetchall()


async def of_market(
    conn: AsyncConnection[Any],
    market_id: str,
    *,
    before: tuple[int, int] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The market's trades before the (slot, seq) `before`, newest first (chain order
    backwards: trades_market_order_idx)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT * FROM trades WHERE market_id = %s "
            "AND (%s::bigint IS NULL OR (slot, seq) < (%s::bigint, %s::bigint)) "
            "ORDER BY slot DESC, seq DESC LIMIT %s",
            (market_id, *((None, None, None) if before is None else (before[0], *before)), limit),
        )
        return await cur.fetchall()


async def after_slot(
    conn: AsyncConnection[Any], market_id: str, slot: int, *, limit: int = 200
) -> list[dict[str, Any]]:
    """The market's trades in slots after `slot`, in chain order (what the live stream sends
    after a change)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT * FROM trades WHERE market_id = %s AND slot > %s ORDER BY slot, seq LIMIT %s",
            (market_id, slot, limit),
        )
        return await cur.fetchall()


async def activity(
    conn: AsyncConnection[Any],
    market_id: str,
    *,
    seconds: int,
    since: datetime | None,
    limit: int,
) -> list[tuple[datetime, int, int, int]]:
    """(interval start, volume = LMSR amounts traded, trades, distinct traders) of each
    `seconds`-long interval with trades from `since`, oldest first (trades_market_idx)."""
    cur = await conn.execute(
        "SELECT to_timestamp(floor(extract(epoch FROM created_at) / %s) * %s) AS bucket, "
        "sum(cost), count(*), count(DISTINCT user_wallet) FROM trades "
        "WHERE market_id = %s AND created_at >= coalesce(%s::timestamptz, '-infinity') "
        "GROUP BY bucket ORDER BY bucket LIMIT %s",
        (seconds, seconds, market_id, since, limit),
    )
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in await cur.fetchall()]
