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
    "SELECT m.*, md.resolution_criteria FROM markets m "
    "LEFT JOIN market_metadata md ON md.market_id = m.id"
)
Sort = Literal["volume", "newest", "closing", "relevance"]
Status = Literal["open", "settled", "all"]
_SETTLED = "m.state IN ('FINALIZED', 'CANCELLED')"
# Each sort: its key, the type a cursor's key is cast to, descending?, and the rank of a market
# that puts open markets before settled ones in that direction. Each is exactly an expression
# of the list indexes (migration 0010), so that the planner reads them in order.
_SORTS: dict[str, tuple[str, str, bool, str]] = {
    "volume": ("m.total_volume", "numeric", True, f"(CASE WHEN {_SETTLED} THEN 0 ELSE 1 END)"),
    "newest": ("m.created_at", "timestamptz", True, f"(CASE WHEN {_SETTLED} THEN 0 ELSE 1 END)"),
    "closing": (
        "coalesce(m.closes_at, 'infinity')",
        "timestamptz",
        False,
        f"(CASE WHEN {_SETTLED} THEN 1 ELSE 0 END)",
    ),
    "relevance": (
        "ts_rank(to_tsvector('english', coalesce(m.question, '')), "
        "websearch_to_tsquery('english', %(search)s))",
        "real",
        True,
        f"(CASE WHEN {_SETTLED} THEN 0 ELSE 1 END)",
    ),
}
# The 24-hour change: the price now minus the last price at or before `since` (the first price
# of a younger market: its opening); NULL for a market never priced. One probe each of
# price_history_market_newest_idx per listed market.
_CHANGE = (
    "CASE WHEN %(since)s::timestamptz IS NOT NULL THEN p.current_price - coalesce("
    "(SELECT ph.price FROM price_history ph WHERE ph.market_id = p.id AND ph.at <= %(since)s "
    "ORDER BY ph.at DESC, ph.slot DESC, ph.seq DESC LIMIT 1), "
    "(SELECT ph.price FROM price_history ph WHERE ph.market_id = p.id "
    "ORDER BY ph.at, ph.slot, ph.seq LIMIT 1)) END"
)


def page_query(
    *,
    state: str | None,
    category: str | None,
    search: str | None,
    status: Status,
    sort: Sort,
    after: tuple[str, str, int] | None,
    limit: int,
    since: datetime | None,
) -> tuple[str, dict[str, Any]]:
    """The SQL of `public_page` and its parameters (bench/api.py's baseline runs it too)."""
    key, cast, descending, rank = _SORTS[sort]
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit, "since": since, "search": search}
    if search is not None:
        where.append(
            "to_tsvector('english', coalesce(m.question, '')) "
            "@@ websearch_to_tsquery('english', %(search)s)"
        )
    if state:
        # One state is open or settled: its index orders by the sort key alone.
        where.append("m.state = %(state)s")
        params["state"] = state
        order = [key, "m.id"]
    else:
        if status != "all":
            where.append(f"{rank} = {int((status == 'open') == descending)}")
        order = [rank, key, "m.id"]
    if category:
        where.append("m.category = %(category)s")
        params["category"] = category
    if after is not None:
        params["after_key"], params["after_id"], params["after_rank"] = after
        values = [f"%(after_key)s::{cast}", "%(after_id)s"]
        if len(order) == 3:
            values.insert(0, "%(after_rank)s::integer")
        where.append(f"({', '.join(order)}) {'<' if descending else '>'} ({', '.join(values)})")
    direction = " DESC" if descending else ""
    inner = (
        f"SELECT m.*, md.resolution_criteria, {rank} AS list_rank, "
        f"{'m.closes_at' if sort == 'closing' else key} AS list_key "
        "FROM markets m LEFT JOIN market_metadata md ON md.market_id = m.id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY "
        + ", ".join(o + direction for o in order)
        + " LIMIT %(limit)s"
    )
    outer = ["p.list_rank", "p.list_key", "p.id"][3 - len(order) :]
    query = f"SELECT p.*, {_CHANGE} AS change_24h FROM ({inner}) p ORDER BY " + ", ".join(
        o + direction for o in outer
    )
    return query, params


async def public_page(
    conn: AsyncConnection[Any],
    *,
    state: str | None,
    category: str | None,
    search: str | None,
    status: Status,
    sort: Sort,
    after: tuple[str, str, int] | None,
    limit: int,
    since: datetime | None,
) -> list[dict[str, Any]]:
    """Up to `limit` markets (with their metadata, `list_rank` and `list_key`, the keyset of
    the next page (NULL for "infinity": no closing time), and `change_24h`, the price's change since `since`) in `sort` order after
    the (sort key, id, rank) keyset `after`; the key is a string SQL casts to the sort's type.
    Open markets come first (`status` "all"), or alone ("open"), or only the settled ones;
    `search` is word search (every word, stemmed, in the question). Each variant reads an
    index (tests/integration/test_scale_lists.py checks the plans)."""
    query, params = page_query(
        state=state,
        category=category,
        search=search,
        status=status,
        sort=sort,
        after=after,
        limit=limit,
        since=since,
    )
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
