"""Vote tallies kept as votes are indexed (issue 17): the counts in `vote_tallies` follow every
write of vote rows in the same transaction, the aggregators' reads see them, and the recount job
finds and repairs counts that drifted from the rows. Real PostgreSQL; the indexer's path through
a real validator."""

from __future__ import annotations

import asyncio
import hashlib
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair
from solders.signature import Signature

from hybridmarket.chain import ChainClient
from hybridmarket.db.queries import votes as q_votes
from hybridmarket.indexer.service import Indexer
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b
from hybridmarket.worker import jobs

pytestmark = pytest.mark.integration
SOL = 1_000_000_000
_RNG = random.Random(17)


def _wallet() -> str:
    return str(Keypair().pubkey())


async def _market(conn: AsyncConnection[Any], state: str = "PROPOSED") -> str:
    mid = hashlib.sha256(_RNG.randbytes(16)).hexdigest()
    await conn.execute(
        "INSERT INTO markets (id, on_chain_address, creator_wallet, resolver_wallet, state, "
        "b_parameter, current_price, initial_liquidity, created_at, last_slot) "
        "VALUES (%s, %s, %s, %s, %s, 1000000, 0.5, 700000, now(), 1)",
        (mid, _wallet(), _wallet(), _wallet(), state),
    )
    return mid


def _vote_row(mid: str, vote: bool, slot: int = 1) -> tuple[Any, ...]:
    sig = str(Signature(_RNG.randbytes(64)))
    return (mid, _wallet(), vote, datetime.now(UTC), _wallet(), slot, sig, 0, 0)


async def _kept(conn: AsyncConnection[Any], kind: str) -> dict[str, tuple[int, int]]:
    cur = await conn.execute(
        "SELECT market_id, yes_votes, no_votes FROM vote_tallies WHERE kind = %s", (kind,)
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in await cur.fetchall()}


async def test_counts_follow_appended_votes_in_the_same_transaction(
    pool: AsyncConnectionPool,
) -> None:
    async with pool.connection() as conn:
        a, c = await _market(conn), await _market(conn)
        d = await _market(conn, "DISPUTED")
        await conn.commit()
        # Two batches for `a`, one for `c`; dispute votes are counted apart.
        async with conn.transaction():
            await q_votes.append(
                conn, "proposal", [_vote_row(a, True), _vote_row(a, False), _vote_row(c, True)]
            )
            await q_votes.append(conn, "dispute", [_vote_row(d, True), _vote_row(d, True)])
        async with conn.transaction():
            await q_votes.append(conn, "proposal", [_vote_row(a, True) for _ in range(3)])
        # A batch that fails (a duplicate vote) leaves no count behind.
        dup = _vote_row(c, False)
        with pytest.raises(Exception, match="duplicate key"):
            async with conn.transaction():
                await q_votes.append(conn, "proposal", [dup, dup])
        assert await _kept(conn, "proposal") == {a: (4, 1), c: (1, 0)}
        assert await _kept(conn, "dispute") == {d: (2, 0)}
        # What the aggregators and the admin routes read.
        b_ = await _market(conn)
        assert await q_votes.tallies(conn, "proposal", state="PROPOSED") == {
            a: (4, 1),
            c: (1, 0),
            b_: (0, 0),
        }
        assert await q_votes.tallies(conn, "dispute", state="DISPUTED") == {d: (2, 0)}
        assert await q_votes.tally(conn, "proposal", a) == (4, 1)
        assert await q_votes.tally(conn, "proposal", b_) == (0, 0)
        assert await q_votes.recount(conn, "proposal") == []
        assert await q_votes.recount(conn, "dispute") == []
        # A market deleted takes its counts with it.
        await conn.execute("DELETE FROM markets WHERE id = %s", (c,))
        assert await _kept(conn, "proposal") == {a: (4, 1)}


async def test_a_retried_insert_counts_only_the_rows_it_adds(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn, conn.transaction():
        mid = await _market(conn)
        first = [_vote_row(mid, True), _vote_row(mid, False)]
        await q_votes.append(conn, "proposal", first)
        await q_votes.insert_missing(conn, "proposal", [*first, _vote_row(mid, True)])
        await q_votes.insert_missing(conn, "proposal", first)
        assert await _kept(conn, "proposal") == {mid: (2, 1)}
        assert await q_votes.recount(conn, "proposal") == []


async def test_the_recount_job_logs_and_repairs_counts_that_drifted(
    pool: AsyncConnectionPool,
) -> None:
    async with pool.connection() as conn:
        right, wrong, missing, stale = [await _market(conn) for _ in range(4)]
        async with conn.transaction():
            await q_votes.append(conn, "proposal", [_vote_row(right, True)])
            await q_votes.append(
                conn, "proposal", [_vote_row(wrong, True), _vote_row(wrong, False)]
            )
            await q_votes.append(conn, "proposal", [_vote_row(stale, False)])
            await q_votes.append(conn, "dispute", [_vote_row(right, False)])
        # Drift three ways: a count changed, votes written past the tally, votes deleted.
        await conn.execute(
            "UPDATE vote_tallies SET yes_votes = 7 WHERE market_id = %s AND kind = 'proposal'",
            (wrong,),
        )
        row = _vote_row(missing, True)
        await conn.execute(
            f"INSERT INTO proposal_votes ({', '.join(q_votes.VOTE_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(row))})",
            row,
        )
        await conn.execute("DELETE FROM proposal_votes WHERE market_id = %s", (stale,))
        await conn.commit()

    out = await jobs.recount_tallies(pool)
    assert out["differences"] == 3
    assert sorted((d["market_id"], d["kept"], d["counted"]) for d in out["repaired"]) == sorted(
        [(wrong, (7, 1), (1, 1)), (missing, (0, 0), (1, 0)), (stale, (0, 1), (0, 0))]
    )
    async with pool.connection() as conn:
        assert await _kept(conn, "proposal") == {right: (1, 0), wrong: (1, 1), missing: (1, 0)}
        assert await _kept(conn, "dispute") == {right: (0, 1)}
    assert (await jobs.recount_tallies(pool))["differences"] == 0


async def test_the_indexer_keeps_the_counts_of_the_votes_it_indexes(
    validator: LocalValidator, client: ChainClient, pool: AsyncConnectionPool
) -> None:
    async def funded(lamports: int) -> Keypair:
        kp = Keypair()
        await client.request_airdrop(kp.pubkey(), lamports)
        return kp

    creator, resolver = await funded(500 * SOL), await funded(SOL)
    mid = hashlib.sha256(b"tallied as indexed").digest()
    await client.send(
        [b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, resolver.pubkey())],
        creator,
    )
    indexer = Indexer(pool, client)
    voters = [await funded(SOL) for _ in range(7)]
    likes = [True, False, True, True, False, True, True]
    # Votes in two syncs: the second batch adds to the first's counts.
    for part in (slice(0, 3), slice(3, 7)):
        await asyncio.gather(
            *(
                client.send([b.submit_proposal_vote(x.pubkey(), mid, v)], x)
                for x, v in zip(voters[part], likes[part], strict=True)
            )
        )
        await indexer.sync()
    async with pool.connection() as conn:
        assert await q_votes.tallies(conn, "proposal", state="PROPOSED") == {mid.hex(): (5, 2)}
        assert await q_votes.recount(conn, "proposal") == []
