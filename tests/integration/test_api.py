"""The API end to end: real uvicorn on a socket, real validator, real PostgreSQL, real keys.
Markets created through the API, transactions built by it, signed by a wallet, relayed, indexed
and visible; every refusal answered with the JSON error envelope."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket.api.models import Market, MarketList
from hybridmarket.canonical import canonical_json
from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.db.queries import markets as q_markets
from hybridmarket.indexer.service import Indexer
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b

from .api_fixtures import api_settings, running_api, sign_transaction, signed_message
from .localnet_fixtures import control

pytestmark = pytest.mark.integration
SOL = 1_000_000_000


@pytest.fixture
async def http(
    validator: LocalValidator, db_url: str, tmp_path: Path
) -> AsyncIterator[httpx2.AsyncClient]:
    async with running_api(
        api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path)
    ) as h:
        yield h


async def funded(client: ChainClient, lamports: int = 100 * SOL) -> Keypair:
    kp = Keypair()
    await client.request_airdrop(kp.pubkey(), lamports)
    return kp


async def relay(
    http: httpx2.AsyncClient, built: dict[str, Any], *signers: Keypair
) -> dict[str, Any]:
    r = await http.post(
        "/api/transactions", json={"transaction": sign_transaction(built["transaction"], *signers)}
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def create_market(http: httpx2.AsyncClient, creator: Keypair, question: str) -> str:
    meta = market_metadata(creator, question)
    mid = hashlib.sha256(canonical_json(meta)).hexdigest()
    r = await post_market(http, creator, meta)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["market_id"] == mid
    assert (await relay(http, body, creator))["status"] == "confirmed"
    return mid


def market_metadata(
    creator: Keypair, question: str, closes_at: str = "2030-01-01T00:00:00Z"
) -> dict[str, Any]:
    return {
        "question": question,
        "category": "weather",
        "description": "A test market.",
        "resolution_criteria": "YES if it happens.",
        "closes_at": closes_at,
        "creator": str(creator.pubkey()),
    }


async def post_market(
    http: httpx2.AsyncClient, creator: Keypair, meta: dict[str, Any]
) -> httpx2.Response:
    mid = hashlib.sha256(canonical_json(meta)).hexdigest()
    message, signature = await signed_message(http, creator, "create_market", mid, mid)
    return await http.post(
        "/api/markets",
        json={
            "metadata": meta,
            "b_parameter": 100 * SOL,
            "initial_liquidity": 70 * SOL,
            "message": message,
            "signature": signature,
        },
    )


def error_code(r: httpx2.Response) -> str:
    code: str = r.json()["error"]["code"]
    return code


def from_now(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def advance_clock(v: LocalValidator, client: ChainClient, seconds: int) -> None:
    """Move the chain's clock on, and wait for a block at the new time."""
    await control(v, "hybridmarket_advanceClock", seconds=seconds)
    slot = await client.get_slot()
    while await client.get_slot() <= slot + 1:
        await asyncio.sleep(0.02)


async def test_a_market_that_already_closed_is_refused(
    validator: LocalValidator,
    client: ChainClient,
    http: httpx2.AsyncClient,
    pool: AsyncConnectionPool,
) -> None:
    creator = await funded(client)
    r = await post_market(
        http, creator, market_metadata(creator, "Has it closed?", closes_at="2020-01-01T00:00:00Z")
    )
    assert r.status_code == 422 and error_code(r) == "closes_at_past", r.text
    r = await post_market(
        http,
        creator,
        market_metadata(creator, "Is it a real date?", closes_at="2030-13-01T00:00:00Z"),
    )
    assert r.status_code == 422 and error_code(r) == "invalid_request", r.text
    # Past by the chain's clock, not the wall clock: the chain is three days ahead.
    closes = from_now(days=2)
    on_chain = market_metadata(creator, "Was it proposed in time?", closes_at=closes)
    r = await post_market(http, creator, on_chain)
    assert r.status_code == 201, r.text
    assert (await relay(http, r.json(), creator))["status"] == "confirmed"
    await Indexer(pool, client).sync()
    await advance_clock(validator, client, 3 * 86400)
    late = market_metadata(creator, "Is it too late to propose?", closes_at=closes)
    r = await post_market(http, creator, late)
    assert r.status_code == 422 and error_code(r) == "closes_at_past", r.text
    # Metadata posted for a market already on chain counts from its proposal, not from now.
    r = await post_market(http, creator, on_chain)
    assert r.status_code == 201, r.text


