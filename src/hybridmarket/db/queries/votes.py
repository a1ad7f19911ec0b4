"""`proposal_votes` and `dispute_votes` (one row per on-chain VoteRecord) and `vote_tallies`,
their per-market counts.

Every write of vote rows goes through `append` or `insert_missing`, which add the counts of the
rows actually inserted to `vote_tallies` in the same transaction, so the aggregators read counts
instead of counting votes. `recount` checks the counts against the rows (the worker's `tallies`
job) and repairs any difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from hybridmarket.db.queries._util import copy_rows

VOTE_COLUMNS = (
    "market_id",
    "user_wallet",
    "vote",
    "voted_at",
    "vote_record",
    "slot",
    "tx_signature",
    "instruction_index",
    "event_index",
)
TALLY_COLUMNS = ("market_id", "kind", "yes_votes", "no_votes")
TABLES = {"proposal": "proposal_votes", "dispute": "dispute_votes"}
_MARKET, _VOTE = VOTE_COLUMNS.index("market_id"), VOTE_COLUMNS.index("vote")


@dataclass(frozen=True, slots=True)
class TallyDifference:
    """A market whose maintained counts differ from its vote rows."""

    market_id: str
    kind: str
    kept: tuple[int, int]  # (yes, no) in vote_tallies
    counted: tuple[int, int]  # (yes, no) counted from the vote rows


async def append(conn: AsyncConnection[Any], kind: str, rows: Sequence[Sequence[Any]]) -> None:
    """COPY new vote rows (none may exist yet: a duplicate fails the transaction) and add their
    counts to the tallies."""
    if rows:
        await copy_rows(conn, TABLES[kind], VOTE_COLUMNS, rows)
        await _add(conn, kind, ((r[_MARKET], r[_VOTE]) for r in rows))


async def insert_missing(
    conn: AsyncConnection[Any], kind: str, rows: Sequence[Sequence[Any]]
) -> None:
    """Insert the vote rows not there yet (a retried event: idempotent) and add the counts of
    those inserted."""
    if not rows:
        return
    placeholders = ", ".join(["%s"] * len(VOTE_COLUMNS))
    inserted: list[tuple[str, bool]] = []
    async with conn.cursor() as cur:
        await cur.executemany(
            f"INSERT INTO {TABLES[kind]} ({', '.join(VOTE_COLUMNS)}) VALUES ({placeholders}) "
            "ON CONFLICT DO NOTHING RETURNING market_id, vote",
            rows,
            returning=True,
        )
        while True:
            inserted += [(r[0], r[1]) for r in await cur.fetchall()]
            if not cur.nextset():
                break
    await _add(conn, kind, inserted)


async def _add(conn: AsyncConnection[Any], kind: str, votes: Iterable[tuple[str, bool]]) -> None:
    """Add (market_id, vote) pairs to the tallies: one upsert of the per-market sums."""
    counts: dict[str, list[int]] = {}
    for market_id, vote in votes:
        c = counts.get(market_id)
        if c is None:
            c = counts[market_id] = [0, 0]
        c[0 if vote else 1] += 1
    if not counts:
        return
    ids = sorted(counts)  # a fixed order: concurrent writers lock rows in the same order
    await conn.execute(
        "INSERT INTO vote_tallies AS t (market_id, kind, yes_votes, no_votes) "
        "SELECT d.m, %s, d.y, d.n FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) "
        "AS d(m, y, n) ON CONFLICT (market_id, kind) DO UPDATE SET "
        "yes_votes = t.yes_votes + EXCLUDED.yes_votes, no_votes = t.no_votes + EXCLUDED.no_votes",
        (kind, ids, [counts[m][0] for m in ids], [counts[m][1] for m in ids]),
    )


async def tallies(
    conn: AsyncConnection[Any], kind: str, *, state: str
) -> dict[str, tuple[int, int]]:
    """(true votes, false votes) of every market in `state`, from the maintained counts;
    markets without votes are included with (0, 0)."""
    cur = await conn.execute(
        "SELECT m.id, coalesce(t.yes_votes, 0), coalesce(t.no_votes, 0) FROM markets m "
        "LEFT JOIN vote_tallies t ON t.market_id = m.id AND t.kind = %s WHERE m.state = %s",
        (kind, state),
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in await cur.fetchall()}


async def tally(conn: AsyncConnection[Any], kind: str, market_id: str) -> tuple[int, int]:
    """(true votes, false votes) for one market, from the maintained counts."""
    cur = await conn.execute(
        "SELECT yes_votes, no_votes FROM vote_tallies WHERE market_id = %s AND kind = %s",
        (market_id, kind),
    )
    row = await cur.fetchone()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


async def recount(
    conn: AsyncConnection[Any], kind: str, *, repair: bool = False
) -> list[TallyDifference]:
    """Count every market's votes from the rows (one GROUP BY) and compare with the maintained
    counts; with `repair`, set the counts to the rows' and drop the counts of markets without
    votes. Run it under the indexer lock, or a batch applied meanwhile can be lost or doubled."""
    cur = await conn.execute(
        "WITH counted AS (SELECT market_id, count(*) FILTER (WHERE vote) AS y, "
        f"count(*) FILTER (WHERE NOT vote) AS n FROM {TABLES[kind]} GROUP BY market_id), "
        "kept AS (SELECT market_id, yes_votes AS y, no_votes AS n FROM vote_tallies "
        "WHERE kind = %s) "
        "SELECT coalesce(c.market_id, k.market_id), coalesce(k.y, 0), coalesce(k.n, 0), "
        "coalesce(c.y, 0), coalesce(c.n, 0) "
        "FROM counted c FULL JOIN kept k ON k.market_id = c.market_id "
        "WHERE (coalesce(k.y, 0), coalesce(k.n, 0)) <> (coalesce(c.y, 0), coalesce(c.n, 0)) "
        "ORDER BY 1",
        (kind,),
    )
    found = [
        TallyDifference(r[0], kind, (int(r[1]), int(r[2])), (int(r[3]), int(r[4])))
        for r in await cur.fetchall()
    ]
    if repair and found:
        fix = [d for d in found if d.counted != (0, 0)]
        await conn.execute(
            "INSERT INTO vote_tallies AS t (market_id, kind, yes_votes, no_votes) "
            "SELECT d.m, %s, d.y, d.n FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) "
            "AS d(m, y, n) ON CONFLICT (market_id, kind) DO UPDATE SET "
            "yes_votes = EXCLUDED.yes_votes, no_votes = EXCLUDED.no_votes",
            (
                kind,
                [d.market_id for d in fix],
                [d.counted[0] for d in fix],
                [d.counted[1] for d in fix],
            ),
        )
        await conn.execute(
            "DELETE FROM vote_tallies WHERE kind = %s AND market_id = ANY(%s)",
            (kind, [d.market_id for d in found if d.counted == (0, 0)]),
        )
    return found
