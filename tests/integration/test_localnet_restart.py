"""The ledger survives restarts: a clean stop keeps everything processed, `kill -9` keeps
everything confirmed, and a transaction is either wholly in the ledger or not at all."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from solders.keypair import Keypair

from hybridmarket.chain.keys import load_keypair as read_keypair
from hybridmarket.localnet.process import ValidatorProcess
from hybridmarket.program import builders
from hybridmarket.program.accounts import MarketAccount
from hybridmarket.program.ids import PROGRAM_ID, market_pda
from hybridmarket.program.runtime import rent_exempt_minimum
from tests.integration.localnet_fixtures import (
    SOL,
    b64,
    funded,
    latest_blockhash,
    legacy_tx,
    rpc,
    send,
    transfer_ix,
    wait_status,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def proc(tmp_path: Path) -> Iterator[ValidatorProcess]:
    p = ValidatorProcess(tmp_path / "ledger", slot_ms=100, finalize_depth=2)
    p.start()
    try:
        yield p
    finally:
        p.kill()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(stat.parent.name))
    return out


async def test_kill_9_keeps_confirmed(proc: ValidatorProcess) -> None:
    faucet = read_keypair(Path(proc.info["keys"]["faucet"]))
    url = proc.rpc_url
    payer = await funded(url, faucet, 100 * SOL)
    target = await funded(url, faucet, SOL)
    genesis = await rpc(url, "getGenesisHash")
    bh = await latest_blockhash(url)
    # A market proposed before the crash (program state in the ledger).
    market_id = hashlib.sha256(b"survives kill -9").digest()
    propose = builders.propose_market(payer.pubkey(), market_id, SOL, SOL, payer.pubkey())
    await wait_status(url, (await send(url, legacy_tx([propose], payer, bh)))["result"])
    market = market_pda(market_id)[0]
    amounts = {}
    confirmed_seen: set[str] = set()
    stop = asyncio.Event()

    async def sender() -> None:
        async with httpx2.AsyncClient() as http:
            i = 0
            while not stop.is_set():
                batch = []
                for _ in range(20):
                    tx = legacy_tx(
                        [transfer_ix(payer.pubkey(), target.pubkey(), 10_000 + i)], payer, bh
                    )
                    amounts[str(tx.signatures[0])] = 10_000 + i
                    batch.append(
                        {
                            "jsonrpc": "2.0",
                            "id": i,
                            "method": "sendTransaction",
                            "params": [b64(tx), {"encoding": "base64", "skipPreflight": True}],
                        }
                    )
                    i += 1
                try:
                    await http.post(url, json=batch)
                except httpx2.TransportError:
                    return

    async def watcher() -> None:
        async with httpx2.AsyncClient() as http:
            while not stop.is_set():
                sigs = list(amounts)[-256:]
                r = await http.post(
                    url,
                    json={
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "getSignatureStatuses",
                        "params": [sigs],
                    },
                )
                for sig, st in zip(sigs, r.json()["result"]["value"], strict=True):
                    if st is not None and st["confirmationStatus"] != "processed":
                        confirmed_seen.add(sig)
                await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(sender()), asyncio.create_task(watcher())]
    await asyncio.sleep(1.5)
    slot_before = await rpc(url, "getSlot", [{"commitment": "confirmed"}])
    writers = _children(proc.pid)
    assert len(writers) == 1  # the ledger writer process
    assert b"hybridmarket.localnet.store" in Path(f"/proc/{writers[0]}/cmdline").read_bytes()
    proc.kill()  # SIGKILL mid-stream
    stop.set()
    for t in tasks:
        with contextlib.suppress(httpx2.TransportError):
            await t
    assert len(confirmed_seen) > 50
    # The writer dies with the validator: no orphan writes into the ledger being restarted.
    for _ in range(100):
        if not any(Path(f"/proc/{w}").exists() for w in writers):
            break
        await asyncio.sleep(0.05)
    assert not any(Path(f"/proc/{w}").exists() for w in writers)

    proc.restart()
    assert proc.rpc_url == url
    assert await rpc(url, "getGenesisHash") == genesis
    assert await rpc(url, "getSlot", [{"commitment": "confirmed"}]) >= slot_before
    statuses = []
    seen = sorted(confirmed_seen)
    for i in range(0, len(seen), 256):
        res = await rpc(
            url, "getSignatureStatuses", [seen[i : i + 256], {"searchTransactionHistory": True}]
        )
        statuses.extend(res["value"])
    assert all(s is not None and s["err"] is None for s in statuses)  # nothing confirmed is lost
    # Whatever landed landed whole: balances equal the sum of the transactions in the ledger.
    listed: list[str] = []
    before = None
    while True:
        cfg: dict[str, object] = {"commitment": "confirmed", "limit": 1000}
        if before:
            cfg["before"] = before
        page = await rpc(url, "getSignaturesForAddress", [str(target.pubkey()), cfg])
        if not page:
            break
        listed.extend(p["signature"] for p in page)
        before = page[-1]["signature"]
    landed = [s for s in listed if s in amounts]
    assert set(seen) <= set(landed)
    assert len(listed) == len(landed) + 1  # + the funding transfer
    got = await rpc(url, "getBalance", [str(target.pubkey()), {"commitment": "confirmed"}])
    assert got["value"] == SOL + sum(amounts[s] for s in landed)
    got = await rpc(url, "getBalance", [str(payer.pubkey()), {"commitment": "confirmed"}])
    proposal = rent_exempt_minimum(MarketAccount.SPACE) + 5000  # the market's rent, the fee
    assert got["value"] == 100 * SOL - sum(amounts[s] + 5000 for s in landed) - proposal
    tx = await rpc(url, "getTransaction", [landed[0], {"commitment": "confirmed"}])
    assert tx["meta"]["err"] is None and tx["meta"]["logMessages"]
    # The blockhash from before the crash is still recent: new transactions can use it.
    fresh = legacy_tx([transfer_ix(payer.pubkey(), target.pubkey(), 1)], payer, bh)
    sig = (await send(url, fresh))["result"]
    await wait_status(url, sig)
    # The SVM was rebuilt from the ledger: the program and its accounts are back, and run.
    got = await rpc(url, "getAccountInfo", [str(market), {"encoding": "base64"}])
    assert got["value"]["owner"] == str(PROGRAM_ID)
    vote = builders.submit_proposal_vote(payer.pubkey(), market_id, True)
    sig = (await send(url, legacy_tx([vote], payer, await latest_blockhash(url))))["result"]
    st = await wait_status(url, sig)
    assert st["err"] is None
    tx = await rpc(url, "getTransaction", [sig, {"commitment": "confirmed"}])
    assert any(line.startswith("Program data: ") for line in tx["meta"]["logMessages"])


async def test_clean_stop_keeps_processed(proc: ValidatorProcess) -> None:
    faucet = read_keypair(Path(proc.info["keys"]["faucet"]))
    url = proc.rpc_url
    dst = Keypair().pubkey()
    bh = await latest_blockhash(url)
    sig = (await send(url, legacy_tx([transfer_ix(faucet.pubkey(), dst, SOL)], faucet, bh)))[
        "result"
    ]
    assert proc.stop() == 0
    proc.restart()
    st = await wait_status(url, sig, "finalized")
    assert st["err"] is None
    assert (await rpc(url, "getBalance", [str(dst)]))["value"] == SOL
    # Keys and program are as before; airdrops still work.
    assert Path(proc.info["keys"]["admin"]).stat().st_mode & 0o777 == 0o600
    air = await rpc(url, "requestAirdrop", [str(dst), SOL])
    await wait_status(url, air)
