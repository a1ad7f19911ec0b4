"""The `markets` table (the cached chain state of each market) and `market_metadata` (what
its id hashes): the indexer's loads and upserts, the API's reads and the metadata it stores."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from hybridmarket.db.queries import _jsontext as js
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
def _change(r: str) -> str:
    return (
        f"CASE WHEN %(since)s::timestamptz IS NOT NULL THEN {r}.current_price - coalesce("
        f"(SELECT ph.price FROM price_history ph WHERE ph.market_id = {r}.id "
        "AND ph.at <= %(since)s ORDER BY ph.at DESC, ph.slot DESC, ph.seq DESC LIMIT 1), "
        f"(SELECT ph.price FROM price_history ph WHERE ph.market_id = {r}.id "
        "ORDER BY ph.at, ph.slot, ph.seq LIMIT 1)) END"
    )


@dataclass(frozen=True)
class _Keyset:
    """A list's filter and order (see `page_query`): WHERE terms, ORDER BY terms (ascending),
    the parameters, and the sort's rank and key expressions."""

    where: list[str]
    order: list[str]
    params: dict[str, Any]
    rank: str
    key: str
    descending: bool

    def clauses(self) -> str:
        """WHERE, ORDER BY and LIMIT %(limit)s."""
        direction = " DESC" if self.descending else ""
        return (
            (" WHERE " + " AND ".join(self.where) if self.where else "")
            + " ORDER BY "
            + ", ".join(o + direction for o in self.order)
            + " LIMIT %(limit)s"
        )


def _keyset(
    *,
    state: str | None,
    category: str | None,
    search: str | None,
    status: Status,
    sort: Sort,
    after: tuple[str, str, int] | None,
) -> _Keyset:
    key, cast, descending, rank = _SORTS[sort]
    where: list[str] = []
    params: dict[str, Any] = {"search": search}
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
        op = "<" if descending else ">"
        values = [f"%(after_key)s::{cast}", "%(after_id)s"]
        if len(order) == 2:
            where.append(f"({key}, m.id) {op} ({', '.join(values)})")
        elif status == "all":
            where.append(
                f"({', '.join(order)}) {op} (%(after_rank)s::integer, {', '.join(values)})"
            )
        else:
            # The rank is the filter's: (rank, key, id) after the cursor is (key, id) after it
            # when the cursor has that rank, every row or none when it has the other. Written
            # so, the index reads from the cursor on; with the equality on the rank and the
            # comparison of all three, it would read every entry of the rank up to the cursor.
            fixed = int((status == "open") == descending)
            if after[2] == fixed:
                where.append(f"({key}, m.id) {op} ({', '.join(values)})")
            elif (fixed < after[2]) != descending:
                where.append("false")
    list_key = "m.closes_at" if sort == "closing" else key
    return _Keyset(where, order, params, rank, list_key, descending)


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
    """The SQL of a page of the market list and its parameters: up to `limit` markets (with
    their metadata, `list_rank` and `list_key`, the keyset of the next page (NULL for
    "infinity": no closing time), and `change_24h`, the price's change since `since`) in `sort`
    order after the (sort key, id, rank) keyset `after`; the key is a string SQL casts to the
    sort's type. Open markets come first (`status` "all"), or alone ("open"), or only the
    settled ones; `search` is word search (every word, stemmed, in the question). Each variant
    reads an index (tests/integration/test_scale_lists.py checks the plans). The API reads the
    same keyset (`page_keys`) and the markets' JSON by id (`items_json`); bench/api.py's
    baseline runs this."""
    ks = _keyset(
        state=state, category=category, search=search, status=status, sort=sort, after=after
    )
    inner = (
        f"SELECT m.*, md.resolution_criteria, {ks.rank} AS list_rank, {ks.key} AS list_key "
        "FROM markets m LEFT JOIN market_metadata md ON md.market_id = m.id" + ks.clauses()
    )
    query = f"SELECT p.*, {_change('p')} AS change_24h FROM ({inner}) p ORDER BY " + _page_order(
        "p", len(ks.order), ks.descending
    )
    return query, ks.params | {"limit": limit, "since": since}


