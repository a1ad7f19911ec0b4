"""Discussions through the API: real uvicorn on a socket, real validator, real PostgreSQL, real
ed25519 keys (solders and PyNaCl). Signed posting and every refusal, the character limit with
multi-byte text, HTML escaping, pagination, deletion by author and moderator, rate limits and
the live `comment` event."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import base58
import httpx2
import pytest
from psycopg_pool import AsyncConnectionPool

from hybridmarket.api import siws
from hybridmarket.localnet.validator import LocalValidator

from .api_fixtures import api_settings
from .discussion_fixtures import (
    Served,
    Wallet,
    assert_authentic,
    delete_comment,
    insert_market,
    new_market_id,
    post_comment,
    server_message,
    serving,
    sha256_text,
)

pytestmark = pytest.mark.integration

MODERATOR = Wallet("nacl")


@pytest.fixture
async def api(validator: LocalValidator, db_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    settings = api_settings(
        db_url,
        validator.rpc_url,
        validator.ws_url,
        tmp_path / "data",
        MODERATOR_WALLETS=MODERATOR.address,
    )
    async with serving(settings) as s:
        yield s


@pytest.fixture
async def market(pool: AsyncConnectionPool) -> str:
    async with pool.connection() as conn:
        return await insert_market(conn)


def error(r: httpx2.Response) -> str:
    code: str = r.json()["error"]["code"]
    return code


async def stored(pool: AsyncConnectionPool, market_id: str) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT content, user_wallet, deleted_at IS NOT NULL FROM discussions "
            "WHERE market_id = %s ORDER BY created_at",
            (market_id,),
        )
        return await cur.fetchall()


async def test_signed_comments_are_stored_exactly_and_read_back_escaped(
    api: Served, market: str, pool: AsyncConnectionPool
) -> None:
    alice, bob = Wallet("solders"), Wallet("nacl")
    tricky = "  <script>alert(\"x\")</script> & 'quotes'\nline two 🎉 "
    r = await post_comment(api.http, alice, market, tricky)
    assert r.status_code == 201, r.text
    posted = r.json()
    assert posted["content"] == tricky and posted["user_wallet"] == alice.address
    assert posted["market_id"] == market and r.headers["RateLimit-Limit"] == "5"
    # PyNaCl's base64 signature is accepted and kept in base58, like every signature.
    text = await server_message(api.http, bob.address, "post_comment", market, "Agreed.")
    r = await api.http.post(
        "/api/discussions",
        json={
            "market_id": market,  # the snake_case name is accepted as well as marketId
            "content": "Agreed.",
            "wallet": bob.address,
            "message": text,
            "signature": bob.sign(text),
        },
    )
    assert r.status_code == 201, r.text
    assert base58.b58decode(r.json()["signature"]) == bob.raw_sign(text)

    page = (await api.http.get(f"/api/discussions/{market}")).json()
    assert [d["content"] for d in page["discussions"]] == ["Agreed.", tricky]
    first = page["discussions"][1]
    assert first["content_html"] == (
        "  &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quotes&#x27;\nline two 🎉 "
    )
    assert first["id"] == posted["id"] and first["created_at"] == posted["created_at"]
    for d in page["discussions"]:
        assert_authentic(d, market)
    assert page["ipfs_snapshots"] == [] and page["next_cursor"] is None
    assert await stored(pool, market) == [
        (tricky, alice.address, False),
        ("Agreed.", bob.address, False),
    ]


async def test_content_limit_counts_characters_not_bytes(api: Served, market: str) -> None:
    w = Wallet()
    for unit in ("é", "😀"):  # 2 and 4 bytes in UTF-8
        api.next_window()
        ok = unit * 1000
        r = await post_comment(api.http, w, market, ok)
        assert r.status_code == 201, r.text
        assert r.json()["content"] == ok and len(ok.encode()) == 1000 * len(unit.encode())
        r = await post_comment(api.http, w, market, unit * 1001)
        assert r.status_code == 422 and error(r) == "content_too_long", r.text
        assert r.json()["error"]["details"] == {"max_chars": 1000, "chars": 1001}
    api.next_window()
    for bad, code in (
        ("", "empty_content"),
        (" \n\t", "empty_content"),
        ("a\x00b", "invalid_content"),
    ):
        r = await post_comment(api.http, w, market, bad)
        assert r.status_code == 422 and error(r) == code, r.text
    # A lone surrogate (valid JSON escape, not Unicode text) is refused, not a 500.
    text = await server_message(api.http, w.address, "post_comment", market, "x")
    r = await api.http.post(
        "/api/discussions",
        content=json.dumps(
            {
                "marketId": market,
                "content": "\ud800",
                "wallet": w.address,
                "message": text,
                "signature": w.sign(text),
            }
        ),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and error(r) == "invalid_content", r.text
    page = (await api.http.get(f"/api/discussions/{market}", params={"order": "oldest"})).json()
    assert [d["content"] for d in page["discussions"]] == ["é" * 1000, "😀" * 1000]


async def _signed_body(
    api: Served, w: Wallet, market: str, content: str, **edit: Any
) -> dict[str, Any]:
    """A post body with a real server nonce, its message optionally edited before signing."""
    text = await server_message(api.http, w.address, "post_comment", market, content)
    if edit:
        text = dataclasses.replace(siws.parse(text), **edit).to_text()
    return {
        "marketId": market,
        "content": content,
        "wallet": w.address,
        "message": text,
        "signature": w.sign(text),
    }


async def test_every_refused_signature_is_a_clear_4xx(
    api: Served, market: str, pool: AsyncConnectionPool
) -> None:
    alice, mallory = Wallet("solders"), Wallet("nacl")
    other_market = new_market_id()
    cases: list[tuple[str, dict[str, Any], int, str]] = []

    body = await _signed_body(api, alice, market, "First!")
    r = await api.http.post("/api/discussions", json=body)
    assert r.status_code == 201, r.text
    cases.append(("replayed nonce", body, 401, "replayed_nonce"))

    past = datetime.now(UTC) - timedelta(minutes=10)
    cases.append(
        (
            "expired message",
            await _signed_body(
                api,
                alice,
                market,
                "late",
                issued_at=past,
                expiration_time=past + timedelta(minutes=5),
            ),
            401,
            "expired",
        )
    )
    cases.append(
        (
            "another site's domain",
            await _signed_body(api, alice, market, "phished", domain="evil.example"),
            401,
            "wrong_domain",
        )
    )
    unused = await _signed_body(api, alice, market, "what I signed")
    cases.append(
        (
            "content not the signed one",
            {**unused, "content": "what I post"},
            401,
            "content_mismatch",
        )
    )
    body = await _signed_body(api, alice, market, "hello")
    cases.append(
        (
            "signed with someone else's key",
            {**body, "signature": mallory.sign(body["message"])},
            401,
            "bad_signature",
        )
    )
    body = await _signed_body(api, alice, market, "hello")
    cases.append(
        (
            "base58 with a 0 in it",
            {**body, "signature": "0" + body["signature"][1:]},
            401,
            "malformed_signature",
        )
    )
    cases.append(
        (
            "base64 that is not",
            {**body, "signature": "AAAA=A" + "A" * 80},
            401,
            "malformed_signature",
        )
    )
    cases.append(
        (
            "63-byte signature",
            {**body, "signature": base58.b58encode(b"\x01" * 63).decode()},
            401,
            "malformed_signature",
        )
    )
    cases.append(
        ("body names another wallet", {**body, "wallet": mallory.address}, 403, "wrong_wallet")
    )
    # A nonce issued to Mallory used in a message Alice signs: refused as the wrong wallet.
    m_text = await server_message(api.http, mallory.address, "post_comment", market, "hi")
    nonce = siws.parse(m_text).nonce
    text = dataclasses.replace(siws.parse(m_text), address=alice.address).to_text()
    assert nonce in text
    cases.append(
        (
            "nonce issued to another wallet",
            {
                "marketId": market,
                "content": "hi",
                "wallet": alice.address,
                "message": text,
                "signature": alice.sign(text),
            },
            403,
            "wrong_wallet",
        )
    )
    cases.append(
        (
            "message for another market",
            {**(await _signed_body(api, alice, other_market, "hello")), "marketId": market},
            401,
            "wrong_statement",
        )
    )
    cases.append(
        (
            "a nonce the server never issued",
            await _signed_body(api, alice, market, "hello", nonce="a1b2c3d4e5f6a7b8"),
            401,
            "unknown_nonce",
        )
    )
    cases.append(
        ("not SIWS text", {**body, "message": "please sign this"}, 401, "malformed_message")
    )
    cases.append(
        (
            "unknown market",
            await _signed_body(api, alice, other_market, "hello"),
            404,
            "market_not_found",
        )
    )
    for name, bad, status, code in cases:
        api.next_window()
        r = await api.http.post("/api/discussions", json=bad)
        assert (r.status_code, error(r)) == (status, code), (name, r.text)
    for bad_field in ({"marketId": "XYZ"}, {"wallet": "not-a-wallet"}, {"extra": 1}):
        api.next_window()
        r = await api.http.post("/api/discussions", json={**body, **bad_field})
        assert r.status_code == 422 and error(r) == "invalid_request", r.text
    assert await stored(pool, market) == [("First!", alice.address, False)]
    # A refusal consumes nothing: the message refused with other content still posts its own.
    api.next_window()
    assert (await api.http.post("/api/discussions", json=unused)).status_code == 201


async def test_rate_limited_per_wallet_and_per_ip(api: Served, market: str) -> None:
    alice, bob = Wallet(), Wallet()
    for i in range(5):
        r = await post_comment(api.http, alice, market, f"comment {i}")
        assert r.status_code == 201, r.text
    r = await post_comment(api.http, alice, market, "sixth")
    assert r.status_code == 429 and error(r) == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    # Same IP, another wallet: the per-IP limit of 5 per minute holds too.
    r = await post_comment(api.http, bob, market, "hi")
    assert r.status_code == 429, r.text
    api.next_window()
    r = await post_comment(api.http, bob, market, "hi")
    assert r.status_code == 201, r.text


async def test_pages_newest_and_oldest_first(
    api: Served, market: str, pool: AsyncConnectionPool
) -> None:
    w = Wallet()
    ids = []
    for i in range(12):
        if i % 5 == 0:
            api.next_window()
        r = await post_comment(api.http, w, market, f"#{i}")
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    api.next_window()
    assert (await delete_comment(api.http, w, ids[6])).status_code == 200
    visible = [f"#{i}" for i in range(12) if i != 6]
    for order, expected in (("newest", visible[::-1]), ("oldest", visible)):
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"order": order, "limit": 4}
            if cursor:
                params["cursor"] = cursor
            r = await api.http.get(f"/api/discussions/{market}", params=params)
            assert r.status_code == 200, r.text
            page = r.json()
            pages += 1
            seen += [d["content"] for d in page["discussions"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected and pages == 3, order
    for bad in ({"cursor": "%%%"}, {"cursor": "WyJ4IiwgInkiXQ"}, {"limit": 0}, {"order": "best"}):
        r = await api.http.get(f"/api/discussions/{market}", params=bad)
        assert r.status_code == 422 and error(r) == "invalid_request", (bad, r.text)
    r = await api.http.get(f"/api/discussions/{new_market_id()}")
    assert r.status_code == 404 and error(r) == "market_not_found"


async def test_delete_by_author_or_moderator_only(
    api: Served, market: str, pool: AsyncConnectionPool
) -> None:
    alice, bob = Wallet("solders"), Wallet("nacl")
    a1 = (await post_comment(api.http, alice, market, "mine")).json()["id"]
    a2 = (await post_comment(api.http, alice, market, "spam spam")).json()["id"]
    b1 = (await post_comment(api.http, bob, market, "bob's")).json()["id"]

    # Bob signs correctly but is neither the author nor a moderator.
    api.next_window()
    r = await delete_comment(api.http, bob, a1)
    assert r.status_code == 403 and error(r) == "not_allowed", r.text
    # A reason the signature does not cover is refused.
    text = await server_message(api.http, alice.address, "delete_comment", a1)
    r = await api.http.request(
        "DELETE",
        f"/api/discussions/{a1}",
        json={
            "wallet": alice.address,
            "message": text,
            "signature": alice.sign(text),
            "reason": "x",
        },
    )
    assert r.status_code == 401 and error(r) == "content_mismatch", r.text
    # A message to delete another comment does not delete this one.
    api.next_window()
    text = await server_message(api.http, alice.address, "delete_comment", a2)
    r = await api.http.request(
        "DELETE",
        f"/api/discussions/{a1}",
        json={"wallet": alice.address, "message": text, "signature": alice.sign(text)},
    )
    assert r.status_code == 401 and error(r) == "wrong_statement", r.text

    api.next_window()
    r = await delete_comment(api.http, alice, a1, reason="changed my mind")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["deleted_by"] == alice.address and out["delete_reason"] == "changed my mind"
    assert out["by_moderator"] is False
    r = await delete_comment(api.http, MODERATOR, a2, reason="spam")
    assert r.status_code == 200 and r.json()["by_moderator"] is True, r.text

    api.next_window()
    for gone in (a1, a2, "00000000-0000-4000-8000-000000000000"):
        r = await delete_comment(api.http, alice, gone)
        assert r.status_code == 404 and error(r) == "comment_not_found", r.text
    r = await api.http.request("DELETE", "/api/discussions/not-a-uuid", json={})
    assert r.status_code == 422

    page = (await api.http.get(f"/api/discussions/{market}")).json()
    assert [d["id"] for d in page["discussions"]] == [b1]
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id::text, deleted_by, delete_reason, delete_message, delete_signature "
            "FROM discussions WHERE deleted_at IS NOT NULL ORDER BY deleted_at"
        )
        rows = await cur.fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (a1, alice.address, "changed my mind"),
        (a2, MODERATOR.address, "spam"),
    ]
    for cid, by, reason, message, signature in rows:
        msg = siws.parse(message)
        assert msg.address == by and msg.statement == f"Delete comment {cid}"
        assert f"sha256:{sha256_text(reason)}" in msg.resources
        signer = alice if by == alice.address else MODERATOR
        assert base58.b58decode(signature) == signer.raw_sign(message)


async def test_posting_and_deleting_emit_live_comment_events(
    api: Served, market: str, pool: AsyncConnectionPool
) -> None:
    w = Wallet()
    for _ in range(200):  # the API's change follower is listening
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN hybridmarket_changes'"
            )
            row = await cur.fetchone()
        if row and row[0]:
            break
        await asyncio.sleep(0.05)
    events: list[tuple[str, dict[str, Any]]] = []

    async def listen() -> None:
        async with api.http.stream("GET", "/api/stream", params={"market": market}) as r:
            name = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name:
                    events.append((name, json.loads(line[6:])))
                    if len(events) == 2:
                        return

    task = asyncio.create_task(listen())
    for _ in range(200):  # the stream is subscribed
        if api.st.hub.subscribers:
            break
        await asyncio.sleep(0.05)
    posted = (await post_comment(api.http, w, market, "live")).json()
    assert (await delete_comment(api.http, w, posted["id"])).status_code == 200
    await asyncio.wait_for(task, 10)
    assert [e[0] for e in events] == ["comment", "comment"]
    assert events[0][1] == {
        "market_id": market,
        "id": posted["id"],
        "user_wallet": w.address,
        "created_at": posted["created_at"],
    }
    assert events[1][1]["id"] == posted["id"] and "deleted_at" in events[1][1]


async def test_reading_an_unknown_snapshot(api: Served) -> None:
    r = await api.http.get("/api/discussions/ipfs/not-a-cid")
    assert r.status_code == 400 and error(r) == "invalid_cid"
    r = await api.http.get(
        "/api/discussions/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    )
    assert r.status_code == 404 and error(r) == "snapshot_not_found"


async def test_documented_in_openapi(api: Served) -> None:
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    assert set(paths["/api/discussions"]) == {"post"}
    assert set(paths["/api/discussions/{market_id}"]) == {"get"}
    assert set(paths["/api/discussions/{comment_id}"]) == {"delete"}
    assert set(paths["/api/discussions/ipfs/{cid}"]) == {"get"}
    assert "get" in paths["/ipfs/{cid}"]  # HEAD is served too; OpenAPI does not list it
    body = paths["/api/discussions"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/PostComment")
