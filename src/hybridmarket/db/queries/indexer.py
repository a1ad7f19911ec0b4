"""The indexer's own tables: cursor, applied transactions, program config, dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from hybridmarket.db.queries._util import copy_rows

TX_COLUMNS = ("signature", "slot", "block_time", "err", "events")
# Serialises every writer of chain-cached rows (indexers, reconciler, dead-letter retries).
INDEXER_LOCK = 0x686D_6978  # "hmix"


@dataclass(frozen=True, slots=True)
class Cursor:
    last_signature: str | None
    last_slot: int
    synced_slot: int
    updated_at: datetime | None


async def lock(conn: AsyncConnection[Any]) -> None:
    """Take the indexer lock for the current transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (INDEXER_LOCK,))


async def get_cursor(
    conn: AsyncConnection[Any], program_id: str, commitment: str, *, for_update: bool = False
) -> Cursor:
    await conn.execute(
        "INSERT INTO indexer_cursors (program_id, commitment) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (program_id, commitment),
    )
    cur = await conn.execute(
        "SELECT last_signature, last_slot, synced_slot, updated_at FROM indexer_cursors "
        "WHERE program_id = %s AND commitment = %s" + (" FOR UPDATE" if for_update else ""),
        (program_id, commitment),
    )
    row = await cur.fetchone()
    assert row is not None
    return Cursor(row[0], int(row[1]), int(row[2]), row[3])


async def set_cursor(
    conn: AsyncConnection[Any],
    program_id: str,
    commitment: str,
    *,
    last_signature: str | None,
    last_slot: int,
    synced_slot: int,
) -> None:
    await conn.execute(
        "UPDATE indexer_cursors SET last_signature = coalesce(%s, last_signature), "
        "last_slot = greatest(last_slot, %s), synced_slot = greatest(synced_slot, %s), "
        "updated_at = now() WHERE program_id = %s AND commitment = %s",
        (last_signature, last_slot, synced_slot, program_id, commitment),
    )


async def already_applied(conn: AsyncConnection[Any], signatures: Sequence[str]) -> set[str]:
    if not signatures:
        return set()
    cur = await conn.execute(
        "SELECT signature FROM indexed_transactions WHERE signature = ANY(%s)", (list(signatures),)
    )
    return {r[0] for r in await cur.fetchall()}


async def append_transactions(conn: AsyncConnection[Any], rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        await copy_rows(conn, "indexed_transactions", TX_COLUMNS, rows)


async def save_config(conn: AsyncConnection[Any], row: Sequence[Any]) -> None:
    await conn.execute(
        "INSERT INTO program_config (program_id, admin, params, is_paused, slot, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (program_id) DO UPDATE SET "
        "admin = EXCLUDED.admin, params = EXCLUDED.params, is_paused = EXCLUDED.is_paused, "
        "slot = EXCLUDED.slot, updated_at = EXCLUDED.updated_at",
        tuple(row),
    )


# ---- dead letters -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    tx_signature: str
    slot: int
    instruction_index: int
    event_index: int
    event_name: str
    payload: bytes
    error: str
    attempts: int


async def add_dead_letter(
    conn: AsyncConnection[Any],
    *,
    signature: str,
    slot: int,
    instruction_index: int,
    event_index: int,
    event_name: str,
    payload: bytes,
    error: str,
    retry_in_s: float,
) -> None:
    await conn.execute(
        "INSERT INTO dead_letters (tx_signature, slot, instruction_index, event_index, "
        "event_name, payload, error, next_attempt_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s)) "
        "ON CONFLICT (tx_signature, instruction_index, event_index) DO UPDATE SET "
        "error = EXCLUDED.error, attempts = dead_letters.attempts + 1, "
        "next_attempt_at = EXCLUDED.next_attempt_at, resolved_at = NULL",
        (signature, slot, instruction_index, event_index, event_name, payload, error, retry_in_s),
    )


async def due_dead_letters(conn: AsyncConnection[Any], limit: int = 100) -> list[DeadLetter]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, tx_signature, slot, instruction_index, event_index, event_name, payload, "
            "error, attempts FROM dead_letters WHERE resolved_at IS NULL AND next_attempt_at <= now() "
            "ORDER BY slot, id LIMIT %s FOR UPDATE SKIP LOCKED",
            (limit,),
        )
        return [DeadLetter(**r) for r in await cur.fetchall()]


async def retry_failed(
    conn: AsyncConnection[Any], dl_id: int, error: str, retry_in_s: float
) -> None:
    await conn.execute(
        "UPDATE dead_letters SET attempts = attempts + 1, error = %s, "
        "next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
        (error, retry_in_s, dl_id),
    )


async def resolve_dead_letter(conn: AsyncConnection[Any], dl_id: int) -> None:
    await conn.execute("UPDATE dead_letters SET resolved_at = now() WHERE id = %s", (dl_id,))


async def pending_dead_letters(conn: AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def health(conn: AsyncConnection[Any], program_id: str, commitment: str) -> dict[str, Any]:
    """The cursor, its age and the dead-letter backlog, for health checks."""
    cur = await conn.execute(
        "SELECT c.last_slot, c.synced_slot, c.last_signature, "
        "extract(epoch FROM now() - c.updated_at)::float8, "
        "(SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL) "
        "FROM indexer_cursors c WHERE c.program_id = %s AND c.commitment = %s",
        (program_id, commitment),
    )
    row = await cur.fetchone()
    if row is None:
        return {
            "indexed_slot": 0,
            "synced_slot": 0,
            "last_signature": None,
            "seconds_since_update": None,
            "dead_letters_pending": await pending_dead_letters(conn),
        }
    return {
        "indexed_slot": int(row[0]),
        "synced_slot": int(row[1]),
        "last_signature": row[2],
        "seconds_since_update": float(row[3]),
        "dead_letters_pending": int(row[4]),
    }
