"""Benchmark: what the API's relay (`POST /api/transactions?wait=confirmed`) adds to a
transaction's time to confirmation.

A local validator in its own process (400 ms slots, as Solana's), a fresh database and the API
(`python -m hybridmarket api`, one uvicorn process) pointed at it. `--count` pairs of signed
system transfers from funded wallets, each pair run in turn and in alternating order (so both
ways see the same chain), `--concurrency` pairs at a time:

- raw: this process subscribes to the signature (`signatureSubscribe`, confirmed) on its own
  WebSocket to the node, then sends it (`sendTransaction`), and times send -> notification:
  the chain's own send -> confirmed time, nothing in between;
- relayed: `POST /api/transactions` with `wait=confirmed`, timed from the request to the
  answer `confirmed`: what a user of the API waits.

Printed: p50, p99, mean of both and their ratios (relayed / raw); the target is <= 1.1x at p50
and p99. The load average at the start and the end of the run, too.

    .venv/bin/python bench/relay.py [--count 200] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
from solders.keypair import Keypair
from solders.system_program import TransferParams, transfer
from websockets.asyncio.client import connect as ws_connect

from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.keys import load_keypair
from machine import measured

SOL = 1_000_000_000
DB_NAME = "bench_relay"


class RawConfirm:
    """signatureSubscribe on one WebSocket: `sent_to_confirmed` subscribes, sends, and waits."""

    def __init__(self, ws_url: str, client: ChainClient) -> None:
        self.ws_url, self.client = ws_url, client
        self.ids = itertools.count(1)
        self.acks: dict[int, asyncio.Future[int]] = {}
        self.notes: dict[int, asyncio.Future[float]] = {}

    async def __aenter__(self) -> RawConfirm:
        self.ws = await ws_connect(self.ws_url, compression=None)
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reader.cancel()
        await self.ws.close()

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        async for raw in self.ws:
            at = time.perf_counter()
            msg = json.loads(raw)
            if "id" in msg:
                sub = int(msg["result"])
                self.notes[sub] = loop.create_future()
                self.acks.pop(msg["id"]).set_result(sub)
            elif msg.get("method") == "signatureNotification":
                p = msg["params"]
                assert p["result"]["value"]["err"] is None, p
                self.notes.pop(p["subscription"]).set_result(at)

    async def sent_to_confirmed(self, raw_tx: bytes, signature: str) -> float:
        req = next(self.ids)
        self.acks[req] = asyncio.get_running_loop().create_future()
        await self.ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": req,
                    "method": "signatureSubscribe",
                    "params": [signature, {"commitment": "confirmed"}],
                }
            )
        )
        sub = await self.acks[req]
        note = self.notes[sub]
        t0 = time.perf_counter()
        await self.client.send_raw(raw_tx)
        return await note - t0


async def relayed(http: httpx2.AsyncClient, raw_tx: bytes) -> float:
    body = {"transaction": base64.b64encode(raw_tx).decode(), "wait": "confirmed"}
    t0 = time.perf_counter()
    r = await http.post("/api/transactions", json=body)
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    return elapsed


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))] * 1000


async def run(args: argparse.Namespace, rpc_url: str, ws_url: str, api_url: str, keys: Any) -> None:
    faucet = load_keypair(Path(keys["faucet"]))
    async with (
        ChainClient(rpc_url) as client,
        RawConfirm(ws_url, client) as raw,
        httpx2.AsyncClient(base_url=api_url, timeout=90) as http,
    ):
        payers = [Keypair() for _ in range(args.concurrency)]
        for p in payers:
            await client.send(
                [
                    transfer(
                        TransferParams(
                            from_pubkey=faucet.pubkey(), to_pubkey=p.pubkey(), lamports=100 * SOL
                        )
                    )
                ],
                faucet,
            )

        async def signed(payer: Keypair) -> tuple[bytes, str]:
            bh, _ = await client.latest_blockhash()
            ix = transfer(
                TransferParams(
                    from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=SOL // 1000
                )
            )
            tx = client.build_signed([ix], payer, (), bh)
            return bytes(tx), str(tx.signatures[0])

        times: dict[str, list[float]] = {"raw": [], "relayed": []}

        async def pairs(payer: Keypair, n: int, first_raw: bool) -> None:
            for i in range(n):
                order = ["raw", "relayed"] if (i % 2 == 0) == first_raw else ["relayed", "raw"]
                for way in order:
                    tx, sig = await signed(payer)
                    if way == "raw":
                        t = await raw.sent_to_confirmed(tx, sig)
                    else:
                        t = await relayed(http, tx)
                    times[way].append(t)

        # Warm-up: a pair each way per payer (connections, the API's first request).
        await asyncio.gather(*(pairs(p, 1, k % 2 == 0) for k, p in enumerate(payers)))
        times = {"raw": [], "relayed": []}
        per = max(1, args.count // args.concurrency)
        t0 = time.perf_counter()
        await asyncio.gather(*(pairs(p, per, k % 2 == 0) for k, p in enumerate(payers)))
        took = time.perf_counter() - t0
    n = len(times["raw"])
    print(f"\n{n} transactions each way, {args.concurrency} pairs at a time, {took:.0f} s")
    print(f"{'':<34}{'p50':>10}{'p99':>10}{'mean':>10}")
    for way, label in (
        ("raw", "raw: send -> confirmed (WS)"),
        ("relayed", "relayed: request -> answer"),
    ):
        xs = times[way]
        print(
            f"{label:<34}{pct(xs, 0.5):>8.0f}ms{pct(xs, 0.99):>8.0f}ms"
            f"{statistics.fmean(xs) * 1000:>8.0f}ms"
        )
    r50 = pct(times["relayed"], 0.5) / pct(times["raw"], 0.5)
    r99 = pct(times["relayed"], 0.99) / pct(times["raw"], 0.99)
    ok = r50 <= 1.1 and r99 <= 1.1
    print(
        f"{'relayed / raw':<34}{r50:>9.2f}x{r99:>9.2f}x"
        f"{statistics.fmean(times['relayed']) / statistics.fmean(times['raw']):>9.2f}x"
    )
    print(f"target <= 1.1x at p50 and p99: {'met' if ok else 'NOT met'}")


def main(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from api import free_port, stop, wait_http
    from hybridmarket.db.admin import drop_database, recreate_database, server
    from hybridmarket.localnet.process import ValidatorProcess

    tmp = Path(tempfile.mkdtemp(prefix="hm-bench-relay-"))
    stack = contextlib.ExitStack()
    admin_url = stack.enter_context(server(prefix="hm-bench-relay-pg-"))
    validator = api = None
    try:
        url = recreate_database(admin_url, DB_NAME)
        validator = ValidatorProcess(tmp / "ledger", slot_ms=args.slot_ms).start()
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SOLANA_RPC_URL": validator.rpc_url,
            "SOLANA_WS_URL": validator.ws_url,
            "HYBRIDMARKET_DATA_DIR": str(tmp / "data"),
            "RATE_LIMITS": "relay=1000000/60",
        }
        env.pop("REDIS_URL", None)
        api = subprocess.Popen(
            [sys.executable, "-m", "hybridmarket", "api", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        api_url = f"http://127.0.0.1:{port}"
        wait_http(api_url + "/api/markets?limit=1", api)
        asyncio.run(run(args, validator.rpc_url, validator.ws_url, api_url, validator.info["keys"]))
    finally:
        if api is not None:
            stop(api)
        if validator is not None:
            validator.stop()
        with contextlib.suppress(Exception):
            drop_database(admin_url, DB_NAME)
        stack.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200, help="transactions each way")
    ap.add_argument("--concurrency", type=int, default=4, help="pairs in flight")
    ap.add_argument("--slot-ms", type=int, default=400)
    with measured("bench/relay.py"):
        main(ap.parse_args())
