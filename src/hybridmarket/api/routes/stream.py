"""`GET /api/stream`: Server-Sent Events of market updates, trades and new comments, optionally
filtered by market, and of a wallet's notifications. Each change signal from the indexer (or a
posted comment) becomes events. Market, trade and notification events carry `chain_time`: the
chain's clock then (unix seconds, as the `X-Chain-Time` header of other responses; null before
the API has read it). Comment events do not: a comment's times are the server's wall clock.

Notifications are made by the database (migration 0012's triggers) in the transaction of the
change they are about, so the change signal that announces it also announces them: one
`NotificationFeed` per API process reads the notifications committed since its last read once
per signal (a burst of signals is one read), for every open wallet stream together, and hands
each to the streams of its wallet."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from hybridmarket.api.chainclock import chain_clock
from hybridmarket.api.common import Wallet
from hybridmarket.api.errors import ApiError
from hybridmarket.api.routes import error_responses
from hybridmarket.api.routes.follows import notification_model
from hybridmarket.api.routes.markets import load_market
from hybridmarket.api.routes.users import trade_json
from hybridmarket.api.state import ApiState, state
from hybridmarket.db.queries import follows as q_follows
from hybridmarket.db.queries import trades as q_trades

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api", tags=["stream"], responses=error_responses(422))
HEARTBEAT_S = 15.0
# Published to every subscriber when the server stops: each open stream then ends its response.
_END: dict[str, Any] = {"end_of_stream": True}
Queue = asyncio.Queue[dict[str, Any]]
EventKind = Literal["market", "trade", "comment", "notification"]


def end_streams(app: object) -> None:
    """End every open stream of `app` (a server stopping calls this: uvicorn would otherwise
    wait for the streams, which a browser tab holds open for ever)."""
    st = getattr(getattr(app, "state", None), "api", None)
    if isinstance(st, ApiState):
        st.hub.publish(_END)


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class NotificationFeed:
    """New notifications for the wallets whose streams are open. While one is, a task follows
    the change hub and, after each signal (those queued meanwhile coalesced), reads every
    notification committed since its last read, for all wallets at once (the primary key's
    range: one query per signal, never one per stream), and puts each into the queues of its
    wallet's streams. Ids are taken before commit, so a transaction can commit after one with
    greater ids: the ids skipped are read again until they appear or a minute has passed (a
    rollback leaves them unused)."""

    BATCH = 1000
    HOLE_TTL_S = 60.0
    MAX_HOLES = 10_000

    def __init__(self, st: ApiState) -> None:
        self._st = st
        self._streams: dict[str, set[Queue]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._cursor = 0
        self._holes: dict[int, float] = {}  # id skipped -> when it was first missed

    @classmethod
    def of(cls, request: Request, st: ApiState) -> NotificationFeed:
        """The app's feed (one per API process)."""
        feed: NotificationFeed | None = getattr(request.app.state, "notification_feed", None)
        if feed is None or feed._st is not st:
            feed = cls(st)
            request.app.state.notification_feed = feed
        return feed

    @contextlib.asynccontextmanager
    async def watching(self, wallet: str, queue: Queue) -> AsyncIterator[None]:
        """Put `wallet`'s notifications committed from now on into `queue` while the block
        runs (it starts once the feed knows where "now" is)."""
        self._streams.setdefault(wallet, set()).add(queue)
        try:
            if self._task is None or self._task.done():
                self._ready = asyncio.get_running_loop().create_future()
                self._task = asyncio.create_task(self._run(self._ready))
            assert self._ready is not None
            await asyncio.shield(self._ready)
            yield
        finally:
            queues = self._streams.get(wallet, set())
            queues.discard(queue)
            if not queues:
                self._streams.pop(wallet, None)
            if not self._streams and self._task is not None:
                self._task.cancel()
                self._task = None

    async def _run(self, ready: asyncio.Future[None]) -> None:
        try:
            async with self._st.hub.subscription() as changes:
                async with self._st.pool.connection() as conn:  # after subscribing: none missed
                    self._cursor = await q_follows.last_notification_id(conn)
                self._holes.clear()
                ready.set_result(None)
                while True:
                    burst = [await changes.get()]
                    while not changes.empty():
                        burst.append(changes.get_nowait())
                    if any(c is _END for c in burst):
                        return
                    try:
                        await self._read()
                    except Exception as e:  # the database is away: the next signal reads again
                        log.warning("notifications not read", error=f"{type(e).__name__}: {e}")
        except BaseException as e:
            if not ready.done():
                ready.set_exception(e if isinstance(e, Exception) else RuntimeError("stopped"))
            raise

    async def _read(self) -> None:
        now = time.monotonic()
        for i in [i for i, t in self._holes.items() if now - t > self.HOLE_TTL_S]:
            del self._holes[i]
        while True:
            async with self._st.pool.connection() as conn:
                rows = await q_follows.notifications_after(
                    conn, self._cursor, sorted(self._holes), limit=self.BATCH
                )
            for r in rows:
                i = int(r["id"])
                if i > self._cursor:
                    room = max(0, self.MAX_HOLES - len(self._holes))
                    for skipped in range(self._cursor + 1, min(i, self._cursor + 1 + room)):
                        self._holes[skipped] = now
                    self._cursor = i
                else:
                    self._holes.pop(i, None)
                queues = self._streams.get(r["wallet"])
                if queues:
                    event = {"notification": notification_model(r).model_dump()}
                    for queue in queues:
                        if queue.full():
                            queue.get_nowait()
                        queue.put_nowait(event)
            if len(rows) < self.BATCH:
                return


