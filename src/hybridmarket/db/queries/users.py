"""`users`: wallets, first and last seen."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

_SMALL = 8  # below this many rows, a pipelined statement beats COPY + INSERT … SELECT
_UPSERT = (
    "INSERT INTO users (wallet, created_at, last_seen_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (wallet) DO UPDATE SET "
    "created_at = LEAST(users.created_at, EXCLUDED.created_at), "
    "last_seen_at = GREATEST(users.last_seen_at, EXCLUDED.last_seen_at)"
)


async def seen(
    conn: AsyncConnection[Any], wallets: Mapping[str, tuple[datetime, datetime]]
) -> None:
    if wallets:
        async with conn.cursor() as cur:
            await cur.executemany(
                _UPSERT, [(w, first, last) for w, (first, last) in sorted(wallets.items())]
            )


async def seen_at(conn: AsyncConnection[Any], wallet: str) -> tuple[datetime, datetime] | None:
    """(first seen, last seen) of a wallet, or None if it was never seen."""
    cur = await conn.execute(
        "SELECT created_at, last_seen_at FROM users WHERE wallet = %s", (wallet,)
    )
    row = await cur.fetchone()
    return None if row is None else (row[0], row[1])
