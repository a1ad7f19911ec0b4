"""Benchmark: end-to-end buy_shares throughput of the embedded validator over HTTP.

Starts the validator as a child process (so it has a core of its own, as in production), sets
up one active market through ordinary JSON-RPC, funds many trader wallets, pre-signs
`buy_shares` transactions (several per wallet), then sends them over keep-alive HTTP
connections (`sendTransaction`, base64, with preflight, as solana-py sends it) and polls
`getSignatureStatuses` until every one is confirmed.

Reports:
- throughput: transactions / (last confirmation − first send), and the same for acceptance
  (send → all answered);
- the validator's own cost per transaction by stage, from `hybridmarket_getStats`: JSON,
  decoding, the SVM (Agave's runtime: signature verification, fees, the program binary), the
  bank's bookkeeping around it (checks, reading back what the transaction wrote, notifications),
  the slot's rows for the ledger, and the rest of the HTTP/RPC path, each as a share of the
  total; and the CPU of the ledger writer process (SQLite), which runs beside the event loop;
- a baseline in the same run: system-program transfers through the same path, so the figures
  read as a ratio (buy_shares vs transfer) that does not depend on the machine.

    .venv/bin/python bench/localnet.py [--wallets 1600] [--buys 5] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from hybridmarket.chain.keys import load_keypair as read_keypair
from hybridmarket.localnet.process import ValidatorProcess
from hybridmarket.program import builders
from machine import measured

LAMPORTS = 1_000_000_000


class RawRpc:
    """A minimal HTTP/1.1 keep-alive JSON-RPC client with pipelining (no per-call overhead)."""

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.ids = 0

    async def connect(self) -> RawRpc:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()

    def encode(self, method: str, params: Any) -> bytes:
        self.ids += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params})
        raw = body.encode()
        return (
            b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(raw)
        ) + raw

    async def read_response(self) -> Any:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(await self.reader.readexactly(length))

    async def pipeline(self, requests: list[bytes]) -> list[Any]:
        assert self.writer is not None
        self.writer.write(b"".join(requests))
        return [await self.read_response() for _ in requests]

    async def call(self, method: str, params: Any = None) -> Any:
        (resp,) = await self.pipeline([self.encode(method, params or [])])
        if "error" in resp:
            raise RuntimeError(f"{method}: {resp['error']}")
        return resp["result"]


def b64(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode()


def sign(ixs: list[Instruction], payer: Keypair, signers: list[Keypair], bh: Hash) -> str:
    msg = Message.new_with_blockhash(ixs, payer.pubkey(), bh)
    return b64(VersionedTransaction(msg, signers))


async def blockhash(rpc: RawRpc) -> Hash:
    res = await rpc.call("getLatestBlockhash", [{"commitment": "processed"}])
    return Hash.from_string(res["value"]["blockhash"])


async def send_and_confirm(rpc: RawRpc, txs: list[str]) -> list[str]:
    reqs = [
        rpc.encode("sendTransaction", [t, {"encoding": "base64", "skipPreflight": False}])
        for t in txs
    ]
    sigs = []
    for resp in await rpc.pipeline(reqs):
        if "error" in resp:
            raise RuntimeError(json.dumps(resp["error"])[:2000])
        sigs.append(resp["result"])
    await wait_confirmed(rpc, sigs)
    return sigs


async def wait_confirmed(rpc: RawRpc, sigs: list[str], poll: float = 0.02) -> float:
    """Poll statuses until all are confirmed; returns the time all were seen confirmed."""
    pending = list(sigs)
    while pending:
        still = []
        reqs = [
            rpc.encode("getSignatureStatuses", [pending[i : i + 256]])
            for i in range(0, len(pending), 256)
        ]
        resps = await rpc.pipeline(reqs)
        for i, resp in enumerate(resps):
            chunk = pending[i * 256 : (i + 1) * 256]
            for sig, st in zip(chunk, resp["result"]["value"], strict=True):
                if st is None or st["confirmationStatus"] == "processed":
                    still.append(sig)
                elif st["err"] is not None:
                    raise RuntimeError(f"{sig} failed: {st['err']}")
        pending = still
        if pending:
            await asyncio.sleep(poll)
    return time.perf_counter()


async def fund(rpc: RawRpc, faucet: Keypair, wallets: list[Pubkey], lamports: int) -> None:
    bh = await blockhash(rpc)
    txs = []
    for i in range(0, len(wallets), 20):
        ixs = [
            transfer(TransferParams(from_pubkey=faucet.pubkey(), to_pubkey=w, lamports=lamports))
            for w in wallets[i : i + 20]
        ]
        txs.append(sign(ixs, faucet, [faucet], bh))
    await send_and_confirm(rpc, txs)


async def setup_market(rpc: RawRpc, keys: dict[str, str]) -> tuple[bytes, Keypair, Pubkey]:
    faucet = read_keypair(Path(keys["faucet"]))
    backend = read_keypair(Path(keys["backend_authority"]))
    fee_wallet = read_keypair(Path(keys["protocol_fee_wallet"])).pubkey()
    creator = Keypair()
    voters = [Keypair() for _ in range(10)]
    await fund(rpc, faucet, [creator.pubkey()], 2_000 * LAMPORTS)
    await fund(rpc, faucet, [v.pubkey() for v in voters], LAMPORTS)
    market_id = hashlib.sha256(os.urandom(16)).digest()
    b = 1_000 * LAMPORTS
    bh = await blockhash(rpc)
    propose = builders.propose_market(
        creator.pubkey(), market_id, b, 700 * LAMPORTS, creator.pubkey()
    )
    await send_and_confirm(rpc, [sign([propose], creator, [creator], bh)])
    votes = [
        sign([builders.submit_proposal_vote(v.pubkey(), market_id, True)], v, [v], bh)
        for v in voters
    ]
    await send_and_confirm(rpc, votes)
    approve = builders.approve_market(backend.pubkey(), market_id, 10, 0)
    await send_and_confirm(rpc, [sign([approve], backend, [backend], bh)])
    activate = builders.activate_market(creator.pubkey(), market_id)
    await send_and_confirm(rpc, [sign([activate], creator, [creator], bh)])
    return market_id, faucet, fee_wallet


async def blast(url: str, txs: list[str], connections: int, window: int) -> tuple[float, float]:
    """Send all transactions over `connections` pipelined connections; (t_first, t_last_ack)."""
    conns = [await RawRpc(url).connect() for _ in range(connections)]
    shards = [txs[i::connections] for i in range(connections)]
    failures: list[Any] = []

    async def run(conn: RawRpc, shard: list[str]) -> None:
        for i in range(0, len(shard), window):
            reqs = [
                conn.encode(
                    "sendTransaction",
                    [
                        t,
                        {
                            "encoding": "base64",
                            "skipPreflight": False,
                            "preflightCommitment": "confirmed",
                        },
                    ],
                )
                for t in shard[i : i + window]
            ]
            for resp in await conn.pipeline(reqs):
                if "error" in resp:
                    failures.append(resp["error"])

    t0 = time.perf_counter()
    await asyncio.gather(*(run(c, s) for c, s in zip(conns, shards, strict=True)))
    t1 = time.perf_counter()
    for c in conns:
        await c.close()
    if failures:
        raise RuntimeError(f"{len(failures)} sends failed, first: {failures[0]}")
    return t0, t1


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The validator's children (its ledger writer process)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


async def measure(
    url: str, pid: int, txs: list[str], sigs: list[str], connections: int, window: int
) -> dict[str, Any]:
    rpc = await RawRpc(url).connect()
    before = await rpc.call("hybridmarket_getStats")
    children = child_pids(pid)
    cpu0 = proc_cpu_seconds(pid)
    wcpu0 = sum(proc_cpu_seconds(c) for c in children)
    t0, t_ack = await blast(url, txs, connections, window)
    t_conf = await wait_confirmed(rpc, sigs)
    cpu1 = proc_cpu_seconds(pid)
    wcpu1 = sum(proc_cpu_seconds(c) for c in children)
    after = await rpc.call("hybridmarket_getStats")
    await rpc.close()
    n = len(txs)
    delta = {k: after[k] - before[k] for k in after}
    return {
        "transactions": n,
        "send_seconds": t_ack - t0,
        "confirm_seconds": t_conf - t0,
        "accepted_tps": n / (t_ack - t0),
        "confirmed_tps": n / (t_conf - t0),
        "validator_cpu_per_tx_us": (cpu1 - cpu0) / n * 1e6,
        "writer_cpu_per_tx_us": (wcpu1 - wcpu0) / n * 1e6,
        "stats": delta,
    }


def breakdown(stats: dict[str, Any]) -> dict[str, float]:
    """Per-transaction microseconds by stage; 'http/rpc' is the request path's remainder."""
    n = max(1, stats["transactions"])
    stages = {
        "json": stats["json"],
        "decode": stats["decode"],
        "svm": stats["svm"],
        "bank": stats["execute"] - stats["svm"],
        "persist": stats["persist"],
    }
    stages["http/rpc"] = max(
        0.0, stats["http"] - stats["json"] - stats["decode"] - stats["execute"]
    )
    return {k: v / n * 1e6 for k, v in stages.items()}


