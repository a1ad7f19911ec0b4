"""The portfolio's body built by PostgreSQL (`db.queries.portfolio.portfolio_json`, what the API
sends) is byte for byte the body the API built before in Python (`api.routes.users.
portfolio_model` of the rows, serialized as FastAPI serialized it), on random histories: open
positions and sold-out ones, claimable, claimed and lost positions, markets FINALIZED with each
outcome or INVALID, CANCELLED, the creator's withdrawable liquidity, questions with characters
JSON escapes, session time zones with offsets, and a wallet past the 1000-position limit. And
the LMSR prices it values INVALID and CANCELLED positions at (`lmsr_prices`, migration 0015)
are the program model's, to the unit."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection, AsyncRawCursor
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from pydantic import TypeAdapter

from hybridmarket.api.models import Portfolio
from hybridmarket.api.routes.users import portfolio_model
from hybridmarket.db.queries import portfolio as q_portfolio
from hybridmarket.program import lmsr

from .trade_fixtures import new_wallet

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
U64 = 2**64 - 1
QUESTIONS = [
    None,
    'Will "quoted" words, a back\\slash and a /slash survive?',
    "Will rain\tfall\non Nairobi\r\x01\x1f\x7f before \u2028 the \u2029 end?",
    "Va-t-il pleuvoir à Genève ? 東京で雨が降る? 😀🌧️",
]
# (state, final outcome) of the markets: every state, FINALIZED with YES, NO and INVALID.
KINDS = [
    ("PROPOSED", None),
    ("APPROVED", None),
    ("ACTIVE", None),
    ("ACTIVE", None),
    ("RESOLVING", None),
    ("DISPUTED", None),
    ("FINALIZED", True),
    ("FINALIZED", False),
    ("FINALIZED", None),
    ("CANCELLED", None),
]


def _reference_bytes(portfolio: Portfolio) -> bytes:
    """The body FastAPI sent for the route's returned model (its fast path: the response
    field's TypeAdapter, dump_json)."""
    return TypeAdapter(Portfolio).dump_json(portfolio, by_alias=True)


async def _rows(conn: AsyncConnection[Any], query: str, wallet: str) -> list[dict[str, Any]]:
    """The rows of `query` (its $1 the wallet) as dicts."""
    async with AsyncRawCursor(conn, row_factory=dict_row) as cur:
        await cur.execute(query, (wallet,))
        return await cur.fetchall()


async def _python_body(conn: AsyncConnection[Any], wallet: str) -> bytes:
    """The portfolio as the API built it before: the rows, then the pydantic model."""
    rows = await _rows(conn, q_portfolio.POSITION_ROWS, wallet)
    created = await _rows(conn, q_portfolio.CREATED_ROWS, wallet)
    return _reference_bytes(portfolio_model(wallet, rows, created))


def _amount(rng: random.Random, high: int) -> int:
    """0, 1, a small, a large or the largest amount."""
    return rng.choice([0, 1, rng.randrange(1, 1000), rng.randrange(0, high + 1), high])


