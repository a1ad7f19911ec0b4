"""The chain's clock as the API knows it, sent with every `/api/*` response as `X-Chain-Time`
(unix seconds) and with every live-stream event as `chain_time`, so a client counts deadlines
from the clock the program checks them against, which can be ahead of anyone's wall clock (a
local validator's clock is moved forward by days in the demo and the tests).

The time is the latest confirmed block's (`ChainClient.chain_time`), read at most once a
second, and only while requests come: between reads it runs on from the last one by this
process's monotonic clock. A request that finds the reading older than a second starts a new
one in the background and answers with the reading run on (requests meanwhile share that one
read), so no request waits for the chain once a second: under load, every request in flight
did, which put the chain's latency into the API's p99. A clock that jumped (the test controls,
the demo) shows within a second or so. Only a reading older than `STALE_S` (the API was idle)
or none at all is waited for, a moment (`WAIT_S`). When the chain does not answer, responses
carry the last known time run on, without waiting; before the API has ever read it, they carry
no header."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

HEADER = "X-Chain-Time"
REFRESH_S = 1.0  # the chain is read at most this often
WAIT_S = 0.25  # how long a request waits for a fresh reading when the chain answers
STALE_S = 10.0  # a reading this old is waited for (WAIT_S) rather than run on


class ChainClock:
    """The chain's time, read through `reader` (a coroutine returning unix seconds)."""

    def __init__(
        self,
        reader: Callable[[], Any],
        *,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._now = now
        self._chain: float | None = None  # chain seconds at the last reading...
        self._at = 0.0  # ...taken at this monotonic time
        self._tried_at = -math.inf
        self._healthy = True  # the last reading succeeded (or none was tried)
        self._task: asyncio.Task[None] | None = None

    def now(self) -> int | None:
        """The chain's time now (unix seconds), run on from the last reading; None when the
        chain has never been read."""
        if self._chain is None:
            return None
        return math.floor(self._chain + (self._now() - self._at))

    @property
    def reading(self) -> bool:
        """A read of the chain is under way."""
        return self._task is not None

    async def current(self) -> int | None:
        """`now()`, starting a new reading if the last is older than REFRESH_S; waiting for it
        (at most WAIT_S, and not at all while the chain is failing) only when there is no
        reading yet or the last is older than STALE_S."""
        loop = asyncio.get_running_loop()
        if self._task is not None and self._task.get_loop() is not loop:
            self._task = None  # left by another event loop (a test client's): not ours to wait
        if self._now() - self._tried_at >= REFRESH_S and self._task is None:
            self._tried_at = self._now()
            self._task = loop.create_task(self._read())
        task = self._task
        stale = self._chain is None or self._now() - self._at >= STALE_S
        if task is not None and self._healthy and stale:
            await asyncio.wait({task}, timeout=WAIT_S)
        return self.now()

    async def _read(self) -> None:
        try:
            chain = float(await self._reader())
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the chain is down or slow: keep running on the last reading
            if self._healthy:
                log.warning("chain clock unreadable", error=f"{type(e).__name__}: {e}")
            self._healthy = False
        else:
            self._chain, self._at = chain, self._now()
            self._healthy = True
        finally:
            if self._task is asyncio.current_task():
                self._task = None


def chain_clock(app: Any) -> ChainClock | None:
    """The app's clock (installed by `install`), or None."""
    clock = getattr(getattr(app, "state", None), "chain_clock", None)
    return clock if isinstance(clock, ChainClock) else None


class ChainTimeHeader:
    """Adds `X-Chain-Time` to every response under `/api/`."""

    def __init__(self, app: ASGIApp, clock: ChainClock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        await self.clock.current()

        async def with_time(message: Message) -> None:
            if message["type"] == "http.response.start":
                t = self.clock.now()
                if t is not None:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"x-chain-time", str(t).encode()),
                    ]
            await send(message)

        await self.app(scope, receive, with_time)


def install(app: Any) -> None:
    """Give `app` a chain clock (read through its ApiState's chain client, once the lifespan
    has built it) and the middleware that sends it."""

    async def read() -> int:
        st = getattr(app.state, "api", None)
        if st is None:
            raise RuntimeError("the API is not started")
        t: int = await st.client.chain_time()
        return t

    app.state.chain_clock = clock = ChainClock(read)
    app.add_middleware(ChainTimeHeader, clock=clock)
