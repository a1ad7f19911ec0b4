"""Hostile input through the real API (uvicorn on a socket, a real validator and PostgreSQL):

- 10 MB wallets, signatures, cursors and query strings are each refused with a 4xx, and
  `/api/health` keeps answering while they are in flight (base58 costs the square of its
  length: before the length bounds a 10 MB wallet froze the event loop for minutes);
- a table of inputs that were 500s: NUL in a signed SIWS message or an admin reason (whose
  nonce stays unused), forged cursors (non-ASCII digits, `1_000`, ISO week dates), a
  transaction without signatures, an impossible close date; and a validly signed SIWS message
  for another cluster (mainnet on localnet), which was accepted.

Timings are printed (`pytest -s`), never asserted: they depend on the machine."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from psycopg_pool import AsyncConnectionPool
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.system_program import TransferParams, transfer

from hybridmarket.localnet.validator import LocalValidator

from .api_fixtures import api_settings, running_api, signed_message
from .discussion_fixtures import insert_market, sha256_text

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
BIG = 10 * 1024 * 1024
UNDER_BODY_LIMIT = 60_000  # a field as long as the body limit (64 KiB) lets through
MARKET = "ab" * 32
JSON = {"Content-Type": "application/json"}


async def raw_get(http: httpx2.AsyncClient, target: str) -> int:
    """The status of `GET target` sent byte for byte: httpx2 refuses URLs this long itself. The
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
    http: httpx2.AsyncClient,
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
        # ...and documented on every route (OpenAPI).
        spec = (await http.get("/openapi.json")).json()
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                assert "413" in operation["responses"], (method, path)


def cursor(key: str, ident: str = "a" * 64) -> str:
    return base64.urlsafe_b64encode(json.dumps([key, ident]).encode()).decode().rstrip("=")


def unsigned_transaction() -> str:
    """A v0 transfer serialised with no signatures at all (a count of 0, then the message)."""
    kp = Keypair()
    ix = transfer(TransferParams(from_pubkey=kp.pubkey(), to_pubkey=kp.pubkey(), lamports=1))
    message = MessageV0.try_compile(kp.pubkey(), [ix], [], Hash.default())
    return base64.b64encode(bytes([0]) + bytes(message)).decode()


async def test_inputs_that_were_500s_are_4xx(
    validator: LocalValidator, db_url: str, pool: AsyncConnectionPool, tmp_path: Path
) -> None:
    async with pool.connection() as conn:
        market = await insert_market(conn)
    settings = api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path)
    async with running_api(settings) as http:
        alice = Keypair()
        wallet = str(alice.pubkey())

        # A message that reads as SIWS with a NUL in a field, validly signed.
        text, _ = await signed_message(http, alice, "post_comment", market, sha256_text("hi"))
        head, sep, tail = text.partition("\nVersion: ")
        nul_text = f"{head}\nURI: https://x\x00y{sep}{tail}"
        nul_message = {
            "marketId": market,
            "content": "hi",
            "wallet": wallet,
            "message": nul_text,
            "signature": str(alice.sign_message(nul_text.encode())),
        }
        admin_text, admin_sig = await signed_message(http, alice, "approve_market", market)
        # A message for another cluster, validly signed, over this server's nonce.
        mainnet_text = text.replace("\nChain ID: localnet\n", "\nChain ID: mainnet\n")
        assert mainnet_text != text
        mainnet = {
            **nul_message,
            "message": mainnet_text,
            "signature": str(alice.sign_message(mainnet_text.encode())),
        }

        def admin(reason: str) -> dict[str, Any]:
            return {
                "wallet": wallet,
                "message": admin_text,
                "signature": admin_sig,
                "reason": reason,
            }

        metadata = {
            "metadata": {
                "question": "Is this a real date?",
                "closes_at": "2030-13-45T99:99:99Z",
                "creator": wallet,
            },
            "b_parameter": 10**9,
            "initial_liquidity": 10**9,
            "message": "m",
            "signature": "1" * 64,
        }
        cases: list[tuple[str, str, str, dict[str, Any], int, str]] = [
            (
                "NUL in a signed SIWS message",
                "POST",
                "/api/discussions",
                nul_message,
                401,
                "malformed_message",
            ),
            ("SIWS message for mainnet", "POST", "/api/discussions", mainnet, 401, "wrong_chain"),
            (
                "NUL in an admin reason",
                "POST",
                f"/api/admin/approve/{market}",
                admin("a\x00b"),
                422,
                "invalid_request",
            ),
            (
                "lone surrogate in an admin reason",
                "POST",
                f"/api/admin/approve/{market}",
                admin("a\ud800b"),
                422,
                "invalid_request",
            ),
            (
                "transaction without signatures",
                "POST",
                "/api/transactions",
                {"transaction": unsigned_transaction()},
                422,
                "unsigned_transaction",
            ),
            ("impossible close date", "POST", "/api/markets", metadata, 422, "invalid_request"),
        ]
        forged = {
            "volume cursor 1_000": ("/api/markets", {"sort": "volume", "cursor": cursor("1_000")}),
            "volume cursor in Arabic-Indic digits": (
                "/api/markets",
                {"sort": "volume", "cursor": cursor("\u0661\u0662\u0663")},
            ),
            "newest cursor as an ISO week date": (
                "/api/markets",
                {"sort": "newest", "cursor": cursor("2026-W49-3T00:00:00+00:00")},
            ),
            "closing cursor in Devanagari digits": (
                "/api/markets",
                {"sort": "closing", "cursor": cursor("\u0968\u0966\u0969\u0966-01-01T00:00:00Z")},
            ),
            "comments cursor as an ISO week date": (
                f"/api/discussions/{market}",
                {
                    "cursor": cursor(
                        "2026-W49-3T00:00:00+00:00", "5" * 8 + "-5555-5555-5555-" + "5" * 12
                    )
                },
            ),
            "trades cursor as an ISO week date": (
                f"/api/users/{wallet}/trades",
                {"before": "2026-W49-3T00:00:00Z"},
            ),
            "trades cursor with non-ASCII digits": (
                f"/api/users/{wallet}/trades",
                {"before": "\u0662\u0660\u0662\u0666-01-01T00:00:00Z"},
            ),
        }
        for what, (path, params) in forged.items():
            cases.append((what, "GET", path, params, 422, "invalid_request"))

        answers = []
        for what, method, path, payload, _, _ in cases:
            if method == "GET":
                r = await http.get(path, params=payload)
            else:
                # json.dumps escapes what httpx2's encoder cannot send (a lone surrogate).
                r = await http.post(path, content=json.dumps(payload), headers=JSON)
            code = r.json()["error"]["code"] if r.status_code >= 400 else None
            answers.append((what, r.status_code, code))
        assert answers == [(what, status, code) for what, _, _, _, status, code in cases]

        # The refused admin request used nothing up: its nonce still signs a request.
        nonce = admin_text.split("Nonce: ")[1].split("\n")[0]
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT used_at FROM auth_nonces WHERE nonce = %s", (nonce,))
            assert await cur.fetchone() == (None,)
