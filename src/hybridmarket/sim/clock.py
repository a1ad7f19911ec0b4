"""Moving the embedded validator's clock, for the phases that need time to pass."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx2

from hybridmarket.chain.errors import RpcError

AdvanceClock = Callable[[int], Awaitable[object]]


def clock_advancer(rpc_url: str) -> AdvanceClock:
    """`advance_clock` for the embedded validator: its `hybridmarket_advanceClock` test control
    (the validator must run with test controls enabled)."""

    async def advance(seconds: int) -> object:
        async with httpx2.AsyncClient() as http:
            body = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "hybridmarket_advanceClock",
                "params": [{"seconds": seconds}],
            }
            resp = (await http.post(rpc_url, json=body)).json()
        if "error" in resp:
            raise RpcError(f"hybridmarket_advanceClock: {resp['error']}")
        return resp["result"]

    return advance
