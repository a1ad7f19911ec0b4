"""The `markets` table (the cached chain state of each market) and `market_metadata` (what
its id hashes): the indexer's loads and upserts, the API's reads and the metadata it stores."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from hybridmarket.db.queries import votes as q_votes
from hybridmarket.db.queries._util import upsert_rows, upsert_sql
from hybridmarket.db.rows import MARKET_COLUMNS, MarketRow

_SELECT = sql.SQL("SELECT {} FROM markets").format(
    sql.SQL(", ").join(map(sql.Identifier, MARKET_COLUMNS))
)
_UPSERT = upsert_sql("markets", MARKET_COLUMNS, ("id",), touch="updated_at")
_SMALL = 8  # below this many rows, a pipelined statement beats COPY + INSERT … SELECT


def _row(d: dict[str, Any]) -> MarketRow:
    for k, v in d.items():
        if k != "current_price" and v is not None and type(v).__name__ == "Decimal":
            d[k] = int(v)
    return MarketRow(**d)


async def load(
    conn: AsyncConnection[Any], ids: Collection[str], *, for_update: bool = False
) -> dict[str, MarketRow]:
    if not ids:
        return {}
    q = _SELECT + sql.SQL(" WHERE id = ANY(%s) ORDER BY id")
    if for_update:
        q += sql.SQL(" FOR UPDATE")
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(q, (list(ids),))
        return {r.id: r for r in map(_row, await cur.fetchall())}


async def load_all(conn: AsyncConnection[Any]) -> dict[str, MarketRow]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_SELECT + sql.SQL(" ORDER BY id"))
        return {r.id: r for r in map(_row, await cur.fetchall())}


async def upsert(conn: AsyncConnection[Any], rows: Iterable[MarketRow]) -> None:
    """Insert or update market rows (set-based; inside a transaction)."""
    params = [tuple(getattr(r, c) for c in MARKET_COLUMNS) for r in rows]
    if len(params) <= _SMALL:
        if params:
            async with conn.cursor() as cur:
                await cur.executemany(_UPSERT, params)
        return
    await upsert_rows(conn, "markets", MARKET_COLUMNS, ("id",), params, touch="updated_at")


# ---- the API's reads: a market joined with the metadata it shows --------------------------

_PUBLIC = sql.SQL(
    "SELECT m.*, md.resolution_criteria, md.closes_at FROM markets m "
    "LEFT JOIN market_metadata md ON md.market_id = m.id"
)
Sort = Literal["volume", "newest", "closing"]
# Each sort's key expression and direction; the market id breaks ties (keyset pagination).
_SORT_KEYS: dict[str, tuple[sql.Composable, sql.Composable, bool]] = {
    "volume": (sql.SQL("m.total_volume"), sql.SQL("%s::numeric"), True),
    "newest": (sql.SQL("m.created_at"), sql.SQL("%s::timestamptz"), True),
    "closing": (sql.SQL("coalesce(md.closes_at, 'infinity')"), sql.SQL("%s::timestamptz"), False),
}


def _like(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, its wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def public_page(
    conn: AsyncConnection[Any],
    *,
    state: str | None,
    category: str | None,
    question_contains: str | None,
    sort: Sort,
    after: tuple[str, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` markets (with their metadata) in `sort` order, after the (sort key, id)
    keyset `after`; the key is a string that SQL casts to the sort's type."""
    key, cast, descending = _SORT_KEYS[sort]
    where: list[sql.Composable] = []
    params: list[Any] = []
    if state:
        where.append(sql.SQL("m.state = %s"))
        params.append(state)
    if category:
        where.append(sql.SQL("m.category = %s"))
        params.append(category)
    if question_contains:
        where.append(sql.SQL("m.question ILIKE %s"))
        params.append(_like(question_contains))
    if after is not None:
        op = sql.SQL("<" if descending else ">")
        where.append(sql.SQL("({}, m.id) {} ({}, %s)").format(key, op, cast))
        params += after
    direction = sql.SQL("DESC" if descending else "ASC")
    query = sql.Composed(
        [
            _PUBLIC,
            sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
            sql.SQL(" ORDER BY {} {}, m.id {} LIMIT %s").format(key, direction, direction),
        ]
    )
    params.append(limit)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def public_one(conn: AsyncConnection[Any], market_id: str) -> dict[str, Any] | None:
    """One market with its metadata, or None."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_PUBLIC + sql.SQL(" WHERE m.id = %s"), (market_id,))
        return await cur.fetchone()


async def wallet_vote(
    conn: AsyncConnection[Any], kind: str, market_id: str, wallet: str
) -> tuple[bool, datetime] | None:
    """(vote, voted_at) of `wallet` on the market's proposal or dispute, or None.

    (Its place is `db.queries.votes`, which another change owns for now.)"""
    cur = await conn.execute(
        sql.SQL("SELECT vote, voted_at FROM {} WHERE market_id = %s AND user_wallet = %s").format(
            sql.Identifier(q_votes.TABLES[kind])
        ),
        (market_id, wallet),
    )
    row = await cur.fetchone()
    return None if row is None else (bool(row[0]), row[1])


# A question compared ignoring case and runs of whitespace: the expression of the index
# market_metadata_question_key_idx (migration 0008), which the lookup must repeat exactly.
QUESTION_KEY = "lower(btrim(regexp_replace({}, '\\s+', ' ', 'g')))"
SAME_QUESTION = sql.SQL(
    "SELECT md.market_id FROM market_metadata md JOIN markets m ON m.id = md.market_id "
    "WHERE {} = {} AND md.market_id <> %s ORDER BY m.created_at LIMIT 1"
).format(
    sql.SQL(QUESTION_KEY).format(sql.SQL("md.question")),
    sql.SQL(QUESTION_KEY).format(sql.Placeholder()),
)


async def same_question(
    conn: AsyncConnection[Any], question: str, *, other_than: str
) -> str | None:
    """The id of a market (proposed on chain, so indexed) other than `other_than` whose
    question is `question` up to case and whitespace, or None."""
    cur = await conn.execute(SAME_QUESTION, (question, other_than))
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def proposed_at(conn: AsyncConnection[Any], market_id: str) -> datetime | None:
    """When the market was proposed on chain (chain time), or None if it is not (yet)."""
    cur = await conn.execute("SELECT created_at FROM markets WHERE id = %s", (market_id,))
    row = await cur.fetchone()
    return None if row is None else row[0]


async def insert_metadata(
    conn: AsyncConnection[Any],
    *,
    market_id: str,
    document: str,
    canonical_json: str,
    question: str,
    description: str | None,
    category: str | None,
    resolution_criteria: str | None,
    closes_at: str | None,
    creator: str,
) -> None:
    """Store a market's metadata (once: the id is the hash of `canonical_json`)."""
    await conn.execute(
        "INSERT INTO market_metadata (market_id, document, canonical_json, question, "
        "description, category, resolution_criteria, closes_at, creator_wallet) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (market_id) DO NOTHING",
        (
            market_id,
            document,
            canonical_json,
            question,
            description,
            category,
            resolution_criteria,
            closes_at,
            creator,
        ),
    )