def report(name: str, r: dict[str, Any]) -> None:
    print(f"\n== {name}: {r['transactions']} transactions")
    print(f"  accepted:  {r['accepted_tps']:8.0f} tx/s  ({r['send_seconds']:.2f} s to send all)")
    print(
        f"  confirmed: {r['confirmed_tps']:8.0f} tx/s  (send -> all confirmed, "
        f"{r['confirm_seconds']:.2f} s)"
    )
    print(
        f"  validator CPU per tx: {r['validator_cpu_per_tx_us']:.0f} us (event loop process), "
        f"+ {r['writer_cpu_per_tx_us']:.0f} us (ledger writer process)"
    )
    parts = breakdown(r["stats"])
    total = sum(parts.values())
    print(f"  measured stages per tx: {total:.0f} us")
    for k, v in parts.items():
        print(f"    {k:10s} {v:7.1f} us  {100 * v / total:5.1f} %")


async def main(args: argparse.Namespace) -> None:
    ledger = Path(tempfile.mkdtemp(prefix="hm-bench-")) / "ledger"
    proc = ValidatorProcess(ledger, enable_test_controls=True, slot_ms=400).start()
    try:
        rpc = await RawRpc(proc.rpc_url).connect()
        market_id, faucet, fee_wallet = await setup_market(rpc, proc.info["keys"])
        traders = [Keypair() for _ in range(args.wallets)]
        await fund(rpc, faucet, [t.pubkey() for t in traders], LAMPORTS // 10)

        # Baseline: transfers between the funded wallets, same path, same count.
        bh = await blockhash(rpc)
        t_txs = []
        for k in range(args.buys):
            for i, t in enumerate(traders):
                to = traders[(i + 1) % len(traders)].pubkey()
                ix = transfer(TransferParams(from_pubkey=t.pubkey(), to_pubkey=to, lamports=1 + k))
                t_txs.append(sign([ix], t, [t], bh))
        t_sigs = [
            str(VersionedTransaction.from_bytes(base64.b64decode(x)).signatures[0]) for x in t_txs
        ]
        base = await measure(proc.rpc_url, proc.pid, t_txs, t_sigs, args.connections, args.window)

        bh = await blockhash(rpc)
        b_txs = []
        for k in range(args.buys):
            for i, t in enumerate(traders):
                ix = builders.buy_shares(
                    t.pubkey(),
                    market_id,
                    (i + k) % 2 == 0,
                    1_000_000 + k,
                    LAMPORTS // 100,
                    fee_wallet,
                )
                b_txs.append(sign([ix], t, [t], bh))
        b_sigs = [
            str(VersionedTransaction.from_bytes(base64.b64decode(x)).signatures[0]) for x in b_txs
        ]
        buys = await measure(proc.rpc_url, proc.pid, b_txs, b_sigs, args.connections, args.window)
        await rpc.close()

        report("baseline: system transfer", base)
        report("buy_shares", buys)
        print(
            f"\n  buy_shares / transfer confirmed throughput: "
            f"{buys['confirmed_tps'] / base['confirmed_tps']:.2f}x"
        )
        if args.json:
            print(json.dumps({"baseline": base, "buy_shares": buys}, indent=1))
    finally:
        proc.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wallets", type=int, default=1600)
    ap.add_argument("--buys", type=int, default=5, help="buy_shares per wallet")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--window", type=int, default=32, help="pipelined requests per connection")
    ap.add_argument("--json", action="store_true")
    with measured("bench/localnet.py"):
        asyncio.run(main(ap.parse_args()))