async def page_keys(
    conn: AsyncConnection[Any],
    *,
    state: str | None,
    category: str | None,
    search: str | None,
    status: Status,
    sort: Sort,
    after: tuple[str, str, int] | None,
    limit: int,
) -> list[tuple[str, Any, int]]:
    """`page_query`'s keyset alone: the (id, list_key, list_rank) of its `limit` markets, in
    order, read from the list's index (no join, no JSON: a few index and heap blocks)."""
    ks = _keyset(
        state=state, category=category, search=search, status=status, sort=sort, after=after
    )
    cur = await conn.execute(
        f"SELECT m.id, {ks.key} AS list_key, {ks.rank} AS list_rank FROM markets m" + ks.clauses(),
        ks.params | {"limit": limit},
        prepare=True,
    )
    return [(mid, key, rank) for mid, key, rank in await cur.fetchall()]


def _page_order(alias: str, terms: int, descending: bool) -> str:
    """The order of a page's rows (`alias` a page_query result): its keyset, last `terms`
    columns of (list_rank, list_key, id)."""
    columns = ["list_rank", "list_key", "id"][3 - terms :]
    return ", ".join(f"{alias}.{c}{' DESC' if descending else ''}" for c in columns)


# ---- the same reads with the JSON built by PostgreSQL ------------------------------------
# The API's cold paths send these bodies as they come: no per-row Python. Each expression is
# the text of one JSON value, compact and in the field order of `api.common.market_json`
# (the shape of `api.models.Market`), so the bytes are the ones orjson writes for that dict
# (tests/integration/test_market_json_sql.py compares them on markets in every state).


def _outcome(expr: str, settled: str) -> str:
    """`api.common.outcome_text`: yes / no, invalid once `settled` is set, else null."""
    return (
        f"CASE WHEN {expr} THEN '\"yes\"' WHEN NOT {expr} THEN '\"no\"' "
        f"WHEN {settled} IS NOT NULL THEN '\"invalid\"' ELSE 'null' END"
    )


def _deadline(start: str, period: str) -> str | js.Pieces:
    return js.time(f"{start} + {period}::bigint * interval '1 second'")


def market_json_sql(r: str, *, extra: Iterable[tuple[str, str | js.Pieces]] = ()) -> str:
    """The JSON text of `api.common.market_json` for the row `r` (markets joined with its
    metadata's resolution_criteria), then the `extra` (name, JSON text) fields; the deadlines
    count %(dispute_period)s and %(voting_period)s seconds (the program config's; NULL: no
    config, no deadlines)."""

    def link(prefix: str, suffix: str = "") -> str:
        return f"'\"/api/{prefix}/' || {r}.id || '{suffix}\"'"

    return js.text(
        js.obj(
            [
                ("id", js.plain(f"{r}.id")),
                ("address", js.plain(f"{r}.on_chain_address")),
                ("question", js.value(f"{r}.question")),
                ("description", js.value(f"{r}.description")),
                ("category", js.value(f"{r}.category")),
                ("resolution_criteria", js.value(f"{r}.resolution_criteria")),
                ("closes_at", js.time(f"{r}.closes_at")),
                ("creator", js.plain(f"{r}.creator_wallet")),
                ("resolver", js.plain(f"{r}.resolver_wallet")),
                ("state", js.plain(f"{r}.state")),
                ("b_parameter", js.number(f"{r}.b_parameter")),
                ("shares_yes", js.number(f"{r}.shares_yes")),
                ("shares_no", js.number(f"{r}.shares_no")),
                ("price_yes", js.decimal(f"{r}.current_price", null=False)),
                ("price_no", js.decimal(f"1 - {r}.current_price", null=False)),
                ("liquidity", js.number(f"{r}.current_liquidity")),
                ("initial_liquidity", js.number(f"{r}.initial_liquidity")),
                ("volume", js.number(f"{r}.total_volume")),
                ("trades_count", js.number(f"{r}.trades_count")),
                (
                    "votes",
                    js.obj(
                        [
                            (
                                "proposal",
                                js.obj(
                                    [
                                        ("total", js.number(f"{r}.proposal_total_votes")),
                                        ("likes", js.number(f"{r}.proposal_likes")),
                                        ("dislikes", js.number(f"{r}.proposal_dislikes")),
                                    ]
                                ),
                            ),
                            (
                                "dispute",
                                js.obj(
                                    [
                                        ("total", js.number(f"{r}.dispute_total_votes")),
                                        ("agree", js.number(f"{r}.dispute_agree")),
                                        ("disagree", js.number(f"{r}.dispute_disagree")),
                                    ]
                                ),
                            ),
                        ]
                    ),
                ),
                (
                    "resolution",
                    js.obj(
                        [
                            (
                                "proposed_outcome",
                                _outcome(f"{r}.proposed_outcome", f"{r}.resolution_proposed_at"),
                            ),
                            ("final_outcome", _outcome(f"{r}.final_outcome", f"{r}.finalized_at")),
                            ("evidence_cid", js.value(f"{r}.evidence_cid")),
                            ("resolution_proposed_at", js.time(f"{r}.resolution_proposed_at")),
                            (
                                "dispute_deadline",
                                _deadline(f"{r}.resolution_proposed_at", "%(dispute_period)s"),
                            ),
                            ("dispute_initiator", js.value(f"{r}.dispute_initiator")),
                            ("dispute_initiated_at", js.time(f"{r}.dispute_initiated_at")),
                            (
                                "dispute_voting_deadline",
                                _deadline(f"{r}.dispute_initiated_at", "%(voting_period)s"),
                            ),
                            ("finalized_at", js.time(f"{r}.finalized_at")),
                            ("cancelled_at", js.time(f"{r}.cancelled_at")),
                        ]
                    ),
                ),
                ("created_at", js.time(f"{r}.created_at", null=False)),
                ("approved_at", js.time(f"{r}.approved_at")),
                ("activated_at", js.time(f"{r}.activated_at")),
                ("updated_at", js.time(f"{r}.updated_at", null=False)),
                (
                    "links",
                    js.obj(
                        [
                            ("self", link("markets")),
                            ("price", link("markets", "/price")),
                            ("history", link("markets", "/history")),
                            ("votes", link("markets", "/votes")),
                            ("discussions", link("discussions")),
                        ]
                    ),
                ),
                *extra,
            ]
        )
    )


