"""A wallet's portfolio and profile: its positions with their average-cost holdings
(`position_costs`, kept by the trades trigger of migration 0011), the settled markets it created,
and its profile's counts."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

_MARKET_FIELDS = (
    "m.state, m.question, m.creator_wallet, m.current_price, m.final_outcome, m.b_parameter, "
    "m.shares_yes AS market_shares_yes, m.shares_no AS market_shares_no, "
    "m.claimed_shares_yes, m.claimed_shares_no, m.current_liquidity, m.accumulated_lp_fees, "
    "m.accumulated_resolver_fees"
)


async def positions(conn: AsyncConnection[Any], wallet: str) -> list[dict[str, Any]]:
    """The wallet's positions (positions_user_idx), each with its market and its YES and NO
    holdings by the average-cost method (cost_basis_*, realized_*: 0 without trades); most
    recently traded first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT p.market_id, p.shares_yes, p.shares_no, p.total_invested, p.total_withdrawn, "
            "p.trades_count, p.last_trade_at, p.has_claimed, p.claimed_amount, "
            f"{_MARKET_FIELDS}, "
            "coalesce(y.cost_basis, 0) AS cost_basis_yes, coalesce(y.realized_pnl, 0) "
            "AS realized_yes, coalesce(n.cost_basis, 0) AS cost_basis_no, "
            "coalesce(n.realized_pnl, 0) AS realized_no "
            "FROM positions p JOIN markets m ON m.id = p.market_id "
            "LEFT JOIN position_costs y ON y.user_wallet = p.user_wallet "
            "AND y.market_id = p.market_id AND y.outcome "
            "LEFT JOIN position_costs n ON n.user_wallet = p.user_wallet "
            "AND n.market_id = p.market_id AND NOT n.outcome "
            "WHERE p.user_wallet = %s "
            "ORDER BY p.last_trade_at DESC NULLS LAST, p.market_id LIMIT %s",
            (wallet, MAX_POSITIONS),
        )
        return await cur.fetchall()


MAX_POSITIONS = 1000  # a portfolio lists at most this many positions


async def settled_created(conn: AsyncConnection[Any], wallet: str) -> list[dict[str, Any]]:
    """The FINALIZED or CANCELLED markets the wallet created (markets_creator_idx), with what
    `withdraw_liquidity` needs to know."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT m.id AS market_id, {_MARKET_FIELDS} FROM markets m "
            "WHERE m.creator_wallet = %s AND m.state IN ('FINALIZED', 'CANCELLED') "
            "ORDER BY m.id LIMIT %s",
            (wallet, MAX_POSITIONS),
        )
        return await cur.fetchall()


async def profile_counts(conn: AsyncConnection[Any], wallet: str) -> dict[str, Any]:
    """Markets created, comments (not deleted), positions, and realized P&L and volume
    (trader_stats) of a wallet: one probe of an index each."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT (SELECT count(*) FROM markets WHERE creator_wallet = %(w)s) AS markets_created, "
            "(SELECT count(*) FROM discussions WHERE user_wallet = %(w)s AND deleted_at IS NULL) "
            "AS comments, (SELECT count(*) FROM positions WHERE user_wallet = %(w)s) AS positions, "
            "(SELECT realized_pnl FROM trader_stats WHERE wallet = %(w)s) AS realized_pnl, "
            "(SELECT volume FROM trader_stats WHERE wallet = %(w)s) AS volume",
            {"w": wallet},
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def created_markets(
    conn: AsyncConnection[Any], wallet: str, limit: int
) -> list[dict[str, Any]]:
    """The markets the wallet proposed, newest first (markets_creator_idx: a wallet's few)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id AS market_id, question, state, created_at, total_volume "
            "FROM markets WHERE creator_wallet = %s ORDER BY created_at DESC, id LIMIT %s",
            (wallet, limit),
        )
        return await cur.fetchall()


async def comments(conn: AsyncConnection[Any], wallet: str, limit: int) -> list[dict[str, Any]]:
    """The wallet's comments not deleted, newest first, each with its market's question
    (discussions_user_idx)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT d.id, d.market_id, m.question, d.content, d.created_at FROM discussions d "
            "JOIN markets m ON m.id = d.market_id "
            "WHERE d.user_wallet = %s AND d.deleted_at IS NULL "
            "ORDER BY d.created_at DESC, d.id LIMIT %s",
            (wallet, limit),
        )
        return await cur.fetchall()
