"""Admin endpoints through the real API (uvicorn on a socket), a real validator (clock advanced)
and PostgreSQL: approve, finalize (undisputed and disputed) and cancel, each signed with SIWS by
an admin wallet and sent by the backend authority; every refusal; the audit rows."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket.api import siws
from hybridmarket.authority import BACKEND_KEY_FILE
from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.db.queries import jobs as q_jobs
from hybridmarket.indexer.service import Indexer
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b
from hybridmarket.program.accounts import MarketState

from .api_fixtures import DOMAIN, api_settings, running_api, signed_message
from .localnet_fixtures import control

pytestmark = pytest.mark.integration
SOL = 1_000_000_000
EVIDENCE = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"evidence").digest()
ACTIONS = {"approve": "approve_market", "finalize": "finalize_market", "cancel": "cancel_market"}


@pytest.fixture(autouse=True)
def _key_from_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API loads the backend key from its data directory in these tests."""
    for var in ("BACKEND_KEYPAIR", "BACKEND_KEYPAIR_FILE", "VAULT_ADDR"):
        monkeypatch.delenv(var, raising=False)


def data_dir_with_key(root: Path, key: Path | None) -> Path:
    """A data directory holding `key` as the backend authority's key file (0600), or none."""
    root.mkdir(parents=True, exist_ok=True)
    if key is not None:
        dest = root / BACKEND_KEY_FILE
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(key, dest)
        dest.chmod(0o600)
    return root


class World:
    def __init__(
        self,
        v: LocalValidator,
        client: ChainClient,
        pool: AsyncConnectionPool,
        db_url: str,
        tmp: Path,
    ) -> None:
        self.v = v
        self.client = client
        self.pool = pool
        self.db_url = db_url
        self.tmp = tmp
        self.backend = load_keypair(v.key_paths["backend_authority"])
        self.indexer = Indexer(pool, client)
        self.admin = Keypair()

    def settings(self, name: str, key: Path | None, **extra: Any) -> Any:
        extra.setdefault("ADMIN_WALLETS", f"{Keypair().pubkey()},{self.admin.pubkey()}")
        extra.setdefault("SOLANA_RPC_URL", self.v.rpc_url)
        return api_settings(
            self.db_url,
            extra.pop("SOLANA_RPC_URL"),
            self.v.ws_url,
            data_dir_with_key(self.tmp / name, key),
            **extra,
        )

    async def funded(self, lamports: int = 100 * SOL) -> Keypair:
        kp = Keypair()
        await self.client.request_airdrop(kp.pubkey(), lamports)
        return kp

    async def advance(self, seconds: int) -> None:
        await control(self.v, "hybridmarket_advanceClock", seconds=seconds)
        slot = await self.client.get_slot()
        while await self.client.get_slot() <= slot + 1:  # a block at the new time is confirmed
            await asyncio.sleep(0.02)

    async def propose(self, name: str, likes: int, dislikes: int) -> tuple[str, Keypair, Keypair]:
        creator, resolver = await self.funded(500 * SOL), await self.funded()
        mid = hashlib.sha256(name.encode()).digest()
        await self.client.send(
            [b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, resolver.pubkey())],
            creator,
        )
        voters = [await self.funded(SOL) for _ in range(likes + dislikes)]
        await asyncio.gather(
            *(
                self.client.send([b.submit_proposal_vote(x.pubkey(), mid, i < likes)], x)
                for i, x in enumerate(voters)
            )
        )
        await self.indexer.sync()
        return mid.hex(), creator, resolver

    async def active(self, name: str) -> tuple[str, Keypair, list[Keypair]]:
        """An ACTIVE market (approved by the backend key directly), two traders, one per side."""
        mid, creator, resolver = await self.propose(name, 10, 0)
        raw = bytes.fromhex(mid)
        await self.client.send([b.approve_market(self.backend.pubkey(), raw, 10, 0)], self.backend)
        await self.client.send([b.activate_market(creator.pubkey(), raw)], creator)
        cfg = await self.client.get_config()
        assert cfg is not None
        traders = [await self.funded() for _ in range(2)]
        for outcome, t in zip((True, False), traders, strict=True):
            await self.client.send(
                [
                    b.buy_shares(
                        t.pubkey(), raw, outcome, 10 * SOL, 20 * SOL, cfg.protocol_fee_wallet
                    )
                ],
                t,
            )
        await self.indexer.sync()
        return mid, resolver, traders

    async def state(self, mid: str) -> MarketState:
        m = await self.client.get_market(bytes.fromhex(mid))
        assert m is not None
        return m.state

    async def audit_row(self, audit_id: int) -> dict[str, Any]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT actor, action, market_id, arguments, reason, tx_signature, outcome "
                "FROM audit_log WHERE id = %s",
                (audit_id,),
            )
            row = await cur.fetchone()
        assert row is not None
        keys = ("actor", "action", "market_id", "arguments", "reason", "tx_signature", "outcome")
        out = dict(zip(keys, row, strict=True))
        for k in ("arguments", "reason"):
            if isinstance(out[k], str):
                out[k] = json.loads(out[k])
        return out

    async def audit_count(self) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM audit_log")
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture
def world(
    validator: LocalValidator,
    client: ChainClient,
    pool: AsyncConnectionPool,
    db_url: str,
    tmp_path: Path,
) -> World:
    return World(validator, client, pool, db_url, tmp_path)


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx2.AsyncClient]:
    settings = world.settings("api", world.v.key_paths["backend_authority"])
    async with running_api(settings) as h:
        yield h


