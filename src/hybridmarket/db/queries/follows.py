"""`follows` and `notifications` (migration 0012): a wallet's followed markets, and the
notifications the database's triggers generate for it, read and marked read."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row


async def follow(
    conn: AsyncConnection[Any], wallet: str, market_id: str, *, signed_message: str, signature: str
) -> dict[str, Any]:
    """Follow the market (again: keeps the first follow's time, records the latest request)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO follows (wallet, market_id, signed_message, signature) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (wallet, market_id) DO UPDATE SET "
            "signed_message = EXCLUDED.signed_message, signature = EXCLUDED.signature "
            "RETURNING wallet, market_id, created_at, signed_message, signature, "
            "(SELECT question FROM markets WHERE id = %s) AS question",
            (wallet, market_id, signed_message, signature, market_id),
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def unfollow(conn: AsyncConnection[Any], wallet: str, market_id: str) -> bool:
    """Stop following; whether it was followed."""
    cur = await conn.execute(
        "DELETE FROM follows WHERE wallet = %s AND market_id = %s", (wallet, market_id)
    )
    return cur.rowcount > 0


async def of_wallet(
    conn: AsyncConnection[Any], wallet: str, *, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """The markets the wallet follows, by market id after `after` (the primary key's range),
    each with its question and state."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT f.wallet, f.market_id, f.created_at, f.signed_message, f.signature, "
            "m.question, m.state FROM follows f JOIN markets m ON m.id = f.market_id "
            "WHERE f.wallet = %s AND f.market_id > coalesce(%s, '') "
            "ORDER BY f.market_id LIMIT %s",
            (wallet, after, limit),
        )
        return await cur.fetchall()


async def notifications(
    conn: AsyncConnection[Any], wallet: str, *, unread: bool, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The wallet's notifications with ids below `before`, newest first (one range of
    notifications_wallet_idx, or of notifications_unread_idx for the unread ones), each with
    its market's question."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT n.*, m.question FROM notifications n JOIN markets m ON m.id = n.market_id "
            "WHERE n.wallet = %s AND n.id < coalesce(%s::bigint, 9223372036854775807) "
            + ("AND n.read_at IS NULL " if unread else "")
            + "ORDER BY n.id DESC LIMIT %s",
            (wallet, before, limit),
        )
        return await cur.fetchall()


async def unread_count(conn: AsyncConnection[Any], wallet: str) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM notifications WHERE wallet = %s AND read_at IS NULL", (wallet,)
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def mark_read(conn: AsyncConnection[Any], wallet: str, up_to: int) -> int:
    """Mark the wallet's unread notifications with ids up to `up_to` read; how many."""
    cur = await conn.execute(
        "UPDATE notifications SET read_at = now() "
        "WHERE wallet = %s AND id <= %s AND read_at IS NULL",
        (wallet, up_to),
    )
    return cur.rowcount


async def last_notification_id(conn: AsyncConnection[Any]) -> int:
    """The greatest notification id so far (0 without any)."""
    cur = await conn.execute("SELECT coalesce(max(id), 0) FROM notifications")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def notifications_after(
    conn: AsyncConnection[Any], after: int, also: list[int], *, limit: int
) -> list[dict[str, Any]]:
    """Every wallet's notifications with ids above `after`, and those of `also` (ids below it
    that were not visible when last read: a transaction that took its ids first can commit
    last), by id (ranges of the primary key), each with its market's question."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT n.*, m.question FROM notifications n JOIN markets m ON m.id = n.market_id "
            "WHERE n.id > %s OR n.id = ANY(%s::bigint[]) ORDER BY n.id LIMIT %s",
            (after, also, limit),
        )
        return await cur.fetchall()
