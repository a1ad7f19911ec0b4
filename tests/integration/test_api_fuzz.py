"""Property-based fuzzing of the whole API from its own OpenAPI spec (schemathesis), against the
real app on a real socket, a real validator and PostgreSQL: for every operation, requests that
fit the spec and requests that break it, with random ids and with the ids of a real market and
trader, must never get a 5xx, and every answer must conform to the spec (a documented status
code, the documented content type, the documented schema).

Every 2xx body is checked against its response model (`response_schema_conformance`; the
models forbid unlisted fields). Random requests cannot reach the success of every operation (a
signed write needs a real signature, a claim a finalized market), so a tour then makes one
real, valid request per operation in the states it needs, each answer checked the same way,
and the test fails unless every operation in the spec answered a conforming 2xx in the fuzzing
or the tour.

Left out: `GET /api/stream` (an endless event stream) and `/metrics` (not in the spec). The
rate limits are raised for the run (they have their own tests, test_api_limits.py): here they
would only turn most requests into 429s before they reach the handlers.

`API_FUZZ_EXAMPLES` (per operation and mode, default 12) and `API_FUZZ_SEED` (default fixed,
so CI is reproducible; set another to explore) tune the run.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from solders.keypair import Keypair

from hybridmarket.api import ratelimit
from hybridmarket.authority import BACKEND_KEY_FILE
from hybridmarket.canonical import canonical_json
from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.indexer.service import Indexer
from hybridmarket.ipfs.backends import backend_from_settings
from hybridmarket.ipfs.cid import cid_to_bytes
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b
from hybridmarket.worker.snapshots import snapshot_day

from .api_fixtures import api_settings, running_api, sign_transaction, signed_message
from .localnet_fixtures import control

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    # The API, the validator and the indexer run in this process, in other threads: their use
    # of `random` (RPC backoff jitter...) is seen by Hypothesis as if its strategies used it.
    pytest.mark.filterwarnings(
        "ignore:Do not use the `random` module inside strategies"
        ":hypothesis.errors.HypothesisDeprecationWarning"
    ),
]
SOL = 1_000_000_000
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "12"))
SEED = int(os.environ.get("API_FUZZ_SEED", "20240607"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXCLUDED = ("/api/stream", "/metrics")


async def seed_world(v: LocalValidator, client: ChainClient, indexer: Indexer) -> dict[str, str]:
    """One ACTIVE market with a trade, so fuzzed requests reach quotes, history, positions."""
    backend = load_keypair(v.key_paths["backend_authority"])
    creator, trader = Keypair(), Keypair()
    for kp in (creator, trader):
        await client.request_airdrop(kp.pubkey(), 500 * SOL)
    mid = hashlib.sha256(b"fuzzed market").digest()
    await client.send(
        [b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, creator.pubkey())], creator
    )
    voters = [Keypair() for _ in range(10)]
    for x in voters:
        await client.request_airdrop(x.pubkey(), SOL)
    await asyncio.gather(
        *(client.send([b.submit_proposal_vote(x.pubkey(), mid, True)], x) for x in voters)
    )
    await client.send([b.approve_market(backend.pubkey(), mid, 10, 0)], backend)
    await client.send([b.activate_market(creator.pubkey(), mid)], creator)
    cfg = await client.get_config()
    assert cfg is not None
    await client.send(
        [b.buy_shares(trader.pubkey(), mid, True, 5 * SOL, 10 * SOL, cfg.protocol_fee_wallet)],
        trader,
    )
    await indexer.sync()
    return {
        "market_id": mid.hex(),
        "wallet": str(trader.pubkey()),
        "creator": str(creator.pubkey()),
    }


WALLET_FIELDS = ("wallet", "creator", "resolver", "account")


def with_wallet(case: Any, wallet: str) -> None:
    """Put a real wallet where the generated case has a wallet field (schema: any string)."""
    body = case.body if isinstance(case.body, dict) else {}
    for part in (body, case.query, body.get("metadata")):
        if isinstance(part, dict):
            for k in WALLET_FIELDS:
                if k in part:
                    part[k] = wallet
    if case.path_parameters and "wallet" in case.path_parameters:
        case.path_parameters["wallet"] = wallet


def generator_flake(e: BaseException) -> bool:
    """Hypothesis saw the generator itself misbehave (e.g. CPython 3.11's AST recursion
    counter, shared between threads, raising SystemError in its source inspection), with no
    failed check of ours anywhere in it: worth one more try. A check failure never is."""

    def checks_failed(x: BaseException | None, depth: int = 0) -> bool:
        if x is None or depth > 10:
            return False
        if isinstance(x, FailureGroup):
            return True
        inner = list(getattr(x, "exceptions", ()))
        return any(checks_failed(y, depth + 1) for y in (*inner, x.__cause__, x.__context__))

    return isinstance(e, Flaky) and "FailureGroup" not in str(e) and not checks_failed(e)


def fuzz(
    spec: dict[str, Any], base_url: str, known: dict[str, str], statuses: Counter[tuple[str, int]]
) -> list[str]:
    """Run every operation's strategies; returns one line per failing (operation, mode) and
    counts the statuses answered, per operation, in `statuses`."""
    schema = schemathesis.openapi.from_dict(spec)
    session = requests.Session()
    wallets = st.sampled_from([known["wallet"], known["creator"], str(Keypair().pubkey())])
    failures: list[str] = []
    operations = 0

    def run(name: str, strategy: st.SearchStrategy[Any], real_wallets: bool) -> None:
        @seed(SEED)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, wallet=wallets)
        def one(case: Any, wallet: str) -> None:
            if real_wallets:
                with_wallet(case, wallet)
            response = case.call(base_url=base_url, session=session, timeout=60)
            statuses[name, response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        one()

    for result in schema.get_all_operations():
        op = result.ok()
        if op.path in EXCLUDED:
            continue
        operations += 1
        ids = {p.name: known[p.name] for p in op.path_parameters if p.name in known}
        modes = {
            "positive": (op.as_strategy(generation_mode=GenerationMode.POSITIVE), False),
            "negative": (op.as_strategy(generation_mode=GenerationMode.NEGATIVE), False),
            "known ids": (op.as_strategy(path_parameters=ids), True),
        }
        for mode, (strategy, real_wallets) in modes.items():
            for attempt in (1, 2):
                try:
                    run(f"{op.method.upper()} {op.path}", strategy, real_wallets)
                except Unsatisfiable:  # nothing to break in an operation without parameters
                    assert mode == "negative", (op.path, mode)
                except (Exception, BaseExceptionGroup) as e:  # a check failed, or no answer
                    if attempt == 1 and generator_flake(e):
                        continue
                    failures.append(f"{op.method.upper()} {op.path} [{mode}]: {e}")
                break
    assert operations >= 20, f"only {operations} operations in the spec?"
    return failures


class Tour:
    """One real request per operation, each answer checked against the spec like the fuzzer's;
    `succeeded` collects the operations that answered a conforming 2xx."""

    def __init__(self, spec: dict[str, Any], http: httpx2.AsyncClient) -> None:
        self.schema = schemathesis.openapi.from_dict(spec)
        self.http = http
        self.succeeded: set[str] = set()

    async def call(
        self,
        method: str,
        path: str,
        *,
        ids: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        body: Any = None,
    ) -> httpx2.Response:
        case = self.schema[path][method].Case(
            path_parameters=ids, query=query, **({} if body is None else {"body": body})
        )
        r = await self.http.request(method, path.format(**(ids or {})), params=query, json=body)
        assert 200 <= r.status_code < 300, (method, path, r.status_code, r.text)
        case.validate_response(r, checks=CHECKS)
        self.succeeded.add(f"{method} {path}")
        return r


class Chain:
    """Markets in the states the tour needs, made directly on chain (creator = resolver)."""

    def __init__(self, v: LocalValidator, client: ChainClient) -> None:
        self.v = v
        self.client = client
        self.backend = load_keypair(v.key_paths["backend_authority"])

    async def funded(self, lamports: int = 100 * SOL) -> Keypair:
        kp = Keypair()
        await self.client.request_airdrop(kp.pubkey(), lamports)
        return kp

    async def proposed(self, likes: int = 10) -> tuple[bytes, Keypair]:
        creator, mid = await self.funded(500 * SOL), os.urandom(32)
        await self.client.send(
            [b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, creator.pubkey())],
            creator,
        )
        voters = await asyncio.gather(*(self.funded(SOL) for _ in range(likes)))
        await asyncio.gather(
            *(self.client.send([b.submit_proposal_vote(x.pubkey(), mid, True)], x) for x in voters)
        )
        return mid, creator

    async def approved(self) -> tuple[bytes, Keypair]:
        mid, creator = await self.proposed()
        await self.client.send([b.approve_market(self.backend.pubkey(), mid, 10, 0)], self.backend)
        return mid, creator

    async def active(self) -> tuple[bytes, Keypair, Keypair]:
        """An ACTIVE market and a trader holding YES shares in it."""
        mid, creator = await self.approved()
        await self.client.send([b.activate_market(creator.pubkey(), mid)], creator)
        cfg = await self.client.get_config()
        assert cfg is not None
        trader = await self.funded()
        await self.client.send(
            [b.buy_shares(trader.pubkey(), mid, True, 5 * SOL, 10 * SOL, cfg.protocol_fee_wallet)],
            trader,
        )
        return mid, creator, trader

    async def advance(self, seconds: int) -> None:
        await control(self.v, "hybridmarket_advanceClock", seconds=seconds)
        slot = await self.client.get_slot()
        while await self.client.get_slot() <= slot + 1:  # a block at the new time is confirmed
            await asyncio.sleep(0.02)


async def until_state(http: httpx2.AsyncClient, mid: bytes, state: str) -> None:
    """Wait for the API to show the market in `state` (the indexer follows the chain)."""
    for _ in range(200):
        r = await http.get(f"/api/markets/{mid.hex()}")
        if r.status_code == 200 and r.json()["state"] == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"market {mid.hex()} never {state}: {r.text}")


async def signed(
    http: httpx2.AsyncClient, kp: Keypair, action: str, subject: str, content: str | None = None
) -> dict[str, str]:
    sha = None if content is None else hashlib.sha256(content.encode()).hexdigest()
    message, signature = await signed_message(http, kp, action, subject, sha)
    return {"wallet": str(kp.pubkey()), "message": message, "signature": signature}


async def tour(
    v: LocalValidator,
    client: ChainClient,
    pool: Any,
    http: httpx2.AsyncClient,
    spec: dict[str, Any],
    known: dict[str, str],
    admin: Keypair,
    ipfs: Any,
) -> set[str]:
    """A valid request to each operation that random ones cannot bring to success; returns
    the operations that answered a conforming 2xx."""
    t, chain = Tour(spec, http), Chain(v, client)
    cfg = await client.get_config()
    assert cfg is not None

    def ids(mid: bytes) -> dict[str, str]:
        return {"market_id": mid.hex()}

    # A PROPOSED market: a vote built, signed and relayed; then an admin approves it.
    proposed, _ = await chain.proposed()
    voter = await chain.funded(SOL)
    await until_state(http, proposed, "PROPOSED")
    built = await t.call(
        "POST",
        "/api/markets/{market_id}/vote",
        ids=ids(proposed),
        body={"wallet": str(voter.pubkey()), "kind": "proposal", "vote": True},
    )
    relayed = await t.call(
        "POST",
        "/api/transactions",
        body={"transaction": sign_transaction(built.json()["transaction"], voter)},
    )
    assert relayed.json()["status"] == "confirmed", relayed.text
    for _ in range(200):  # the admin's approval counts the indexed votes
        votes = (await http.get(f"/api/markets/{proposed.hex()}/votes")).json()["proposal"]
        if votes["total"] == 11:
            break
        await asyncio.sleep(0.05)
    subject = proposed.hex()
    await t.call(
        "POST",
        "/api/admin/approve/{market_id}",
        ids=ids(proposed),
        body=await signed(http, admin, "approve_market", subject),
    )
    # The voter's receipt (the fuzzer's wallets have not voted: 404).
    await t.call(
        "GET",
        "/api/markets/{market_id}/votes/{wallet}/receipt",
        ids={"market_id": subject, "wallet": str(voter.pubkey())},
    )

    # An APPROVED market: its creator's activation built; then an admin cancels it.
    approved, creator = await chain.approved()
    await until_state(http, approved, "APPROVED")
    await t.call(
        "POST",
        "/api/markets/{market_id}/activate",
        ids=ids(approved),
        body={"wallet": str(creator.pubkey())},
    )
    await t.call(
        "POST",
        "/api/admin/cancel/{market_id}",
        ids=ids(approved),
        body=await signed(http, admin, "cancel_market", approved.hex()),
    )

    # A CANCELLED market with a position: the claim and the creator's withdrawal built.
    cancelled, creator, trader = await chain.active()
    await client.send([b.cancel_market(chain.backend.pubkey(), cancelled)], chain.backend)
    await until_state(http, cancelled, "CANCELLED")
    await t.call(
        "POST",
        "/api/markets/{market_id}/claim",
        ids=ids(cancelled),
        body={"wallet": str(trader.pubkey())},
    )
    await t.call(
        "POST",
        "/api/markets/{market_id}/withdraw",
        ids=ids(cancelled),
        body={"wallet": str(creator.pubkey())},
    )

    # An ACTIVE market: its resolution built, then resolved on chain; a dispute built; an
    # admin finalizes it once the dispute period is over.
    resolving, creator, _ = await chain.active()
    await until_state(http, resolving, "ACTIVE")
    evidence = ipfs.add(b"the evidence")
    await t.call(
        "POST",
        "/api/markets/{market_id}/resolve",
        ids=ids(resolving),
        body={"wallet": str(creator.pubkey()), "outcome": "yes", "evidence_cid": evidence},
    )
    await chain.advance(cfg.min_resolution_delay)
    await client.send(
        [b.resolve_market(creator.pubkey(), resolving, True, cid_to_bytes(evidence))], creator
    )
    await until_state(http, resolving, "RESOLVING")
    await t.call(
        "POST",
        "/api/markets/{market_id}/initiate-dispute",
        ids=ids(resolving),
        body={"wallet": str((await chain.funded(SOL)).pubkey())},
    )
    await chain.advance(cfg.dispute_period + 1)
    await t.call(
        "POST",
        "/api/admin/finalize/{market_id}",
        ids=ids(resolving),
        body=await signed(http, admin, "finalize_market", resolving.hex()),
    )

    # Signed writes: market metadata, a comment posted and one deleted.
    author = await chain.funded()
    meta = {
        "question": "Will the tour of the API reach every operation?",
        "closes_at": "2099-01-01T00:00:00Z",
        "creator": str(author.pubkey()),
    }
    mid = hashlib.sha256(canonical_json(meta)).hexdigest()
    message, signature = await signed_message(http, author, "create_market", mid, mid)
    await t.call(
        "POST",
        "/api/markets",
        body={
            "metadata": meta,
            "b_parameter": 100 * SOL,
            "initial_liquidity": 70 * SOL,
            "message": message,
            "signature": signature,
        },
    )
    active = known["market_id"]
    comments = []
    for text in ("archived", "deleted"):
        r = await t.call(
            "POST",
            "/api/discussions",
            body={
                "market_id": active,
                "content": text,
                **await signed(http, author, "post_comment", active, text),
            },
        )
        comments.append(r.json()["id"])
    await t.call(
        "DELETE",
        "/api/discussions/{comment_id}",
        ids={"comment_id": comments[1]},
        body=await signed(http, author, "delete_comment", comments[1]),
    )

    # Following a market (signed), marking notifications read (signed), unfollowing.
    await t.call(
        "POST",
        "/api/follows",
        body={"market_id": active, **await signed(http, author, "follow_market", active)},
    )
    await t.call(
        "POST",
        "/api/notifications/read",
        body={"up_to": 1000, **await signed(http, author, "read_notifications", "1000")},
    )
    await t.call(
        "DELETE",
        "/api/follows",
        body={"market_id": active, **await signed(http, author, "unfollow_market", active)},
    )

    # A day's comments archived on IPFS: the document, and its file through the gateway.
    day = datetime.now(UTC).date() - timedelta(days=2)
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE discussions SET created_at = created_at - interval '2 days' WHERE id = %s",
            (comments[0],),
        )
    summary = await snapshot_day(pool, ipfs, day)
    assert summary["snapshotted"] == 1, summary
    page = (await http.get(f"/api/discussions/{active}")).json()
    cid = page["ipfs_snapshots"][0]["cid"]
    await t.call("GET", "/api/discussions/ipfs/{cid}", ids={"cid": cid})
    await t.call("GET", "/ipfs/{cid}", ids={"cid": cid})
    return t.succeeded


def cursor(key: str, mid: str = "a" * 64) -> str:
    return base64.urlsafe_b64encode(json.dumps([key, mid]).encode()).decode().rstrip("=")


# What the fuzzer found (500s before), kept as fixed cases: NUL characters, which PostgreSQL
# text cannot hold, and cursors whose sort key the SQL could not cast.
FOUND = [
    {"category": "w\x00n"},
    {"q": "\x00"},
    {"sort": "volume", "cursor": cursor("abc")},
    {"sort": "volume", "cursor": cursor("1e999999")},
    {"sort": "volume", "cursor": cursor("NaN")},
    {"sort": "newest", "cursor": cursor("abc")},
    {"sort": "closing", "cursor": cursor("tomorrow")},
    {"sort": "newest", "cursor": cursor("2026-01-01T00:00:00Z", "\x00")},
]


async def test_fuzz_the_whole_api_from_its_openapi_spec(
    validator: LocalValidator,
    db_url: str,
    pool: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unlimited = {n: ratelimit.Limit(n, 10**9, 60) for n in ratelimit.DEFAULT_LIMITS}
    monkeypatch.setattr(ratelimit, "DEFAULT_LIMITS", unlimited)
    for var in ("BACKEND_KEYPAIR", "BACKEND_KEYPAIR_FILE", "VAULT_ADDR"):
        monkeypatch.delenv(var, raising=False)  # the backend key: the data directory's file
    key_file = tmp_path / BACKEND_KEY_FILE
    key_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(validator.key_paths["backend_authority"], key_file)
    key_file.chmod(0o600)
    admin = Keypair()
    settings_ = api_settings(
        db_url, validator.rpc_url, validator.ws_url, tmp_path, ADMIN_WALLETS=str(admin.pubkey())
    )
    stop = asyncio.Event()
    async with ChainClient(validator.rpc_url) as client:
        indexer = Indexer(pool, client, ws_url=validator.ws_url, poll_interval=0.2)
        known = await seed_world(validator, client, indexer)
        following = asyncio.create_task(indexer.run(stop))  # health is then 200, as in service
        try:
            async with running_api(settings_) as http:
                spec = (await http.get("/openapi.json")).json()
                statuses: Counter[tuple[str, int]] = Counter()
                failures = await asyncio.to_thread(fuzz, spec, str(http.base_url), known, statuses)
                found = [(p, (await http.get("/api/markets", params=p)).status_code) for p in FOUND]
                toured = await tour(
                    validator,
                    client,
                    pool,
                    http,
                    spec,
                    known,
                    admin,
                    backend_from_settings(settings_),
                )
        finally:
            stop.set()
            await following
    for (name, status), n in sorted(statuses.items()):
        print(f"{name} {status}: {n}")
    by_status = Counter[int]()
    for (_, status), n in statuses.items():
        by_status[status] += n
    assert not failures, "\n\n".join(failures)
    # The run reached the handlers: successes as well as refusals.
    assert by_status[200] >= 50 and by_status.total() >= 500, by_status
    assert [s for _, s in found] == [422] * len(FOUND), found
    # Every operation answered a 2xx whose body its response model accepted.
    operations = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if path not in EXCLUDED
    }
    fuzzed = {name for (name, status), _ in statuses.items() if 200 <= status < 300}
    assert operations - fuzzed - toured == set(), sorted(operations - fuzzed - toured)
