"""`discussions` and `ipfs_anchors`: signed comments, their soft deletion, the per-day selection
the snapshot service archives, and the anchors (one IPFS snapshot per market and UTC day).

Closing a day. A comment's `created_at` is `clock_timestamp()` taken while its transaction holds
a shared advisory lock (`lock_for_comment`); the snapshot service takes the same lock exclusively
once (`close_day`) before it reads a day. Every comment whose transaction got the lock before
that is committed by then; every later one is stamped after it. So once `close_day` returns a
time past the day's end, that day's comments are final: nothing committed later can be dated
inside it, and a snapshot taken then is complete. (With `now()`, a transaction begun at
23:59:59.9 and committed after midnight would be dated inside a day already archived.)
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from psycopg import AsyncConnection
from psycopg.rows import dict_row

# The advisory lock key serialising comment inserts against the closing of a day ("hmdc").
DAY_LOCK_KEY: Final = 0x686D_6463
SNAPSHOT_STATES: Final = ("ACTIVE", "RESOLVING", "DISPUTED")
COMMENT_COLUMNS: Final = (
    "id",
    "market_id",
    "user_wallet",
    "content",
    "created_at",
    "signed_message",
    "signature",
)
_SELECT_COMMENT: Final = "SELECT " + ", ".join(COMMENT_COLUMNS) + " FROM discussions"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a UTC day."""
    start = datetime.combine(day, time(0), UTC)
    return start, start + timedelta(days=1)


async def market_state(conn: AsyncConnection[Any], market_id: str) -> str | None:
    """The cached state of a market, or None when the market is unknown."""
    cur = await conn.execute("SELECT state FROM markets WHERE id = %s", (market_id,))
    row = await cur.fetchone()
    return None if row is None else str(row[0])


# --- writing comments ------------------------------------------------------------------------


async def lock_for_comment(conn: AsyncConnection[Any]) -> None:
    """Inside a comment's transaction, before it is inserted (see the module docstring)."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (DAY_LOCK_KEY,))


async def insert_comment(
    conn: AsyncConnection[Any],
    *,
    market_id: str,
    user_wallet: str,
    content: str,
    signed_message: str,
    signature: str,
) -> dict[str, Any]:
    """Insert a comment (call `lock_for_comment` first, in the same transaction); returns it."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO discussions (market_id, user_wallet, content, signed_message, signature, "
            "created_at) VALUES (%s, %s, %s, %s, %s, clock_timestamp()) RETURNING "
            + ", ".join(COMMENT_COLUMNS),
            (market_id, user_wallet, content, signed_message, signature),
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def comment_for_update(
    conn: AsyncConnection[Any], comment_id: uuid.UUID
) -> dict[str, Any] | None:
    """A comment not yet deleted, locked for the rest of the transaction; None otherwise."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _SELECT_COMMENT + " WHERE id = %s AND deleted_at IS NULL FOR UPDATE", (comment_id,)
        )
        return await cur.fetchone()


async def soft_delete(
    conn: AsyncConnection[Any],
    comment_id: uuid.UUID,
    *,
    deleted_by: str,
    reason: str | None,
    delete_message: str,
    delete_signature: str,
) -> dict[str, Any] | None:
    """Mark a comment deleted (who, why, the signed request); None if it already was."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "UPDATE discussions SET deleted_at = clock_timestamp(), deleted_by = %s, "
            "delete_reason = %s, delete_message = %s, delete_signature = %s "
            "WHERE id = %s AND deleted_at IS NULL "
            "RETURNING id, market_id, user_wallet, created_at, deleted_at, deleted_by, delete_reason",
            (deleted_by, reason, delete_message, delete_signature, comment_id),
        )
        return await cur.fetchone()


# --- reading comments ------------------------------------------------------------------------


