"""Following markets and notifications through the API (real uvicorn, real validator, real
PostgreSQL, real ed25519 signatures): signed follow and unfollow and their refusals; the
notifications the database's triggers generate as the indexer's rows change (resolution with
the dispute deadline, dispute with the voting deadline, finalized, claimable, comments) for the
followers and holders and nobody else; unread filter, cursor pages, signed mark-read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from hybridmarket.localnet.validator import LocalValidator

from .api_fixtures import api_settings
from .discussion_fixtures import Served, Wallet, post_comment, server_message, serving
from .trade_fixtures import insert_market, insert_position, new_wallet

pytestmark = pytest.mark.integration

DISPUTE_PERIOD, VOTING_PERIOD = 259_200, 86_400


@pytest.fixture
async def api(validator: LocalValidator, db_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    settings = api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path / "data")
    async with serving(settings) as s:
        yield s


async def signed_body(api: Served, w: Wallet, action: str, subject: str) -> dict[str, str]:
    text = await server_message(api.http, w.address, action, subject)
    return {"wallet": w.address, "message": text, "signature": w.sign(text)}


async def follow(api: Served, w: Wallet, market_id: str, method: str = "POST") -> Any:
    action = "follow_market" if method == "POST" else "unfollow_market"
    body = {"market_id": market_id, **await signed_body(api, w, action, market_id)}
    return await api.http.request(method, "/api/follows", json=body)


async def kinds(api: Served, w: Wallet, **params: Any) -> list[tuple[str, Any]]:
    r = await api.http.get(f"/api/users/{w.address}/notifications", params=params)
    assert r.status_code == 200, r.text
    return [
        (n["kind"], n["deadline"] or n["outcome"] or n["author"]) for n in r.json()["notifications"]
    ]


async def test_follow_unfollow_and_refusals(api: Served, pool: AsyncConnectionPool) -> None:
    me, other = Wallet(), Wallet("nacl")
    async with pool.connection() as conn:
        mid = await insert_market(conn, question="Will the follow route work?")
    r = await follow(api, me, mid)
    assert r.status_code == 200, r.text
    assert (r.json()["market_id"], r.json()["question"]) == (mid, "Will the follow route work?")
    assert (await follow(api, me, mid)).status_code == 200  # again: still one follow
    listed = (await api.http.get(f"/api/users/{me.address}/follows")).json()["follows"]
    assert [(f["market_id"], f["state"]) for f in listed] == [(mid, "ACTIVE")]

    # Signed by someone else, replayed, for another market, for a market that does not exist.
    body = {"market_id": mid, **await signed_body(api, other, "follow_market", mid)}
    r = await api.http.post("/api/follows", json={**body, "wallet": me.address})
    assert r.status_code in (401, 403) and "error" in r.json(), r.text
    assert (await api.http.post("/api/follows", json=body)).status_code == 200
    r = await api.http.post("/api/follows", json=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "replayed_nonce", r.text
    async with pool.connection() as conn:
        second = await insert_market(conn)
    body = {"market_id": second, **await signed_body(api, other, "follow_market", mid)}
    r = await api.http.post("/api/follows", json=body)
    assert r.status_code == 401, r.text
    missing = "cd" * 32
    r = await follow(api, me, missing)
    assert r.status_code == 404 and r.json()["error"]["code"] == "market_not_found", r.text

    r = await follow(api, me, mid, "DELETE")
    assert r.status_code == 200 and r.json()["was_following"] is True, r.text
    r = await follow(api, me, mid, "DELETE")
    assert r.status_code == 200 and r.json()["was_following"] is False, r.text
    assert (await api.http.get(f"/api/users/{me.address}/follows")).json()["follows"] == []


async def test_notifications_from_the_indexed_changes(
    api: Served, pool: AsyncConnectionPool
) -> None:
    follower, holder, author, claimed = Wallet(), Wallet(), Wallet(), Wallet()
    bystander, loser = Wallet(), Wallet()
    async with pool.connection() as conn:
        mid = await insert_market(conn, question="Will the notifications arrive?")
        await conn.execute(
            "INSERT INTO program_config (program_id, admin, params, slot, updated_at) "
            "VALUES (%s, %s, %s, 1, now())",
            (
                new_wallet(),
                new_wallet(),
                json.dumps(
                    {"dispute_period": DISPUTE_PERIOD, "dispute_voting_period": VOTING_PERIOD}
                ),
            ),
        )
        await insert_position(conn, mid, holder.address, shares_yes=10)
        await insert_position(conn, mid, claimed.address, shares_no=5, has_claimed=True)
        await insert_position(conn, mid, loser.address, shares_no=7)
    assert (await follow(api, follower, mid)).status_code == 200
    assert (await post_comment(api.http, author, mid, "first!")).status_code == 201

    proposed = datetime(2026, 3, 2, 12, tzinfo=UTC)
    disputed = proposed + timedelta(days=1)
    async with pool.connection() as conn:  # what the indexer writes as the events arrive
        await conn.execute(
            "UPDATE markets SET state = 'RESOLVING', resolution_proposed_at = %s WHERE id = %s",
            (proposed, mid),
        )
        await conn.execute(
            "UPDATE markets SET state = 'DISPUTED', dispute_initiated_at = %s WHERE id = %s",
            (disputed, mid),
        )
        await conn.execute("UPDATE markets SET trades_count = 1 WHERE id = %s", (mid,))
        await conn.execute(
            "UPDATE markets SET state = 'FINALIZED', final_outcome = true WHERE id = %s", (mid,)
        )

    def iso(t: datetime) -> str:
        return t.isoformat().replace("+00:00", "Z")

    market_news = [
        ("finalized", "yes"),
        ("dispute_opened", iso(disputed + timedelta(seconds=VOTING_PERIOD))),
        ("resolution_proposed", iso(proposed + timedelta(seconds=DISPUTE_PERIOD))),
    ]
    comment = ("comment", author.address)
    assert await kinds(api, follower) == [*market_news, comment]
    assert await kinds(api, holder) == [("claimable", "yes"), *market_news, comment]
    assert await kinds(api, claimed) == [*market_news, comment]  # holds shares, claim made
    assert await kinds(api, loser) == [*market_news, comment]  # NO lost: nothing to claim
    assert await kinds(api, author) == []  # its own comment; it neither follows nor holds
    assert await kinds(api, bystander) == []

    # Pages, then marked read up to the second newest: the newest stays unread.
    r = await api.http.get(f"/api/users/{holder.address}/notifications", params={"limit": 2})
    page = r.json()
    assert page["unread"] == 5 and len(page["notifications"]) == 2, page
    rest = await api.http.get(
        f"/api/users/{holder.address}/notifications", params={"cursor": page["next_cursor"]}
    )
    assert [n["kind"] for n in rest.json()["notifications"]] == [
        "dispute_opened",
        "resolution_proposed",
        "comment",
    ]
    up_to = page["notifications"][1]["id"]
    body = {"up_to": up_to, **await signed_body(api, holder, "read_notifications", str(up_to))}
    r = await api.http.post("/api/notifications/read", json=body)
    assert r.status_code == 200, r.text
    assert (r.json()["marked"], r.json()["unread"]) == (4, 1)
    assert await kinds(api, holder, unread="true") == [("claimable", "yes")]
    r = await api.http.post("/api/notifications/read", json={**body, "up_to": up_to + 10})
    assert r.status_code == 401, r.text  # the message named another id (and its nonce is used)

    # Unfollowed: the next change reaches the holder only.
    assert (await follow(api, follower, mid, "DELETE")).status_code == 200
    async with pool.connection() as conn:
        await conn.execute("UPDATE markets SET state = 'CANCELLED' WHERE id = %s", (mid,))
    assert len(await kinds(api, follower)) == 4
    assert (await kinds(api, holder))[0] == ("claimable", None)


async def test_bad_notification_requests(api: Served) -> None:
    w = new_wallet()
    for params in ({"cursor": "x"}, {"cursor": "99999999999999999999"}, {"limit": 500}):
        r = await api.http.get(f"/api/users/{w}/notifications", params=params)
        assert r.status_code == 422 and "error" in r.json(), (params, r.text)
