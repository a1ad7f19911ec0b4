"""Failing dependencies through the real API (uvicorn on a socket, a real validator with fault
injection, real PostgreSQL): a chain that rate limits every call, or hangs, is a 503 with
Retry-After in the error envelope from every route that needs it (trades, quotes, and the list
and detail whose program config is not cached), within the API's RPC deadline rather than the
gateway's default 30 s; a Redis that does not answer makes the rate-limited routes fail
closed (503, Retry-After) and `/api/health` say so (503, redis not ok); never a 500.

How long each answer took is printed (`pytest -s`), not asserted."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket.localnet.validator import LocalValidator

from .api_fixtures import api_settings, running_api
from .discussion_fixtures import insert_market
from .localnet_fixtures import control

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
DEADLINE_S = 2.0


async def chain_routes(http: httpx2.AsyncClient, market: str) -> dict[str, httpx2.Response]:
    """Every kind of request that needs the chain, each timed (printed)."""
    trade = {"wallet": str(Keypair().pubkey()), "outcome": "yes", "shares": 1000}
    requests: dict[str, Any] = {
        "buy": lambda: http.post(f"/api/markets/{market}/buy", json=trade),
        "sell": lambda: http.post(f"/api/markets/{market}/sell", json=trade),
        "price with shares": lambda: http.get(
            f"/api/markets/{market}/price", params={"shares": 1000}
        ),
        "list": lambda: http.get("/api/markets"),
        "detail": lambda: http.get(f"/api/markets/{market}"),
    }
    out = {}
    for what, send in requests.items():
        t = time.perf_counter()
        out[what] = await send()
        print(f"{what}: {out[what].status_code} in {time.perf_counter() - t:.2f} s")
    return out


@pytest.mark.parametrize(
    ("fault", "retry_after"),
    [
        ({"http429_rate": 1.0, "retry_after": 1}, "1"),
        ({"timeout_rate": 1.0, "timeout_seconds": 30}, "5"),
    ],
    ids=["rate limited", "hung"],
)
async def test_a_failing_chain_is_503_with_retry_after(
    validator: LocalValidator,
    db_url: str,
    pool: AsyncConnectionPool,
    tmp_path: Path,
    fault: dict[str, Any],
    retry_after: str,
) -> None:
    async with pool.connection() as conn:
        market = await insert_market(conn)
    settings = api_settings(
        db_url, validator.rpc_url, validator.ws_url, tmp_path, API_RPC_DEADLINE=DEADLINE_S
    )
    async with running_api(settings) as http:
        await control(validator, "hybridmarket_setFaults", **fault)
        try:
            answers = await chain_routes(http, market)
        finally:
            await control(validator, "hybridmarket_setFaults")
    for what, r in answers.items():
        assert r.status_code == 503, (what, r.text)
        assert r.headers["Retry-After"] == retry_after, what
        assert r.json()["error"]["code"] == "chain_unavailable", what
        assert r.json()["error"]["details"] == {"retry_after_s": int(retry_after)}, what


async def test_redis_down_fails_the_limits_closed_and_health_says_so(
    validator: LocalValidator, db_url: str, pool: AsyncConnectionPool, tmp_path: Path
) -> None:
    with socket.socket() as s:  # a port nothing listens on: Redis is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with pool.connection() as conn:
        market = await insert_market(conn, state="PROPOSED")
    settings = api_settings(
        db_url,
        validator.rpc_url,
        validator.ws_url,
        tmp_path,
        REDIS_URL=f"redis://127.0.0.1:{port}/0",
    )
    async with running_api(settings) as http:
        vote = {"wallet": str(Keypair().pubkey()), "kind": "proposal", "vote": True}
        r = await http.post(f"/api/markets/{market}/vote", json=vote)
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "5"
        assert r.json()["error"]["code"] == "rate_limiter_unavailable"
        health = await http.get("/api/health")
        assert health.status_code == 503, health.text
        assert health.json()["redis"] == {"ok": False, "error": "ConnectionError"}
        # What needs no limit still answers.
        assert (await http.get(f"/api/markets/{market}")).status_code == 200
