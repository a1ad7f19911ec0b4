"""Users: profile, positions (marked to market, with P&L), trade history."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from hybridmarket.api import siws
from hybridmarket.api.common import _check_wallet, dec, iso, parse_time, present
from hybridmarket.api.errors import ApiError
from hybridmarket.api.models import Position, Positions, Trade, TradeFees, Trades, User
from hybridmarket.api.routes import error_responses
from hybridmarket.api.state import ApiState, state
from hybridmarket.db.queries import positions as q_positions
from hybridmarket.db.queries import trades as q_trades
from hybridmarket.db.queries import users as q_users

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
) -> User:
    async with st.pool.connection() as conn:
        seen = await q_users.seen_at(conn, wallet)
        trades, bought, sold, markets = await q_trades.wallet_totals(conn, wallet)
    return User(
        wallet=wallet,
        first_seen=iso(seen[0]) if seen else None,
        last_seen=iso(seen[1]) if seen else None,
        trades=trades,
        bought=bought,
        sold=sold,
        markets_traded=markets,
    )


@router.get("/{wallet}/positions", summary="Positions with mark-to-market value and P&L")
async def get_positions(
    wallet: Annotated[str, Depends(_wallet)], st: Annotated[ApiState, Depends(state)]
) -> Positions:
    async with st.pool.connection() as conn:
        rows = await q_positions.of_wallet_with_markets(conn, wallet)
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
            Position(
                market_id=r["market_id"],
                question=r["question"],
                state=r["state"],
                shares_yes=y,
                shares_no=n,
                price_yes=present(dec(price)),
                value=int(value),
                total_invested=invested,
                total_withdrawn=withdrawn,
                claimed=claimed,
                has_claimed=r["has_claimed"],
                pnl=int(pnl),
                trades_count=int(r["trades_count"]),
                last_trade_at=iso(r["last_trade_at"]),
            )
        )
    return Positions(wallet=wallet, positions=out)


@router.get("/{wallet}/trades", summary="Trade history, newest first")
async def get_trades(
    wallet: Annotated[str, Depends(_wallet)],
    st: Annotated[ApiState, Depends(state)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        str | None, Query(max_length=100, description="created_at cursor (ISO)")
    ] = None,
) -> Trades:
    try:
        until = parse_time(before) if before else None
    except ValueError:
        raise ApiError(422, "invalid_request", "before: not a timestamp") from None
    async with st.pool.connection() as conn:
        rows = await q_trades.of_wallet(conn, wallet, before=until, limit=limit)
    return Trades(
        wallet=wallet,
        trades=[trade_model(r) for r in rows],
        next_before=iso(rows[-1]["created_at"]) if len(rows) == limit else None,
    )


def trade_model(r: dict[str, Any]) -> Trade:
    """The public shape of a `trades` row."""
    return Trade(
        market_id=r["market_id"],
        wallet=r["user_wallet"],
        side=r["trade_type"],
        outcome="yes" if r["outcome"] else "no",
        shares=int(r["shares"]),
        amount=int(r["cost"]),
        fees=TradeFees(
            protocol=int(r["protocol_fee"]),
            resolver=int(r["resolver_fee"]),
            lp=int(r["lp_fee"]),
        ),
        total=int(r["total"]),
        price_yes_after=present(dec(r["price_after"])),
        signature=r["tx_signature"],
        slot=int(r["slot"]),
        at=present(iso(r["created_at"])),
    )


def trade_json(r: dict[str, Any]) -> dict[str, Any]:
    """`trade_model` as the dict the live stream sends."""
    return trade_model(r).model_dump()