async def list_comments(
    conn: AsyncConnection[Any],
    market_id: str,
    *,
    newest_first: bool,
    limit: int,
    after: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Up to `limit` visible comments of a market in (created_at, id) order, newest or oldest
    first, strictly after the keyset `after` = (created_at ISO text, id) of the previous page."""
    op, direction = ("<", "DESC") if newest_first else (">", "ASC")
    where = "market_id = %s AND deleted_at IS NULL"
    params: list[Any] = [market_id]
    if after is not None:
        where += f" AND (created_at, id) {op} (%s::timestamptz, %s::uuid)"
        params += list(after)
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_SELECT_COMMENT} WHERE {where} ORDER BY created_at {direction}, id {direction} "
            "LIMIT %s",
            params,
        )
        return await cur.fetchall()


# --- snapshots -------------------------------------------------------------------------------


async def close_day(conn: AsyncConnection[Any]) -> datetime:
    """Wait for every comment insert in flight to commit; returns the database's clock after
    (see the module docstring). `conn` must be in autocommit mode (the lock lasts one
    statement's transaction)."""
    cur = await conn.execute(
        "SELECT clock_timestamp() FROM (SELECT pg_advisory_xact_lock(%s)) AS barrier",
        (DAY_LOCK_KEY,),
    )
    row = await cur.fetchone()
    assert row is not None
    closed: datetime = row[0]
    return closed


async def pending_markets(conn: AsyncConnection[Any], day: date) -> list[str]:
    """Markets to archive for `day`, in id order: in a snapshot state, with visible comments
    that day, without an anchor for it. Decided once per market (one index probe into
    discussions and one into ipfs_anchors each), never per comment."""
    start, end = day_bounds(day)
    cur = await conn.execute(
        "SELECT m.id FROM markets m WHERE m.state = ANY(%s) "
        "AND EXISTS (SELECT 1 FROM discussions d WHERE d.market_id = m.id "
        "AND d.created_at >= %s AND d.created_at < %s AND d.deleted_at IS NULL) "
        "AND NOT EXISTS (SELECT 1 FROM ipfs_anchors a "
        "WHERE a.market_id = m.id AND a.snapshot_date = %s) ORDER BY m.id",
        (list(SNAPSHOT_STATES), start, end, day),
    )
    return [str(r[0]) for r in await cur.fetchall()]


async def anchored_markets(conn: AsyncConnection[Any], day: date) -> int:
    """How many markets already have a snapshot of `day`."""
    cur = await conn.execute("SELECT count(*) FROM ipfs_anchors WHERE snapshot_date = %s", (day,))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def day_comments(
    conn: AsyncConnection[Any], market_ids: list[str], day: date
) -> list[dict[str, Any]]:
    """The visible comments of `day` of these markets, by market then (created_at, id): one
    index range per market (discussions_market_idx). Call with batches of markets to bound
    memory."""
    start, end = day_bounds(day)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_SELECT_COMMENT} WHERE market_id = ANY(%s) AND created_at >= %s "
            "AND created_at < %s AND deleted_at IS NULL ORDER BY market_id, created_at, id",
            (market_ids, start, end),
        )
        return await cur.fetchall()


async def insert_anchor(
    conn: AsyncConnection[Any],
    *,
    market_id: str,
    snapshot_date: date,
    ipfs_hash: str,
    discussions_count: int,
    size_bytes: int,
) -> bool:
    """Record a market's snapshot of a day; False if one was already recorded (kept as is)."""
    cur = await conn.execute(
        "INSERT INTO ipfs_anchors (market_id, snapshot_date, ipfs_hash, discussions_count, "
        "size_bytes) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (market_id, snapshot_date) DO NOTHING",
        (market_id, snapshot_date, ipfs_hash, discussions_count, size_bytes),
    )
    return cur.rowcount == 1


async def list_anchors(
    conn: AsyncConnection[Any], market_id: str, *, limit: int = 1000
) -> list[dict[str, Any]]:
    """A market's snapshots, most recent day first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT ipfs_hash, snapshot_date, discussions_count, size_bytes, created_at "
            "FROM ipfs_anchors WHERE market_id = %s ORDER BY snapshot_date DESC LIMIT %s",
            (market_id, limit),
        )
        return await cur.fetchall()


async def anchor_by_cid(conn: AsyncConnection[Any], cid: str) -> dict[str, Any] | None:
    """The snapshot recorded under `cid` (canonical string form), if any."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT market_id, snapshot_date, ipfs_hash, discussions_count, size_bytes, created_at "
            "FROM ipfs_anchors WHERE ipfs_hash = %s ORDER BY snapshot_date LIMIT 1",
            (cid,),
        )
        return await cur.fetchone()


# --- the archive chain (each snapshot names the previous one's CID) -------------------------


async def chain_heads(
    conn: AsyncConnection[Any], market_ids: list[str], day: date
) -> dict[str, tuple[str | None, bool]]:
    """Per market: the CID of its latest snapshot before `day` (what a snapshot of `day` links
    to; None for a first), and whether it already has one of a later day."""
    cur = await conn.execute(
        "SELECT m.id, (SELECT a.ipfs_hash FROM ipfs_anchors a WHERE a.market_id = m.id "
        "AND a.snapshot_date < %s ORDER BY a.snapshot_date DESC LIMIT 1), "
        "EXISTS (SELECT 1 FROM ipfs_anchors a WHERE a.market_id = m.id AND a.snapshot_date > %s) "
        "FROM unnest(%s::text[]) AS m(id)",
        (day, day, market_ids),
    )
    return {str(r[0]): (r[1], bool(r[2])) for r in await cur.fetchall()}


async def archive_head(conn: AsyncConnection[Any], market_id: str) -> dict[str, Any] | None:
    """A market's latest snapshot (ipfs_hash, snapshot_date) with the number of days archived
    (`days`) and their first (`first_date`); None before its first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT a.ipfs_hash, a.snapshot_date, n.days, n.first_date FROM ipfs_anchors a, "
            "(SELECT count(*) AS days, min(snapshot_date) AS first_date FROM ipfs_anchors "
            "WHERE market_id = %s) n WHERE a.market_id = %s "
            "ORDER BY a.snapshot_date DESC LIMIT 1",
            (market_id, market_id),
        )
        return await cur.fetchone()


async def comment_days(
    conn: AsyncConnection[Any], market_id: str, *, until: date
) -> dict[date, int]:
    """The UTC days up to `until` (inclusive) on which a market has visible comments, with how
    many: what its archive should hold."""
    _, end = day_bounds(until)
    cur = await conn.execute(
        "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) FROM discussions "
        "WHERE market_id = %s AND deleted_at IS NULL AND created_at < %s GROUP BY day ORDER BY day",
        (market_id, end),
    )
    return {r[0]: int(r[1]) for r in await cur.fetchall()}
