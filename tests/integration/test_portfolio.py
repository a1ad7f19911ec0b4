"""The portfolio and the profile through the API (real uvicorn, real validator, real
PostgreSQL), from indexed rows: average-cost basis and P&L to the lamport, the value of open and
settled positions, the action that applies now, the creator's withdrawable liquidity, totals;
the trade history with the question; the profile's counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from hybridmarket.localnet.validator import LocalValidator

from .api_fixtures import api_settings
from .discussion_fixtures import Served, Wallet, insert_signed_comment, serving
from .trade_fixtures import TradeRow, append_trades, insert_market, insert_position, new_wallet

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(validator: LocalValidator, db_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    settings = api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path / "data")
    async with serving(settings) as s:
        yield s


async def test_portfolio_positions_costs_actions_and_totals(
    api: Served, pool: AsyncConnectionPool
) -> None:
    me = Wallet()
    w = me.address
    t0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
    async with pool.connection() as conn:
        active = await insert_market(conn, price="0.6", question="Will it rain in Nairobi?")
        won = await insert_market(
            conn, state="FINALIZED", final_outcome=True, shares_yes=10, question="Won?"
        )
        mine = await insert_market(
            conn,
            state="FINALIZED",
            final_outcome=True,
            creator=w,
            shares_yes=10,
            current_liquidity=1000,
        )
        claimed = await insert_market(conn, state="FINALIZED", final_outcome=False, shares_no=20)
        await append_trades(
            conn,
            [
                TradeRow(active, w, "buy", True, 100, 60, 55, 10, t0),
                TradeRow(active, new_wallet(), "buy", True, 7, 5, 4, 10, t0),
                TradeRow(active, w, "buy", True, 100, 70, 64, 11, t0 + timedelta(hours=1)),
                TradeRow(active, w, "sell", True, 50, 40, 44, 12, t0 + timedelta(hours=2)),
                TradeRow(active, w, "buy", False, 30, 12, 11, 13, t0 + timedelta(hours=3)),
                TradeRow(won, w, "buy", True, 10, 6, 5, 14, t0),
                TradeRow(claimed, w, "buy", False, 20, 9, 8, 15, t0),
            ],
        )
        await insert_position(conn, active, w, shares_yes=150, shares_no=30, at=t0)
        await insert_position(conn, won, w, shares_yes=10, at=t0 - timedelta(days=1))
        await insert_position(
            conn,
            claimed,
            w,
            shares_no=20,
            has_claimed=True,
            claimed_amount=20,
            at=t0 - timedelta(days=2),
        )
        await insert_signed_comment(conn, me, active, "a comment", t0)

    r = await api.http.get(f"/api/users/{w}/portfolio")
    assert r.status_code == 200, r.text
    body = r.json()
    by_market = {p["market_id"]: p for p in body["positions"]}
    assert [p["market_id"] for p in body["positions"]] == [active, won, claimed]
    a = by_market[active]
    # YES: 200 bought for 130; 50 sold for 40 take floor(130 * 50 / 200) = 32 of the basis.
    assert (a["cost_basis_yes"], a["cost_basis_no"], a["cost_basis"]) == (98, 12, 110)
    assert (a["average_price_yes"], a["average_price_no"]) == ("0.653333333", "0.400000000")
    assert a["value"] == 150 * 6 // 10 + 30 * 4 // 10  # 102 at the current price
    assert (a["realized_pnl"], a["unrealized_pnl"]) == (40 - 32, 102 - 110)
    assert (a["action"], a["question"], a["state"]) == (
        "sell",
        "Will it rain in Nairobi?",
        "ACTIVE",
    )
    b = by_market[won]
    # Settled by its outcome: what the claim will pay is realized already (as the leaderboards
    # count it), and still to claim.
    assert (b["value"], b["realized_pnl"], b["unrealized_pnl"], b["action"]) == (
        10,
        10 - 6,
        0,
        "claim",
    )
    c = by_market[claimed]
    assert (c["value"], c["realized_pnl"], c["unrealized_pnl"], c["action"]) == (0, 11, 0, None)
    assert body["created"] == [
        {
            "market_id": mine,
            "question": None,
            "state": "FINALIZED",
            "withdrawable": 1000 - 10,  # the unclaimed winning shares stay for their claims
            "action": "withdraw_liquidity",
        }
    ]
    assert body["totals"] == {
        "positions": 3,
        "cost_basis": 110 + 6,
        "value": 102 + 10,
        "realized_pnl": 8 + 4 + 11,
        "unrealized_pnl": -8,
        "pnl": 8 + 4 + 11 - 8,
        "claimable": 10,
        "withdrawable": 990,
    }

    trades = (await api.http.get(f"/api/users/{w}/trades")).json()["trades"]
    rain = "Will it rain in Nairobi?"
    # Newest first in chain order (slots 15 down to 10; the other wallet's trade is not here).
    assert [t["question"] for t in trades] == [None, "Won?", rain, rain, rain, rain]

    profile = (await api.http.get(f"/api/users/{w}")).json()
    assert (profile["markets_created"], profile["comments"], profile["positions"]) == (1, 1, 3)
    assert profile["realized_pnl"] == 8 + 4 + 11  # the sale, and the two settled positions
    assert profile["volume"] == 55 + 64 + 44 + 11 + 5 + 8
    assert profile["trades"] == 6


async def test_an_empty_portfolio_and_a_bad_wallet(api: Served) -> None:
    w = new_wallet()
    r = await api.http.get(f"/api/users/{w}/portfolio")
    assert r.status_code == 200, r.text
    assert r.json()["positions"] == [] and r.json()["totals"]["pnl"] == 0
    r = await api.http.get("/api/users/notawallet0000000000000000000000000/portfolio")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


async def test_the_portfolio_profile_leaderboard_and_activity_reads_use_indexes(
    pool: AsyncConnectionPool,
) -> None:
    """Each read of these endpoints, run with sequential scans and sorts priced out, is planned
    (each statement EXPLAINed before it runs, on the real database) without a sequential scan
    or a sort: an index serves it, in order where it is ordered."""
    from hybridmarket.db.queries import follows as q_follows
    from hybridmarket.db.queries import leaderboards as q_boards
    from hybridmarket.db.queries import portfolio as q_portfolio
    from hybridmarket.db.queries import positions as q_positions
    from hybridmarket.db.queries import trades as q_trades

    w, t0 = new_wallet(), datetime(2026, 3, 2, tzinfo=UTC)
    async with pool.connection() as conn:
        mid = await insert_market(conn, creator=w)
        await append_trades(conn, [TradeRow(mid, w, "buy", True, 10, 6, 5, 1, t0)])
        await insert_position(conn, mid, w, shares_yes=10)
    plans: list[str] = []
    async with pool.connection() as conn:
        await conn.execute("SET enable_seqscan = off")
        await conn.execute("SET enable_sort = off")

        class Explaining(psycopg.AsyncCursor[Any]):
            async def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
                explain = (
                    "EXPLAIN " + query if isinstance(query, str) else sql.SQL("EXPLAIN ") + query
                )
                await super().execute(explain, params)
                plans.extend(
                    str(next(iter(r.values())) if isinstance(r, dict) else r[0])
                    for r in await self.fetchall()
                )
                return await super().execute(query, params, **kw)

        conn.cursor_factory = Explaining
        reads: dict[str, Any] = {
            "profile": q_portfolio.profile(conn, w),
            "proposed": q_portfolio.created_markets(conn, w, 50),
            "comments": q_portfolio.comments(conn, w, 50),
            "history": q_trades.of_wallet(conn, w, before=None, limit=50),
            "tape": q_trades.of_market(conn, mid, before=None, limit=50),
            "tape page": q_trades.of_market(conn, mid, before=(5, 5), limit=50),
            "holders yes": q_positions.top_holders(conn, mid, outcome=True, limit=10),
            "holders no": q_positions.top_holders(conn, mid, outcome=False, limit=10),
            "follows": q_follows.of_wallet(conn, w, after=None, limit=100),
            "unread": q_follows.notifications(conn, w, unread=True, before=None, limit=50),
            "notifications": q_follows.notifications(conn, w, unread=False, before=9, limit=50),
            "unread count": q_follows.unread_count(conn, w),
        }
        for by in ("profit", "volume"):
            for week in (None, t0.date()):
                reads[f"{by} {week}"] = q_boards.top(conn, by=by, week=week, limit=25)  # type: ignore[arg-type]
                reads[f"{by} {week} page"] = q_boards.top(
                    conn,
                    by=by,  # type: ignore[arg-type]
                    week=week,
                    limit=25,
                    after=(5, w),
                )
        found = {}
        for name, read in reads.items():
            plans.clear()
            await read
            found[name] = "\n".join(plans)
        conn.cursor_factory = psycopg.AsyncCursor
        # The portfolio's one statement runs on a raw cursor of its own ($n placeholders).
        async with psycopg.AsyncRawCursor(conn) as cur:
            await cur.execute("EXPLAIN " + q_portfolio.PORTFOLIO_JSON, (w,))
            found["portfolio"] = "\n".join(r[0] for r in await cur.fetchall())
    assert all("Index" in plan for plan in found.values()), found
    # The portfolio sorts the wallet's own positions and settled markets, found by index (at
    # most 1000 each); every other list, the profile's markets and comments too (migration
    # 0015), is read in index order (at most an incremental sort within equal times).
    sorted_ok = {"portfolio"}
    bad = {
        n: p
        for n, p in found.items()
        if "Seq Scan" in p
        or (
            n not in sorted_ok
            and any(line.strip(" ->").startswith("Sort  (") for line in p.splitlines())
        )
    }
    assert bad == {}, bad


async def test_trade_history_pages_keep_the_trades_of_one_second(
    api: Served, pool: AsyncConnectionPool
) -> None:
    """Seven trades in one block time (a bot's second), paged three at a time: every trade
    once, newest first in chain order (the cursor was the time, so the next page skipped the
    rest of that second)."""
    w, t0 = new_wallet(), datetime(2026, 3, 2, 12, tzinfo=UTC)
    async with pool.connection() as conn:
        mid = await insert_market(conn)
        rows = [TradeRow(mid, w, "buy", True, 10 + i, 6, 5, 40 + i // 3, t0) for i in range(7)]
        await append_trades(conn, rows)
    seen, before = [], None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"before": before} if before else {})}
        r = await api.http.get(f"/api/users/{w}/trades", params=params)
        assert r.status_code == 200, r.text
        seen += [t["shares"] for t in r.json()["trades"]]
        before = r.json()["next_before"]
        if before is None:
            break
    assert seen == [16, 15, 14, 13, 12, 11, 10]
    r = await api.http.get(f"/api/users/{w}/trades", params={"before": "2026-03-02T12:00:00Z"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