async def admin(
    http: httpx2.AsyncClient,
    kp: Keypair,
    what: str,
    mid: str,
    reason: str | None = None,
    *,
    signed: tuple[str, str] | None = None,
) -> httpx2.Response:
    content = None if reason is None else hashlib.sha256(reason.encode()).hexdigest()
    message, signature = signed or await signed_message(http, kp, ACTIONS[what], mid, content)
    body: dict[str, Any] = {"wallet": str(kp.pubkey()), "message": message, "signature": signature}
    if reason is not None:
        body["reason"] = reason
    return await http.post(f"/api/admin/{what}/{mid}", json=body)


def error(r: httpx2.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    return err


async def test_approve_with_the_sql_tally_and_every_refusal(
    world: World, http: httpx2.AsyncClient
) -> None:
    mid, _, _ = await world.propose("admin approves", 8, 2)
    short, _, _ = await world.propose("one vote short of quorum", 9, 0)
    before = await world.audit_count()

    # Someone not in the admin list, with a perfectly good signature: 403.
    stranger = Keypair()
    assert error(await admin(http, stranger, "approve", mid), 403)["code"] == "not_admin"
    # The admin's message signed by another key: 401.
    message, _ = await signed_message(http, world.admin, "approve_market", mid)
    forged = str(stranger.sign_message(message.encode()))
    r = await admin(http, world.admin, "approve", mid, signed=(message, forged))
    assert error(r, 401)["code"] == "bad_signature"
    # A message for another action (finalize) does not approve: its statement differs.
    r = await admin(
        http,
        world.admin,
        "approve",
        mid,
        signed=await signed_message(http, world.admin, "finalize_market", mid),
    )
    assert error(r, 401)["code"] == "wrong_statement"
    # An expired message over a fresh server nonce: 401 expired.
    nonce = (
        await http.get(
            "/api/auth/nonce",
            params={
                "wallet": str(world.admin.pubkey()),
                "action": "approve_market",
                "subject": mid,
            },
        )
    ).json()["nonce"]
    old = siws.build_message(
        DOMAIN,
        str(world.admin.pubkey()),
        siws.statement_for("approve_market", mid),
        nonce,
        ttl_seconds=60,
        now=datetime.now(UTC) - timedelta(minutes=10),
    ).to_text()
    r = await admin(
        http,
        world.admin,
        "approve",
        mid,
        signed=(old, str(world.admin.sign_message(old.encode()))),
    )
    assert error(r, 401)["code"] == "expired"
    # An unknown market: 404.
    unknown = hashlib.sha256(b"no such market").hexdigest()
    assert error(await admin(http, world.admin, "approve", unknown), 404)["code"] == (
        "market_not_found"
    )
    # Quorum not met: 409, saying why; nothing sent.
    err = error(await admin(http, world.admin, "approve", short), 409)
    assert err["code"] == "approval_rule_not_met"
    assert "needs at least 10 votes and 70 % likes" in err["message"]
    assert err["details"]["likes"] == 9
    assert await world.state(short) == MarketState.Proposed
    assert await world.audit_count() == before  # no refusal so far wrote an audit row

    # A reason other than the one signed: 401, as the audit log keeps only what was signed.
    signed = await signed_message(
        http, world.admin, "approve_market", mid, hashlib.sha256(b"looks fine").hexdigest()
    )
    r = await admin(http, world.admin, "approve", mid, "looks awful", signed=signed)
    assert error(r, 401)["code"] == "content_mismatch"
    assert await world.audit_count() == before

    # Approved with the SQL counts; the tally published as the worker publishes it.
    r = await admin(http, world.admin, "approve", mid, "looks fine", signed=signed)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["outcome"] == "confirmed" and out["action"] == "approve_market"
    assert out["signature"] and out["audit_id"] > 0
    assert r.headers["RateLimit-Limit"] == "10"
    m = await world.client.get_market(bytes.fromhex(mid))
    assert m is not None and m.state == MarketState.Approved
    assert (m.proposal_likes, m.proposal_dislikes) == (8, 2)
    row = await world.audit_row(out["audit_id"])
    assert row["actor"] == str(world.backend.pubkey())
    assert row["action"] == "approve_market" and row["market_id"] == mid
    assert row["outcome"] == "confirmed" and row["tx_signature"] == out["signature"]
    assert row["arguments"] == {"likes": 8, "dislikes": 2}
    assert row["reason"]["requested_by"] == str(world.admin.pubkey())
    assert row["reason"]["reason"] == "looks fine"
    assert row["reason"]["rule"] == "quorum and threshold met"
    async with world.pool.connection() as conn:
        published = await q_jobs.latest_tally(conn, mid, "proposal")
    assert published is not None and published[:2] == (8, 2)
    assert published[4] == row["reason"]["tally_cid"]

    # The same signed request again: the nonce is spent.
    r = await admin(http, world.admin, "approve", mid, signed=signed)
    assert error(r, 401)["code"] == "replayed_nonce"
    # A fresh one: the market is no longer PROPOSED.
    err = error(await admin(http, world.admin, "approve", mid), 409)
    assert err["code"] == "invalid_market_state" and err["details"]["state"] == "APPROVED"


async def test_finalize_undisputed_then_disputed_not_before_their_deadlines(
    world: World, http: httpx2.AsyncClient
) -> None:
    cfg = await world.client.get_config()
    assert cfg is not None
    calm, calm_resolver, _ = await world.active("undisputed")
    hot, hot_resolver, (_yes, no) = await world.active("disputed")
    # Not resolved yet: ACTIVE cannot be finalized.
    err = error(await admin(http, world.admin, "finalize", calm), 409)
    assert err["code"] == "invalid_market_state" and err["details"]["state"] == "ACTIVE"

    await world.advance(cfg.min_resolution_delay)
    for mid, resolver in ((calm, calm_resolver), (hot, hot_resolver)):
        await world.client.send(
            [b.resolve_market(resolver.pubkey(), bytes.fromhex(mid), True, EVIDENCE)], resolver
        )
    await world.client.send([b.initiate_dispute(no.pubkey(), bytes.fromhex(hot))], no)
    voters = [await world.funded(SOL) for _ in range(5)]
    await asyncio.gather(
        *(
            world.client.send([b.submit_dispute_vote(x.pubkey(), bytes.fromhex(hot), i < 3)], x)
            for i, x in enumerate(voters)
        )
    )
    await world.indexer.sync()

    # Too early for both: 409 with the deadline.
    err = error(await admin(http, world.admin, "finalize", calm), 409)
    assert err["code"] == "too_early" and "dispute period ends at" in err["message"]
    assert 0 < err["details"]["wait_s"] <= cfg.dispute_period
    assert err["details"]["deadline"].endswith("Z")
    err = error(await admin(http, world.admin, "finalize", hot), 409)
    assert err["code"] == "too_early" and "dispute voting period ends at" in err["message"]

    await world.advance(max(cfg.dispute_period, cfg.dispute_voting_period))
    r = await admin(http, world.admin, "finalize", calm, "no dispute came")
    assert r.status_code == 200, r.text
    row = await world.audit_row(r.json()["audit_id"])
    assert row["arguments"] == {"agree": None, "disagree": None}
    assert row["reason"]["rule"] == "dispute period passed with no dispute"
    assert row["reason"]["requested_by"] == str(world.admin.pubkey())
    m = await world.client.get_market(bytes.fromhex(calm))
    assert m is not None and m.state == MarketState.Finalized and m.final_outcome is True

    r = await admin(http, world.admin, "finalize", hot)
    assert r.status_code == 200, r.text
    row = await world.audit_row(r.json()["audit_id"])
    assert row["actor"] == str(world.backend.pubkey()) and row["outcome"] == "confirmed"
    assert row["arguments"] == {"agree": 3, "disagree": 2}
    assert row["reason"]["reason"] is None and row["reason"]["tally_cid"]
    m = await world.client.get_market(bytes.fromhex(hot))
    assert m is not None and m.state == MarketState.Finalized
    assert (m.dispute_agree, m.dispute_disagree) == (3, 2)
    assert m.final_outcome is False  # 3 of 5 agree: 60 %, the outcome flips

    err = error(await admin(http, world.admin, "finalize", hot), 409)
    assert err["code"] == "invalid_market_state" and err["details"]["state"] == "FINALIZED"


async def test_cancel_any_state_but_a_final_one(world: World, http: httpx2.AsyncClient) -> None:
    proposed, _, _ = await world.propose("cancel me while proposed", 1, 0)
    active, _, _ = await world.active("cancel me while trading")
    for mid, was in ((proposed, "PROPOSED"), (active, "ACTIVE")):
        r = await admin(http, world.admin, "cancel", mid, "duplicate of another market")
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["outcome"] == "confirmed"
        assert await world.state(mid) == MarketState.Cancelled
        row = await world.audit_row(out["audit_id"])
        assert row["actor"] == str(world.backend.pubkey())
        assert row["action"] == "cancel_market" and row["outcome"] == "confirmed"
        assert row["reason"] == {
            "rule": "cancelled by an admin",
            "chain_state": was,
            "chain_time": row["reason"]["chain_time"],
            "requested_by": str(world.admin.pubkey()),
            "reason": "duplicate of another market",
        }
    err = error(await admin(http, world.admin, "cancel", proposed), 409)
    assert err["code"] == "invalid_market_state" and err["details"]["state"] == "CANCELLED"


async def test_rate_limited_per_wallet_and_ip(world: World, http: httpx2.AsyncClient) -> None:
    mid = hashlib.sha256(b"anything").hexdigest()
    body = {"wallet": str(world.admin.pubkey()), "message": "x", "signature": "1" * 88}
    for i in range(10):
        r = await http.post(f"/api/admin/cancel/{mid}", json=body)
        assert r.status_code == 401, (i, r.text)  # counted before the signature is read
    r = await http.post(f"/api/admin/cancel/{mid}", json=body)
    err = error(r, 429)
    assert err["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1 and r.headers["RateLimit-Remaining"] == "0"


async def test_no_backend_key_wrong_key_or_no_chain_is_503(world: World) -> None:
    mid, _, _ = await world.propose("the key is missing", 10, 0)
    wrong = world.tmp / "wrong-key.json"
    wrong.write_text(json.dumps(list(bytes(Keypair()))))
    cases = [
        (world.settings("nokey", None), "backend_key_unavailable"),
        (world.settings("wrongkey", wrong), "backend_key_mismatch"),
        (
            world.settings(
                "nochain",
                world.v.key_paths["backend_authority"],
                SOLANA_RPC_URL="http://127.0.0.1:9",
            ),
            "chain_unavailable",
        ),
    ]
    for settings, code in cases:
        async with running_api(settings) as h:
            err = error(await admin(h, world.admin, "approve", mid), 503)
            assert err["code"] == code, err
            assert "secret" not in json.dumps(err).lower()
    assert await world.state(mid) == MarketState.Proposed
    assert not (world.tmp / "nokey" / BACKEND_KEY_FILE).exists()  # never created by the API