def _periods(periods: tuple[int, int] | None) -> dict[str, int | None]:
    dispute, voting = (None, None) if periods is None else periods
    return {"dispute_period": dispute, "voting_period": voting}


# A listed market (`MarketListItem`): the market and its 24-hour change.
_LIST_ITEM = market_json_sql("p", extra=[("change_24h", js.decimal("p.change_24h"))])


# Markets with their metadata's resolution criteria (the rows `market_json_sql` describes).
ONE_ROW = (
    "SELECT m.*, md.resolution_criteria FROM markets m "
    "LEFT JOIN market_metadata md ON md.market_id = m.id WHERE m.id = %(id)s"
)
_ROWS = ONE_ROW.replace("m.id = %(id)s", "m.id = ANY(%(ids)s)")
_BODIES_JSON = f"SELECT r.id, {market_json_sql('r')} FROM ({_ROWS}) r"
# Each listed market of `ids` (`MarketListItem`): its id and its JSON.
_ITEMS_JSON = (
    f"SELECT p.id, {_LIST_ITEM} FROM (SELECT r.*, {_change('r')} AS change_24h FROM ({_ROWS}) r) p"
)


async def bodies_json(
    conn: AsyncConnection[Any], ids: Collection[str], *, periods: tuple[int, int] | None
) -> dict[str, str]:
    """The `Market` JSON of each market of `ids`, built by PostgreSQL, by id; a market that
    does not exist is left out. One statement for many: the API reads concurrent misses
    together (`api.batch`)."""
    cur = await conn.execute(_BODIES_JSON, {"ids": list(ids), **_periods(periods)}, prepare=True)
    return {mid: body for mid, body in await cur.fetchall()}


async def items_json(
    conn: AsyncConnection[Any],
    ids: Collection[str],
    *,
    since: datetime | None,
    periods: tuple[int, int] | None,
) -> dict[str, str]:
    """The `MarketListItem` JSON of each market of `ids` (its 24-hour change since `since`),
    built by PostgreSQL, by id; a market that does not exist is left out."""
    cur = await conn.execute(
        _ITEMS_JSON, {"ids": list(ids), "since": since, **_periods(periods)}, prepare=True
    )
    return {mid: body for mid, body in await cur.fetchall()}


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
