"""Helpers for the discussion, snapshot and gateway tests: the real app on a real socket with a
handle on its state (to drive the rate limiter's clock), wallets that sign with solders or
PyNaCl, market rows, and comments signed the way a wallet signs them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import base58
import httpx2
import uvicorn
from fastapi import FastAPI
from nacl.signing import SigningKey, VerifyKey
from psycopg import AsyncConnection
from solders.keypair import Keypair

from hybridmarket.api import siws
from hybridmarket.api.app import create_app, server_config
from hybridmarket.api.ratelimit import MemoryRateLimiter
from hybridmarket.api.state import ApiState
from hybridmarket.settings import Settings

from .api_fixtures import DOMAIN


@dataclass
class Clock:
    """A monotonic clock the test moves by hand (for the rate limiter's windows)."""

    t: float = 1_000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Served:
    http: httpx2.AsyncClient
    app: FastAPI
    clock: Clock = field(default_factory=Clock)

    @property
    def st(self) -> ApiState:
        st: ApiState = self.app.state.api
        return st

    def next_window(self) -> None:
        """Move past every rate-limit window (60 s)."""
        self.clock.advance(61)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Served]:
    """The app on 127.0.0.1:<free port>, its in-memory rate limiter on a hand-driven clock."""
    app = create_app(settings)
    server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=0))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    clock = Clock()
    app.state.api.limiter = MemoryRateLimiter(now=clock)
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            yield Served(http, app, clock)
    finally:
        server.should_exit = True
        await task


class Wallet:
    """A wallet: solders signs base58 (as Phantom's `signMessage` bytes shown base58), PyNaCl
    signs base64; both are ed25519 over the UTF-8 bytes of the text."""

    def __init__(self, kind: str = "solders") -> None:
        self.kind = kind
        if kind == "solders":
            self.kp = Keypair()
            self.address = str(self.kp.pubkey())
        elif kind == "nacl":
            self.key = SigningKey.generate()
            self.address = base58.b58encode(bytes(self.key.verify_key)).decode()
        else:
            raise ValueError(kind)

    def raw_sign(self, text: str) -> bytes:
        if self.kind == "solders":
            return bytes(self.kp.sign_message(text.encode("utf-8")))
        return self.key.sign(text.encode("utf-8")).signature

    def sign(self, text: str) -> str:
        raw = self.raw_sign(text)
        if self.kind == "solders":
            return base58.b58encode(raw).decode()
        return base64.b64encode(raw).decode()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def server_message(
    http: httpx2.AsyncClient, wallet: str, action: str, subject: str, content: str | None = None
) -> str:
    """The exact SIWS text the API asks `wallet` to sign (a fresh single-use nonce)."""
    params = {"wallet": wallet, "action": action, "subject": subject}
    if content is not None:
        params["content_sha256"] = sha256_text(content)
    r = await http.get("/api/auth/nonce", params=params)
    assert r.status_code == 200, r.text
    text: str = r.json()["message"]
    return text


async def post_comment(
    http: httpx2.AsyncClient, w: Wallet, market_id: str, content: str
) -> httpx2.Response:
    text = await server_message(http, w.address, "post_comment", market_id, content)
    return await http.post(
        "/api/discussions",
        json={
            "marketId": market_id,
            "content": content,
            "wallet": w.address,
            "message": text,
            "signature": w.sign(text),
        },
    )


async def delete_comment(
    http: httpx2.AsyncClient, w: Wallet, comment_id: str, reason: str | None = None
) -> httpx2.Response:
    text = await server_message(http, w.address, "delete_comment", comment_id, reason)
    body: dict[str, Any] = {"wallet": w.address, "message": text, "signature": w.sign(text)}
    if reason is not None:
        body["reason"] = reason
    return await http.request("DELETE", f"/api/discussions/{comment_id}", json=body)


def new_market_id() -> str:
    return hashlib.sha256(uuid.uuid4().bytes).hexdigest()


async def insert_market(conn: AsyncConnection[Any], state: str = "ACTIVE") -> str:
    """A market row as the indexer writes it (the markets table is a cache of the chain)."""
    mid = new_market_id()
    await conn.execute(
        "INSERT INTO markets (id, on_chain_address, creator_wallet, resolver_wallet, state, "
        "b_parameter, current_price, initial_liquidity, created_at, last_slot) "
        "VALUES (%s, %s, %s, %s, %s, 1000000, 0.5, 700000, now(), 1)",
        (mid, str(Keypair().pubkey()), str(Keypair().pubkey()), str(Keypair().pubkey()), state),
    )
    return mid


async def insert_signed_comment(
    conn: AsyncConnection[Any], w: Wallet, market_id: str, content: str, at: datetime
) -> str:
    """A comment as the API stores it, signed at `at` (a message a wallet signed then)."""
    msg = siws.build_message(
        DOMAIN,
        w.address,
        siws.statement_for("post_comment", market_id),
        secrets.token_hex(16),
        resources=(siws.content_resource(content),),
        now=at,
    )
    text = msg.to_text()
    cur = await conn.execute(
        "INSERT INTO discussions (market_id, user_wallet, content, created_at, signed_message, "
        "signature) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (market_id, w.address, content, at, text, base58.b58encode(w.raw_sign(text)).decode()),
    )
    row = await cur.fetchone()
    assert row is not None
    return str(row[0])


def assert_authentic(entry: dict[str, Any], market_id: str) -> None:
    """What anyone can check about a published comment, trusting nothing but the wallet key:
    the wallet signed this text, which names this market and the sha256 of this content."""
    text = entry["signed_message"]
    msg = siws.parse(text)
    assert msg.address == entry["user_wallet"]
    assert msg.statement == f"Post a comment on market {market_id}"
    assert "sha256:" + sha256_text(entry["content"]) in msg.resources
    key = VerifyKey(base58.b58decode(entry["user_wallet"]))
    key.verify(text.encode("utf-8"), base58.b58decode(entry["signature"]))