async def _random_history(conn: AsyncConnection[Any], rng: random.Random) -> list[str]:
    """Markets of every kind (some created by the wallets), and each wallet's positions in some
    of them with their average-cost rows; the wallets."""
    wallets = [new_wallet() for _ in range(12)]
    markets: list[tuple[str, str, str]] = []
    for i in range(40):
        state, outcome = KINDS[i % len(KINDS)]
        mid = hashlib.sha256(f"portfolio-json-{rng.random()}".encode()).hexdigest()
        creator = rng.choice(wallets) if rng.random() < 0.4 else new_wallet()
        b = rng.choice([lmsr.MIN_B, 10**9, 10**12, lmsr.MAX_B])
        shares_yes = _amount(rng, lmsr.MAX_SHARES)
        shares_no = rng.choice([shares_yes, _amount(rng, lmsr.MAX_SHARES)])
        price = rng.choice(["0", "1", "0.000000001", "0.999999999", "0.5"])
        price = rng.choice([price, f"0.{rng.randrange(10**9):09d}"])
        settled_at = T0 + timedelta(days=3) if state in ("FINALIZED", "CANCELLED") else None
        await conn.execute(
            "INSERT INTO markets (id, on_chain_address, creator_wallet, resolver_wallet, state, "
            "b_parameter, shares_yes, shares_no, current_price, current_liquidity, "
            "initial_liquidity, accumulated_lp_fees, accumulated_resolver_fees, "
            "claimed_shares_yes, claimed_shares_no, final_outcome, created_at, finalized_at, "
            "cancelled_at, last_slot) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, 1)",
            (
                mid,
                new_wallet(),
                creator,
                new_wallet(),
                state,
                b,
                shares_yes,
                shares_no,
                price,
                _amount(rng, 10**15),
                10**9,
                _amount(rng, 10**12),
                _amount(rng, 10**12),
                rng.randrange(shares_yes + 1) if rng.random() < 0.5 else 0,
                rng.randrange(shares_no + 1) if rng.random() < 0.5 else 0,
                outcome,
                T0 + timedelta(minutes=i),
                settled_at if state == "FINALIZED" else None,
                settled_at if state == "CANCELLED" else None,
            ),
        )
        question = QUESTIONS[i % len(QUESTIONS)]
        if question is not None:
            await conn.execute("UPDATE markets SET question = %s WHERE id = %s", (question, mid))
        markets.append((mid, state, creator))
    times = [None, T0, T0, T0 + timedelta(microseconds=123_456), T0 + timedelta(hours=5)]
    for w in wallets:
        # The wallets' own markets first, so that the creators hold some of them.
        own = [m for m in markets if m[2] == w]
        held = own[: rng.randrange(len(own) + 1)] + rng.sample(markets, rng.randrange(0, 12))
        for mid, state, _ in dict.fromkeys(held):
            y, n = rng.choice(
                [
                    (0, 0),  # sold out
                    (_amount(rng, U64), 0),
                    (0, _amount(rng, U64)),
                    (_amount(rng, 10**13), _amount(rng, 10**13)),
                ]
            )
            claimed = state in ("FINALIZED", "CANCELLED") and rng.random() < 0.4
            await conn.execute(
                "INSERT INTO positions (market_id, user_wallet, shares_yes, shares_no, "
                "trades_count, last_trade_at, has_claimed, claimed_amount, last_slot) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1)",
                (
                    mid,
                    w,
                    y,
                    n,
                    rng.randrange(0, 50),
                    rng.choice(times),
                    claimed,
                    _amount(rng, 10**13) if claimed else 0,
                ),
            )
            for side, shares in ((True, y), (False, n)):
                if rng.random() < 0.2:
                    continue  # no trades on this side: a 0 basis
                await conn.execute(
                    "INSERT INTO position_costs (user_wallet, market_id, outcome, shares, "
                    "cost_basis, realized_pnl) VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        w,
                        mid,
                        side,
                        shares,
                        _amount(rng, 10**13) if shares or rng.random() < 0.3 else 0,
                        rng.choice([0, -_amount(rng, 10**12), _amount(rng, 10**12)]),
                    ),
                )
    return wallets


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_database_builds_the_body_python_did(
    pool: AsyncConnectionPool, seed: int, zone: str
) -> None:
    rng = random.Random(seed)
    async with pool.connection() as conn:
        wallets = await _random_history(conn, rng)
        await conn.execute("SELECT set_config('TimeZone', %s, false)", (zone,))
        seen: list[Portfolio] = []
        for w in [*wallets, new_wallet()]:
            expected = await _python_body(conn, w)
            body = await q_portfolio.portfolio_json(conn, w)
            assert body.encode() == expected, w
            seen.append(Portfolio.model_validate_json(body))
        await conn.execute("RESET TimeZone")
    # The histories reach what the comparison is for.
    positions = [p for portfolio in seen for p in portfolio.positions]
    assert {p.action for p in positions} == {"sell", "claim", "withdraw_liquidity", None}
    assert {p.state for p in positions} == {kind for kind, _ in KINDS}
    assert any(p.has_claimed for p in positions) and any(p.last_trade_at is None for p in positions)
    assert any(p.unrealized_pnl < 0 for p in positions)
    assert any(p.realized_pnl < 0 for p in positions) and any(p.realized_pnl > 0 for p in positions)
    settled = [p for p in positions if p.state == "CANCELLED" and not p.has_claimed]
    assert any(p.value > 0 for p in settled)  # valued at LMSR prices
    assert sum(len(portfolio.created) for portfolio in seen) > 0
    assert {p.average_price_yes is None for p in positions} == {True, False}


