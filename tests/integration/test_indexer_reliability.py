"""The indexer under a random workload of thousands of transactions (every instruction, every
state, failed transactions included): the database must equal the chain exactly afterwards,
whether the indexer ran live, was killed with SIGKILL at random moments, or met injected faults
(dropped, delayed and closed WebSockets, 429s, 5xx, timeouts)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from hybridmarket.chain import ChainClient, RetryPolicy
from hybridmarket.chain.keys import load_keypair
from hybridmarket.db.queries import indexer as q
from hybridmarket.indexer.service import Indexer
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program.ids import PROGRAM_ID
from hybridmarket.sim import WorkloadConfig, WorkloadReport, clock_advancer, run_workload

from .chain_oracle import differences
from .localnet_fixtures import control

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def workload(
    v: LocalValidator, client: ChainClient, seed: int, trades: int
) -> WorkloadReport:
    report = await run_workload(
        client,
        admin=load_keypair(v.key_paths["admin"]),
        backend=load_keypair(v.key_paths["backend_authority"]),
        faucet=load_keypair(v.key_paths["faucet"]),
        config=WorkloadConfig(markets=14, wallets=60, trades=trades, seed=seed),
        advance_clock=clock_advancer(v.rpc_url),
    )
    assert report.unexpected() == []
    return report


async def caught_up(pool: AsyncConnectionPool, client: ChainClient, timeout: float = 90) -> None:
    """Wait until the cursor is at the chain's newest program signature."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        [(newest, *_)] = await client.signatures_for_program(limit=1)
        async with pool.connection() as conn:
            cursor = await q.get_cursor(conn, str(PROGRAM_ID), "confirmed")
        if cursor.last_signature == newest:
            return
        assert asyncio.get_running_loop().time() < deadline, "indexer did not catch up"
        await asyncio.sleep(0.2)


async def test_random_workload_indexed_live_equals_the_chain(
    validator: LocalValidator, client: ChainClient, pool: AsyncConnectionPool
) -> None:
    ix = Indexer(pool, client, ws_url=validator.ws_url, batch_size=200)
    stop = asyncio.Event()
    task = asyncio.create_task(ix.run(stop))
    report = await workload(validator, client, seed=1, trades=2000)
    program_txs = [t for t in report.landed if t.program]
    assert len(program_txs) >= 2000 and any(t.err is not None for t in program_txs)
    await caught_up(pool, client)
    stop.set()
    await task
    assert await differences(pool, client) == []


# The worker's jobs stay idle during the load (the workload approves and finalizes itself): a
# schedule that fires once a year.
IDLE_JOBS = {
    f"CRON_{job}": "0 0 1 1 *"
    for job in ("PROPOSALS", "DISPUTES", "MONITOR", "RECONCILE", "SNAPSHOTS", "BACKUPS")
}


@pytest.mark.parametrize("command", ["indexer", "worker"])
async def test_indexer_killed_with_sigkill_loses_and_duplicates_nothing(
    validator: LocalValidator,
    client: ChainClient,
    pool: AsyncConnectionPool,
    db_url: str,
    tmp_path: Path,
    command: str,
) -> None:
    """SIGKILL of the process that indexes: `hybridmarket indexer`, and `hybridmarket worker`
    (the indexer inside the process that also runs the jobs), then `hybridmarket reconcile`
    finds nothing to repair."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SOLANA_RPC_URL": validator.rpc_url,
        "SOLANA_WS_URL": validator.ws_url,
        "HYBRIDMARKET_DATA_DIR": str(tmp_path / "data"),
        "BACKEND_KEYPAIR_FILE": str(validator.key_paths["backend_authority"]),
        **IDLE_JOBS,
    }
    # Small batches, so that a life is often killed between two of them with more to apply.
    args = [sys.executable, "-m", "hybridmarket", command, "--batch-size", "25"]
    log_path = tmp_path / f"{command}.log"
    log = log_path.open("ab")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)

    rng = random.Random(42)

    async def cursor() -> str | None:
        async with pool.connection() as conn:
            return (await q.get_cursor(conn, str(PROGRAM_ID), "confirmed")).last_signature

    kills = busy_kills = 0
    load = asyncio.create_task(workload(validator, client, seed=2, trades=2000))
    proc = start()
    try:
        while not load.done() or kills < 10:
            # Kill at a random moment soon after this life has applied something (or, once
            # everything is applied, at a random moment of its live following).
            before = await cursor()
            for _ in range(100):
                await asyncio.sleep(0.05)
                if await cursor() != before:
                    break
            await asyncio.sleep(rng.uniform(0, 0.25))
            newest = (await client.signatures_for_program(limit=1))[0][0]
            busy_kills += await cursor() != newest
            proc.kill()  # SIGKILL: no cleanup, possibly in the middle of a batch
            await asyncio.to_thread(proc.wait)
            kills += 1
            proc = start()
        await load
        await caught_up(pool, client)
        for _ in range(200):  # the last life is up and following live
            if log_path.read_text().count("following the chain live") > kills:
                break
            await asyncio.sleep(0.05)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait)
        log.close()
    assert busy_kills >= 5, (kills, busy_kills)  # lives cut with more to apply (10 of 10 here)
    assert kills >= 10
    assert await differences(pool, client) == []
    assert proc.returncode == 0, f"the {command} should stop cleanly on SIGTERM"
    # The operator's check agrees: nothing to repair.
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hybridmarket", "reconcile", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["markets_checked"] > 0 and report["discrepancies"] == 0, report


async def test_indexer_converges_under_injected_faults(
    validator: LocalValidator, pool: AsyncConnectionPool
) -> None:
    patient = RetryPolicy(max_attempts=12, base_delay=0.02, max_delay=0.5, deadline=60, timeout=2)
    async with (
        ChainClient(validator.rpc_url) as load_client,
        ChainClient(validator.rpc_url, policy=patient) as ix_client,
    ):
        # Live, with WebSocket faults: notifications dropped, delayed, sockets closed.
        ix = Indexer(pool, ix_client, ws_url=validator.ws_url, batch_size=100, poll_interval=0.5)
        stop = asyncio.Event()
        task = asyncio.create_task(ix.run(stop))
        await control(
            validator,
            "hybridmarket_setFaults",
            ws_drop_rate=0.3,
            ws_delay_ms=300,
            ws_close_rate=0.02,
            seed=3,
        )
        await workload(validator, load_client, seed=3, trades=500)
        stop.set()
        await task
        # More history lands while no indexer runs; then it catches up through HTTP faults too.
        await control(validator, "hybridmarket_clearFaults")
        await workload(validator, load_client, seed=4, trades=500)
        await control(
            validator,
            "hybridmarket_setFaults",
            http429_rate=0.15,
            retry_after=0,
            http5xx_rate=0.15,
            timeout_rate=0.03,
            timeout_seconds=1,
            ws_drop_rate=0.5,
            ws_close_rate=0.05,
            seed=4,
        )
        ix = Indexer(pool, ix_client, ws_url=validator.ws_url, batch_size=50, poll_interval=0.5)
        stop = asyncio.Event()
        task = asyncio.create_task(ix.run(stop))
        await asyncio.sleep(6)
        stats = await control(validator, "hybridmarket_getStats")
        await control(validator, "hybridmarket_clearFaults")
        await caught_up(pool, load_client)
        stop.set()
        await task
        assert ix_client.gateway.retries > 0, stats  # the faults were met, and retried through
        assert await differences(pool, load_client) == []
