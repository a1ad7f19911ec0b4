"""`job_runs` and `published_tallies`: the worker's scheduling and its published tallies."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection


async def claim_tick(conn: AsyncConnection[Any], job: str, tick: datetime, worker: str) -> bool:
    """True if this worker is the one to run `job` for `tick` (first to insert the row)."""
    cur = await conn.execute(
        "INSERT INTO job_runs (job, tick, worker) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (job, tick, worker),
    )
    return cur.rowcount == 1


async def finish(
    conn: AsyncConnection[Any],
    job: str,
    tick: datetime,
    *,
    summary: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE job_runs SET finished_at = now(), outcome = %s, summary = %s, error = %s "
        "WHERE job = %s AND tick = %s",
        ("error" if error else "ok", json.dumps(summary or {}), error, job, tick),
    )


async def last_runs(conn: AsyncConnection[Any]) -> dict[str, dict[str, Any]]:
    """The latest run of every job (for /health)."""
    cur = await conn.execute(
        "SELECT DISTINCT ON (job) job, tick, worker, started_at, finished_at, outcome, error "
        "FROM job_runs ORDER BY job, started_at DESC"
    )
    return {
        r[0]: {
            "tick": r[1].isoformat(),
            "worker": r[2],
            "started_at": r[3].isoformat(),
            "finished_at": r[4].isoformat() if r[4] else None,
            "outcome": r[5],
            "error": r[6],
        }
        for r in await cur.fetchall()
    }


async def publish_tally(
    conn: AsyncConnection[Any],
    *,
    market_id: str,
    kind: str,
    yes_votes: int,
    no_votes: int,
    document: str,
    sha256: str,
    cid: str,
) -> int:
    cur = await conn.execute(
        "INSERT INTO published_tallies (market_id, kind, yes_votes, no_votes, document, sha256, "
        "cid) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (market_id, kind, yes_votes, no_votes, document, sha256, cid),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def link_tally(conn: AsyncConnection[Any], tally_id: int, audit_id: int) -> None:
    await conn.execute(
        "UPDATE published_tallies SET audit_id = %s WHERE id = %s", (audit_id, tally_id)
    )


async def latest_tally(
    conn: AsyncConnection[Any], market_id: str, kind: str
) -> tuple[int, int, str, str, str] | None:
    """(yes, no, document, sha256, cid) of the newest tally published for the market and kind
    whose transaction confirmed."""
    cur = await conn.execute(
        "SELECT t.yes_votes, t.no_votes, t.document, t.sha256, t.cid FROM published_tallies t "
        "JOIN audit_log a ON a.id = t.audit_id "
        "WHERE t.market_id = %s AND t.kind = %s AND a.outcome = 'confirmed' "
        "ORDER BY t.created_at DESC LIMIT 1",
        (market_id, kind),
    )
    row = await cur.fetchone()
    return None if row is None else (int(row[0]), int(row[1]), row[2], row[3], row[4])
