"""The API's chain clock (api/chainclock.py) against a real local validator: reads of the
chain are shared and at most one a second, made in the background once there is a reading (no
request waits for them), the time runs on between them by the monotonic clock, and a chain
that stops answering leaves the last reading running on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hybridmarket.api.chainclock import REFRESH_S, ChainClock
from hybridmarket.chain import ChainClient

from ..integration.api_fixtures import api_settings, running_api
from ..integration.localnet_fixtures import control, running_validator

pytestmark = pytest.mark.e2e


async def test_reads_are_shared_at_most_one_a_second_and_run_on(tmp_path: Path) -> None:
    async with running_validator(tmp_path / "ledger") as v, ChainClient(v.rpc_url) as client:
        reads = 0

        async def read() -> int:
            nonlocal reads
            reads += 1
            return await client.chain_time()

        mono = [1000.0]  # this process's monotonic clock, moved by the test
        clock = ChainClock(read, now=lambda: mono[0])
        assert clock.now() is None  # never read: no time to give
        chain = await client.chain_time()
        seen = await asyncio.gather(*(clock.current() for _ in range(50)))
        assert reads == 1  # fifty requests at once, one read of the chain
        assert len(set(seen)) == 1 and seen[0] is not None and abs(seen[0] - chain) <= 2
        first = seen[0]
        mono[0] += REFRESH_S / 2
        assert await clock.current() == first  # within the second: no read
        assert reads == 1
        # The chain's clock jumps by a day: the next request after a second starts a read and
        # answers at once with the time run on; the read, once back, shows the jump.
        await control(v, "hybridmarket_advanceClock", seconds=86400)
        slot = await client.get_slot()
        while await client.get_slot() <= slot + 1:
            await asyncio.sleep(0.02)
        mono[0] += REFRESH_S / 2
        assert await clock.current() == first + 1  # not waiting for the chain
        assert clock.reading
        while clock.reading:
            await asyncio.sleep(0.01)
        jumped = clock.now()
        assert reads == 2 and jumped is not None and jumped >= first + 86400
        # Between reads the time runs on from the last one.
        mono[0] += 0.9
        assert clock.now() == jumped  # floor(reading + 0.9 s): the same second
        mono[0] += 10
        # The chain stops answering (every request held): the clock runs on from its reading.
        await control(v, "hybridmarket_setFaults", timeout_rate=1.0, timeout_seconds=2)
        try:
            assert await clock.current() == jumped + 10
            assert reads == 3
        finally:
            await control(v, "hybridmarket_clearFaults")
        while clock.reading:  # the held read gives up (or gets through, now)
            await asyncio.sleep(0.05)
        mono[0] += REFRESH_S
        assert (await clock.current() or 0) >= jumped  # and the next second reads again
        while clock.reading:
            await asyncio.sleep(0.01)
        assert reads == 4


async def test_a_page_on_another_origin_may_read_the_header(tmp_path: Path, db_url: str) -> None:
    """With CORS_ORIGINS set, X-Chain-Time is exposed to that origin's scripts (a browser hides
    response headers from other origins unless they are listed)."""
    async with running_validator(tmp_path / "ledger") as v:
        settings = api_settings(
            db_url, v.rpc_url, v.ws_url, tmp_path, CORS_ORIGINS="http://ui.test"
        )
        async with running_api(settings) as http:
            r = await http.get("/api/markets", headers={"Origin": "http://ui.test"})
            assert r.status_code == 200 and int(r.headers["X-Chain-Time"]) > 0
            exposed = r.headers["Access-Control-Expose-Headers"].lower().split(", ")
            assert "x-chain-time" in exposed
