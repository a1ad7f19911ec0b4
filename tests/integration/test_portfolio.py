"""The portfolio and the profile through the API (real uvicorn, real validator, real
PostgreSQL), from indexed rows: average-cost basis and P&L to the lamport, the value of open and
settled positions, the action that applies now, the creator's withdrawable liquidity, totals;
the trade history with the question; the profile's counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
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
    assert (b["value"], b["unrealized_pnl"], b["action"]) == (10, 4, "claim")
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
        "realized_pnl": 8 + 11,
        "unrealized_pnl": -8 + 4,
        "pnl": 8 + 11 - 8 + 4,
        "claimable": 10,
        "withdrawable": 990,
    }

    trades = (await api.http.get(f"/api/users/{w}/trades")).json()["trades"]
    assert len(trades) == 6
    assert trades[0]["question"] == "Will it rain in Nairobi?"
    assert {t["question"] for t in trades} == {"Will it rain in Nairobi?", "Won?", None}

    profile = (await api.http.get(f"/api/users/{w}")).json()
    assert (profile["markets_created"], profile["comments"], profile["positions"]) == (1, 1, 3)
    assert profile["realized_pnl"] == 8
    assert profile["volume"] == 55 + 64 + 44 + 11 + 5 + 8
    assert profile["trades"] == 6


async def test_an_empty_portfolio_and_a_bad_wallet(api: Served) -> None:
    w = new_wallet()
    r = await api.http.get(f"/api/users/{w}/portfolio")
    assert r.status_code == 200, r.text
    assert r.json()["positions"] == [] and r.json()["totals"]["pnl"] == 0
    r = await api.http.get("/api/users/notawallet0000000000000000000000000/portfolio")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
