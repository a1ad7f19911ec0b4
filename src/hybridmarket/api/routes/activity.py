"""A market's activity: its recent trades (the tape, newest first, cursor pages), its largest
YES and NO holders, and its volume and distinct traders per time interval. Read from the indexed
trades and positions, through the cache (invalidated with the market's other reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from hybridmarket.api.common import MarketIdPath, iso, present
from hybridmarket.api.models import (
    ActivityBucket,
    Holder,
    MarketActivity,
    MarketHolders,
    MarketTrades,
)
from hybridmarket.api.routes import error_responses
from hybridmarket.api.routes.markets import load_market
from hybridmarket.api.routes.users import (
    CHAIN_CURSOR,
    chain_cursor,
    next_chain_cursor,
    trade_model,
)
from hybridmarket.api.state import ApiState, state
from hybridmarket.db.queries import positions as q_positions
from hybridmarket.db.queries import trades as q_trades

router = APIRouter(prefix="/api/markets", tags=["markets"], responses=error_responses(404, 422))

_INTERVALS = {"1h": 3600, "4h": 4 * 3600, "1d": 86400, "1w": 7 * 86400}


@router.get(
    "/{market_id}/trades",
    summary="The market's trades (the tape), newest first",
    description="In chain order backwards (slot, then order within the slot). `next_cursor` "
    "continues with older trades; trades indexed meanwhile do not shift the pages.",
)
async def get_market_trades(
    market_id: MarketIdPath,
    st: Annotated[ApiState, Depends(state)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None,
        Query(
            pattern=CHAIN_CURSOR,
            description="`next_cursor` of the previous page",
        ),
    ] = None,
) -> MarketTrades:
    before = None if cursor is None else chain_cursor(cursor)
    await load_market(st, market_id)

    async def load() -> MarketTrades:
        async with st.pool.connection() as conn:
            rows = await q_trades.of_market(conn, market_id, before=before, limit=limit)
        return MarketTrades(
            market_id=market_id,
            trades=[trade_model(r) for r in rows],
            next_cursor=next_chain_cursor(rows, limit),
        )

    page: MarketTrades = await st.cache.get(
        f"tape:{market_id}:{cursor}:{limit}", load, tags=[market_id]
    )
    return page


@router.get("/{market_id}/holders", summary="The market's largest YES and NO holders")
async def get_holders(
    market_id: MarketIdPath,
    st: Annotated[ApiState, Depends(state)],
    limit: Annotated[int, Query(ge=1, le=100, description="Holders per side")] = 10,
) -> MarketHolders:
    await load_market(st, market_id)

    async def load() -> MarketHolders:
        async with st.pool.connection() as conn:
            yes = await q_positions.top_holders(conn, market_id, outcome=True, limit=limit)
            no = await q_positions.top_holders(conn, market_id, outcome=False, limit=limit)
        return MarketHolders(
            market_id=market_id,
            yes=[Holder(wallet=w, shares=s) for w, s in yes],
            no=[Holder(wallet=w, shares=s) for w, s in no],
        )

    holders: MarketHolders = await st.cache.get(
        f"holders:{market_id}:{limit}", load, tags=[market_id]
    )
    return holders


@router.get(
    "/{market_id}/activity",
    summary="The market's volume and distinct traders per interval",
    description="Per interval of chain time with at least one trade (empty intervals left "
    "out), oldest first: the LMSR amounts traded (before fees), the trades and the distinct "
    "wallets that traded.",
)
async def get_activity(
    market_id: MarketIdPath,
    st: Annotated[ApiState, Depends(state)],
    interval: Literal["1h", "4h", "1d", "1w"] = "1d",
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> MarketActivity:
    await load_market(st, market_id)

    async def load() -> MarketActivity:
        async with st.pool.connection() as conn:
            rows = await q_trades.activity(
                conn, market_id, seconds=_INTERVALS[interval], since=since, limit=limit
            )
        return MarketActivity(
            market_id=market_id,
            interval=interval,
            buckets=[
                ActivityBucket(t=present(iso(t)), volume=v, trades=n, traders=k)
                for t, v, n, k in rows
            ],
        )

    result: MarketActivity = await st.cache.get(
        f"activity:{market_id}:{interval}:{since}:{limit}", load, tags=[market_id]
    )
    return result
