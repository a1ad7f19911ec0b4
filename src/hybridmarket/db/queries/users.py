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
