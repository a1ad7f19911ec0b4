"""Indexed rows for the portfolio, leaderboard and activity tests: markets, trades (appended
with the indexer's own COPY, so the database's triggers see them as they see the indexer's)
and positions, as the indexer writes them."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import base58
from psycopg import AsyncConnection
from solders.keypair import Keypair

from hybridmarket.db.queries import trades as q_trades


def new_wallet() -> str:
    return str(Keypair().pubkey())


def new_signature() -> str:
    return base58.b58encode(os.urandom(64)).decode()


async def insert_market(
    conn: AsyncConnection[Any],
    *,
    state: str = "ACTIVE",
    creator: str | None = None,
    price: str = "0.5",
    question: str | None = None,
    **columns: Any,
) -> str:
    """A market row as the indexer writes it (b = 1000 SOL-units of shares unless given)."""
    mid = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    values = {
        "id": mid,
        "on_chain_address": new_wallet(),
        "creator_wallet": creator or new_wallet(),
        "resolver_wallet": new_wallet(),
        "state": state,
        "b_parameter": 100_000_000_000,
        "current_price": price,
        "initial_liquidity": 70_000_000_000,
        "created_at": datetime.now(UTC),
        "last_slot": 1,
        **columns,
    }
    names = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    await conn.execute(f"INSERT INTO markets ({names}) VALUES ({marks})", list(values.values()))
    if question is not None:
        await conn.execute("UPDATE markets SET question = %s WHERE id = %s", (question, mid))
    return mid


@dataclass
class TradeRow:
    market_id: str
    wallet: str
    side: str  # buy | sell
    outcome: bool
    shares: int
    total: int  # paid (buy) or received (sell)
    cost: int  # LMSR amount (before fees)
    slot: int
    at: datetime
    price_after: str = "0.5"

    def values(self) -> tuple[Any, ...]:
        return (
            self.market_id,
            self.wallet,
            self.side,
            self.outcome,
            self.shares,
            self.cost,
            0,
            0,
            max(0, self.total - self.cost) if self.side == "buy" else 0,
            self.total,
            self.price_after,
            0,
            0,
            self.slot,
            new_signature(),
            0,
            0,
            self.at,
        )


async def append_trades(conn: AsyncConnection[Any], rows: list[TradeRow]) -> None:
    """The rows in chain order, through the indexer's COPY."""
    await q_trades.append_trades(conn, [r.values() for r in rows])


async def insert_position(
    conn: AsyncConnection[Any],
    market_id: str,
    wallet: str,
    *,
    shares_yes: int = 0,
    shares_no: int = 0,
    has_claimed: bool = False,
    claimed_amount: int = 0,
    at: datetime | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO positions (market_id, user_wallet, shares_yes, shares_no, trades_count, "
        "last_trade_at, has_claimed, claimed_amount, last_slot) "
        "VALUES (%s, %s, %s, %s, 1, %s, %s, %s, 1)",
        (
            market_id,
            wallet,
            shares_yes,
            shares_no,
            at or datetime.now(UTC),
            has_claimed,
            claimed_amount,
        ),
    )
