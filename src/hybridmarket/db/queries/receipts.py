"""What a vote receipt names from the database: the indexed vote (its VoteRecord, slot and
transaction) and the tally documents published for the market, with the transaction that
posted each one's counts. The receipt checks all of it against the chain and IPFS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql

from hybridmarket.db.queries.votes import TABLES


@dataclass(frozen=True, slots=True)
class IndexedVote:
    vote_record: str
    vote: bool
    voted_at: datetime
    slot: int
    tx_signature: str


@dataclass(frozen=True, slots=True)
class PublishedTally:
    cid: str
    sha256: str
    yes: int
    no: int
    posted_by: str | None  # the signature of the transaction that posted the counts
    posted: bool  # that transaction confirmed (the audit log says)


async def indexed_vote(
    conn: AsyncConnection[Any], kind: str, market_id: str, wallet: str
) -> IndexedVote | None:
    """The wallet's indexed vote of this kind on the market, or None."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT vote_record, vote, voted_at, slot, tx_signature FROM {} "
            "WHERE market_id = %s AND user_wallet = %s"
        ).format(sql.Identifier(TABLES[kind])),
        (market_id, wallet),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return IndexedVote(row[0], bool(row[1]), row[2], int(row[3]), row[4])


async def tallies_with_counts(
    conn: AsyncConnection[Any], market_id: str, kind: str, yes: int, no: int, *, limit: int = 3
) -> list[PublishedTally]:
    """The tally documents published for the market and kind with these counts: the one whose
    transaction confirmed first, then the newest (a retried publication, or one whose
    transaction is confirming)."""
    cur = await conn.execute(
        "SELECT t.cid, t.sha256, t.yes_votes, t.no_votes, a.tx_signature, "
        "coalesce(a.outcome = 'confirmed', false) AS posted FROM published_tallies t "
        "LEFT JOIN audit_log a ON a.id = t.audit_id "
        "WHERE t.market_id = %s AND t.kind = %s AND t.yes_votes = %s AND t.no_votes = %s "
        "ORDER BY posted DESC, t.created_at DESC, t.id DESC LIMIT %s",
        (market_id, kind, yes, no, limit),
    )
    return [
        PublishedTally(r[0], r[1], int(r[2]), int(r[3]), r[4], bool(r[5]))
        for r in await cur.fetchall()
    ]
