"""Leaderboards computed by the database equal a Python recount of the same rows: random trade
histories (seeded) appended as the indexer appends them, then every leaderboard (profit and
volume, all time and each week) read through the API page by page and compared with the
average-cost method replayed in Python, exactly, with the positions held to their markets' end
settled (outcomes, claims, a cancellation). Also: migrations 0011 and 0013 backfill what was
indexed before them to the same figures."""

from __future__ import annotations

import asyncio
import os
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from hybridmarket.db import migrate
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.signals import CHANNEL, market_changes

from .api_fixtures import api_settings
from .discussion_fixtures import Served, serving
from .trade_fixtures import TradeRow, append_trades, insert_market, insert_position, new_wallet

pytestmark = pytest.mark.integration

T0 = datetime(2026, 2, 23, tzinfo=UTC)  # a Monday


@pytest.fixture
async def api(validator: LocalValidator, db_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    settings = api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path / "data")
    async with serving(settings) as s:
        yield s


def random_history(rng: random.Random, markets: list[str], wallets: list[str]) -> list[TradeRow]:
    """Trades in chain order: buys, and sales of at most what is held (sometimes all of it),
    small amounts so that ties happen, over three weeks."""
    held: dict[tuple[str, str, bool], int] = defaultdict(int)
    rows = []
    for i in range(rng.randrange(150, 300)):
        m, w, side = rng.choice(markets), rng.choice(wallets), rng.random() < 0.5
        key = (w, m, side)
        at = T0 + timedelta(seconds=rng.randrange(0, 21 * 86400))
        if held[key] and rng.random() < 0.4:
            shares = held[key] if rng.random() < 0.3 else rng.randrange(1, held[key] + 1)
            held[key] -= shares
            cost = rng.randrange(0, 2 * shares + 1)
            rows.append(TradeRow(m, w, "sell", side, shares, cost - cost // 10, cost, i, at))
        else:
            shares = rng.randrange(1, 40)
            held[key] += shares
            cost = rng.randrange(1, 2 * shares + 1)
            rows.append(TradeRow(m, w, "buy", side, shares, cost + cost // 10 + 1, cost, i, at))
    return rows


Settlement = tuple[str, str, int, datetime]  # wallet, market, payout, when the market ended


def recount(
    rows: list[TradeRow], settlements: list[Settlement] = ()
) -> dict[date | None, dict[str, tuple[int, int, int]]]:
    """(realized, volume, trades) per wallet, all time (key None) and per week's Monday, by the
    average-cost method replayed in chain order; then each position settled realizes its payout
    minus the cost basis left in both its outcomes, in the week its market ended."""
    shares: dict[tuple[str, str, bool], int] = defaultdict(int)
    basis: dict[tuple[str, str, bool], int] = defaultdict(int)
    out: dict[date | None, dict[str, tuple[int, int, int]]] = defaultdict(dict)

    def add(wallet: str, at: datetime, realized: int, volume: int, trades: int) -> None:
        day = at.date()
        for period in (None, day - timedelta(days=day.weekday())):
            p, v, n = out[period].get(wallet, (0, 0, 0))
            out[period][wallet] = (p + realized, v + volume, n + trades)

    for r in sorted(rows, key=lambda r: r.slot):
        key = (r.wallet, r.market_id, r.outcome)
        realized = 0
        if r.side == "buy":
            shares[key] += r.shares
            basis[key] += r.total
        else:
            removed = (
                basis[key] if r.shares >= shares[key] else basis[key] * r.shares // shares[key]
            )
            realized = r.total - removed
            shares[key] = max(0, shares[key] - r.shares)
            basis[key] -= removed
        add(r.wallet, r.at, realized, r.cost, 1)
    for wallet, market, payout, at in settlements:
        left = basis[(wallet, market, True)] + basis[(wallet, market, False)]
        add(wallet, at, payout - left, 0, 0)
    return out


def held(rows: list[TradeRow]) -> dict[tuple[str, str], tuple[int, int]]:
    """(YES, NO) shares per (wallet, market) after the trades."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for r in sorted(rows, key=lambda r: r.slot):
        y, n = out.get((r.wallet, r.market_id), (0, 0))
        d = r.shares if r.side == "buy" else -r.shares
        out[(r.wallet, r.market_id)] = (y + d, n) if r.outcome else (y, n + d)
    return out


async def settle(
    conn: AsyncConnection[Any], rng: random.Random, rows: list[TradeRow], markets: list[str]
) -> list[Settlement]:
    """Write the positions, then end three of the four markets as the indexer would (the market
    row first, then its positions): YES and NO outcomes, where every holder settles and some
    winners also claim (which settles nothing again), and a cancellation, where the holders who
    claim settle at what they were paid. The settlements the database must count."""
    positions = held(rows)
    for (wallet, market), (y, n) in positions.items():
        await insert_position(conn, market, wallet, shares_yes=y, shares_no=n)
    out: list[Settlement] = []
    ends = [T0 + timedelta(days=22), T0 + timedelta(days=29, hours=5), T0 + timedelta(days=23)]
    for market, outcome, at in zip(markets, (True, False, None), ends, strict=False):
        if outcome is None:
            await conn.execute(
                "UPDATE markets SET state = 'CANCELLED', cancelled_at = %s WHERE id = %s",
                (at, market),
            )
        else:
            await conn.execute(
                "UPDATE markets SET state = 'FINALIZED', final_outcome = %s, finalized_at = %s "
                "WHERE id = %s",
                (outcome, at, market),
            )
        for (wallet, m), (y, n) in sorted(positions.items()):
            if m != market:
                continue
            payout = (y if outcome else n) if outcome is not None else rng.randrange(1, y + n + 2)
            if outcome is not None:
                out.append((wallet, market, payout, at))
            if payout > 0 and rng.random() < 0.5:
                await conn.execute(
                    "UPDATE positions SET has_claimed = true, claimed_amount = %s "
                    "WHERE market_id = %s AND user_wallet = %s",
                    (payout, market, wallet),
                )
                if outcome is None:
                    out.append((wallet, market, payout, at))
    return out


async def read_all(api: Served, **params: Any) -> list[tuple[int, str, int, int, int]]:
    entries, cursor = [], None
    while True:
        query = {**params, "limit": 7, **({"cursor": cursor} if cursor else {})}
        r = await api.http.get("/api/leaderboards", params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        entries += [
            (e["rank"], e["wallet"], e["realized_pnl"], e["volume"], e["trades"])
            for e in body["entries"]
        ]
        cursor = body["next_cursor"]
        if cursor is None:
            return entries


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_leaderboards_equal_a_python_recount(
    api: Served, pool: AsyncConnectionPool, seed: int
) -> None:
    rng = random.Random(seed)
    wallets = [new_wallet() for _ in range(rng.randrange(5, 25))]
    async with pool.connection() as conn:
        markets = [await insert_market(conn) for _ in range(4)]
        rows = random_history(rng, markets, wallets)
        for start in range(0, len(rows), 37):  # in batches, as the indexer appends them
            await append_trades(conn, rows[start : start + 37])
        settled = await settle(conn, rng, rows, markets)
    expected = recount(rows, settled)
    assert recount(rows) != expected  # the settlements count
    assert any(p < 0 for p, _, _ in expected[None].values())  # losses as well as profits
    for period, stats in expected.items():
        params: dict[str, str] = (
            {"period": "all"}
            if period is None
            else {"period": "week", "week": (period + timedelta(days=3)).isoformat()}
        )
        for by, k in (("profit", 0), ("volume", 1)):
            ranked = sorted(stats.items(), key=lambda x: (x[1][k], x[0]), reverse=True)
            assert await read_all(api, by=by, **params) == [
                (i + 1, w, p, v, n) for i, (w, (p, v, n)) in enumerate(ranked)
            ], (by, period)


async def test_a_page_is_kept_until_a_market_changes(
    api: Served, pool: AsyncConnectionPool
) -> None:
    """Pages are the same for everyone, so the API keeps them: a trade indexed without its
    signal does not show, and the indexer's signal of a change (any market's) drops them."""
    wallet = new_wallet()
    async with pool.connection() as conn:
        market = await insert_market(conn)
        await append_trades(conn, [TradeRow(market, wallet, "buy", True, 5, 12, 10, 1, T0)])
    params = {"by": "volume", "period": "all"}
    assert await read_all(api, **params) == [(1, wallet, 0, 10, 1)]
    async with pool.connection() as conn:
        await append_trades(conn, [TradeRow(market, wallet, "buy", True, 5, 12, 10, 2, T0)])
    assert await read_all(api, **params) == [(1, wallet, 0, 10, 1)]  # kept
    async with pool.connection() as conn:
        # Another market's change: the page does not show it, but any change may reorder.
        for payload in market_changes([os.urandom(32).hex()], 2):
            await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
    for _ in range(200):
        if await read_all(api, **params) == [(1, wallet, 0, 20, 2)]:
            break
        await asyncio.sleep(0.02)
    assert await read_all(api, **params) == [(1, wallet, 0, 20, 2)]


async def test_bad_leaderboard_requests(api: Served) -> None:
    for params in (
        {"by": "luck"},
        {"period": "month"},
        {"week": "2026-03-02"},  # without period=week
        {"cursor": "not-ours"},
        {"cursor": "WzEsICIxZTk5IiwgIngiXQ"},  # [1, "1e99", "x"]
        {"limit": 0},
    ):
        r = await api.http.get("/api/leaderboards", params=params)
        assert r.status_code == 422, (params, r.text)
        assert "error" in r.json()
    r = await api.http.get("/api/leaderboards", params={"period": "week"})
    assert r.status_code == 200 and r.json()["entries"] == [], r.text
    assert date.fromisoformat(r.json()["week"]).weekday() == 0


async def test_migrations_backfill_what_was_indexed_before_them(empty_db_url: str) -> None:
    migrate.migrate(empty_db_url, target=10)
    rng = random.Random(7)
    wallets = [new_wallet() for _ in range(6)]
    async with await psycopg.AsyncConnection.connect(empty_db_url, autocommit=True) as conn:
        markets = [await insert_market(conn) for _ in range(4)]
        rows = random_history(rng, markets, wallets)
        await append_trades(conn, rows)
        settled = await settle(conn, rng, rows, markets)
    migrate.migrate(empty_db_url)
    expected = recount(rows, settled)
    async with await psycopg.AsyncConnection.connect(empty_db_url) as conn:
        cur = await conn.execute("SELECT wallet, realized_pnl, volume, trades FROM trader_stats")
        got = {w: (int(p), int(v), int(n)) for w, p, v, n in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT week, wallet, realized_pnl, volume, trades FROM trader_weeks"
        )
        weeks: dict[date | None, dict[str, tuple[int, int, int]]] = defaultdict(dict)
        for wk, w, p, v, n in await cur.fetchall():
            weeks[wk][w] = (int(p), int(v), int(n))
        cur = await conn.execute("SELECT sum(realized_pnl) FROM trades")
        realized = await cur.fetchone()
    assert got == expected[None]
    assert dict(weeks) == {k: v for k, v in expected.items() if k is not None}
    assert realized is not None
    assert int(realized[0]) == sum(p for p, _, _ in recount(rows)[None].values())
