"""`audit_log`: every transaction the backend sends and every admin action, with who, what,
why, the signature and the outcome. A row is written before sending (`pending`), so a crash
leaves a trace that the next run resolves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    market_id: str | None
    arguments: dict[str, Any]
    reason: dict[str, Any]
    tx_signature: str | None
    outcome: str
    error: str | None
    tx_wire: bytes | None = None  # the signed transaction, kept while its outcome is unknown
    last_valid_block_height: int | None = None


async def record(
    conn: AsyncConnection[Any],
    *,
    actor: str,
    action: str,
    market_id: str | None,
    arguments: dict[str, Any],
    reason: dict[str, Any],
    outcome: str = "pending",
    tx_signature: str | None = None,
    error: str | None = None,
) -> int:
    cur = await conn.execute(
        "INSERT INTO audit_log (actor, action, market_id, arguments, reason, tx_signature, "
        "outcome, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            actor,
            action,
            market_id,
            json.dumps(arguments),
            json.dumps(reason),
            tx_signature,
            outcome,
            error,
        ),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def update(
    conn: AsyncConnection[Any],
    audit_id: int,
    *,
    outcome: str,
    tx_signature: str | None = None,
    error: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE audit_log SET outcome = %s, tx_signature = coalesce(%s, tx_signature), "
        "error = coalesce(%s, error), tx_wire = CASE WHEN %s IN ('pending', 'sent') "
        "THEN tx_wire END WHERE id = %s",
        (outcome, tx_signature, error, outcome, audit_id),
    )


async def mark_sent(
    conn: AsyncConnection[Any],
    audit_id: int,
    *,
    tx_signature: str,
    tx_wire: bytes,
    last_valid_block_height: int,
) -> None:
    """`sent`, with what a later run needs to rebroadcast it and know when it can no longer land."""
    await conn.execute(
        "UPDATE audit_log SET outcome = 'sent', tx_signature = %s, tx_wire = %s, "
        "last_valid_block_height = %s WHERE id = %s",
        (tx_signature, tx_wire, last_valid_block_height, audit_id),
    )


async def unresolved(conn: AsyncConnection[Any], actor: str) -> list[AuditRow]:
    """Rows of this actor left `pending` or `sent` (a crash before the outcome was known)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT * FROM audit_log WHERE actor = %s AND outcome IN ('pending', 'sent') ORDER BY id",
            (actor,),
        )
        return [AuditRow(**r) for r in await cur.fetchall()]
