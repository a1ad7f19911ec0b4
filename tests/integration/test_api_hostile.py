"""Hostile input through the real API (uvicorn on a socket, a real validator and PostgreSQL):
10 MB wallets, signatures, cursors and query strings are each refused with a 4xx, and
`/api/health` keeps answering while they are in flight. Base58 costs the square of its
length, so before the length bounds a 10 MB wallet froze the event loop for minutes.

Timings are printed (`pytest -s`), never asserted: they depend on the machine."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from solders.keypair import Keypair

from hybridmarket.localnet.validator import LocalValidator

from .api_fixtures import api_settings, running_api

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
BIG = 10 * 1024 * 1024
UNDER_BODY_LIMIT = 60_000  # a field as long as the body limit (64 KiB) lets through
MARKET = "ab" * 32


async def raw_get(http: httpx.AsyncClient, target: str) -> int:
    """The status of `GET target` sent byte for byte: httpx refuses URLs this long itself. The
    answer is read while the request is still being written, as the server may answer (and
    close) before it has read it all."""
    reader, writer = await asyncio.open_connection(http.base_url.host, http.base_url.port)

    async def write() -> None:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    try:
        writing = asyncio.create_task(write())
        status_line = await reader.readline()
        await writing
        return int(status_line.split()[1])
    finally:
        writer.close()


def hostile_requests(
    http: httpx.AsyncClient,
) -> list[tuple[str, Callable[[], Awaitable[int]], int]]:
    """(what, send it and return the status, the status it must get)."""
    wallet = str(Keypair().pubkey())

    async def post(path: str, body: dict[str, object]) -> int:
        return (await http.post(path, json=body)).status_code

    def vote(w: str) -> dict[str, object]:
        return {"wallet": w, "kind": "proposal", "vote": True}

    def comment(sig: str) -> dict[str, object]:
        return {
            "market_id": MARKET,
            "content": "x",
            "wallet": wallet,
            "message": "m",
            "signature": sig,
        }

    return [
        (
            "10 MB wallet in a body",
            lambda: post(f"/api/markets/{MARKET}/vote", vote("2" * BIG)),
            413,
        ),
        (
            "60 kB wallet in a body",
            lambda: post(f"/api/markets/{MARKET}/vote", vote("2" * UNDER_BODY_LIMIT)),
            422,
        ),
        ("10 MB signature", lambda: post("/api/discussions", comment("2" * BIG)), 413),
        ("60 kB signature", lambda: post("/api/discussions", comment("2" * UNDER_BODY_LIMIT)), 422),
        (
            "10 MB wallet in a query",
            lambda: raw_get(http, f"/api/auth/nonce?wallet={'2' * BIG}"),
            400,
        ),
        ("10 MB wallet in a path", lambda: raw_get(http, f"/api/users/{'2' * BIG}"), 400),
        ("10 MB cursor", lambda: raw_get(http, f"/api/markets?cursor={'A' * BIG}"), 400),
        ("10 MB query string", lambda: raw_get(http, f"/api/markets?{'a' * BIG}"), 400),
        ("8 kB cursor", lambda: raw_get(http, f"/api/markets?cursor={'A' * 8000}"), 422),
        ("8 kB wallet in a path", lambda: raw_get(http, f"/api/users/{'2' * 8000}"), 422),
    ]


async def test_huge_strings_are_refused_while_health_keeps_answering(
    validator: LocalValidator, db_url: str, tmp_path: Path
) -> None:
    settings = api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path)
    async with running_api(settings) as http:
        health_before = await http.get("/api/health")
        assert health_before.status_code in (200, 503), health_before.text
        cases = hostile_requests(http)

        async def timed(send: Callable[[], Awaitable[int]]) -> tuple[int, float]:
            t = time.perf_counter()
            status = await send()
            return status, time.perf_counter() - t

        hostile = [asyncio.create_task(timed(send)) for _, send, _ in cases]
        health: list[tuple[int, float]] = []
        while not all(t.done() for t in hostile) or not health:
            t = time.perf_counter()
            r = await http.get("/api/health")
            health.append((r.status_code, time.perf_counter() - t))
        results = [t.result() for t in hostile]

        for (what, _, _), (status, took) in zip(cases, results, strict=True):
            print(f"{what}: {status} in {took * 1000:.1f} ms")
        print(
            f"/api/health answered {len(health)} times meanwhile, "
            f"slowest {max(s for _, s in health) * 1000:.1f} ms"
        )
        assert [
            (what, status) for (what, _, _), (status, _) in zip(cases, results, strict=True)
        ] == [(what, expected) for what, _, expected in cases]
        assert {status for status, _ in health} == {health_before.status_code}

        # The 413 is the API's error envelope, and says what the limit is.
        r = await http.post(f"/api/markets/{MARKET}/vote", content=b" " * 70_000)
        assert r.status_code == 413
        assert r.json()["error"] == {
            "code": "payload_too_large",
            "message": "request body larger than 65536 bytes",
            "details": {"max_bytes": 65536},
        }