async def test_question_rules(
    client: ChainClient, http: httpx2.AsyncClient, pool: AsyncConnectionPool
) -> None:
    """10-200 code points once trimmed; not the question of a market on chain, ignoring case
    and runs of whitespace (the same rules as the proposal page)."""
    creator, other = await funded(client), await funded(client)
    for question, code, chars in [
        ("  Too short  ", "question_too_short", 9),
        (" \t\n ", "question_too_short", 0),
        ("😀" * 201, "question_too_long", 201),
    ]:
        r = await post_market(http, creator, market_metadata(creator, question))
        assert r.status_code == 422 and error_code(r) == code, (question, r.text)
        assert r.json()["error"]["details"] == {"chars": chars, "min_chars": 10, "max_chars": 200}
    for question in (" Ten chars! ", "😀" * 200):  # at the bounds, counted in code points
        r = await post_market(http, creator, market_metadata(creator, question))
        assert r.status_code == 201, (question, r.text)

    mid = await create_market(http, creator, "Will it rain in Lisbon on Friday?")
    await Indexer(pool, client).sync()
    copy = market_metadata(other, "  will IT rain in\tLisbon   on\nfriday?  ")
    r = await post_market(http, other, copy)
    assert r.status_code == 409 and error_code(r) == "question_duplicate", r.text
    assert r.json()["error"]["details"] == {"market_id": mid}
    # The same metadata again is the same market, not a copy of it.
    r = await post_market(
        http, creator, market_metadata(creator, "Will it rain in Lisbon on Friday?")
    )
    assert r.status_code == 201 and r.json()["market_id"] == mid, r.text
    # Metadata alone (its proposal abandoned before signing) takes no question from anyone.
    r = await post_market(http, creator, market_metadata(creator, "Will the tram reach the port?"))
    assert r.status_code == 201, r.text
    r = await post_market(http, other, market_metadata(other, "Will the tram reach the port?"))
    assert r.status_code == 201, r.text


