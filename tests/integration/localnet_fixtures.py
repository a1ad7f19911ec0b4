"""Helpers for the local validator's integration tests: start one, fund keys, build and send
transactions, and make raw JSON-RPC calls (for shapes the typed client hides)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from hybridmarket.chain.keys import load_keypair as read_keypair
from hybridmarket.localnet.validator import LocalValidator

SOL = 1_000_000_000


@asynccontextmanager
async def running_validator(
    ledger: Path, *, slot_ms: int = 50, finalize_depth: int = 3, **kw: Any
) -> AsyncIterator[LocalValidator]:
    kw.setdefault("enable_test_controls", True)
    async with LocalValidator(
        ledger, rpc_port=0, slot_ms=slot_ms, finalize_depth=finalize_depth, **kw
    ) as v:
        yield v


def faucet_of(v: LocalValidator) -> Keypair:
    return read_keypair(v.key_paths["faucet"])


def transfer_ix(src: Pubkey, dst: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=src, to_pubkey=dst, lamports=lamports))


def legacy_tx(
    ixs: Sequence[Instruction], payer: Keypair, bh: Hash, signers: Sequence[Keypair] = ()
) -> VersionedTransaction:
    msg = Message.new_with_blockhash(list(ixs), payer.pubkey(), bh)
    return VersionedTransaction(msg, [payer, *signers])


def v0_tx(
    ixs: Sequence[Instruction], payer: Keypair, bh: Hash, signers: Sequence[Keypair] = ()
) -> VersionedTransaction:
    msg = MessageV0.try_compile(payer.pubkey(), list(ixs), [], bh)
    return VersionedTransaction(msg, [payer, *signers])


def b64(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode()


async def rpc_raw(url: str, method: str, params: Any = None, req_id: Any = 1) -> dict[str, Any]:
    """One JSON-RPC call; returns the whole response object (result or error)."""
    async with httpx2.AsyncClient() as http:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id, "method": method}
        if params is not None:
            body["params"] = params
        r = await http.post(url, json=body)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out


async def rpc(url: str, method: str, params: Any = None) -> Any:
    resp = await rpc_raw(url, method, params)
    assert "error" not in resp, resp
    return resp["result"]


async def control(v: LocalValidator | str, method: str, **params: Any) -> Any:
    url = v if isinstance(v, str) else v.rpc_url
    return await rpc(url, method, [params])


async def latest_blockhash(url: str, commitment: str = "processed") -> Hash:
    res = await rpc(url, "getLatestBlockhash", [{"commitment": commitment}])
    return Hash.from_string(res["value"]["blockhash"])


async def send(url: str, tx: VersionedTransaction, **cfg: Any) -> dict[str, Any]:
    return await rpc_raw(url, "sendTransaction", [b64(tx), {"encoding": "base64", **cfg}])


async def wait_status(
    url: str, sig: str, commitment: str = "confirmed", timeout: float = 10.0
) -> dict[str, Any]:
    order = {"processed": 0, "confirmed": 1, "finalized": 2}
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        res = await rpc(url, "getSignatureStatuses", [[sig], {"searchTransactionHistory": True}])
        st = res["value"][0]
        if st is not None and order[st["confirmationStatus"]] >= order[commitment]:
            return dict(st)
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{sig} not {commitment}: {st}")
        await asyncio.sleep(0.02)


async def funded(url: str, faucet: Keypair, lamports: int = 10 * SOL) -> Keypair:
    kp = Keypair()
    bh = await latest_blockhash(url)
    resp = await send(
        url, legacy_tx([transfer_ix(faucet.pubkey(), kp.pubkey(), lamports)], faucet, bh)
    )
    assert "result" in resp, resp
    await wait_status(url, resp["result"])
    return kp
