"""A wallet's portfolio and profile: its positions with their average-cost holdings
(`position_costs`, kept by the trades trigger of migration 0011) and the settled markets it
created, valued and sent as the portfolio's JSON built by PostgreSQL; its profile's counts and
lists."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, AsyncRawCursor
from psycopg.rows import dict_row

# The JSON text builders of the market bodies (the same encoding rules).
from hybridmarket.db.queries import _jsontext as js

_MARKET_FIELDS = (
    "m.state, m.question, m.creator_wallet, m.current_price, m.final_outcome, m.b_parameter, "
    "m.shares_yes AS market_shares_yes, m.shares_no AS market_shares_no, "
    "m.claimed_shares_yes, m.claimed_shares_no, m.current_liquidity, m.accumulated_lp_fees, "
    "m.accumulated_resolver_fees"
)


MAX_POSITIONS = 1000  # a portfolio lists at most this many positions (and created markets)
# (A constant in the SQL, not a parameter: with its LIMIT a parameter, PostgreSQL planned the
# portfolio's statement anew on each execution, its generic plan costed higher.)

# A wallet's ($1) positions, each with its market and its YES and NO holdings by the
# average-cost method (cost_basis_*, realized_*: 0 without trades); most recently traded first
# (positions_user_idx; a wallet's own positions sorted, at most MAX_POSITIONS).
POSITION_ROWS = (
    "SELECT p.market_id, p.shares_yes, p.shares_no, p.trades_count, p.last_trade_at, "
    f"p.has_claimed, p.claimed_amount, {_MARKET_FIELDS}, "
    "coalesce(y.cost_basis, 0) AS cost_basis_yes, coalesce(y.realized_pnl, 0) AS realized_yes, "
    "coalesce(n.cost_basis, 0) AS cost_basis_no, coalesce(n.realized_pnl, 0) AS realized_no "
    "FROM positions p JOIN markets m ON m.id = p.market_id "
    "LEFT JOIN position_costs y ON y.user_wallet = p.user_wallet "
    "AND y.market_id = p.market_id AND y.outcome "
    "LEFT JOIN position_costs n ON n.user_wallet = p.user_wallet "
    "AND n.market_id = p.market_id AND NOT n.outcome "
    "WHERE p.user_wallet = $1 "
    f"ORDER BY p.last_trade_at DESC NULLS LAST, p.market_id LIMIT {MAX_POSITIONS}"
)
# The FINALIZED or CANCELLED markets the wallet ($1) created (markets_creator_newest_idx), with
# what `withdraw_liquidity` needs to know; at most MAX_POSITIONS.
CREATED_ROWS = (
    f"SELECT m.id AS market_id, {_MARKET_FIELDS} FROM markets m "
    "WHERE m.creator_wallet = $1 AND m.state IN ('FINALIZED', 'CANCELLED') "
    f"ORDER BY m.id LIMIT {MAX_POSITIONS}"
)


# ---- the portfolio's body, built by PostgreSQL ------------------------------------------
# The API sends it as it comes: one statement, no per-row Python. It is the JSON of
# `api.routes.users.portfolio_model` (the Python reference: the average-cost P&L, the value of
# open and settled positions, the action, the creator's withdrawable liquidity, by the
# program's rules) for the rows of POSITION_ROWS and CREATED_ROWS, compact and in its field
# order, so the bytes are the ones FastAPI wrote for that model
# (tests/integration/test_portfolio_json.py compares them on random histories).

_UNIT = "1000000000"  # a price of 1 (lmsr.PRICE_SCALE)
# Dividing an integer by this (scale 9) is exact, so floor and ceil of the quotient are the
# integer floor and ceiling that Python's // takes (div() truncates towards zero).
_PER_UNIT = "1000000000.000000000"


def _decided(r: str) -> str:
    """FINALIZED with an outcome: a claim pays the winning shares, 1 lamport each."""
    return f"({r}.state = 'FINALIZED' AND {r}.final_outcome IS NOT NULL)"


def _priced(rows: str) -> str:
    """The rows of the query `rows` (positions or markets, with _MARKET_FIELDS) as `r`, with
    their market's LMSR prices (`lmsr_prices`, migration 0015) as price_yes and price_no where
    its claims are priced by them: settled without an outcome (INVALID, CANCELLED); else NULL,
    not computed. (OFFSET 0 keeps the subquery whole, so that its condition gates the call
    rather than filter what the call returned.)"""
    due = "r.state = 'CANCELLED' OR (r.state = 'FINALIZED' AND r.final_outcome IS NULL)"
    return (
        f"SELECT r.*, lp.price_yes, lp.price_no FROM ({rows}) r LEFT JOIN LATERAL (SELECT * "
        f"FROM lmsr_prices(r.market_shares_yes, r.market_shares_no, r.b_parameter) "
        f"WHERE {due} OFFSET 0) lp ON true"
    )


def _payout(r: str, yes: str, no: str) -> str:
    """`processor.payout` of `yes` and `no` shares in the settled market of row `r` (its
    prices from `_priced`)."""
    return (
        f"CASE WHEN {_decided(r)} THEN CASE WHEN {r}.final_outcome THEN {yes} ELSE {no} END "
        f"ELSE floor(({yes} * {r}.price_yes + {no} * {r}.price_no) "
        f"/ {_PER_UNIT}) END"
    )


def _withdrawable(r: str) -> str:
    """What withdraw_liquidity pays the creator of the settled market of row `r` now: the pool
    and fees it holds above `processor.outstanding_claims` (the program's rule)."""
    uy = f"({r}.market_shares_yes - {r}.claimed_shares_yes)"
    un = f"({r}.market_shares_no - {r}.claimed_shares_no)"
    outstanding = (
        f"CASE WHEN {_decided(r)} THEN CASE WHEN {r}.final_outcome THEN {uy} ELSE {un} END "
        f"WHEN {r}.market_shares_yes = 0 AND {r}.market_shares_no = 0 THEN 0 "
        f"ELSE ceil(({uy} * {r}.price_yes + {un} * {r}.price_no) "
        f"/ {_PER_UNIT}) END"
    )
    held = f"{r}.current_liquidity + {r}.accumulated_lp_fees + {r}.accumulated_resolver_fees"
    return f"greatest(0, {held} - ({outstanding}))"


def _average_price(basis: str, shares: str) -> str:
    """basis / shares floored to 9 decimals, as a JSON string; null without shares."""
    return (
        f"CASE WHEN {shares} = 0 THEN 'null' ELSE "
        f"'\"' || (div({basis} * {_UNIT}, {shares}) * 0.000000001)::text || '\"' END"
    )


_SETTLED = "s.state IN ('FINALIZED', 'CANCELLED')"
# Each position valued: `value` (marked at the current price, or what the claim pays once
# settled, 0 once claimed), `realized` and `unrealized` P&L, and the `action` that applies.
_SCORED = (
    "SELECT s.*, v.value, "
    "s.realized_yes + s.realized_no + CASE WHEN s.has_claimed THEN s.claimed_amount - s.basis "
    f"WHEN {_decided('s')} THEN v.value - s.basis ELSE 0 END AS realized, "
    f"CASE WHEN s.has_claimed OR {_decided('s')} THEN 0 ELSE v.value - s.basis END "
    "AS unrealized, "
    "CASE WHEN s.state = 'ACTIVE' AND (s.shares_yes > 0 OR s.shares_no > 0) THEN 'sell' "
    f"WHEN {_SETTLED} AND NOT s.has_claimed AND v.value > 0 THEN 'claim' "
    f"WHEN {_SETTLED} AND s.creator_wallet = $1 AND {_withdrawable('s')} > 0 "
    "THEN 'withdraw_liquidity' END AS action "
    "FROM priced s CROSS JOIN LATERAL (SELECT CASE WHEN s.has_claimed THEN 0 "
    f"WHEN {_SETTLED} THEN {_payout('s', 's.shares_yes', 's.shares_no')} "
    "ELSE floor(s.shares_yes * s.current_price + s.shares_no * (1 - s.current_price)) "
    "END AS value) v"
)
_POSITION = js.text(
    js.obj(
        [
            ("market_id", js.plain("p.market_id")),
            ("question", js.value("p.question")),
            ("state", js.plain("p.state")),
            ("shares_yes", js.number("p.shares_yes")),
            ("shares_no", js.number("p.shares_no")),
            ("average_price_yes", _average_price("p.cost_basis_yes", "p.shares_yes")),
            ("average_price_no", _average_price("p.cost_basis_no", "p.shares_no")),
            ("cost_basis_yes", js.number("p.cost_basis_yes")),
            ("cost_basis_no", js.number("p.cost_basis_no")),
            ("cost_basis", js.number("p.basis")),
            ("price_yes", js.decimal("p.current_price", null=False)),
            ("value", js.number("p.value")),
            ("realized_pnl", js.number("p.realized")),
            ("unrealized_pnl", js.number("p.unrealized")),
            ("claimed", js.number("p.claimed_amount")),
            ("has_claimed", "p.has_claimed::text"),
            ("action", "coalesce('\"' || p.action || '\"', 'null')"),
            ("trades_count", js.number("p.trades_count")),
            ("last_trade_at", js.time("p.last_trade_at")),
        ]
    )
)
_CREATED = js.text(
    js.obj(
        [
            ("market_id", js.plain("c.market_id")),
            ("question", js.value("c.question")),
            ("state", js.plain("c.state")),
            ("withdrawable", js.number("c.withdrawable")),
            ("action", "'\"withdraw_liquidity\"'"),
        ]
    )
)


def _sum(expr: str, where: str | None = None) -> str:
    """The sum of `expr` over the positions (those where `where` holds), 0 over none."""
    only = "" if where is None else f" FILTER (WHERE {where})"
    return js.number(f"coalesce(sum({expr}){only}, 0)")


PORTFOLIO_JSON = (
    "WITH priced AS (SELECT h.*, h.cost_basis_yes + h.cost_basis_no AS basis "
    f"FROM ({_priced(POSITION_ROWS)}) h), "
    # Materialized: each position's value and P&L computed once, not at each reference.
    f"positions AS MATERIALIZED ({_SCORED}), "
    "created AS MATERIALIZED (SELECT * FROM (SELECT r.market_id, r.question, r.state, "
    f"{_withdrawable('r')} AS withdrawable FROM ({_priced(CREATED_ROWS)}) r) c "
    "WHERE c.withdrawable > 0) "
    "SELECT "
    + js.text(
        js.obj(
            [
                ("wallet", js.plain("$1::text")),
                (
                    "positions",
                    f"'[' || coalesce(string_agg({_POSITION}, ',' ORDER BY "
                    "p.last_trade_at DESC NULLS LAST, p.market_id), '') || ']'",
                ),
                (
                    "created",
                    f"(SELECT '[' || coalesce(string_agg({_CREATED}, ',' ORDER BY c.market_id), "
                    "'') || ']' FROM created c)",
                ),
                (
                    "totals",
                    js.obj(
                        [
                            ("positions", js.number("count(*)")),
                            ("cost_basis", _sum("p.basis", where="NOT p.has_claimed")),
                            ("value", _sum("p.value")),
                            ("realized_pnl", _sum("p.realized")),
                            ("unrealized_pnl", _sum("p.unrealized")),
                            ("pnl", _sum("p.realized + p.unrealized")),
                            ("claimable", _sum("p.value", where="p.action = 'claim'")),
                            (
                                "withdrawable",
                                js.number(
                                    "(SELECT coalesce(sum(c.withdrawable), 0) FROM created c)"
                                ),
                            ),
                        ]
                    ),
                ),
            ]
        )
    )
    + " FROM positions p"
)


# Bytes, with $n placeholders, run by a raw cursor: psycopg neither parses this query (it
# caches its parse of a query only below 4 kB) nor encodes and hashes it (its key among the
# prepared statements) on each call.
_PORTFOLIO_JSON = PORTFOLIO_JSON.encode()


async def portfolio_json(conn: AsyncConnection[Any], wallet: str) -> str:
    """The wallet's `Portfolio` as JSON, built by PostgreSQL (`PORTFOLIO_JSON`): one prepared
    statement, one row."""
    async with AsyncRawCursor(conn) as cur:
        await cur.execute(_PORTFOLIO_JSON, (wallet,), prepare=True)
        row = await cur.fetchone()
    assert row is not None  # an aggregate: one row
    return str(row[0])


_PROFILE = (
    "SELECT u.created_at AS first_seen, u.last_seen_at AS last_seen, t.*, "
    "(SELECT count(*) FROM markets WHERE creator_wallet = %(w)s) AS markets_created, "
    "(SELECT count(*) FROM discussions WHERE user_wallet = %(w)s AND deleted_at IS NULL) "
    "AS comments, (SELECT count(*) FROM positions WHERE user_wallet = %(w)s) AS positions, "
    "s.realized_pnl, s.volume FROM ("
    "SELECT count(*) AS trades, coalesce(sum(total) FILTER (WHERE trade_type = 'buy'), 0) "
    "AS bought, coalesce(sum(total) FILTER (WHERE trade_type = 'sell'), 0) AS sold, "
    "count(DISTINCT market_id) AS markets_traded FROM trades WHERE user_wallet = %(w)s) t "
    "LEFT JOIN users u ON u.wallet = %(w)s LEFT JOIN trader_stats s ON s.wallet = %(w)s"
)


async def profile(conn: AsyncConnection[Any], wallet: str) -> dict[str, Any]:
    """A wallet's profile in one statement: when it was first and last seen (None if never),
    its trades (count, paid for buys, received from sales, markets traded), markets created,
    comments (not deleted), positions, and realized P&L and volume (trader_stats; None
    before its first trade); one probe or range of an index each."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_PROFILE, {"w": wallet}, prepare=True)
        row = await cur.fetchone()
        assert row is not None  # an aggregate: one row
        return row


async def created_markets(
    conn: AsyncConnection[Any], wallet: str, limit: int
) -> list[dict[str, Any]]:
    """The markets the wallet proposed, newest first: the first `limit` entries of
    markets_creator_newest_idx, in its order."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id AS market_id, question, state, created_at, total_volume "
            "FROM markets WHERE creator_wallet = %s ORDER BY created_at DESC, id LIMIT %s",
            (wallet, limit),
        )
        return await cur.fetchall()


async def comments(conn: AsyncConnection[Any], wallet: str, limit: int) -> list[dict[str, Any]]:
    """The wallet's comments not deleted, newest first, each with its market's question: the
    first `limit` entries of discussions_user_newest_idx, in its order."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT d.id, d.market_id, m.question, d.content, d.created_at FROM discussions d "
            "JOIN markets m ON m.id = d.market_id "
            "WHERE d.user_wallet = %s AND d.deleted_at IS NULL "
            "ORDER BY d.created_at DESC, d.id LIMIT %s",
            (wallet, limit),
        )
        return await cur.fetchall()
