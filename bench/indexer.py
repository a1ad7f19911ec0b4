"""Benchmark: the indexer's backfill, its database apply path against raw COPY, and live lag.

Starts the validator as a child process (a core of its own) and the embedded PostgreSQL (or
uses DATABASE_URL), fills the chain with a random workload of at least `--events` program
events, then measures, in one run:

(a) backfill: a fresh database catches up on the whole history (getSignaturesForAddress +
    getTransaction + apply), events per second;
(b) apply: the same pre-fetched transactions applied again to another fresh database in the
    indexer's batches (no RPC), against a raw `COPY FROM` of exactly the rows that apply produced
    into a third fresh database with the same tables, indexes and constraints. The ratio
    apply/COPY is the figure to improve (target: at least 0.5);
(c) live lag: a steady load of `--rate` trades per second while the indexer follows the chain
    live; for each transaction, the time from its `confirmed` logs notification (seen by a
    separate WebSocket subscriber) to the start of the database transaction that applied it
    (`indexed_transactions.indexed_at`), p50 / p99 / max. Target: p99 under 1 s.

    .venv/bin/python bench/indexer.py [--events 100000] [--rate 250] [--live-seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.chain.stream import program_logs
from hybridmarket.db.admin import recreate_database, server
from hybridmarket.db.connect import make_pool
from hybridmarket.indexer.model import ChainTx
from hybridmarket.indexer.service import Indexer
from hybridmarket.localnet.process import ValidatorProcess
from hybridmarket.sim import Fate, WorkloadConfig, clock_advancer, run_workload, trickle
from machine import measured

TABLES = (
    "markets",
    "users",
    "positions",
    "trades",
    "price_history",
    "proposal_votes",
    "dispute_votes",
    "indexed_transactions",
    "program_config",
    "indexer_cursors",
)


class CapturingIndexer(Indexer):
    """Keeps every transaction it fetched, for the apply-only measurement."""

    captured: list[ChainTx]

    async def _fetch(self, sigs: Any) -> list[ChainTx]:
        txs = await super()._fetch(sigs)
        self.__dict__.setdefault("captured", []).extend(txs)
        return txs


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


async def fill_chain(v: ValidatorProcess, events: int) -> Any:
    keys = v.info["keys"]
    async with ChainClient(v.rpc_url) as client:
        total_events = 0
        seed = 0
        report = None
        started = time.perf_counter()
        while total_events < events:
            seed += 1
            trades = min(20_000, events - total_events)
            report = await run_workload(
                client,
                admin=load_keypair(Path(keys["admin"])),
                backend=load_keypair(Path(keys["backend_authority"])),
                faucet=load_keypair(Path(keys["faucet"])),
                config=WorkloadConfig(
                    markets=40,
                    wallets=300,
                    trades=trades,
                    seed=seed,
                    concurrency=64,
                    fates=(Fate.ACTIVE, Fate.FINALIZED_YES, Fate.ACTIVE, Fate.DISPUTE_FLIPPED)
                    if seed == 1
                    else (Fate.ACTIVE,),
                    admin_instructions=seed == 1,
                ),
                advance_clock=clock_advancer(v.rpc_url),
            )
            landed = [t for t in report.landed if t.program and t.err is None]
            total_events += len(landed)
            print(
                f"  workload {seed}: {len(landed)} successful program transactions "
                f"({total_events} so far, {time.perf_counter() - started:.0f}s)",
                flush=True,
            )
        return report


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=250.0, help="live load, trades per second")
    ap.add_argument("--live-seconds", type=float, default=30.0)
    ap.add_argument("--batch-size", type=int, default=2000)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hm-bench-indexer-"))
    stack = contextlib.ExitStack()
    admin_url = stack.enter_context(server(prefix="hm-bench-indexer-pg-"))
    v = ValidatorProcess(tmp / "ledger", enable_test_controls=True, slot_ms=100).start()
    try:
        print(f"filling the chain with >= {args.events} events ...", flush=True)
        report = await fill_chain(v, args.events)

        # (a) backfill
        url_a = recreate_database(admin_url, "bench_backfill")
        async with make_pool(url_a, max_size=4) as pool, ChainClient(v.rpc_url) as client:
            ix = CapturingIndexer(pool, client, batch_size=args.batch_size)
            t0 = time.perf_counter()
            res = await ix.sync()
            backfill_s = time.perf_counter() - t0
            txs = ix.captured
        n_events = res.events
        print(
            f"(a) backfill: {res.applied} transactions, {n_events} events in {backfill_s:.1f}s "
            f"= {n_events / backfill_s:,.0f} events/s",
            flush=True,
        )

        # (b) apply only, then raw COPY of the same rows
        url_b = recreate_database(admin_url, "bench_apply")
        async with make_pool(url_b, max_size=2) as pool, ChainClient(v.rpc_url) as client:
            ix_b = Indexer(pool, client, batch_size=args.batch_size)
            t0 = time.perf_counter()
            for i in range(0, len(txs), args.batch_size):
                await ix_b.apply(txs[i : i + args.batch_size])
            apply_s = time.perf_counter() - t0
        dumps: dict[str, bytes] = {}
        rows = 0
        with psycopg.connect(url_b) as c:
            for t in TABLES:
                buf = io.BytesIO()
                with c.cursor().copy(f"COPY {t} TO STDOUT") as cp:
                    for chunk in cp:
                        buf.write(chunk)
                dumps[t] = buf.getvalue()
                rows += c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
        url_c = recreate_database(admin_url, "bench_copy")
        with psycopg.connect(url_c) as c:
            c.execute("DELETE FROM indexer_cursors")
            c.commit()
            t0 = time.perf_counter()
            with c.transaction():
                for t in TABLES:
                    with c.cursor().copy(f"COPY {t} FROM STDIN") as cp:
                        cp.write(dumps[t])
            copy_s = time.perf_counter() - t0
        print(
            f"(b) apply: {n_events / apply_s:,.0f} events/s ({apply_s:.2f}s); raw COPY of the same "
            f"{rows:,} rows: {n_events / copy_s:,.0f} events/s ({copy_s:.2f}s); "
            f"apply/COPY = {copy_s / apply_s:.2f}",
            flush=True,
        )

        # (c) live lag under a steady load
        confirmed_at: dict[str, float] = {}
        stop_listen = asyncio.Event()

        async def listen() -> None:
            async for entry in program_logs(v.ws_url):
                confirmed_at.setdefault(entry.signature, time.time())
                if stop_listen.is_set():
                    return

        async with make_pool(url_a, max_size=4) as pool, ChainClient(v.rpc_url) as client:
            live = Indexer(pool, client, ws_url=v.ws_url, batch_size=args.batch_size)
            stop = asyncio.Event()
            listener = asyncio.create_task(listen())
            runner = asyncio.create_task(live.run(stop))
            await asyncio.sleep(1.0)
            active = [m.market_id for m in report.markets if m.fate == Fate.ACTIVE]
            tr = await trickle(
                client,
                wallets=report.keypairs,
                rate_per_s=args.rate,
                duration_s=args.live_seconds,
                markets=active,
                seed=7,
            )
            await asyncio.sleep(2.0)
            stop.set()
            stop_listen.set()
            await runner
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            sent = {t.signature for t in tr.transactions if t.landed}
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT signature, extract(epoch FROM indexed_at)::float8 "
                    "FROM indexed_transactions WHERE signature = ANY(%s)",
                    (list(sent),),
                )
                indexed = dict(await cur.fetchall())
        lags = [indexed[s] - confirmed_at[s] for s in sent if s in indexed and s in confirmed_at]
        print(
            f"(c) live: {len(sent)} trades landed at {tr.achieved_rate:.0f} tx/s sent "
            f"(target {args.rate:.0f}); {len(indexed)} indexed, {len(lags)} with a notification; "
            f"lag p50 {statistics.median(lags) * 1000:.0f} ms, p99 {pct(lags, 99) * 1000:.0f} ms, "
            f"max {max(lags) * 1000:.0f} ms",
            flush=True,
        )
    finally:
        v.stop()
        stack.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    with measured("bench/indexer.py"):
        asyncio.run(main())
