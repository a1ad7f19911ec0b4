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


async def tally(conn: AsyncConnection[Any], kind: str, market_id: str) -> tuple[int, int]:
    """(true votes, false votes) for a market, counted by the database."""
    table = TABLES[kind]
    cur = await conn.execute(
        f"SELECT count(*) FILTER (WHERE vote), count(*) FILTER (WHERE NOT vote) "
        f"FROM {table} WHERE market_id = %s",
        (market_id,),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