async def test_the_duplicate_question_lookup_uses_its_index(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        await conn.execute("SET enable_seqscan = off")  # on a tiny table the planner would scan
        plan = await conn.execute(
            sql.SQL("EXPLAIN ") + q_markets.SAME_QUESTION, ("A question?", "0" * 64)
        )
        text = "\n".join(r[0] for r in await plan.fetchall())
    assert "market_metadata_question_key_idx" in text, text


async def test_market_lifecycle_through_the_api(
    validator: LocalValidator,
    client: ChainClient,
    http: httpx2.AsyncClient,
    pool: AsyncConnectionPool,
) -> None:
    ix = Indexer(pool, client, ws_url=validator.ws_url, poll_interval=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(ix.run(stop))
    try:
        creator = await funded(client, 500 * SOL)
        mid = await create_market(http, creator, "Will it rain in Lisbon on Friday?")
        for _ in range(100):
            r = await http.get(f"/api/markets/{mid}")
            if r.status_code == 200:
                break
            await asyncio.sleep(0.05)
        m = r.json()
        assert m["question"] == "Will it rain in Lisbon on Friday?" and m["state"] == "PROPOSED"
        assert m["price_yes"] == "0.500000000"
        # Ten wallets like it through the API; the backend approves (as the worker would).
        voters = [await funded(client, SOL) for _ in range(10)]
        for v in voters:
            built = (
                await http.post(
                    f"/api/markets/{mid}/vote",
                    json={"wallet": str(v.pubkey()), "kind": "proposal", "vote": True},
                )
            ).json()
            assert (await relay(http, built, v))["status"] == "confirmed"
        backend = load_keypair(validator.key_paths["backend_authority"])
        await client.send([b.approve_market(backend.pubkey(), bytes.fromhex(mid), 10, 0)], backend)
        for _ in range(100):  # the API decides on the indexed state
            if (await http.get(f"/api/markets/{mid}")).json()["state"] == "APPROVED":
                break
            await asyncio.sleep(0.05)
        built = (
            await http.post(f"/api/markets/{mid}/activate", json={"wallet": str(creator.pubkey())})
        ).json()
        assert (await relay(http, built, creator))["status"] == "confirmed"
        for _ in range(100):  # confirmed on chain; indexed a moment later
            if (await http.get(f"/api/markets/{mid}")).json()["state"] == "ACTIVE":
                break
            await asyncio.sleep(0.05)
        trader = await funded(client)
        r = await http.post(
            f"/api/markets/{mid}/buy",
            json={
                "wallet": str(trader.pubkey()),
                "outcome": "yes",
                "amount": 2 * SOL,
                "slippage_bps": 50,
            },
        )
        assert r.status_code == 200, r.text
        built = r.json()
        q = built["quote"]
        assert q["total"] <= 2 * SOL and q["shares"] > 0 and q["fees"]["protocol"] > 0
        assert r.headers["RateLimit-Limit"] == "30"
        assert (await relay(http, built, trader))["status"] == "confirmed"
        # Visible through the API within a second of being indexed.
        for _ in range(40):
            m = (await http.get(f"/api/markets/{mid}")).json()
            if m["trades_count"] == 1:
                break
            await asyncio.sleep(0.05)
        assert m["state"] == "ACTIVE" and m["trades_count"] == 1 and m["shares_yes"] == q["shares"]
        assert m["price_yes"] == q["price_yes_after"]
        pos = (await http.get(f"/api/users/{trader.pubkey()}/positions")).json()["positions"]
        assert pos[0]["shares_yes"] == q["shares"] and pos[0]["total_invested"] == q["total"]
        trades = (await http.get(f"/api/users/{trader.pubkey()}/trades")).json()["trades"]
        assert [t["total"] for t in trades] == [q["total"]]
        hist = (await http.get(f"/api/markets/{mid}/history", params={"interval": "raw"})).json()
        assert [p["price_yes"] for p in hist["points"]][-1] == q["price_yes_after"]
        listed = (await http.get("/api/markets", params={"state": "ACTIVE", "q": "lisbon"})).json()
        assert [x["id"] for x in listed["markets"]] == [mid]
        # The list and the detail are sent as the bytes kept in the cache, not through their
        # response models: they must still be what the models (and /openapi.json) say.
        for _ in range(2):  # the miss that encodes them, then the cached bytes
            one = await http.get(f"/api/markets/{mid}")
            assert Market.model_validate_json(one.content).id == mid
            page = await http.get("/api/markets", params={"limit": 1})
            assert MarketList.model_validate_json(page.content).next_cursor is None
        votes = (
            await http.get(f"/api/markets/{mid}/votes", params={"wallet": str(voters[0].pubkey())})
        ).json()
        assert votes["proposal"]["likes"] == 10 and votes["proposal"]["your_vote"]["vote"] is True
        price = (
            await http.get(f"/api/markets/{mid}/price", params={"shares": SOL, "side": "sell"})
        ).json()
        assert price["quote"]["side"] == "sell" and price["quote"]["total"] > 0
        # The fee rates, from the program's config, with or without a quote.
        cfg = await client.get_config()
        assert cfg is not None
        fees = cfg.protocol_fee_bps, cfg.resolver_fee_bps, cfg.lp_fee_bps
        assert price["fees_bps"] == {
            "protocol": fees[0], "resolver": fees[1], "lp": fees[2], "total": sum(fees)
        }  # fmt: skip
        bare = (await http.get(f"/api/markets/{mid}/price")).json()
        assert "quote" not in bare and bare["fees_bps"] == price["fees_bps"]
        health = await http.get("/api/health")
        assert health.status_code == 200, health.text
        assert health.json()["indexer"]["lag_slots"] < 50
    finally:
        stop.set()
        await task


async def test_errors_use_one_envelope(http: httpx2.AsyncClient) -> None:
    cases = [
        ("GET", "/api/markets/" + "0" * 64, 404, "market_not_found"),
        ("GET", "/api/markets/not-hex", 422, "invalid_request"),
        ("GET", "/api/nothing-here", 404, "not_found"),
        ("DELETE", "/api/markets", 405, "method_not_allowed"),
        ("GET", "/api/markets?limit=1000", 422, "invalid_request"),
        ("GET", "/api/markets?cursor=%%%", 422, "invalid_request"),
        ("GET", "/api/users/notawallet/positions", 422, "invalid_request"),
        # Again, the program's config cached now: answered by CachedReads, not the route.
        ("GET", "/api/markets/" + "0" * 64, 404, "market_not_found"),
    ]
    for method, path, status, code in cases:
        r = await http.request(method, path)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"]["code"] == code, (path, r.text)
    r = await http.post(
        "/api/transactions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "error" in r.json()
    r = await http.post("/api/transactions", json={"transaction": "AAAA"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_transaction"
    r = await http.post(
        "/api/markets/" + "a" * 64 + "/buy", json={"wallet": "x", "outcome": "yes", "shares": 1}
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "wallet"
    assert (await http.get("/openapi.json")).status_code == 200
    assert (await http.get("/metrics")).status_code == 200


async def test_stream_survives_quiet_periods_and_delivers_changes(
    http: httpx2.AsyncClient, pool: AsyncConnectionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from hybridmarket.api.routes import stream

    monkeypatch.setattr(stream, "HEARTBEAT_S", 0.3)
    mid = hashlib.sha256(b"streamed").hexdigest()
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO markets (id, on_chain_address, creator_wallet, resolver_wallet, state, "
            "b_parameter, current_price, initial_liquidity, created_at, last_slot) "
            "VALUES (%s, %s, %s, %s, 'ACTIVE', 1000000, 0.5, 700000, now(), 1)",
            (mid, str(Keypair().pubkey()), str(Keypair().pubkey()), str(Keypair().pubkey())),
        )
    events: list[str] = []
    async with http.stream("GET", "/api/stream", params={"market": mid}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = r.aiter_lines()
        heartbeats = 0
        while heartbeats < 3:  # several quiet periods in a row
            line = await asyncio.wait_for(anext(lines), timeout=5)
            heartbeats += line == ": heartbeat"
        async with pool.connection() as conn:
            await conn.execute(
                "SELECT pg_notify('hybridmarket_changes', %s)",
                (json.dumps({"slot": 2, "markets": [mid]}),),
            )
        while not events:
            line = await asyncio.wait_for(anext(lines), timeout=5)
            if line.startswith("data: "):
                events.append(line)
    assert json.loads(events[0][6:])["id"] == mid
