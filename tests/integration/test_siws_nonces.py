"""The full SIWS check against real PostgreSQL: server-issued nonces are accepted exactly once,
for their purpose and wallet, and every other refusal leaves the nonce usable."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket.api.siws import (
    SiwsError,
    SiwsMessage,
    build_message,
    check,
    content_resource,
    issue_nonce,
    purge_expired,
    statement_for,
)

pytestmark = pytest.mark.integration

DOMAIN = "market.example:8443"
MARKET = "ab" * 32
PURPOSE = "post_comment"
STATEMENT = statement_for(PURPOSE, MARKET)
CONTENT = "Resolution source looks solid."


@dataclass
class Signed:
    message: SiwsMessage
    text: str
    signature: str
    wallet: str


def sign(
    key: Keypair,
    nonce: str,
    *,
    content: str = CONTENT,
    domain: str = DOMAIN,
    statement: str = STATEMENT,
    ttl: int = 300,
    now: datetime | None = None,
) -> Signed:
    m = build_message(
        domain,
        str(key.pubkey()),
        statement,
        nonce,
        ttl_seconds=ttl,
        resources=(content_resource(content),),
        uri=f"https://{domain}",
        chain_id="devnet",
        now=now,
    )
    text = m.to_text()
    return Signed(m, text, str(key.sign_message(text.encode("utf-8"))), str(key.pubkey()))


async def verify(pool: AsyncConnectionPool, s: Signed, **overrides: Any) -> SiwsMessage:
    kwargs: dict[str, Any] = {
        "text": s.text,
        "signature": s.signature,
        "expected_domain": DOMAIN,
        "expected_address": s.wallet,
        "expected_statement": STATEMENT,
        "required_resources": (content_resource(CONTENT),),
        "purpose": PURPOSE,
    }
    kwargs.update(overrides)
    async with pool.connection() as conn:
        return await check(conn, **kwargs)


async def refused(pool: AsyncConnectionPool, s: Signed, code: str, **overrides: Any) -> None:
    with pytest.raises(SiwsError) as e:
        await verify(pool, s, **overrides)
    assert e.value.code == code, e.value
    assert s.signature not in str(e.value)


async def new_nonce(
    pool: AsyncConnectionPool, wallet: str | None, purpose: str = PURPOSE, ttl: int = 300
) -> str:
    async with pool.connection() as conn:
        nonce, expires_at = await issue_nonce(conn, wallet=wallet, purpose=purpose, ttl_seconds=ttl)
    assert nonce.isalnum() and len(nonce) >= 16
    assert timedelta(seconds=ttl - 30) < expires_at - datetime.now(UTC) <= timedelta(seconds=ttl)
    return nonce


async def nonce_row(pool: AsyncConnectionPool, nonce: str) -> tuple[Any, ...] | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT wallet, purpose, used_at IS NOT NULL FROM auth_nonces WHERE nonce = %s",
            (nonce,),
        )
        return await cur.fetchone()


async def test_a_nonce_is_accepted_once_then_replays_are_refused(pool: AsyncConnectionPool) -> None:
    key = Keypair()
    nonce = await new_nonce(pool, str(key.pubkey()))
    assert await nonce_row(pool, nonce) == (str(key.pubkey()), PURPOSE, False)
    s = sign(key, nonce)
    m = await verify(pool, s)
    assert m == s.message
    assert await nonce_row(pool, nonce) == (str(key.pubkey()), PURPOSE, True)
    await refused(pool, s, "replayed_nonce")
    # A fresh signature over a new message with the same nonce is a replay too.
    await refused(pool, sign(key, nonce, ttl=200), "replayed_nonce")


async def test_nonces_are_random_and_unique(pool: AsyncConnectionPool) -> None:
    nonces = {await new_nonce(pool, None) for _ in range(20)}
    assert len(nonces) == 20


async def test_a_nonce_the_server_never_issued_is_refused(pool: AsyncConnectionPool) -> None:
    await refused(pool, sign(Keypair(), "a1b2c3d4e5f60718"), "unknown_nonce")


async def test_an_expired_message_is_refused_and_leaves_the_nonce_usable(
    pool: AsyncConnectionPool,
) -> None:
    key = Keypair()
    nonce = await new_nonce(pool, str(key.pubkey()))
    s = sign(key, nonce, now=datetime.now(UTC) - timedelta(minutes=10))
    await refused(pool, s, "expired")
    later = sign(key, nonce)
    await refused(pool, later, "expired", now=datetime.now(UTC) + timedelta(minutes=6))
    await verify(pool, later)


async def test_an_expired_nonce_row_is_refused(pool: AsyncConnectionPool) -> None:
    key = Keypair()
    nonce = await new_nonce(pool, str(key.pubkey()))
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE auth_nonces SET expires_at = now() - interval '1 second' WHERE nonce = %s",
            (nonce,),
        )
    await refused(pool, sign(key, nonce), "expired_nonce")


async def test_purged_nonces_become_unknown(pool: AsyncConnectionPool) -> None:
    key = Keypair()
    old, used, fresh = [await new_nonce(pool, str(key.pubkey())) for _ in range(3)]
    used_message = sign(key, used)
    await verify(pool, used_message)
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE auth_nonces SET expires_at = now() - interval '2 hours' WHERE nonce = ANY(%s)",
            ([old, used],),
        )
        assert await purge_expired(conn, grace_seconds=3 * 3600) == 0
        assert await purge_expired(conn) == 2
    assert await nonce_row(pool, old) is None
    await refused(pool, sign(key, old), "unknown_nonce")
    await refused(pool, used_message, "unknown_nonce")
    await verify(pool, sign(key, fresh))


async def test_wrong_domain_wallet_statement_and_content_are_refused(
    pool: AsyncConnectionPool,
) -> None:
    key = Keypair()
    nonce = await new_nonce(pool, str(key.pubkey()))
    s = sign(key, nonce)
    await refused(pool, sign(key, nonce, domain="evil.example"), "wrong_domain")
    await refused(pool, s, "wrong_domain", expected_domain="market.example")
    await refused(pool, s, "wrong_wallet", expected_address=str(Keypair().pubkey()))
    await refused(pool, s, "wrong_statement", expected_statement=statement_for(PURPOSE, "cd" * 32))
    await refused(pool, s, "wrong_statement", expected_statement="Delete comment 7")
    # The message covers CONTENT; the request carries other content.
    await refused(
        pool, s, "content_mismatch", required_resources=(content_resource(CONTENT + "!"),)
    )
    await refused(pool, sign(key, nonce, content="other"), "content_mismatch")
    await verify(pool, s)  # none of the refusals used the nonce


async def test_a_nonce_bound_to_another_wallet_is_refused(pool: AsyncConnectionPool) -> None:
    alice, mallory = Keypair(), Keypair()
    nonce = await new_nonce(pool, str(alice.pubkey()))
    await refused(pool, sign(mallory, nonce), "wrong_wallet")
    await verify(pool, sign(alice, nonce))


async def test_an_unbound_nonce_serves_any_wallet_once(pool: AsyncConnectionPool) -> None:
    nonce = await new_nonce(pool, None)
    await verify(pool, sign(Keypair(), nonce))
    await refused(pool, sign(Keypair(), nonce), "replayed_nonce")


async def test_a_nonce_for_another_purpose_is_refused(pool: AsyncConnectionPool) -> None:
    key = Keypair()
    nonce = await new_nonce(pool, str(key.pubkey()), purpose="delete_comment")
    await refused(pool, sign(key, nonce), "wrong_purpose")
    await verify(pool, sign(key, nonce), purpose="delete_comment")


async def test_bad_signatures_do_not_burn_the_nonce(pool: AsyncConnectionPool) -> None:
    key = Keypair()
    nonce = await new_nonce(pool, str(key.pubkey()))
    s = sign(key, nonce)
    forged = Signed(s.message, s.text, str(Keypair().sign_message(s.text.encode())), s.wallet)
    await refused(pool, forged, "bad_signature")
    await refused(pool, Signed(s.message, s.text, "0OIl", s.wallet), "malformed_signature")
    await refused(
        pool, Signed(s.message, s.text + "\n", s.signature, s.wallet), "malformed_message"
    )
    await verify(pool, s)


async def test_time_window_refusals(pool: AsyncConnectionPool) -> None:
    key = Keypair()
    nonce = await new_nonce(pool, str(key.pubkey()))
    now = datetime.now(UTC)
    await refused(pool, sign(key, nonce, now=now + timedelta(minutes=5)), "not_yet_valid")
    await verify(pool, sign(key, nonce, now=now + timedelta(seconds=30)))  # within clock skew
    other = await new_nonce(pool, str(key.pubkey()))
    await refused(pool, sign(key, other, ttl=3600), "ttl_too_long")
    await refused(pool, sign(key, other, ttl=120), "ttl_too_long", max_ttl=60)
    await verify(pool, sign(key, other, ttl=600))


async def test_concurrent_uses_of_one_nonce_admit_exactly_one(pool: AsyncConnectionPool) -> None:
    key = Keypair()
    nonce = await new_nonce(pool, str(key.pubkey()))
    s = sign(key, nonce)
    results = await asyncio.gather(*(verify(pool, s) for _ in range(6)), return_exceptions=True)
    ok = [r for r in results if isinstance(r, SiwsMessage)]
    codes = sorted(r.code for r in results if isinstance(r, SiwsError))
    assert len(ok) == 1
    assert codes == ["replayed_nonce"] * 5


async def test_a_rolled_back_action_leaves_the_nonce_unused(pool: AsyncConnectionPool) -> None:
    key = Keypair()
    nonce = await new_nonce(pool, str(key.pubkey()))
    s = sign(key, nonce)

    class ActionFailed(Exception):
        pass

    async with pool.connection() as conn:
        with pytest.raises(ActionFailed):
            async with conn.transaction():
                await check(
                    conn,
                    text=s.text,
                    signature=s.signature,
                    expected_domain=DOMAIN,
                    expected_address=s.wallet,
                    expected_statement=STATEMENT,
                    purpose=PURPOSE,
                )
                raise ActionFailed
    assert await nonce_row(pool, nonce) == (s.wallet, PURPOSE, False)
    await verify(pool, s)


async def test_issue_nonce_refuses_a_malformed_wallet(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        with pytest.raises(SiwsError) as e:
            await issue_nonce(conn, wallet="not-a-wallet", purpose=PURPOSE)
    assert e.value.code == "malformed_address"