async def test_past_the_limit(pool: AsyncConnectionPool) -> None:
    """A wallet with more positions and settled markets than the portfolio lists: the same
    first 1000 of each, the same totals over them."""
    w = new_wallet()
    extra = q_portfolio.MAX_POSITIONS + 200
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO markets (id, on_chain_address, creator_wallet, resolver_wallet, state, "
            "b_parameter, shares_yes, current_price, current_liquidity, initial_liquidity, "
            "created_at, last_slot) "
            "SELECT md5(i::text) || md5((-i)::text), "
            "lpad(translate(i::text, '0123456789', 'ABCDEFGHJK'), 32, '1'), %s, repeat('3', 32), "
            "CASE WHEN i %% 10 = 0 THEN 'ACTIVE' ELSE 'CANCELLED' END, 10^12, i * 1000, "
            "(i %% 1000) / 1000.0, 10^9, 10^9, %s, 1 FROM generate_series(1, %s) i",
            (w, T0, extra),
        )
        await conn.execute(
            "INSERT INTO positions (market_id, user_wallet, shares_yes, trades_count, "
            "last_trade_at, last_slot) SELECT id, %s, 10^6, 1, "
            "%s::timestamptz + (i %% 500) * interval '1 minute', 1 "
            "FROM (SELECT id, row_number() OVER (ORDER BY id) AS i FROM markets) m",
            (w, T0),
        )
        body = await q_portfolio.portfolio_json(conn, w)
        assert body.encode() == await _python_body(conn, w)
    portfolio = Portfolio.model_validate_json(body)
    assert portfolio.totals.positions == q_portfolio.MAX_POSITIONS
    assert len(portfolio.created) == q_portfolio.MAX_POSITIONS


async def test_lmsr_prices_are_the_models(pool: AsyncConnectionPool) -> None:
    """`lmsr_prices` against `lmsr.price` on random markets across the program's bounds:
    balanced, lopsided past e^-128, at b's and the shares' limits; out of them, it refuses."""
    rng = random.Random(16)
    cases = [(0, 0, lmsr.MIN_B), (lmsr.MAX_SHARES, 0, lmsr.MIN_B), (0, lmsr.MAX_SHARES, lmsr.MAX_B)]
    for _ in range(2000):
        b = rng.choice([lmsr.MIN_B, lmsr.MAX_B, 10**12, rng.randrange(lmsr.MIN_B, lmsr.MAX_B)])
        q_yes = rng.choice([0, rng.randrange(lmsr.MAX_SHARES + 1), rng.randrange(200 * b)])
        q_no = rng.choice([q_yes, q_yes + 1, rng.randrange(lmsr.MAX_SHARES + 1), rng.randrange(b)])
        cases.append((q_yes, min(q_no, lmsr.MAX_SHARES), b))
    columns = [[c[i] for c in cases] for i in range(3)]
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT p.price_yes, p.price_no FROM unnest(%s::numeric[], %s::numeric[], "
            "%s::numeric[]) WITH ORDINALITY AS u(q_yes, q_no, b, i) "
            "CROSS JOIN LATERAL lmsr_prices(u.q_yes, u.q_no, u.b) p ORDER BY u.i",
            columns,
        )
        got = [(int(y), int(n)) for y, n in await cur.fetchall()]
        for bad in (
            (lmsr.MAX_SHARES + 1, 0, 10**12),
            (0, 0, lmsr.MIN_B - 1),
            (0, 0, lmsr.MAX_B + 1),
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="out of range"):
                async with conn.transaction():
                    await conn.execute("SELECT lmsr_prices(%s, %s, %s)", bad)
    expected = [(lmsr.price(y, n, b, True), lmsr.price(y, n, b, False)) for y, n, b in cases]
    assert got == expected
    assert {y + n for y, n in got} == {lmsr.PRICE_SCALE, lmsr.PRICE_SCALE - 1}
    assert (lmsr.PRICE_SCALE, 0) in got  # past e^-128


async def test_the_statement_keeps_one_plan(pool: AsyncConnectionPool) -> None:
    """Run again and again on a connection, the portfolio's prepared statement uses its generic
    plan: PostgreSQL does not plan it anew for each wallet (it did while its LIMIT was a
    parameter, which cost more database time than the reads themselves)."""
    async with pool.connection() as conn:
        for _ in range(8):
            await q_portfolio.portfolio_json(conn, new_wallet())
        cur = await conn.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = %s",
            (q_portfolio.PORTFOLIO_JSON,),
        )
        assert await cur.fetchall() == [(3, 5)]