@router.get(
    "/stream",
    summary="Live market updates, trades, comments and a wallet's notifications "
    "(text/event-stream)",
    description="Events: `market` (the market as GET /api/markets/{id} gives it), `trade` (as "
    "in GET /api/markets/{id}/trades), `comment` (a comment posted or deleted) and, with "
    "`wallet`, `notification` (as in GET /api/users/{wallet}/notifications, sent as the "
    "database makes it: resolution proposed, dispute opened, finalized, claimable, a comment). "
    "Market, trade and comment events come for the `market`s named, or for every market; "
    "`events` keeps only the kinds named (`?wallet=W&events=notification`: that wallet's "
    "notifications alone, as a page that shows no market asks). A browser holds few "
    "connections to one server over HTTP/1.1 (six, across its tabs), so a page keeps one "
    "stream for all it shows. Events sent while a client is disconnected are lost: on "
    "reconnecting, read what it shows again (the notifications persist: "
    "GET /api/users/{wallet}/notifications).",
    response_class=StreamingResponse,
)
async def stream(
    request: Request,
    st: Annotated[ApiState, Depends(state)],
    market: Annotated[
        list[str] | None, Query(description="Only these markets (repeatable)")
    ] = None,
    wallet: Annotated[
        Wallet | None, Query(description="Also this wallet's `notification` events")
    ] = None,
    events: Annotated[
        list[EventKind] | None, Query(description="Only these kinds of event (repeatable)")
    ] = None,
) -> StreamingResponse:
    wanted = set(market or [])
    for m in wanted:
        if len(m) != 64 or any(c not in "0123456789abcdef" for c in m):
            raise ApiError(422, "invalid_request", f"market: not a market id: {m!r}")
    kinds: set[str] = set(events or ("market", "trade", "comment", "notification"))
    markets_too = bool(kinds & {"market", "trade", "comment"})
    feed = (
        NotificationFeed.of(request, st) if wallet is not None and "notification" in kinds else None
    )

    clock = chain_clock(request.app)

    def sse(event: str, data: dict[str, Any]) -> bytes:
        return _sse(event, {**data, "chain_time": clock.now() if clock else None})

    async def body() -> AsyncIterator[bytes]:
        last_slot: dict[str, int] = {}
        async with contextlib.AsyncExitStack() as stack:
            queue = await stack.enter_async_context(st.hub.subscription())
            if feed is not None and wallet is not None:
                await stack.enter_async_context(feed.watching(wallet, queue))
            yield b": connected\n\n"
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
                if "notification" in change:
                    yield sse("notification", change["notification"])
                    continue
                if not markets_too:
                    continue
                for mid in change.get("markets", []):
                    if wanted and mid not in wanted:
                        continue
                    if "comment" in change:
                        if "comment" in kinds:
                            yield _sse("comment", {"market_id": mid, **change["comment"]})
                        continue
                    try:
                        if clock is not None:
                            await clock.current()
                        market_event = sse("market", await load_market(st, mid))
                    except ApiError:
                        continue
                    if "market" in kinds:
                        yield market_event
                    if "trade" not in kinds:
                        continue
                    since = last_slot.get(mid, int(change.get("slot", 0)) - 1)
                    async with st.pool.connection() as conn:
                        trades = await q_trades.after_slot(conn, mid, since)
                    for r in trades:
                        yield sse("trade", trade_json(r))
                        last_slot[mid] = max(last_slot.get(mid, 0), int(r["slot"]))

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
