"""The backend authority services against a real validator (clock advanced) and PostgreSQL:
proposal approval at exactly 70 % and quorum, refusal one vote below either, cancellation at the
window's end, undisputed and disputed finalization (the 60 % flip), claims; verifiable tallies;
two worker replicas; a worker killed between sending and confirming."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket import bootstrap
from hybridmarket.authority import Signer
from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.db.queries import audit
from hybridmarket.db.queries import jobs as q_jobs
from hybridmarket.indexer.service import Indexer
from hybridmarket.ipfs.backends import EmbeddedBackend
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b
from hybridmarket.program.accounts import MarketState
from hybridmarket.program.events import MarketApproved, WinningsClaimed
from hybridmarket.settings import Settings
from hybridmarket.worker import jobs, tally

from .localnet_fixtures import control

pytestmark = pytest.mark.integration
SOL = 1_000_000_000
EVIDENCE = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"evidence").digest()
WINDOW = 7 * 24 * 3600


class World:
    def __init__(
        self,
        v: LocalValidator,
        client: ChainClient,
        pool: AsyncConnectionPool,
        tmp: Path,
        db_url: str,
    ) -> None:
        self.v = v
        self.tmp = tmp
        self.db_url = db_url
        self.client = client
        self.pool = pool
        self.backend = load_keypair(v.key_paths["backend_authority"])
        self.indexer = Indexer(pool, client)
        self.services = bootstrap.services(
            Settings(PROPOSAL_VOTING_WINDOW=WINDOW),
            pool,
            client,
            EmbeddedBackend(tmp / "ipfs"),
            Signer(self.backend, "test"),
        )

    async def funded(self, lamports: int = 100 * SOL) -> Keypair:
        kp = Keypair()
        await self.client.request_airdrop(kp.pubkey(), lamports)
        return kp

    async def advance(self, seconds: int) -> None:
        await control(self.v, "hybridmarket_advanceClock", seconds=seconds)
        slot = await self.client.get_slot()
        while await self.client.get_slot() <= slot + 1:  # a block at the new time is confirmed
            await asyncio.sleep(0.02)

    async def run(self, job: Any) -> dict[str, Any]:
        await self.indexer.sync()
        out: dict[str, Any] = await job(self.services)
        await self.indexer.sync()
        return out

    async def propose(self, name: str, likes: int, dislikes: int) -> tuple[bytes, Keypair, Keypair]:
        creator, resolver = await self.funded(500 * SOL), await self.funded()
        mid = hashlib.sha256(name.encode()).digest()
        await self.client.send(
            [b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, resolver.pubkey())],
            creator,
        )
        voters = [await self.funded(SOL) for _ in range(likes + dislikes)]
        await asyncio.gather(
            *(
                self.client.send([b.submit_proposal_vote(x.pubkey(), mid, i < likes)], x)
                for i, x in enumerate(voters)
            )
        )
        return mid, creator, resolver

    async def state(self, mid: bytes) -> MarketState:
        m = await self.client.get_market(mid)
        assert m is not None
        return m.state

    async def audit(self, mid: bytes) -> list[tuple[str, str]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT action, outcome FROM audit_log WHERE market_id = %s ORDER BY id",
                (mid.hex(),),
            )
            return [(r[0], r[1]) for r in await cur.fetchall()]


@pytest.fixture
def world(
    validator: LocalValidator,
    client: ChainClient,
    pool: AsyncConnectionPool,
    tmp_path: Path,
    db_url: str,
) -> World:
    return World(validator, client, pool, tmp_path, db_url)


async def test_proposals_approved_at_exactly_70_percent_and_quorum(world: World) -> None:
    cfg = await world.client.get_config()
    assert (
        cfg is not None
        and cfg.min_proposal_votes == 10
        and cfg.proposal_approval_threshold_bps == 7000
    )
    exact, _, _ = await world.propose("exactly 70%", 7, 3)
    below, _, _ = await world.propose("69%: one like short", 6, 4)
    no_quorum, _, _ = await world.propose("one vote short of quorum", 9, 0)
    out = await world.run(jobs.aggregate_proposals)
    assert out["approved"] == 1 and out["cancelled"] == 0
    assert await world.state(exact) == MarketState.Approved
    assert await world.state(below) == MarketState.Proposed
    assert await world.state(no_quorum) == MarketState.Proposed
    assert await world.audit(exact) == [("approve_market", "confirmed")]
    # The posted counts are the real ones, and published for anyone to recount.
    m = await world.client.get_market(exact)
    assert m is not None and (m.proposal_likes, m.proposal_dislikes) == (7, 3)
    async with world.pool.connection() as conn:
        published = await q_jobs.latest_tally(conn, exact.hex(), "proposal")
        cur = await conn.execute(
            "SELECT reason->>'tally_cid' FROM audit_log WHERE market_id = %s", (exact.hex(),)
        )
        [(cid_in_audit,)] = await cur.fetchall()
    assert published is not None and published[4] == cid_in_audit
    v = await tally.verify(world.client, exact.hex(), "proposal", published, world.services.ipfs)
    assert v.ok, v.differences
    assert v.chain_recount == v.posted == v.published == (7, 3)

    # The same check as a user runs it.
    r = await _cli(world, "verify-tally", exact.hex())
    assert (
        r.returncode == 0
        and "all agree" in r.stdout
        and "proposal: chain recount 7 yes / 3 no" in r.stdout
    )

    # Before the window ends nothing is cancelled; after it, both misses are.
    await world.advance(WINDOW - 120)
    assert (await world.run(jobs.aggregate_proposals))["cancelled"] == 0
    await world.advance(120)
    out = await world.run(jobs.aggregate_proposals)
    assert out["cancelled"] == 2
    assert await world.state(below) == MarketState.Cancelled
    assert await world.state(no_quorum) == MarketState.Cancelled
    assert await world.audit(below) == [("cancel_market", "confirmed")]
    # Everything settled: a further run considers nothing.
    assert (await world.run(jobs.aggregate_proposals))["considered"] == 0


async def _active_market(world: World, name: str) -> tuple[bytes, Keypair, Keypair, list[Keypair]]:
    mid, creator, resolver = await world.propose(name, 10, 0)
    await world.run(jobs.aggregate_proposals)
    await world.client.send([b.activate_market(creator.pubkey(), mid)], creator)
    cfg = await world.client.get_config()
    assert cfg is not None
    traders = [await world.funded() for _ in range(2)]
    for outcome, t in zip((True, False), traders, strict=True):
        await world.client.send(
            [b.buy_shares(t.pubkey(), mid, outcome, 10 * SOL, 20 * SOL, cfg.protocol_fee_wallet)], t
        )
    return mid, creator, resolver, traders


async def test_undisputed_finalization_after_the_dispute_period_then_claims(world: World) -> None:
    mid, _creator, resolver, (yes, _no) = await _active_market(world, "undisputed")
    cfg = await world.client.get_config()
    assert cfg is not None
    await world.advance(cfg.min_resolution_delay)
    await world.client.send([b.resolve_market(resolver.pubkey(), mid, True, EVIDENCE)], resolver)
    await world.advance(cfg.dispute_period - 60)  # a minute early: nothing happens
    assert (await world.run(jobs.monitor_markets))["finalized"] == 0
    assert await world.state(mid) == MarketState.Resolving
    await world.advance(60)
    assert (await world.run(jobs.monitor_markets))["finalized"] == 1
    m = await world.client.get_market(mid)
    assert m is not None and m.state == MarketState.Finalized and m.final_outcome is True
    sent = await world.client.send([b.claim_winnings(yes.pubkey(), mid)], yes)
    info = await world.client.get_transaction(sent.signature)
    assert info is not None
    [ev] = [e.event for e in info.events if isinstance(e.event, WinningsClaimed)]
    assert ev.amount == 10 * SOL  # one lamport per winning share unit
    assert await world.audit(mid) == [
        ("approve_market", "confirmed"),
        ("finalize_market", "confirmed"),
    ]


@pytest.mark.parametrize(("agree", "disagree", "flipped"), [(3, 2, True), (5, 4, False)])
async def test_disputed_finalization_flips_at_exactly_60_percent(
    world: World, agree: int, disagree: int, flipped: bool
) -> None:
    mid, _creator, resolver, (yes, no) = await _active_market(world, f"dispute {agree}/{disagree}")
    cfg = await world.client.get_config()
    assert (
        cfg is not None and cfg.dispute_success_threshold_bps == 6000 and cfg.min_dispute_votes == 5
    )
    await world.advance(cfg.min_resolution_delay)
    await world.client.send([b.resolve_market(resolver.pubkey(), mid, True, EVIDENCE)], resolver)
    await world.client.send([b.initiate_dispute(no.pubkey(), mid)], no)
    voters = [await world.funded(SOL) for _ in range(agree + disagree)]
    await asyncio.gather(
        *(
            world.client.send([b.submit_dispute_vote(x.pubkey(), mid, i < agree)], x)
            for i, x in enumerate(voters)
        )
    )
    await world.advance(cfg.dispute_voting_period - 60)
    assert (await world.run(jobs.aggregate_disputes))["waiting"] == 1
    await world.advance(60)
    assert (await world.run(jobs.aggregate_disputes))["finalized"] == 1
    m = await world.client.get_market(mid)
    assert m is not None and m.state == MarketState.Finalized
    assert (m.dispute_agree, m.dispute_disagree) == (agree, disagree)
    assert m.final_outcome is (not flipped)
    winner = no if flipped else yes
    sent = await world.client.send([b.claim_winnings(winner.pubkey(), mid)], winner)
    info = await world.client.get_transaction(sent.signature)
    assert info is not None
    [ev] = [e.event for e in info.events if isinstance(e.event, WinningsClaimed)]
    assert ev.amount == 10 * SOL
    async with world.pool.connection() as conn:
        published = await q_jobs.latest_tally(conn, mid.hex(), "dispute")
    v = await tally.verify(world.client, mid.hex(), "dispute", published, world.services.ipfs)
    assert v.ok and v.posted == (agree, disagree), v.differences


async def test_a_tally_posted_with_wrong_counts_is_reported(world: World) -> None:
    mid, _, _ = await world.propose("dishonest", 7, 3)
    await world.indexer.sync()
    # The backend key posts 8 likes / 2 dislikes by hand: the program accepts (8+2 <= 10 recorded).
    await world.client.send([b.approve_market(world.backend.pubkey(), mid, 8, 2)], world.backend)
    v = await tally.verify(world.client, mid.hex(), "proposal", None, world.services.ipfs)
    assert not v.ok
    assert v.chain_recount == (7, 3) and v.posted == (8, 2)
    assert any(
        "on-chain counts 8 yes / 2 no, recount of VoteRecords 7 / 3" in d for d in v.differences
    )
    assert any("no published tally document" in d for d in v.differences)
    r = await _cli(world, "verify-tally", mid.hex())
    assert r.returncode == 1 and "tallies do NOT agree" in r.stdout
    assert "DIFFERENCE: on-chain counts 8 yes / 2 no, recount of VoteRecords 7 / 3" in r.stdout


async def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": world.db_url,
        "SOLANA_RPC_URL": world.v.rpc_url,
        "HYBRIDMARKET_DATA_DIR": str(world.tmp),
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hybridmarket", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _env(v: LocalValidator, db_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "SOLANA_RPC_URL": v.rpc_url,
        "SOLANA_WS_URL": v.ws_url,
        "BACKEND_KEYPAIR_FILE": str(v.key_paths["backend_authority"]),
        **extra,
    }


async def _approvals_on_chain(client: ChainClient, mid: bytes) -> tuple[int, int]:
    """(MarketApproved events, failed program transactions) in the whole history."""
    approved = failed = 0
    for sig, *_ in await client.signatures_for_program(limit=1000):
        info = await client.get_transaction(sig)
        assert info is not None
        failed += info.err is not None
        approved += sum(
            1
            for e in info.events
            if isinstance(e.event, MarketApproved) and e.event.market_id == mid
        )
    return approved, failed


async def test_two_worker_replicas_act_once(world: World, db_url: str, tmp_path: Path) -> None:
    mid, _, _ = await world.propose("two replicas", 8, 2)
    env = _env(world.v, db_url, CRON_PROPOSALS="* * * * * */1", HYBRIDMARKET_DATA_DIR=str(tmp_path))
    logs = [(tmp_path / f"worker{i}.log").open("wb") for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hybridmarket", "worker"],
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
        )
        for f in logs
    ]
    try:
        for _ in range(300):
            if await world.state(mid) == MarketState.Approved:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(3)  # several more ticks for both replicas
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            await asyncio.to_thread(p.wait)
        for f in logs:
            f.close()
    assert [p.returncode for p in procs] == [0, 0]
    assert await world.state(mid) == MarketState.Approved
    assert await _approvals_on_chain(world.client, mid) == (1, 0)
    async with world.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'approve_market' AND tx_signature IS NOT NULL"
        )
        assert await cur.fetchone() == (1,)
        cur = await conn.execute(
            "SELECT job, tick, count(*) FROM job_runs GROUP BY 1, 2 HAVING count(*) > 1"
        )
        assert await cur.fetchall() == []
        cur = await conn.execute("SELECT count(*) FROM job_runs WHERE job = 'proposals'")
        row = await cur.fetchone()
    # Both replicas were up for several ticks; each tick ran once (whichever claimed it first).
    assert row is not None and row[0] >= 3
    for i in range(2):
        assert "worker starting" in (tmp_path / f"worker{i}.log").read_text()


async def test_worker_killed_between_send_and_confirm(
    world: World, db_url: str, tmp_path: Path
) -> None:
    mid, _, _ = await world.propose("crash after send", 10, 0)
    # Kill as soon as the audit row says `sent`: signed and broadcast, not yet confirmed.
    env = _env(world.v, db_url, HYBRIDMARKET_DATA_DIR=str(tmp_path))
    args = [sys.executable, "-m", "hybridmarket", "worker", "--run-once", "proposals"]
    with (tmp_path / "w1.log").open("wb") as f:
        proc = subprocess.Popen(args, env=env, stdout=f, stderr=subprocess.STDOUT)
        killed_at = None
        for _ in range(4000):
            async with world.pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT outcome FROM audit_log WHERE market_id = %s", (mid.hex(),)
                )
                row = await cur.fetchone()
            if row and row[0] == "sent":
                proc.kill()
                killed_at = row[0]
                break
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.005)
        await asyncio.to_thread(proc.wait)
    assert killed_at == "sent", "the worker should have been killed between sending and confirming"
    # Restart: the unfinished row is settled from the signature's status, nothing is re-sent.
    r = await asyncio.to_thread(
        subprocess.run, args, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert r.returncode == 0, r.stderr
    for _ in range(200):
        if await world.state(mid) == MarketState.Approved:
            break
        await asyncio.sleep(0.05)
    assert await world.state(mid) == MarketState.Approved
    assert await _approvals_on_chain(world.client, mid) == (1, 0)
    trail = await world.audit(mid)
    assert trail[0] == ("approve_market", "confirmed")
    assert all(outcome in ("confirmed", "skipped") for _, outcome in trail)
    assert sum(1 for _, o in trail if o == "confirmed") == 1


async def _recorded_not_broadcast(world: World, mid: bytes, last_valid: int | None = None) -> int:
    """An audit row left `sent` by a crash after it was recorded and before the broadcast."""
    sender = world.services.sender
    async with world.pool.connection() as conn:
        aid = await audit.record(
            conn,
            actor=sender.actor,
            action="approve_market",
            market_id=mid.hex(),
            arguments={},
            reason={},
        )
    blockhash, valid_until = await world.client.latest_blockhash()
    ix = b.approve_market(world.backend.pubkey(), mid, 10, 0)
    tx = world.client.build_signed([ix], world.backend, (), blockhash)
    async with world.pool.connection() as conn:
        await audit.mark_sent(
            conn,
            aid,
            tx_signature=str(tx.signatures[0]),
            tx_wire=bytes(tx),
            last_valid_block_height=valid_until if last_valid is None else last_valid,
        )
    return aid


async def test_unfinished_transaction_is_rebroadcast_not_resent(world: World) -> None:
    mid, _, _ = await world.propose("recorded, never broadcast", 10, 0)
    await _recorded_not_broadcast(world, mid)
    assert await world.services.sender.resolve_unfinished() == 1
    # The very transaction landed (one approval, under the recorded signature); the next
    # aggregation finds the market approved and sends nothing.
    assert await world.audit(mid) == [("approve_market", "confirmed")]
    await world.run(jobs.aggregate_proposals)
    assert await world.state(mid) == MarketState.Approved
    assert await _approvals_on_chain(world.client, mid) == (1, 0)
    assert await world.audit(mid) == [("approve_market", "confirmed")]


async def test_unfinished_transaction_whose_blockhash_expired_is_failed(world: World) -> None:
    mid, _, _ = await world.propose("recorded, blockhash gone", 10, 0)
    # Recorded as valid until a height the chain has passed: it can never land, so it is not
    # rebroadcast; the row fails and the next aggregation approves with a new transaction.
    height = await world.client.block_height()
    await _recorded_not_broadcast(world, mid, last_valid=height - 1)
    assert await world.services.sender.resolve_unfinished() == 1
    assert await world.audit(mid) == [("approve_market", "failed")]
    assert await _approvals_on_chain(world.client, mid) == (0, 0)
    await world.run(jobs.aggregate_proposals)
    assert await world.state(mid) == MarketState.Approved
    assert await world.audit(mid) == [("approve_market", "failed"), ("approve_market", "confirmed")]


async def test_market_finalized_event_is_indexed(world: World) -> None:
    mid, _creator, resolver, _ = await _active_market(world, "indexed finalize")
    cfg = await world.client.get_config()
    assert cfg is not None
    await world.advance(cfg.min_resolution_delay)
    await world.client.send([b.resolve_market(resolver.pubkey(), mid, False, EVIDENCE)], resolver)
    await world.advance(cfg.dispute_period)
    await world.run(jobs.monitor_markets)
    async with world.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT state, final_outcome FROM markets WHERE id = %s", (mid.hex(),)
        )
        assert await cur.fetchone() == ("FINALIZED", False)
