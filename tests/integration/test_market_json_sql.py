"""The market list and detail bodies built by PostgreSQL (a page: its keyset
`db.queries.markets.page_keys` and its markets' `items_json`, through the API's cache of them,
`list_items`; markets: `bodies_json`; what the API sends on a cache miss) are byte for byte the bodies the API built
before in Python (`api.common.market_json` of the rows, encoded by orjson), on markets in every
state, resolved or not, disputed, cancelled, without metadata, with questions in any script and
with characters JSON escapes, every sort, filter and keyset page, and in session time zones with
offsets, so that clients see no change. And the keyset pages those reads share: a deep page of
the open or settled list reads a few index blocks from its cursor, and a cursor from the other
part of the list answers as (rank, key, id) order says."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket.api.cache import Cache
from hybridmarket.api.common import dec, iso, market_json, present
from hybridmarket.api.models import Market, MarketList
from hybridmarket.api.routes.markets import _decode_cursor, _encode_cursor, list_body, list_items
from hybridmarket.db.connect import GENERIC_PLANS, make_pool
from hybridmarket.db.queries import markets as q_markets
from hybridmarket.db.rows import MarketRow
from hybridmarket.program.accounts import ConfigParams, GlobalConfig

from .market_rows import one_row, page_rows

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
MICRO = timedelta(microseconds=123_456)
NOW = T0 + timedelta(days=10)
SINCE = NOW - timedelta(hours=24)  # the 24-hour change's window
QUESTIONS = [
    'Will "quoted" words, a back\\slash and a /slash survive?',
    "Will rain\tfall\non Nairobi\r\x01\x1f\x7f before \u2028 the \u2029 end?",
    "Va-t-il pleuvoir à Genève ? 東京で雨が降る? Дождь в Киеве? 😀🌧️",
    "Will the rain in Lima be </script><b>bold</b> & stop?",
    "Will it snow in Oslo (rain markets ranked after) this year?",
]


def _market(i: int, state: str, **changes: Any) -> MarketRow:
    row = MarketRow(
        id=hashlib.sha256(f"json-sql-{i}".encode()).hexdigest(),
        on_chain_address=str(Keypair().pubkey()),
        creator_wallet=str(Keypair().pubkey()),
        resolver_wallet=str(Keypair().pubkey()),
        state=state,
        b_parameter=10**12,
        shares_yes=0,
        shares_no=0,
        current_price=Decimal("0.500000000"),
        current_liquidity=693_147_180_560,
        initial_liquidity=693_147_180_560,
        total_volume=0,
        accumulated_resolver_fees=0,
        accumulated_lp_fees=0,
        proposal_likes=0,
        proposal_dislikes=0,
        proposal_total_votes=0,
        dispute_agree=0,
        dispute_disagree=0,
        dispute_total_votes=0,
        dispute_initiator=None,
        proposed_outcome=None,
        final_outcome=None,
        evidence_cid=None,
        claimed_shares_yes=0,
        claimed_shares_no=0,
        total_claimed=0,
        total_withdrawn=0,
        resolver_fee_paid=0,
        trades_count=0,
        created_at=T0 + timedelta(minutes=i),
        approved_at=None,
        activated_at=None,
        resolution_proposed_at=None,
        dispute_initiated_at=None,
        finalized_at=None,
        cancelled_at=None,
        last_slot=1000 + i,
    )
    return dataclasses.replace(row, **changes)


def _markets() -> list[tuple[MarketRow, dict[str, Any] | None]]:
    """(market, its metadata or None) in every state and shape the bodies can take."""
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    traded = {
        "approved_at": T0 + MICRO,
        "activated_at": T0 + timedelta(hours=1),
        "shares_yes": 5 * 10**9,
        "shares_no": 10**12 - 1,
        "trades_count": 3,
        "proposal_likes": 7,
        "proposal_dislikes": 2,
        "proposal_total_votes": 9,
    }
    resolved = traded | {"resolution_proposed_at": T0 + timedelta(days=2), "evidence_cid": cid}
    disputed = resolved | {
        "dispute_initiator": str(Keypair().pubkey()),
        "dispute_initiated_at": T0 + timedelta(days=2, hours=3) + MICRO,
        "dispute_agree": 4,
        "dispute_disagree": 1,
        "dispute_total_votes": 5,
    }
    markets = [
        _market(0, "PROPOSED"),
        _market(1, "APPROVED", approved_at=T0, created_at=T0 + MICRO),
        _market(2, "ACTIVE", **traded, total_volume=2**64 - 1, current_price=Decimal("1e-9")),
        _market(3, "ACTIVE", **traded, total_volume=10**10, current_price=Decimal("0.999999999")),
        _market(4, "RESOLVING", **resolved, proposed_outcome=True, total_volume=5 * 10**9),
        _market(5, "RESOLVING", **resolved, total_volume=5 * 10**9),  # INVALID proposed
        _market(6, "DISPUTED", **disputed, proposed_outcome=False, total_volume=7),
        _market(7, "DISPUTED", **disputed),  # INVALID, disputed
        _market(
            8,
            "FINALIZED",
            **disputed,
            proposed_outcome=False,
            final_outcome=True,
            finalized_at=T0 + timedelta(days=9),
            current_price=Decimal(1),
            total_volume=10**10,
        ),
        _market(
            9,
            "FINALIZED",
            **resolved,
            finalized_at=T0 + timedelta(days=5) + MICRO,
            total_volume=10**10,
        ),  # INVALID, final
        _market(10, "CANCELLED", cancelled_at=T0 + timedelta(days=1), current_price=Decimal(0)),
        _market(11, "ACTIVE", **traded, total_volume=10**10),  # ties on volume
    ]
    metadata: list[dict[str, Any] | None] = [None] * len(markets)
    for i, question in enumerate(QUESTIONS):
        metadata[1 + 2 * i] = {
            "question": question,
            "description": None if i % 2 else f"«{question}» described\n\twith\u00a0care",
            "category": ("weather", "météo", None)[i % 3],
            "resolution_criteria": None if i == 1 else 'YES if "two" outlets report it',
            "closes_at": None if i == 2 else f"2027-0{i + 1}-15T12:00:0{i}Z",
        }
    return list(zip(markets, metadata, strict=True))


def _config() -> GlobalConfig:
    key = Keypair().pubkey()
    return GlobalConfig.from_params(key, ConfigParams.default(key, key), 255)


@pytest.fixture
async def seeded(pool: AsyncConnectionPool) -> AsyncIterator[list[str]]:
    """The markets of `_markets`, their metadata and price histories; their ids."""
    items = _markets()
    async with pool.connection() as conn, conn.transaction():
        await q_markets.upsert(conn, [m for m, _ in items])
        for m, meta in items:
            if meta is None:
                continue
            doc = {k: v for k, v in meta.items() if v is not None} | {"creator": m.creator_wallet}
            await q_markets.insert_metadata(
                conn,
                market_id=m.id,
                document=json.dumps(doc),
                canonical_json=json.dumps(doc, sort_keys=True),
                question=meta["question"],
                description=meta["description"],
                category=meta["category"],
                resolution_criteria=meta["resolution_criteria"],
                closes_at=meta["closes_at"],
                creator=m.creator_wallet,
            )
        # Price histories: before and inside the last 24 hours (a change), only inside (the
        # change from the opening price), the same price (a change of 0), none (null).
        signer = Keypair()
        for i, points in (
            (2, [(-48, "0.4"), (-2, "0.000000001")]),
            (3, [(-3, "0.25")]),
            (4, [(-30, "0.5")]),
            (8, [(-40, "0.123456789"), (-20, "0.6")]),
        ):
            m = items[i][0]
            for k, (hours, price) in enumerate(points):
                await conn.execute(
                    "INSERT INTO price_history (market_id, at, price, slot, tx_signature, "
                    "instruction_index, event_index) VALUES (%s, %s, %s, %s, %s, 0, 0)",
                    (
                        m.id,
                        NOW + timedelta(hours=hours),
                        Decimal(price),
                        k,
                        str(signer.sign_message(f"{m.id}{k}".encode())),
                    ),
                )
    yield [m.id for m, _ in items]


async def _python_page(
    conn: AsyncConnection[Any], cfg: GlobalConfig | None, limit: int, **kw: Any
) -> bytes:
    """The list body as the API built it before (routes/markets.py before this change)."""
    rows = await page_rows(conn, limit=limit + 1, **kw)
    page = rows[:limit]
    nxt = None
    if len(rows) > limit:
        last = page[-1]
        k = last["list_key"]
        text = "infinity" if k is None else present(iso(k)) if isinstance(k, datetime) else str(k)
        nxt = _encode_cursor(text, last["id"], int(last["list_rank"]))
    items = [{**market_json(r, cfg), "change_24h": dec(r["change_24h"])} for r in page]
    return orjson.dumps({"markets": items, "next_cursor": nxt})


async def _api_page(
    reads: AsyncConnectionPool,
    cache: Cache,
    limit: int,
    *,
    since: datetime | None,
    periods: tuple[int, int] | None,
    **kw: Any,
) -> bytes:
    """The list body as the API builds it: the keyset, the bodies through `cache`, both read
    on `reads` (the API's connections with generic plans)."""
    async with reads.connection() as conn:
        keys = await q_markets.page_keys(conn, limit=limit + 1, **kw)
    page = [mid for mid, _, _ in keys[:limit]]
    items = await list_items(cache, reads, page, since=since, periods=periods)
    assert set(items) == set(page)
    return list_body((items[mid] for mid in page), keys[limit - 1] if len(keys) > limit else None)


def _periods(cfg: GlobalConfig | None) -> tuple[int, int] | None:
    return None if cfg is None else (cfg.dispute_period, cfg.dispute_voting_period)


LISTS = [
    *({"sort": sort, "status": status} for sort in ("volume", "newest", "closing")
      for status in ("open", "settled", "all")),
    {"sort": "newest", "status": "open", "state": "DISPUTED"},
    {"sort": "closing", "status": "open", "state": "APPROVED"},
    {"sort": "volume", "status": "all", "category": "météo"},
    {"sort": "relevance", "status": "all", "search": "rain"},
    {"sort": "volume", "status": "open", "search": "rain"},
    {"sort": "relevance", "status": "open", "search": '"no such" words'},
]  # fmt: skip


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
async def test_the_database_builds_the_bodies_python_did(
    db_url: str, seeded: list[str], zone: str
) -> None:
    """Read as the API reads them: on connections with generic plans (`ApiState.reads`), here
    in a session time zone that is not UTC as well."""
    cfg = _config()
    session = {**GENERIC_PLANS, "TimeZone": zone}
    async with make_pool(db_url, max_size=2, session=session) as reads:
        async with reads.connection() as conn:
            cur = await conn.execute("SHOW plan_cache_mode")
            assert await cur.fetchone() == ("force_generic_plan",)
            # Details, with the program config and without (no deadlines then): one at a
            # time and all in one statement (as concurrent misses are read), and a market
            # that does not exist left out.
            for config in (cfg, None):
                together = await q_markets.bodies_json(
                    conn, [*seeded, "0" * 64], periods=_periods(config)
                )
                assert set(together) == set(seeded)
                for mid in seeded:
                    row = await one_row(conn, mid)
                    assert row is not None
                    expected = orjson.dumps(market_json(row, config))
                    alone = await q_markets.bodies_json(conn, [mid], periods=_periods(config))
                    assert alone[mid].encode() == together[mid].encode() == expected, mid
                    Market.model_validate_json(alone[mid])

        # Every list, walked page by page through the cursors, with and without a 24-hour
        # window; each page's bytes the same, built and then from the cache.
        walked = 0
        for filters in LISTS:
            for since in (SINCE, None):
                kw: dict[str, Any] = {"state": None, "category": None, "search": None}
                kw |= filters
                cache = Cache()
                after, listed = None, set()
                while True:
                    async with reads.connection() as conn:
                        expected = await _python_page(conn, cfg, 3, after=after, since=since, **kw)
                    for _ in range(2):
                        body = await _api_page(
                            reads,
                            cache,
                            3,
                            after=after,
                            since=since,
                            periods=_periods(cfg),
                            **kw,
                        )
                        assert body == expected, (filters, after)
                    page = MarketList.model_validate_json(body)
                    walked += len(page.markets)
                    listed |= {m.id for m in page.markets}
                    if page.next_cursor is None:
                        break
                    after = _decode_cursor(page.next_cursor, kw["sort"])
                # Each listed market's body kept, only with the 24-hour window (the
                # chain's clock known).
                assert len(cache) == (len(listed) if since else 0)
        assert walked > 10 * len(seeded)  # the lists were not empty


async def test_the_changes_and_outcomes_are_all_there(
    pool: AsyncConnectionPool, seeded: list[str]
) -> None:
    """The seeded markets reach every value the bodies can take (so the byte comparison above
    compares them all)."""
    body = await _api_page(
        pool,
        Cache(),
        100,
        state=None,
        category=None,
        search=None,
        status="all",
        sort="newest",
        after=None,
        since=SINCE,
        periods=_periods(_config()),
    )
    items = json.loads(body)["markets"]
    assert len(items) == len(seeded)
    resolution = [m["resolution"] for m in items]
    assert {r["proposed_outcome"] for r in resolution} == {None, "yes", "no", "invalid"}
    assert {r["final_outcome"] for r in resolution} == {None, "yes", "invalid"}
    assert {m["state"] for m in items} >= {
        "PROPOSED", "APPROVED", "ACTIVE", "RESOLVING", "DISPUTED", "FINALIZED", "CANCELLED"
    }  # fmt: skip
    changes = {m["change_24h"] for m in items}
    assert {None, "0.000000000"} < changes
    assert any(c and c.startswith("-") for c in changes) and any(
        c and c[0].isdigit() and c != "0.000000000" for c in changes
    )
    assert {m["question"] for m in items} >= set(QUESTIONS) | {None}
    assert any(r["dispute_voting_deadline"] for r in resolution)


# ---- deep keyset pages read the index from the cursor on ------------------------------

DEEP = 3_000


@pytest.fixture
async def many(pool: AsyncConnectionPool) -> None:
    """DEEP markets (a fifth settled; volumes with many ties), inserted by one statement."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO markets (id, on_chain_address, creator_wallet, resolver_wallet, state, "
            "b_parameter, current_price, initial_liquidity, total_volume, created_at, "
            "closes_at, last_slot) "
            "SELECT md5(i::text) || md5(i::text), "
            "lpad(translate(i::text, '0123456789', 'ABCDEFGHJK'), 32, '1'), repeat('2', 32), repeat('3', 32), "
            "CASE WHEN i %% 5 = 0 THEN 'FINALIZED' ELSE 'ACTIVE' END, 10^12, 0.5, 10^11, "
            "(i %% 50) * 1000, %s::timestamptz + i * interval '1 minute', "
            "%s::timestamptz + (i %% 700) * interval '1 hour', i "
            "FROM generate_series(1, %s) i",
            (T0, T0, DEEP),
        )
        await conn.execute("ANALYZE markets")


def _index_blocks(plan: dict[str, Any]) -> dict[str, int]:
    """Shared blocks (hit + read) of each index scan of the plan."""
    out = {}
    if "Index Name" in plan:
        out[plan["Index Name"]] = plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
    for child in plan.get("Plans", []):
        out |= _index_blocks(child)
    return out


@pytest.mark.parametrize("status", ["open", "settled", "all"])
@pytest.mark.parametrize("sort", ["volume", "newest", "closing"])
async def test_a_deep_page_reads_a_few_index_pages(
    pool: AsyncConnectionPool, many: None, sort: str, status: str
) -> None:
    """A page deep in a list reads the index from its cursor: a few blocks, not every entry
    before it (as (rank, key, id) < cursor AND rank = 1 did: the equality bounded the scan)."""
    kw: dict[str, Any] = {"state": None, "category": None, "search": None, "sort": sort}
    kw["status"] = status
    async with pool.connection() as conn:
        rows = await page_rows(conn, after=None, limit=DEEP, since=None, **kw)
        deep = rows[int(len(rows) * 0.9)]
        k = deep["list_key"]
        text = "infinity" if k is None else present(iso(k)) if isinstance(k, datetime) else str(k)
        query, params = q_markets.page_query(
            after=(text, deep["id"], int(deep["list_rank"])), limit=2, since=None, **kw
        )
        cur = await conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, params)
        row = await cur.fetchone()
    assert row is not None
    blocks = _index_blocks(row[0][0]["Plan"])
    # Two rows: the index's root, a leaf or two and their heap blocks; reading the 90 % of
    # the list before the cursor (the previous SQL) took 12-55.
    assert blocks[f"markets_list_{sort}_idx"] <= 8, blocks


@pytest.mark.parametrize("sort", ["volume", "closing"])
async def test_a_cursor_from_the_other_part_of_the_list(
    pool: AsyncConnectionPool, many: None, sort: str
) -> None:
    """A cursor of an open market given to the settled list, or the reverse (status=all's
    cursors, or forged): its rank decides, as in (rank, key, id) order: open markets come
    before every settled one, so after an open market come all the settled ones, and after a
    settled one no open market."""
    kw: dict[str, Any] = {"state": None, "category": None, "search": None, "sort": sort}
    async with pool.connection() as conn:
        everything = await page_rows(conn, after=None, limit=DEEP, since=None, status="all", **kw)
        first_open, first_settled = everything[0], everything[-1]
        assert first_open["list_rank"] != first_settled["list_rank"]

        def cursor(r: dict[str, Any]) -> tuple[str, str, int]:
            k = r["list_key"]
            t = "infinity" if k is None else present(iso(k)) if isinstance(k, datetime) else str(k)
            return t, r["id"], int(r["list_rank"])

        async def ids(status: str, after: tuple[str, str, int] | None) -> list[str]:
            page = await page_rows(conn, after=after, limit=DEEP, since=None, status=status, **kw)
            return [r["id"] for r in page]

        assert await ids("settled", cursor(first_open)) == await ids("settled", None)
        assert await ids("open", cursor(first_settled)) == []
