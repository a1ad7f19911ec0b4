"""Leaderboards: wallets by realized profit or by volume, all time or in one UTC week, computed
by the database from the indexed trades and settlements (the triggers of migrations 0011 and 0013
keep the per-wallet sums as trades, finalizations and claims are indexed; each page is one range
of an index). A page is the same for everyone: it is kept in the read cache, dropped with the
lists on any market's change, and sent as encoded."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from hybridmarket.api import chainclock
from hybridmarket.api.cache import LIST_TAG
from hybridmarket.api.errors import ApiError
from hybridmarket.api.models import Leaderboard, LeaderboardEntry
from hybridmarket.api.routes import encoded, encoded_as, error_responses
from hybridmarket.api.state import ApiState, state
from hybridmarket.db.queries import leaderboards as q

router = APIRouter(prefix="/api/leaderboards", tags=["users"], responses=error_responses(422))

_MAX_KEY = 10**30


def _encode_cursor(rank: int, key: int, wallet: str) -> str:
    raw = json.dumps([rank, str(key), wallet]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int, str]:
    try:
        rank, key, wallet = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (isinstance(rank, int) and isinstance(key, str) and isinstance(wallet, str)):
            raise TypeError
        value = int(key)
        if not (1 <= rank <= 10**9 and abs(value) < _MAX_KEY and 32 <= len(wallet) <= 44):
            raise ValueError
        wallet.encode("ascii")
        return rank, value, wallet
    except (ValueError, binascii.Error, TypeError, UnicodeError):
        raise ApiError(
            422, "invalid_request", "cursor: not a cursor returned by this API"
        ) from None


async def _this_week(request: Request) -> date:
    """The Monday of the chain clock's UTC week (the wall clock's while the chain's is
    unknown)."""
    clock = chainclock.chain_clock(request.app)
    now = None if clock is None else await clock.current()
    today = (datetime.now(UTC) if now is None else datetime.fromtimestamp(now, UTC)).date()
    return today - timedelta(days=today.weekday())


@router.get(
    "",
    summary="Leaderboards by realized profit or volume, all time or per week",
    response_model=None,
    responses=encoded_as(Leaderboard),
    description="`by=profit`: realized profit on sales by the **average-cost method** (the "
    "portfolio's: a sale realizes what it received, after fees, minus floor(cost basis x "
    "shares sold / shares held) of what the shares held cost, fees included), summed over every "
    "market, plus what each position held to its market's end realized: the payout minus its cost "
    "basis, when the market is FINALIZED with an outcome (a losing position at a payout of 0), "
    "or when the position is claimed in an INVALID or CANCELLED market (counted in the week "
    "the market ended). `by=volume`: LMSR amounts traded, before fees. "
    "`period=all` or `week`: the UTC week (Monday to Sunday, chain time) of `week` (any day "
    "of it), this week by the chain's clock when not given. Ties: the greater wallet first.",
)
async def get_leaderboard(
    request: Request,
    st: Annotated[ApiState, Depends(state)],
    by: Literal["profit", "volume"] = "profit",
    period: Literal["all", "week"] = "all",
    week: Annotated[
        date | None, Query(description="period=week: a day of the week (YYYY-MM-DD)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
) -> Response:
    after = None if cursor is None else _decode_cursor(cursor)
    monday: date | None = None
    if period == "week":
        day = week or await _this_week(request)
        monday = day - timedelta(days=day.weekday())
    elif week is not None:
        raise ApiError(422, "invalid_request", "week: only with period=week")

    async def load() -> bytes:
        async with st.pool.connection() as conn:
            rows = await q.top(
                conn,
                by=by,
                week=monday,
                limit=limit,
                after=None if after is None else (after[1], after[2]),
            )
        first = 1 if after is None else after[0] + 1
        entries = [
            LeaderboardEntry(rank=first + i, wallet=w, realized_pnl=p, volume=v, trades=n)
            for i, (w, p, v, n) in enumerate(rows)
        ]
        last = entries[-1] if len(entries) == limit else None
        return (
            Leaderboard(
                by=by,
                period=period,
                week=None if monday is None else monday.isoformat(),
                entries=entries,
                next_cursor=None
                if last is None
                else _encode_cursor(
                    last.rank, last.realized_pnl if by == "profit" else last.volume, last.wallet
                ),
            )
            .model_dump_json()
            .encode()
        )

    # Trades and settlements change the sums: any market's change drops it, as it drops lists.
    key = f"leaderboard:{by}:{period}:{monday}:{limit}:{cursor}"
    return encoded(await st.cache.get(key, load, tags=[LIST_TAG]))
