"""Users: profile, positions (marked to market, with P&L), trade history."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from psycopg.rows import dict_row

from hybridmarket.api import siws
from hybridmarket.api.common import _check_wallet, dec, iso, parse_time
from hybridmarket.api.errors import ApiError
from hybridmarket.api.routes import error_responses
from hybridmarket.api.state import ApiState, state

router = APIRouter(prefix="/api/users", tags=["users"], responses=error_responses(422))


def _wallet(
    wallet: Annotated[
        str, Path(min_length=siws.ADDRESS_CHARS[0], max_length=siws.ADDRESS_CHARS[1])
    ],
) -> str:
    try:
        return _check_wallet(wallet)
    except ValueError as e:
        raise ApiError(422, "invalid_request", f"wallet: {e}") from None


@router.get("/{wallet}", summary="A wallet's profile and totals")
async def get_user(
    wallet: Annotated[str, Depends(_wallet)], st: Annotated[ApiState, Depends(state)]
) -> dict[str, Any]:
    async with st.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT created_at, last_seen_at FROM users WHERE wallet = %s", (wallet,)
        )
        row = await cur.fetchone()
        c2 = await conn.execute(
            "SELECT count(*), coalesce(sum(total) FILTER (WHERE trade_type = 'buy'), 0), "
            "coalesce(sum(total) FILTER (WHERE trade_type = 'sell'), 0), count(DISTINCT market_id) "
            "FROM trades WHERE user_wallet = %s",
            (wallet,),
        )
        t = await c2.fetchone()
    assert t is not None
    return {
        "wallet": wallet,
        "first_seen": iso(row[0]) if row else None,
        "last_seen": iso(row[1]) if row else None,
        "trades": int(t[0]),
        "bought": int(t[1]),
        "sold": int(t[2]),
        "markets_traded": int(t[3]),
    }


@router.get("/{wallet}/positions", summary="Positions with mark-to-market value and P&L")
async def get_positions(
    wallet: Annotated[str, Depends(_wallet)], st: Annotated[ApiState, Depends(state)]
) -> dict[str, Any]:
    async with st.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT p.*, m.state, m.current_price, m.final_outcome, m.question, m.finalized_at "
            "FROM positions p JOIN markets m ON m.id = p.market_id WHERE p.user_wallet = %s "
            "ORDER BY p.last_trade_at DESC NULLS LAST",
            (wallet,),
        )
        rows = await cur.fetchall()
    out = []
    for r in rows:
        y, n = int(r["shares_yes"]), int(r["shares_no"])
        price = r["current_price"]
        if r["state"] == "FINALIZED" and r["final_outcome"] is not None:
            value = Decimal(y if r["final_outcome"] else n)
        else:
            value = y * price + n * (1 - price)
        if r["has_claimed"]:
            value = Decimal(0)
        invested, withdrawn = int(r["total_invested"]), int(r["total_withdrawn"])
        claimed = int(r["claimed_amount"])
        pnl = value + withdrawn + claimed - invested
        out.append(
            {
                "market_id": r["market_id"],
                "question": r["question"],
                "state": r["state"],
                "shares_yes": y,
                "shares_no": n,
                "price_yes": dec(price),
                "value": int(value),
                "total_invested": invested,
                "total_withdrawn": withdrawn,
                "claimed": claimed,
                "has_claimed": r["has_claimed"],
                "pnl": int(pnl),
                "trades_count": int(r["trades_count"]),
                "last_trade_at": iso(r["last_trade_at"]),
            }
        )
    return {"wallet": wallet, "positions": out}


@router.get("/{wallet}/trades", summary="Trade history, newest first")
async def get_trades(
    wallet: Annotated[str, Depends(_wallet)],
    st: Annotated[ApiState, Depends(state)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        str | None, Query(max_length=100, description="created_at cursor (ISO)")
    ] = None,
) -> dict[str, Any]:
    try:
        until = parse_time(before) if before else None
    except ValueError:
        raise ApiError(422, "invalid_request", "before: not a timestamp") from None
    async with st.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT * FROM trades WHERE user_wallet = %s "
            "AND created_at < coalesce(%s::timestamptz, 'infinity') "
            "ORDER BY created_at DESC, slot DESC, seq DESC LIMIT %s",
            (wallet, until, limit),
        )
        rows = await cur.fetchall()
    return {
        "wallet": wallet,
        "trades": [trade_json(r) for r in rows],
        "next_before": iso(rows[-1]["created_at"]) if len(rows) == limit else None,
    }


def trade_json(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "market_id": r["market_id"],
        "wallet": r["user_wallet"],
        "side": r["trade_type"],
        "outcome": "yes" if r["outcome"] else "no",
        "shares": int(r["shares"]),
        "amount": int(r["cost"]),
        "fees": {
            "protocol": int(r["protocol_fee"]),
            "resolver": int(r["resolver_fee"]),
            "lp": int(r["lp_fee"]),
        },
        "total": int(r["total"]),
        "price_yes_after": dec(r["price_after"]),
        "signature": r["tx_signature"],
        "slot": int(r["slot"]),
        "at": iso(r["created_at"]),
    }
