"""`trades` and `price_history`: appended from trade (and activation) events; read back for
charts, a wallet's history and its totals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

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
