"""Rate limits and the read cache through the real API (uvicorn on a socket), a real validator
and PostgreSQL:

- X-Forwarded-For counts only from TRUSTED_PROXIES: spoofed from loopback it changes nothing;
  from a trusted proxy each forwarded client has its own bucket;
- limits exact at the boundary: the 10th vote a minute from one IP is built, the 11th refused
  with 429, Retry-After and RateLimit-* headers; per wallet across two client IPs (the client
  binds to 127.0.0.1 and 127.0.0.2); trades at 30;
- one limit shared by two API processes through a real Redis (`REDIS_URL`, else the machine's
  127.0.0.1:6379, else a throwaway `redis-server`; skipped only when there is none);
- cache invalidation: a trade built by the API, signed, relayed and indexed live changes
  `GET /api/markets/{id}` (and the list) within a second, with a cache TTL far longer than that;
- the cached list does not go to PostgreSQL on every request (the cache's hit/miss counter in
  /metrics).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.indexer.service import Indexer
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b

from .api_fixtures import api_settings, running_api, sign_transaction

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
SOL = 1_000_000_000
LOCAL_REDIS = "redis://127.0.0.1:6379/15"


def _answers(url: str) -> bool:
    r = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(r.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        r.close()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL (must answer), else the machine's Redis, else a throwaway redis-server."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    if _answers(LOCAL_REDIS):
        yield LOCAL_REDIS
        return
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("no Redis: REDIS_URL unset, none at 127.0.0.1:6379, no redis-server on PATH")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    work = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _answers(url):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@asynccontextmanager
async def from_ip(http: httpx2.AsyncClient, ip: str) -> AsyncIterator[httpx2.AsyncClient]:
    """A client of the same server whose requests come from another loopback address."""
    transport = httpx2.AsyncHTTPTransport(local_address=ip)
    async with httpx2.AsyncClient(base_url=http.base_url, transport=transport, timeout=60) as c:
        yield c


async def proposed_market(
    v: LocalValidator, client: ChainClient, pool: AsyncConnectionPool, name: str
) -> tuple[str, Keypair]:
    creator = Keypair()
    await client.request_airdrop(creator.pubkey(), 500 * SOL)
    mid = hashlib.sha256(name.encode()).digest()
    await client.send(
        [b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, creator.pubkey())], creator
    )
    await Indexer(pool, client).sync()
    return mid.hex(), creator


def vote_body(wallet: Keypair | None = None) -> dict[str, Any]:
    return {"wallet": str((wallet or Keypair()).pubkey()), "kind": "proposal", "vote": True}


def assert_limited(r: httpx2.Response, limit: int) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert r.headers["RateLimit-Limit"] == str(limit)
    assert r.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert 1 <= int(r.headers["RateLimit-Reset"]) <= 60


async def test_vote_and_trade_limits_are_exact_per_ip_and_per_wallet(
    validator: LocalValidator,
    client: ChainClient,
    pool: AsyncConnectionPool,
    db_url: str,
    tmp_path: Path,
) -> None:
    mid, _ = await proposed_market(validator, client, pool, "rate limited")
    settings = api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path)
    async with running_api(settings) as http:
        # Per IP: ten different wallets from one address; the 10th is built, the 11th refused.
        for i in range(1, 11):
            r = await http.post(f"/api/markets/{mid}/vote", json=vote_body())
            assert r.status_code == 200, (i, r.text)
            assert r.headers["RateLimit-Limit"] == "10"
            assert r.headers["RateLimit-Remaining"] == str(10 - i)
        assert_limited(await http.post(f"/api/markets/{mid}/vote", json=vote_body()), 10)
        # Another address is not affected...
        async with from_ip(http, "127.0.0.2") as other:
            r = await other.post(f"/api/markets/{mid}/vote", json=vote_body())
            assert r.status_code == 200 and r.headers["RateLimit-Remaining"] == "9", r.text

        # Per wallet: one wallet from two addresses, five each; its 11th is refused on either.
        voter = Keypair()
        async with from_ip(http, "127.0.0.3") as a, from_ip(http, "127.0.0.4") as c:
            for i in range(1, 11):
                r = await (a if i % 2 else c).post(
                    f"/api/markets/{mid}/vote", json=vote_body(voter)
                )
                assert r.status_code == 200, (i, r.text)
                # The most restrictive of the IP's and the wallet's counts.
                assert r.headers["RateLimit-Remaining"] == str(10 - i)
            assert_limited(await a.post(f"/api/markets/{mid}/vote", json=vote_body(voter)), 10)
            assert_limited(await c.post(f"/api/markets/{mid}/vote", json=vote_body(voter)), 10)
            # ...while a fresh wallet from those addresses still passes (each IP used 5-6).
            r = await a.post(f"/api/markets/{mid}/vote", json=vote_body())
            assert r.status_code == 200, r.text

        # Trades: 30 a minute. The market is not ACTIVE, so each is refused with 409, but
        # counted first: the 31st is a 429.
        trade = {"outcome": "yes", "shares": SOL, "slippage_bps": 100}
        async with from_ip(http, "127.0.0.5") as t:
            for i in range(1, 31):
                r = await t.post(
                    f"/api/markets/{mid}/buy", json={"wallet": str(Keypair().pubkey()), **trade}
                )
                assert r.status_code == 409, (i, r.text)
            r = await t.post(
                f"/api/markets/{mid}/buy", json={"wallet": str(Keypair().pubkey()), **trade}
            )
            assert_limited(r, 30)


async def test_forwarded_for_counts_only_from_trusted_proxies(
    validator: LocalValidator, db_url: str, tmp_path: Path
) -> None:
    mid = hashlib.sha256(b"no such market").hexdigest()  # counted before the 404

    async def eleven_votes(http: httpx2.AsyncClient, forwarded_for: str) -> list[int]:
        """Eleven votes from this address, forwarded for `forwarded_for` % 1..11."""
        return [
            (
                await http.post(
                    f"/api/markets/{mid}/vote",
                    json=vote_body(),
                    headers={"X-Forwarded-For": forwarded_for % i},
                )
            ).status_code
            for i in range(1, 12)
        ]

    # Nobody trusted (the default), loopback included: all eleven count against 127.0.0.1.
    settings = api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path)
    async with running_api(settings) as http:
        assert await eleven_votes(http, "203.0.113.%d") == [404] * 10 + [429]
    # Loopback as a trusted proxy: each forwarded client is counted on its own...
    trusting = api_settings(
        db_url, validator.rpc_url, validator.ws_url, tmp_path, TRUSTED_PROXIES="127.0.0.1"
    )
    async with running_api(trusting) as http:
        assert await eleven_votes(http, "203.0.113.%d") == [404] * 11
        # ...and a client cannot pass itself off as others by prepending addresses: the
        # right-most untrusted one counts.
        assert await eleven_votes(http, "198.51.100.%d, 203.0.113.99") == [404] * 10 + [429]


async def test_two_api_processes_share_one_limit_through_redis(
    validator: LocalValidator,
    client: ChainClient,
    pool: AsyncConnectionPool,
    db_url: str,
    tmp_path: Path,
    redis_url: str,
) -> None:
    mid, _ = await proposed_market(validator, client, pool, "shared limit")
    # A loopback address of its own, so no earlier run's counts (kept a minute in Redis) apply.
    ip = f"127.{random.randrange(1, 255)}.{random.randrange(0, 256)}.{random.randrange(1, 255)}"
    settings = api_settings(
        db_url, validator.rpc_url, validator.ws_url, tmp_path, REDIS_URL=redis_url
    )
    r_client = redis.Redis.from_url(redis_url)
    try:
        async with (
            running_api(settings) as one,
            running_api(settings) as two,
            from_ip(one, ip) as a,
            from_ip(two, ip) as c,
        ):
            assert a.base_url != c.base_url  # two servers, two sockets
            for i in range(1, 11):
                r = await (a if i % 2 else c).post(f"/api/markets/{mid}/vote", json=vote_body())
                assert r.status_code == 200, (i, r.text)
                assert r.headers["RateLimit-Remaining"] == str(10 - i)
            assert_limited(await a.post(f"/api/markets/{mid}/vote", json=vote_body()), 10)
            assert_limited(await c.post(f"/api/markets/{mid}/vote", json=vote_body()), 10)
        assert r_client.zcard(f"hm:rl:votes:ip:{ip}") == 10
    finally:
        r_client.delete(f"hm:rl:votes:ip:{ip}")
        r_client.close()


def cache_counts(metrics: str) -> dict[str, float]:
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(
            r'^hybridmarket_api_cache_total\{result="(\w+)"\} (\S+)$', metrics, re.M
        )
    }


async def wait_for(probe: Any, what: str, timeout: float = 10.0, every: float = 0.005) -> float:
    """Poll `probe()` until true; returns the monotonic time it first was."""
    deadline = time.monotonic() + timeout
    while not await probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(every)
    return time.monotonic()


async def test_a_trade_changes_the_cached_market_within_a_second(
    validator: LocalValidator,
    client: ChainClient,
    pool: AsyncConnectionPool,
    db_url: str,
    tmp_path: Path,
) -> None:
    backend = load_keypair(validator.key_paths["backend_authority"])
    mid, creator = await proposed_market(validator, client, pool, "cached market")
    raw = bytes.fromhex(mid)
    voters = [Keypair() for _ in range(10)]
    for x in voters:
        await client.request_airdrop(x.pubkey(), SOL)
    await asyncio.gather(
        *(client.send([b.submit_proposal_vote(x.pubkey(), raw, True)], x) for x in voters)
    )
    await client.send([b.approve_market(backend.pubkey(), raw, 10, 0)], backend)
    await client.send([b.activate_market(creator.pubkey(), raw)], creator)
    trader = Keypair()
    await client.request_airdrop(trader.pubkey(), 100 * SOL)
    # A long TTL: only the indexer's signal can make a change visible within a second.
    settings = api_settings(
        db_url, validator.rpc_url, validator.ws_url, tmp_path, API_CACHE_TTL=600
    )
    stop = asyncio.Event()
    indexer = Indexer(pool, client, ws_url=validator.ws_url, poll_interval=0.2)
    following = asyncio.create_task(indexer.run(stop))
    try:
        async with running_api(settings) as http:

            async def market() -> dict[str, Any]:
                r = await http.get(f"/api/markets/{mid}")
                assert r.status_code in (200, 404), r.text
                return r.json() if r.status_code == 200 else {}

            async def listed() -> dict[str, Any]:
                r = await http.get("/api/markets", params={"state": "ACTIVE", "limit": 50})
                assert r.status_code == 200, r.text
                [m] = [m for m in r.json()["markets"] if m["id"] == mid] or [{}]
                return m

            async def active() -> bool:
                return (await market()).get("state") == "ACTIVE"

            await wait_for(active, "the market to be ACTIVE in the API")
            # Both cached now: the market with no trade, the list showing it.
            before = await market()
            assert before["trades_count"] == 0 and (await listed())["volume"] == 0

            r = await http.post(
                f"/api/markets/{mid}/buy",
                json={"wallet": str(trader.pubkey()), "outcome": "yes", "amount": SOL},
            )
            assert r.status_code == 200, r.text
            quote = r.json()["quote"]
            signed = sign_transaction(r.json()["transaction"], trader)
            r = await http.post("/api/transactions", json={"transaction": signed, "wait": "none"})
            assert r.status_code == 200 and r.json()["status"] == "submitted", r.text

            async def indexed() -> bool:
                async with pool.connection() as conn:
                    cur = await conn.execute(
                        "SELECT trades_count FROM markets WHERE id = %s", (mid,)
                    )
                    row = await cur.fetchone()
                return row is not None and row[0] == 1

            async def seen() -> bool:
                return (await market())["trades_count"] == 1

            async def seen_in_list() -> bool:
                return (await listed()).get("volume", 0) > 0

            t_indexed = await wait_for(indexed, "the trade to be indexed")
            t_seen = await wait_for(seen, "the API to show the trade", every=0.01)
            t_listed = await wait_for(seen_in_list, "the list to show the trade", every=0.01)
            print(
                f"visible {t_seen - t_indexed:.3f} s after indexing, list {t_listed - t_indexed:.3f} s"
            )
            assert t_seen - t_indexed < 1.0, t_seen - t_indexed
            assert t_listed - t_indexed < 1.0, t_listed - t_indexed
            after = await market()
            assert after["shares_yes"] == quote["shares"]
            assert after["price_yes"] == quote["price_yes_after"]
            assert after["volume"] > 0

            # The cached list: 50 more requests, served without a single load (cache miss).
            params = {"state": "ACTIVE", "limit": 50}
            assert (await http.get("/api/markets", params=params)).status_code == 200
            first = cache_counts((await http.get("/metrics")).text)
            for _ in range(50):
                assert (await http.get("/api/markets", params=params)).status_code == 200
            last = cache_counts((await http.get("/metrics")).text)
            assert last.get("miss", 0) - first.get("miss", 0) == 0, (first, last)
            assert last["hit"] - first["hit"] >= 50, (first, last)
    finally:
        stop.set()
        await following
