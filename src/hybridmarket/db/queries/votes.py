"""`proposal_votes` and `dispute_votes`: one row per on-chain VoteRecord."""

from __future__ import annotations

from collections.abc import Sequence
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
TABLES = {"proposal": "proposal_votes", "dispute": "dispute_votes"}


async def append(conn: AsyncConnection[Any], kind: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        await copy_rows(conn, TABLES[kind], VOTE_COLUMNS, rows)


async def tallies(
    conn: AsyncConnection[Any], kind: str, *, state: str
) -> dict[str, tuple[int, int]]:
    """(true votes, false votes) of every market in `state`, counted by the database in one
    aggregate (GROUP BY); markets without votes are included with (0, 0)."""
    table = TABLES[kind]
    cur = await conn.execute(
        "SELECT m.id, count(v.vote) FILTER (WHERE v.vote), "
        "count(v.vote) FILTER (WHERE NOT v.vote) "
        f"FROM markets m LEFT JOIN {table} v ON v.market_id = m.id "
        "WHERE m.state = %s GROUP BY m.id",
        (state,),
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in await cur.fetchall()}


async def tally(conn: AsyncConnection[Any], kind: str, market_id: str) -> tuple[int, int]:
    """(true votes, false votes) for one market, counted by the database."""
    table = TABLES[kind]
    cur = await conn.execute(
        "SELECT count(*) FILTER (WHERE vote), count(*) FILTER (WHERE NOT vote) "
        f"FROM {table} WHERE market_id = %s",
        (market_id,),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
