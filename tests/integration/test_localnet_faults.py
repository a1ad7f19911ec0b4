"""Fault injection through the test-control methods: 429 with Retry-After, 5xx, held requests,
dropped, delayed and closed WebSocket notifications."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Processed
from solana.rpc.websocket_api import SolanaWsClient
from solders.keypair import Keypair
from websockets.exceptions import ConnectionClosed

from hybridmarket.localnet.validator import LocalValidator
from tests.integration.localnet_fixtures import (
    SOL,
    control,
    faucet_of,
    funded,
    latest_blockhash,
    legacy_tx,
    rpc_raw,
    running_validator,
    send,
    transfer_ix,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def v(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    async with running_validator(tmp_path / "ledger") as validator:
        yield validator


async def test_http_429_and_5xx(v: LocalValidator) -> None:
    body = {"jsonrpc": "2.0", "id": 7, "method": "getSlot"}
    async with httpx2.AsyncClient() as http:
        got = await control(v, "hybridmarket_setFaults", http429_rate=1.0, retry_after=3)
        assert got["http429_rate"] == 1.0
        r = await http.post(v.rpc_url, json=body)
        assert r.status_code == 429 and r.headers["retry-after"] == "3"
        client = AsyncClient(v.rpc_url)
        with pytest.raises(SolanaRpcException):
            await client.get_slot()
        # Test controls are never faulted.
        assert (await control(v, "hybridmarket_getFaults"))["http429_rate"] == 1.0

        await control(v, "hybridmarket_setFaults", http5xx_rate=1.0)
        r = await http.post(v.rpc_url, json=body)
        assert r.status_code == 503
        with pytest.raises(SolanaRpcException):
            await client.get_slot()

        await control(v, "hybridmarket_setFaults", http429_rate=0.5, seed=42)
        codes = [(await http.post(v.rpc_url, json=body)).status_code for _ in range(40)]
        assert 5 < codes.count(429) < 35 and codes.count(200) == 40 - codes.count(429)
        # The same seed gives the same sequence.
        await control(v, "hybridmarket_setFaults", http429_rate=0.5, seed=42)
        again = [(await http.post(v.rpc_url, json=body)).status_code for _ in range(40)]
        assert again == codes

        assert await control(v, "hybridmarket_clearFaults") is True
        assert (await client.get_slot()).value > 0
        await client.close()
        bad = await rpc_raw(v.rpc_url, "hybridmarket_setFaults", [{"http429_rate": 2}])
        assert bad["error"]["code"] == -32602


async def test_held_request_times_out(v: LocalValidator) -> None:
    await control(v, "hybridmarket_setFaults", timeout_rate=1.0, timeout_seconds=0.5)
    async with httpx2.AsyncClient(timeout=0.2) as http:
        with pytest.raises(httpx2.TimeoutException):
            await http.post(v.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"})
    async with httpx2.AsyncClient(timeout=5) as http:
        with pytest.raises(httpx2.TransportError):  # held, then the connection is dropped
            await http.post(v.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"})
    await control(v, "hybridmarket_clearFaults")
    assert "result" in await rpc_raw(v.rpc_url, "getSlot")


async def _transfer(v: LocalValidator, payer: Keypair) -> str:
    bh = await latest_blockhash(v.rpc_url)
    tx = legacy_tx([transfer_ix(payer.pubkey(), Keypair().pubkey(), SOL // 100)], payer, bh)
    return str((await send(v.rpc_url, tx))["result"])


async def test_ws_drop_delay_close(v: LocalValidator) -> None:
    payer = await funded(v.rpc_url, faucet_of(v), SOL)
    async with SolanaWsClient(v.ws_url) as ws:
        await ws.logs_subscribe(commitment=Processed)
        await control(v, "hybridmarket_setFaults", ws_drop_rate=1.0)
        await _transfer(v, payer)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)

        await control(v, "hybridmarket_setFaults", ws_delay_ms=300)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        sig = await _transfer(v, payer)
        n = await asyncio.wait_for(ws.recv(), 5)
        assert str(n.result.value.signature) == sig
        assert loop.time() - t0 >= 0.25

        await control(v, "hybridmarket_setFaults", ws_close_rate=1.0)
        await _transfer(v, payer)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    await control(v, "hybridmarket_clearFaults")
    async with SolanaWsClient(v.ws_url) as ws:
        await ws.logs_subscribe(commitment=Processed)
        sig = await _transfer(v, payer)
        n = await asyncio.wait_for(ws.recv(), 5)
        assert str(n.result.value.signature) == sig
