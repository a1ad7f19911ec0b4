"""`GET /api/stream`: Server-Sent Events of market updates, trades and new comments, optionally
filtered by market. Each change signal from the indexer (or a posted comment) becomes events.
Market and trade events, whose times are the chain's, carry `chain_time`: the chain's clock then
(unix seconds, as the `X-Chain-Time` header of other responses; null before the API has read
it). Comment events do not: a comment's times are the server's wall clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from hybridmarket.api.chainclock import chain_clock
from hybridmarket.api.errors import ApiError
from hybridmarket.api.routes import error_responses
from hybridmarket.api.routes.markets import load_market
from hybridmarket.api.routes.users import trade_json
from hybridmarket.api.state import ApiState, state
from hybridmarket.db.queries import trades as q_trades

router = APIRouter(prefix="/api", tags=["stream"], responses=error_responses(422))
HEARTBEAT_S = 15.0
# Published to every subscriber when the server stops: each open stream then ends its response.
_END: dict[str, Any] = {"end_of_stream": True}


def end_streams(app: object) -> None:
    """End every open stream of `app` (a server stopping calls this: uvicorn would otherwise
    wait for the streams, which a browser tab holds open for ever)."""
    st = getattr(getattr(app, "state", None), "api", None)
    if isinstance(st, ApiState):
        st.hub.publish(_END)


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@router.get(
    "/stream",
    summary="Live market updates, trades and comments (text/event-stream)",
    response_class=StreamingResponse,
)
async def stream(
    request: Request,
    st: Annotated[ApiState, Depends(state)],
    market: Annotated[
        list[str] | None, Query(description="Only these markets (repeatable)")
    ] = None,
) -> StreamingResponse:
    wanted = set(market or [])
    for m in wanted:
        if len(m) != 64 or any(c not in "0123456789abcdef" for c in m):
            raise ApiError(422, "invalid_request", f"market: not a market id: {m!r}")

    clock = chain_clock(request.app)

    def sse(event: str, data: dict[str, Any]) -> bytes:
        return _sse(event, {**data, "chain_time": clock.now() if clock else None})

    async def events() -> AsyncIterator[bytes]:
        last_slot: dict[str, int] = {}
        yield b": connected\n\n"
        async with st.hub.subscription() as queue:
            while True:
                try:
                    change = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": heartbeat\n\n"
                    continue
                if change is _END:
                    return
                for mid in change.get("markets", []):
                    if wanted and mid not in wanted:
                        continue
                    if "comment" in change:
                        yield _sse("comment", {"market_id": mid, **change["comment"]})
                        continue
                    try:
                        if clock is not None:
                            await clock.current()
                        yield sse("market", await load_market(st, mid))
                    except ApiError:
                        continue
                    since = last_slot.get(mid, int(change.get("slot", 0)) - 1)
                    async with st.pool.connection() as conn:
                        trades = await q_trades.after_slot(conn, mid, since)
                    for r in trades:
                        yield sse("trade", trade_json(r))
                        last_slot[mid] = max(last_slot.get(mid, 0), int(r["slot"]))

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
