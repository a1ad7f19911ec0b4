"""The indexer against a real validator and a real PostgreSQL: a scripted lifecycle applied
exactly, idempotency, the live stream, dead letters and the reconciler."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket.chain import ChainClient, PreflightFailed, TransactionFailed
from hybridmarket.chain.keys import load_keypair
from hybridmarket.indexer.reconcile import Reconciler
from hybridmarket.indexer.service import Indexer
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b
from hybridmarket.program import lmsr
from hybridmarket.program.errors import MarketError

from .chain_oracle import differences
from .localnet_fixtures import control

pytestmark = pytest.mark.integration
SOL = 1_000_000_000
EVIDENCE = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"evidence").digest()


async def _funded(client: ChainClient, lamports: int = 100 * SOL) -> Keypair:
    kp = Keypair()
    await client.request_airdrop(kp.pubkey(), lamports)
    return kp


async def lifecycle(v: LocalValidator, client: ChainClient, name: bytes, *, dispute: bool) -> bytes:
    """One market from proposal to claims, with a failed transaction on chain."""
    backend = load_keypair(v.key_paths["backend_authority"])
    cfg = await client.get_config()
    assert cfg is not None
    creator, resolver = await _funded(client, 500 * SOL), await _funded(client)
    mid = hashlib.sha256(name).digest()
    await client.send(
        [b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, resolver.pubkey())], creator
    )
    voters = [await _funded(client, SOL) for _ in range(10)]
    await asyncio.gather(
        *(
            client.send([b.submit_proposal_vote(x.pubkey(), mid, i < 8)], x)
            for i, x in enumerate(voters)
        )
    )
    await client.send([b.approve_market(backend.pubkey(), mid, 8, 2)], backend)
    await client.send([b.activate_market(creator.pubkey(), mid)], creator)
    traders = [await _funded(client) for _ in range(4)]
    fee_wallet = cfg.protocol_fee_wallet
    fees = lmsr.FeeSchedule(cfg.protocol_fee_bps, cfg.resolver_fee_bps, cfg.lp_fee_bps)
    for i, t in enumerate(traders):
        m = await client.get_market(mid)
        assert m is not None
        q = lmsr.quote_buy(
            m.shares_yes, m.shares_no, m.b_parameter, i % 2 == 0, (i + 1) * SOL, fees
        )
        await client.send(
            [b.buy_shares(t.pubkey(), mid, i % 2 == 0, (i + 1) * SOL, q.total, fee_wallet)], t
        )
    # A failed transaction lands on chain (slippage one lamport short).
    m = await client.get_market(mid)
    assert m is not None
    q = lmsr.quote_buy(m.shares_yes, m.shares_no, m.b_parameter, True, SOL, fees)
    with pytest.raises(TransactionFailed):
        await client.send(
            [b.buy_shares(traders[0].pubkey(), mid, True, SOL, q.total - 1, fee_wallet)],
            traders[0],
            skip_preflight=True,
        )
    await client.send(
        [b.sell_shares(traders[0].pubkey(), mid, True, SOL // 2, 0, fee_wallet)], traders[0]
    )
    await control(v, "hybridmarket_advanceClock", seconds=cfg.min_resolution_delay)
    await client.send([b.resolve_market(resolver.pubkey(), mid, True, EVIDENCE)], resolver)
    if dispute:
        await client.send([b.initiate_dispute(traders[1].pubkey(), mid)], traders[1])
        await asyncio.gather(
            *(client.send([b.submit_dispute_vote(x.pubkey(), mid, True)], x) for x in voters[:6])
        )
        await control(v, "hybridmarket_advanceClock", seconds=cfg.dispute_voting_period)
        await client.send(
            [b.finalize_market(backend.pubkey(), mid, resolver.pubkey(), 6, 0)], backend
        )
    else:
        await control(v, "hybridmarket_advanceClock", seconds=cfg.dispute_period)
        await client.send([b.finalize_market(backend.pubkey(), mid, resolver.pubkey())], backend)
    for t in traders:
        try:
            await client.send([b.claim_winnings(t.pubkey(), mid)], t)
        except PreflightFailed as e:  # losers have nothing to claim
            assert e.code == MarketError.NothingToClaim
    await client.send([b.withdraw_liquidity(creator.pubkey(), mid)], creator)
    return mid


async def test_sync_applies_every_event_exactly_once(
    validator: LocalValidator, client: ChainClient, pool: AsyncConnectionPool
) -> None:
    await lifecycle(validator, client, b"undisputed", dispute=False)
    await lifecycle(validator, client, b"disputed", dispute=True)
    ix = Indexer(pool, client, batch_size=7)  # small batches: many batch boundaries
    seen: list[tuple[int, int]] = []
    r = await ix.sync(progress=lambda d, t: seen.append((d, t)))
    assert r.applied > 50 and r.dead_lettered == 0 and seen[-1][0] == seen[-1][1] == r.applied
    assert await differences(pool, client) == []

    # Nothing new: a second sync applies nothing; re-applying the same transactions is a no-op.
    assert (await ix.sync()).applied == 0
    history = await ix._fetch(await ix._pending_signatures(None))
    again = await ix.apply(history)
    assert again.applied == 0 and again.skipped == len(history)
    assert await differences(pool, client) == []
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE err IS NOT NULL) FROM indexed_transactions"
        )
        total, failed = await cur.fetchone()  # type: ignore[misc]
    assert total == len(history) and failed >= 2


async def test_reconciler_finds_and_repairs_every_corruption(
    validator: LocalValidator, client: ChainClient, pool: AsyncConnectionPool
) -> None:
    mid = (await lifecycle(validator, client, b"to corrupt", dispute=False)).hex()
    ix = Indexer(pool, client)
    await ix.sync()
    rec = Reconciler(pool, client, ix)
    clean = await rec.run()
    assert clean.discrepancies == [] and clean.markets_checked == 1 and clean.positions_checked == 4

    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE markets SET shares_yes = shares_yes + 1, state = 'ACTIVE', trades_count = 0, "
            "current_price = 0.123, evidence_cid = NULL, finalized_at = NULL WHERE id = %s",
            (mid,),
        )
        await conn.execute(
            "UPDATE positions SET shares_no = shares_no + 5 WHERE market_id = %s AND "
            "user_wallet = (SELECT min(user_wallet) FROM positions WHERE market_id = %s)",
            (mid, mid),
        )
    found = await rec.run(repair=False)
    fields = sorted(d.field for d in found.discrepancies if not d.field.startswith("position:"))
    assert fields == sorted(
        ["shares_yes", "state", "trades_count", "current_price", "evidence_cid", "finalized_at"]
    )
    assert [
        d.field.rsplit(":", 1)[1] for d in found.discrepancies if d.field.startswith("position:")
    ] == ["shares_no"]
    assert found.repaired == 0
    fixed = await rec.run()
    assert len(fixed.discrepancies) == 7 and fixed.repaired == 2
    assert (await rec.run()).discrepancies == []
    assert await differences(pool, client) == []
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT field, cached_value, chain_value FROM reconcile_discrepancies "
            "WHERE run_id = %s AND field = 'state'",
            (fixed.run_id,),
        )
        assert await cur.fetchall() == [("state", "ACTIVE", "FINALIZED")]

    # A market row deleted by hand is found and restored; then a trade's market is intact again.
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM positions WHERE market_id = %s", (mid,))
    restored = await rec.run()
    assert {d.chain for d in restored.discrepancies} == {"present"} and restored.repaired == 4
    assert await differences(pool, client) == []


async def test_dead_letter_then_retry_converges(
    validator: LocalValidator, client: ChainClient, pool: AsyncConnectionPool
) -> None:
    await lifecycle(validator, client, b"dead letters", dispute=False)
    async with pool.connection() as conn:
        # The database refuses 2-SOL buys for a while: their events cannot be applied.
        await conn.execute("ALTER TABLE trades ADD CONSTRAINT no_two CHECK (shares <> 2000000000)")
    ix = Indexer(pool, client)
    rec = Reconciler(pool, client, ix)
    r = await ix.sync()
    assert r.dead_lettered == 1 and r.applied > 20
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT event_name, error, attempts FROM dead_letters")
        [(name, error, attempts)] = await cur.fetchall()
    assert name == "SharesBought" and "no_two" in error and attempts == 1
    assert await differences(pool, client) != []  # that trade (and its effects) are missing
    # Retry while the constraint is still there: fails again, backs off.
    async with pool.connection() as conn:
        await conn.execute("UPDATE dead_letters SET next_attempt_at = now()")
    assert await ix.retry_dead_letters(lambda ids: rec.run(only=ids)) == 0
    async with pool.connection() as conn:
        await conn.execute("ALTER TABLE trades DROP CONSTRAINT no_two")
        await conn.execute("UPDATE dead_letters SET next_attempt_at = now()")
    assert await ix.retry_dead_letters(lambda ids: rec.run(only=ids)) == 1
    assert await differences(pool, client) == []
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT attempts, resolved_at IS NOT NULL FROM dead_letters")
        assert await cur.fetchall() == [(2, True)]


async def test_live_indexing_follows_the_chain(
    validator: LocalValidator, client: ChainClient, pool: AsyncConnectionPool
) -> None:
    ix = Indexer(pool, client, ws_url=validator.ws_url, poll_interval=5.0)
    stop = asyncio.Event()
    task = asyncio.create_task(ix.run(stop))
    async with pool.connection() as listen:
        await listen.execute("LISTEN hybridmarket_changes")
        await lifecycle(validator, client, b"live", dispute=False)
        # Notifications (not the 5 s poll) bring everything in.
        for _ in range(200):
            if await differences(pool, client) == []:
                break
            await asyncio.sleep(0.05)
        assert await differences(pool, client) == []
        notes = [n async for n in _drain(listen)]
        assert notes and all(n.channel == "hybridmarket_changes" for n in notes)
    stop.set()
    await task


async def _drain(conn: psycopg.AsyncConnection) -> AsyncIterator[psycopg.Notify]:
    gen = conn.notifies(timeout=0.2)
    async for n in gen:
        yield n
