"""The market list at scale (issue 17): every variant of `GET /api/markets` (each sort, each
status, a state or category filter, word search, deep keyset pages) is planned on an index, never
a scan and sort of the whole table (EXPLAIN on a seeded table of 20,000 markets, not timings);
keyset pages walk the whole list in order; word search finds questions by their words, ranked;
the 24-hour change is read from the price history as of the time given."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from hybridmarket.db.queries import markets as q_markets

from .market_rows import page_rows

pytestmark = pytest.mark.integration
MARKETS = 20_000
STATES = ("ACTIVE",) * 5 + ("PROPOSED", "APPROVED", "RESOLVING", "DISPUTED") + ("FINALIZED",) * 3
CATEGORIES = ("politics", "sports", "crypto", "weather", "science", "culture")
WORDS = [
    "rain",
    "snow",
    "election",
    "bitcoin",
    "final",
    "match",
    "vote",
    "storm",
    "price",
    "league",
]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SORTS = ("volume", "newest", "closing")
STATUSES = ("open", "settled", "all")


def _b58(rng: random.Random) -> str:
    from solders.pubkey import Pubkey

    return str(Pubkey(rng.randbytes(32)))


def _seed_rows(n: int) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    rng = random.Random(17)
    for i in range(n):
        mid = hashlib.sha256(f"scale-{i}".encode()).hexdigest()
        words = " ".join(rng.sample(WORDS, 2))
        question = f"Will {words} number {i} happen in city {rng.randrange(500)}?"
        closes = None if rng.random() < 0.05 else EPOCH + timedelta(hours=rng.randrange(20_000))
        doc = {"question": question, "category": rng.choice(CATEGORIES)}
        creator = _b58(rng)
        meta = (
            mid,
            json.dumps(doc),
            json.dumps(doc),
            question,
            doc["category"],
            closes,
            creator,
        )
        volume = 0 if rng.random() < 0.3 else rng.randrange(10**12)  # many ties at 0
        market = (
            mid,
            _b58(rng),
            creator,
            _b58(rng),
            rng.choice(STATES),
            10**12,
            Decimal(rng.randrange(1, 10**9)) / Decimal(10**9),
            10**11,
            volume,
            EPOCH + timedelta(minutes=i // 3),  # ties on the creation time too
            i + 1,
        )
        yield meta, market


@pytest.fixture(scope="module")
def seeded_url(pg_admin_url: str, pg_template: str) -> Iterator[str]:
    from ..dbtools import fresh_database

    with fresh_database(pg_admin_url, pg_template) as url:
        rows = list(_seed_rows(MARKETS))
        with psycopg.connect(url) as conn:
            with conn.cursor().copy(
                "COPY market_metadata (market_id, document, canonical_json, question, category, "
                "closes_at, creator_wallet) FROM STDIN"
            ) as cp:
                for meta, _ in rows:
                    cp.write_row(meta)
            with conn.cursor().copy(
                "COPY markets (id, on_chain_address, creator_wallet, resolver_wallet, state, "
                "b_parameter, current_price, initial_liquidity, total_volume, created_at, "
                "last_slot) FROM STDIN"
            ) as cp:
                for _, market in rows:
                    cp.write_row(market)
            conn.commit()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        yield url


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plan(url: str, **kw: Any) -> list[dict[str, Any]]:
    query, params = q_markets.page_query(limit=51, since=EPOCH, **kw)
    with psycopg.connect(url) as conn:
        row = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()
    assert row is not None
    return list(_nodes(row[0][0]["Plan"]))


def _markets_access(nodes: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(node type, index) of every read of the markets table."""
    return [
        (n["Node Type"], n.get("Index Name"))
        for n in nodes
        if n.get("Relation Name") == "markets" or n.get("Index Name", "").startswith("markets_")
    ]


def _cursor_after(url: str, **kw: Any) -> tuple[str, str, int]:
    """The keyset of the 5,000th market of a list: a deep page."""
    query, params = q_markets.page_query(limit=5000, since=None, after=None, **kw)
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        last = cur.execute(query, params).fetchall()[-1]
    k = last["list_key"]
    text = "infinity" if k is None else k.isoformat() if isinstance(k, datetime) else str(k)
    return text, last["id"], int(last["list_rank"])


