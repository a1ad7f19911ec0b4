"""The API for tests: the real app served by uvicorn on a real socket, against a real validator
and a real PostgreSQL; plus helpers to sign SIWS messages and transactions with real keys."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.transaction import VersionedTransaction

from hybridmarket.api.app import create_app, server_config
from hybridmarket.settings import Settings

DOMAIN = "127.0.0.1:8000"


def api_settings(db_url: str, rpc_url: str, ws_url: str, data_dir: Path, **extra: Any) -> Settings:
    return Settings(
        DATABASE_URL=db_url,
        SOLANA_RPC_URL=rpc_url,
        SOLANA_WS_URL=ws_url,
        HYBRIDMARKET_DATA_DIR=data_dir,
        API_DOMAIN=DOMAIN,
        **extra,
    )


@asynccontextmanager
async def running_api(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    """Serve the app on 127.0.0.1:<free port>; yield an HTTP client pointed at it."""
    server = uvicorn.Server(server_config(create_app(settings), settings, host="127.0.0.1", port=0))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            yield http
    finally:
        server.should_exit = True
        await task


def sign_transaction(b64: str, *signers: Keypair) -> str:
    """Sign an unsigned base64 transaction from the API, as a wallet does."""
    tx = VersionedTransaction.from_bytes(base64.b64decode(b64))
    msg = to_bytes_versioned(tx.message)
    sigs = list(tx.signatures)
    keys = list(tx.message.account_keys)
    for kp in signers:
        sigs[keys.index(kp.pubkey())] = kp.sign_message(msg)
    return base64.b64encode(bytes(VersionedTransaction.populate(tx.message, sigs))).decode()


async def signed_message(
    http: httpx2.AsyncClient,
    kp: Keypair,
    action: str,
    subject: str,
    content_sha256: str | None = None,
) -> tuple[str, str]:
    """Ask the API for a nonce and the SIWS text for `action`, sign it: (message, signature)."""
    params = {"wallet": str(kp.pubkey()), "action": action, "subject": subject}
    if content_sha256:
        params["content_sha256"] = content_sha256
    r = await http.get("/api/auth/nonce", params=params)
    assert r.status_code == 200, r.text
    text = r.json()["message"]
    return text, str(kp.sign_message(text.encode()))
