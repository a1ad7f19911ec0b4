"""The test oracle for the indexer: read the chain (accounts and the whole transaction history)
and the database, and list every difference. Empty list = the database equals the chain."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from hybridmarket.chain.client import ChainClient, TransactionInfo
from hybridmarket.db.queries import markets as q_markets
from hybridmarket.db.queries import positions as q_positions
from hybridmarket.db.rows import MARKET_CHAIN_FIELDS, POSITION_CHAIN_FIELDS
from hybridmarket.indexer.model import (
    market_row_from_account,
    position_row_from_account,
)
from hybridmarket.program.accounts import VoteKind
from hybridmarket.program.events import SharesBought, SharesSold


async def chain_history(client: ChainClient) -> list[TransactionInfo]:
    sigs: list[str] = []
    before = None
    while True:
        page = await client.signatures_for_program(before=before, limit=1000)
        sigs += [s for s, *_ in page]
        if len(page) < 1000:
            break
        before = page[-1][0]
    sem = asyncio.Semaphore(16)

    async def one(sig: str) -> TransactionInfo:
        async with sem:
            info = await client.get_transaction(sig)
            assert info is not None, sig
            return info

    return list(await asyncio.gather(*(one(s) for s in sigs)))


def _ts(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


async def differences(pool: AsyncConnectionPool, client: ChainClient) -> list[str]:
    out: list[str] = []
    slot = await client.get_slot()
    markets = await client.list_markets()
    positions = await client.list_positions()
    history = await chain_history(client)
    async with pool.connection() as conn:
        db_markets = await q_markets.load_all(conn)
        db_positions = await q_positions.load_all(conn)
        trades = await (
            await conn.execute(
                "SELECT tx_signature, instruction_index, event_index, user_wallet, trade_type, "
                "outcome, shares, cost, protocol_fee, resolver_fee, lp_fee, total, market_id "
                "FROM trades"
            )
        ).fetchall()
        votes: dict[str, list[Any]] = {}
        for kind in ("proposal", "dispute"):
            votes[kind] = await (
                await conn.execute(
                    f"SELECT market_id, user_wallet, vote, voted_at, vote_record FROM {kind}_votes"
                )
            ).fetchall()
        txs = await (
            await conn.execute("SELECT signature, err IS NULL FROM indexed_transactions")
        ).fetchall()

    # Markets: every cached field.
    chain_ids = set()
    for addr, acc in markets:
        ref = market_row_from_account(acc, addr, slot)
        chain_ids.add(ref.id)
        row = db_markets.get(ref.id)
        if row is None:
            out.append(f"market {ref.id} missing")
            continue
        for f in MARKET_CHAIN_FIELDS:
            if getattr(row, f) != getattr(ref, f):
                out.append(f"market {ref.id} {f}: db {getattr(row, f)!r} chain {getattr(ref, f)!r}")
    out += [f"market {m} not on chain" for m in set(db_markets) - chain_ids]

    # Positions.
    addr_to_id = {str(a): bytes(acc.market_id).hex() for a, acc in markets}
    chain_pos = set()
    for _, pos in positions:
        mid = addr_to_id[str(pos.market)]
        ref_p = position_row_from_account(pos, mid, slot)
        chain_pos.add((mid, ref_p.user_wallet))
        row_p = db_positions.get((mid, ref_p.user_wallet))
        if row_p is None:
            out.append(f"position {mid}/{ref_p.user_wallet} missing")
            continue
        for f in POSITION_CHAIN_FIELDS:
            if getattr(row_p, f) != getattr(ref_p, f):
                out.append(
                    f"position {mid}/{ref_p.user_wallet} {f}: db {getattr(row_p, f)!r} chain {getattr(ref_p, f)!r}"
                )
    out += [f"position {k} not on chain" for k in set(db_positions) - chain_pos]

    # Votes: one row per VoteRecord account, same voter, vote, time and address.
    for kind, vk in (("proposal", VoteKind.Proposal), ("dispute", VoteKind.Dispute)):
        expected = set()
        for _, acc in markets:
            for addr, rec in await client.list_vote_records(acc.market_id, vk):
                expected.add(
                    (
                        bytes(acc.market_id).hex(),
                        str(rec.user),
                        rec.vote,
                        _ts(rec.voted_at),
                        str(addr),
                    )
                )
        got = {tuple(r) for r in votes[kind]}
        if len(got) != len(votes[kind]):
            out.append(f"{kind} votes duplicated")
        out += [f"{kind} vote missing {v}" for v in expected - got]
        out += [f"{kind} vote not on chain {v}" for v in got - expected]

    # Trades: exactly the trade events of the history, keyed by (signature, ix, event).
    expected_trades = set()
    for info in history:
        for pe in info.events:
            e = pe.event
            if isinstance(e, SharesBought | SharesSold):
                expected_trades.add(
                    (
                        info.signature,
                        pe.instruction_index,
                        pe.event_index,
                        str(e.trader),
                        "buy" if isinstance(e, SharesBought) else "sell",
                        e.outcome,
                        e.shares,
                        e.amount,
                        e.protocol_fee,
                        e.resolver_fee,
                        e.lp_fee,
                        e.total,
                        bytes(e.market_id).hex(),
                    )
                )
    got_trades = [
        (r[0], r[1], r[2], r[3], r[4], r[5], *(int(x) for x in r[6:12]), r[12]) for r in trades
    ]
    if len(set(got_trades)) != len(got_trades):
        out.append("trades duplicated")
    out += [f"trade missing {t[:3]}" for t in expected_trades - set(got_trades)]
    out += [f"trade not on chain {t[:3]}" for t in set(got_trades) - expected_trades]

    # Transactions: every program transaction recorded once, with its success or failure.
    chain_txs = {(i.signature, i.err is None) for i in history}
    if set(map(tuple, txs)) != chain_txs or len(txs) != len(chain_txs):
        out.append(
            f"indexed transactions differ: {len(txs)} in db, {len(chain_txs)} on chain, "
            f"{len(chain_txs - set(map(tuple, txs)))} missing"
        )
    return out