@pytest.mark.parametrize("deep", [False, True], ids=["first page", "deep page"])
@pytest.mark.parametrize(
    ("filters", "index"),
    [
        *[({"status": st}, "markets_list_{}_idx") for st in STATUSES],
        ({"status": "open", "state": "DISPUTED"}, "markets_state_{}_idx"),
        ({"status": "open", "state": "ACTIVE"}, "markets_state_{}_idx"),
        ({"status": "open", "category": "weather"}, "markets_category_{}_idx"),
        ({"status": "all", "category": "crypto"}, "markets_category_{}_idx"),
    ],
)
@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_and_filter_reads_its_index_in_order(
    seeded_url: str, sort: str, filters: dict[str, Any], index: str, deep: bool
) -> None:
    kw = {"state": None, "category": None, "search": None, "sort": sort, **filters}
    after = _cursor_after(seeded_url, **kw) if deep else None
    nodes = _plan(seeded_url, after=after, **kw)
    access = _markets_access(nodes)
    assert access == [("Index Scan", index.format(sort))], access
    # Read in the index's order: no sort of the markets (the outer sort orders 51 rows).
    sorts = [n for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")]
    assert all(n.get("Plan Rows", 0) <= 51 for n in sorts), sorts


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("sort", ["relevance", "volume"])
def test_word_search_reads_the_text_index(seeded_url: str, status: str, sort: str) -> None:
    nodes = _plan(
        seeded_url,
        state=None,
        category=None,
        search="storm league",
        status=status,
        sort=sort,
        after=None,
    )
    access = _markets_access(nodes)
    assert not any(t == "Seq Scan" for t, _ in access), access
    if sort == "relevance":  # matches from the text index, ranked
        assert ("Bitmap Index Scan", "markets_question_search_idx") in access, access
    else:  # the text index, or the sort's index in order, checking each row for the words
        assert ("Bitmap Index Scan", "markets_question_search_idx") in access or access == [
            ("Index Scan", f"markets_list_{sort}_idx")
        ], access


async def _page_all(conn: AsyncConnection[Any], per_page: int, **kw: Any) -> list[str]:
    out: list[str] = []
    after = None
    while True:
        rows = await page_rows(conn, after=after, limit=per_page + 1, since=None, **kw)
        out += [r["id"] for r in rows[:per_page]]
        if len(rows) <= per_page:
            return out
        last = rows[per_page - 1]
        k = last["list_key"]
        text = "infinity" if k is None else k.isoformat() if isinstance(k, datetime) else str(k)
        after = (text, last["id"], int(last["list_rank"]))


async def _market(conn: AsyncConnection[Any], question: str, **cols: Any) -> str:
    mid = hashlib.sha256(question.encode()).hexdigest()
    rng = random.Random(question)
    doc = {"question": question}
    await conn.execute(
        "INSERT INTO market_metadata (market_id, document, canonical_json, question, closes_at, "
        "creator_wallet) VALUES (%s, %s, %s, %s, %s, %s)",
        (mid, json.dumps(doc), json.dumps(doc), question, cols.pop("closes_at", None), _b58(rng)),
    )
    values = {
        "id": mid,
        "on_chain_address": _b58(rng),
        "creator_wallet": _b58(rng),
        "resolver_wallet": _b58(rng),
        "state": "ACTIVE",
        "b_parameter": 10**12,
        "current_price": Decimal("0.5"),
        "initial_liquidity": 10**11,
        "created_at": EPOCH,
        "last_slot": 1,
        **cols,
    }
    await conn.execute(
        f"INSERT INTO markets ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))})",
        list(values.values()),
    )
    return mid


async def test_keyset_pages_walk_each_list_in_order(pool: AsyncConnectionPool) -> None:
    rng = random.Random(5)
    async with pool.connection() as conn:
        ids = {}
        for i in range(60):
            state = rng.choice(("ACTIVE", "PROPOSED", "FINALIZED", "CANCELLED", "RESOLVING"))
            ids[
                await _market(
                    conn,
                    f"Market {i} about rain" if i % 3 else f"Market {i} about snow",
                    state=state,
                    total_volume=rng.choice((0, 0, 5, 10**9 + i)),
                    created_at=EPOCH + timedelta(hours=rng.randrange(3)),
                    closes_at=None if i % 7 == 0 else EPOCH + timedelta(days=rng.randrange(4)),
                )
            ] = state
        cur = await conn.execute(
            "SELECT id, state, total_volume, created_at, closes_at FROM markets"
        )
        rows = await cur.fetchall()
        far = datetime(9999, 1, 1, tzinfo=UTC)

        def expected(sort: str, status: str) -> list[str]:
            chosen = [
                r
                for r in rows
                if status == "all" or (r[1] in ("FINALIZED", "CANCELLED")) == (status == "settled")
            ]

            def key(r: Any) -> Any:
                settled = r[1] in ("FINALIZED", "CANCELLED")
                if sort == "closing":
                    return (settled, r[4] or far, r[0])
                return (settled, -(r[2] if sort == "volume" else r[3].timestamp()), _neg(r[0]))

            return [r[0] for r in sorted(chosen, key=key)]

        for sort in SORTS:
            for status in STATUSES:
                got = await _page_all(
                    conn, 7, state=None, category=None, search=None, status=status, sort=sort
                )
                assert got == expected(sort, status), (sort, status)
        # A search pages through its matches only, open ones first with status=all.
        got = await _page_all(
            conn, 4, state=None, category=None, search="snow", status="all", sort="relevance"
        )
        snow = [r[0] for r in rows if r[0] in got]
        assert len(got) == len(set(got)) == 20 == len(snow)
        settled = [ids[m] in ("FINALIZED", "CANCELLED") for m in got]
        assert settled == sorted(settled)


def _neg(text: str) -> tuple[int, ...]:
    """A key that sorts hex ids in descending order."""
    return tuple(-ord(c) for c in text)


async def test_word_search_finds_questions_by_their_words_ranked(
    pool: AsyncConnectionPool,
) -> None:
    async with pool.connection() as conn:
        one = await _market(conn, "Will it rain in Nairobi on 1 May 2027?")
        more = await _market(conn, "Nairobi rain: will it rain in Nairobi all week?")
        await _market(conn, "Will it snow in Nairobi?")
        await _market(conn, "Will the rainy season start in Lagos?")

        async def search(text: str) -> list[str]:
            rows = await page_rows(
                conn,
                state=None,
                category=None,
                search=text,
                status="open",
                sort="relevance",
                after=None,
                limit=10,
                since=None,
            )
            return [r["id"] for r in rows]

        # Every word, in any order and form; the question that says them more often first.
        assert await search("Nairobi rain") == [more, one]
        assert await search("raining nairobi") == [more, one]
        assert set(await search('"rain in Nairobi"')) == {more, one}
        assert set(await search("rain")) >= {one, more}
        assert await search("Nairobi -rain") == [
            hashlib.sha256(b"Will it snow in Nairobi?").hexdigest()
        ]
        assert await search("Timbuktu") == []


async def test_the_24h_change_is_read_as_of_the_time_given(pool: AsyncConnectionPool) -> None:
    now = datetime(2027, 6, 1, tzinfo=UTC)  # the chain's clock, ahead of the wall clock
    async with pool.connection() as conn:
        old = await _market(conn, "old", current_price=Decimal("0.7"))
        young = await _market(conn, "young", current_price=Decimal("0.4"))
        unpriced = await _market(conn, "unpriced", state="PROPOSED", total_volume=5)
        points = [
            (old, now - timedelta(days=3), "0.5"),
            (old, now - timedelta(hours=25), "0.55"),  # the last before the window: the base
            (old, now - timedelta(hours=2), "0.65"),
            (young, now - timedelta(hours=5), "0.5"),  # opened within the day: the base
            (young, now - timedelta(hours=1), "0.45"),
        ]
        for i, (mid, at, price) in enumerate(points):
            await conn.execute(
                "INSERT INTO price_history (market_id, at, price, slot, tx_signature, "
                "instruction_index, event_index) VALUES (%s, %s, %s, %s, %s, 0, 0)",
                (mid, at, Decimal(price), i, _b58(random.Random(i)) + _b58(random.Random(-i))),
            )

        async def changes(since: datetime | None) -> dict[str, Decimal | None]:
            rows = await page_rows(
                conn,
                state=None,
                category=None,
                search=None,
                status="open",
                sort="volume",
                after=None,
                limit=10,
                since=since,
            )
            return {r["id"]: r["change_24h"] for r in rows}

        assert await changes(now - timedelta(hours=24)) == {
            old: Decimal("0.15"),
            young: Decimal("-0.1"),
            unpriced: None,
        }
        # By the wall clock (months behind) every point is in the future: opening prices.
        assert (await changes(datetime(2026, 12, 1, tzinfo=UTC)))[old] == Decimal("0.2")
        assert await changes(None) == {old: None, young: None, unpriced: None}
