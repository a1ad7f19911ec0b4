"""Property-based fuzzing of the whole API from its own OpenAPI spec (schemathesis), against the
real app on a real socket, a real validator and PostgreSQL: for every operation, requests that
fit the spec and requests that break it, with random ids and with the ids of a real market and
trader, must never get a 5xx, and every answer must conform to the spec (a documented status
code, the documented content type, the documented schema).

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
from collections import Counter
from pathlib import Path
from typing import Any

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
from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.indexer.service import Indexer
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b

from .api_fixtures import api_settings, running_api

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


WALLET_FIELDS = ("wallet", "creator", "resolver")


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
    spec: dict[str, Any], base_url: str, known: dict[str, str], statuses: Counter[int]
) -> list[str]:
    """Run every operation's strategies; returns one line per failing (operation, mode) and
    counts the statuses answered in `statuses`."""
    schema = schemathesis.openapi.from_dict(spec)
    session = requests.Session()
    wallets = st.sampled_from([known["wallet"], known["creator"], str(Keypair().pubkey())])
    failures: list[str] = []
    operations = 0

    def run(strategy: st.SearchStrategy[Any], real_wallets: bool) -> None:
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
            statuses[response.status_code] += 1
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
                    run(strategy, real_wallets)
                except Unsatisfiable:  # nothing to break in an operation without parameters
                    assert mode == "negative", (op.path, mode)
                except (Exception, BaseExceptionGroup) as e:  # a check failed, or no answer
                    if attempt == 1 and generator_flake(e):
                        continue
                    failures.append(f"{op.method.upper()} {op.path} [{mode}]: {e}")
                break
    assert operations >= 20, f"only {operations} operations in the spec?"
    return failures


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
    settings_ = api_settings(
        db_url,
        validator.rpc_url,
        validator.ws_url,
        tmp_path,
        ADMIN_WALLETS=str(Keypair().pubkey()),
    )
    stop = asyncio.Event()
    async with ChainClient(validator.rpc_url) as client:
        indexer = Indexer(pool, client, ws_url=validator.ws_url, poll_interval=0.2)
        known = await seed_world(validator, client, indexer)
        following = asyncio.create_task(indexer.run(stop))  # health is then 200, as in service
        try:
            async with running_api(settings_) as http:
                spec = (await http.get("/openapi.json")).json()
                statuses: Counter[int] = Counter()
                failures = await asyncio.to_thread(fuzz, spec, str(http.base_url), known, statuses)
                found = [(p, (await http.get("/api/markets", params=p)).status_code) for p in FOUND]
        finally:
            stop.set()
            await following
    print("statuses answered:", dict(sorted(statuses.items())))
    assert not failures, "\n\n".join(failures)
    # The run reached the handlers: successes as well as refusals.
    assert statuses[200] >= 50 and sum(statuses.values()) >= 500, statuses
    assert [s for _, s in found] == [422] * len(FOUND), found
