"""`trades` and `price_history`: appended from trade (and activation) events."""

from __future__ import annotations

from collections.abc import Sequence
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
