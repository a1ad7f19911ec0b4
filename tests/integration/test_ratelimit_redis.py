"""The Redis rate limiter against a real Redis server: `REDIS_URL` if set (then these tests must
run), else redis://127.0.0.1:6379/15 if a server answers there, else a throwaway `redis-server`
started on a free port if one is on PATH; skipped only when none of these exists.

Every test writes under its own key prefix (unique per run) and deletes its keys afterwards."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from hybridmarket.api.ratelimit import (
    KEY_PREFIX,
    Limit,
    RedisRateLimiter,
    check_all,
    ip_key,
    wallet_key,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

LOCAL_URL = "redis://127.0.0.1:6379/15"
RUN_ID = uuid.uuid4().hex[:12]


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env_url = os.environ.get("REDIS_URL")
    if env_url:
        yield env_url  # configured: run, and fail loudly if it does not answer
        return
    if _answers(LOCAL_URL):
        yield LOCAL_URL
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip(
            "no Redis: REDIS_URL is unset, nothing answers at 127.0.0.1:6379 "
            "and no redis-server is on PATH"
        )
    port = _free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {port} did not start")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
async def make_limiter(
    redis_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[[], RedisRateLimiter]]:
    """New `RedisRateLimiter`s (each its own client, as separate API processes would have)
    sharing this test's key prefix; closed and their keys deleted afterwards."""
    prefix = f"{KEY_PREFIX}test:{RUN_ID}:{request.node.name}:"
    made: list[RedisRateLimiter] = []

    def make() -> RedisRateLimiter:
        limiter = RedisRateLimiter(redis_url, prefix=prefix)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.close()
    admin = aioredis.from_url(redis_url)
    try:
        keys = [k async for k in admin.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await admin.delete(*keys)
    finally:
        await admin.aclose()


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_exact_boundary(
    make_limiter: Callable[[], RedisRateLimiter], admin: aioredis.Redis
) -> None:
    lim = make_limiter()
    votes = Limit("votes", 10, 60)
    for i in range(10):
        d = await lim.hit(votes, "ip:1.2.3.4")
        assert d.allowed and d.limit == 10 and d.remaining == 9 - i and d.retry_after_s == 0
        assert 55 < d.reset_s <= 60
    refused = await lim.hit(votes, "ip:1.2.3.4")
    assert not refused.allowed and refused.remaining == 0
    assert 1 <= refused.retry_after_s <= 60 and refused.retry_after_s >= refused.reset_s

    key = lim.redis_key(votes, "ip:1.2.3.4")
    assert key.startswith(lim.prefix) and key.endswith("votes:ip:1.2.3.4")
    assert await admin.zcard(key) == 10  # refused hits are not logged
    assert 0 < await admin.pttl(key) <= 60_000
    # scored with the server's clock, in microseconds
    sec, usec = await admin.time()
    server_us = sec * 1_000_000 + usec
    scores = [s for _, s in await admin.zrange(key, 0, -1, withscores=True)]
    assert all(server_us - 10_000_000 < s <= server_us for s in scores)


async def test_window_slides(make_limiter: Callable[[], RedisRateLimiter]) -> None:
    lim = make_limiter()
    small = Limit("s", 2, 1)
    assert (await lim.hit(small, "k")).allowed
    assert (await lim.hit(small, "k")).allowed
    refused = await lim.hit(small, "k")
    assert not refused.allowed and refused.retry_after_s == 1 and 0 < refused.reset_s <= 1
    await asyncio.sleep(refused.reset_s + 0.05)
    d = await lim.hit(small, "k")
    assert d.allowed


async def test_two_processes_share_one_limit(
    make_limiter: Callable[[], RedisRateLimiter],
) -> None:
    a, b = make_limiter(), make_limiter()
    trades = Limit("trades", 30, 60)
    remaining = []
    for i in range(30):
        d = await (a if i % 2 else b).hit(trades, wallet_key("W"))
        assert d.allowed
        remaining.append(d.remaining)
    assert remaining == list(range(29, -1, -1))
    assert not (await a.hit(trades, wallet_key("W"))).allowed
    assert not (await b.hit(trades, wallet_key("W"))).allowed
    assert (await a.hit(trades, wallet_key("other"))).allowed


async def test_concurrent_hits_allow_exactly_the_limit(
    make_limiter: Callable[[], RedisRateLimiter],
) -> None:
    a, b = make_limiter(), make_limiter()
    trades = Limit("trades", 30, 60)
    decisions = await asyncio.gather(
        *((a if i % 2 else b).hit(trades, ip_key("10.0.0.1")) for i in range(100))
    )
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 30
    assert sorted(d.remaining for d in allowed) == list(range(30))
    assert all(d.retry_after_s >= 1 for d in decisions if not d.allowed)


async def test_check_all_ip_and_wallet(make_limiter: Callable[[], RedisRateLimiter]) -> None:
    lim = make_limiter()
    per_ip, per_wallet = Limit("trades", 30, 60), Limit("trades", 2, 60)
    pairs = [(per_ip, ip_key("1.1.1.1")), (per_wallet, wallet_key("W"))]
    assert (await check_all(lim, pairs)).remaining == 1
    assert (await check_all(lim, pairs)).remaining == 0
    d = await check_all(lim, pairs)
    assert not d.allowed and d.limit == 2 and d.retry_after_s >= 1
    assert (await lim.hit(per_ip, ip_key("1.1.1.1"))).remaining == 30 - 4  # every attempt counts


async def test_evalsha_falls_back_when_the_server_lacks_the_script(
    make_limiter: Callable[[], RedisRateLimiter], admin: aioredis.Redis
) -> None:
    lim = make_limiter()
    # The same script with a unique comment: a sha this server has surely never seen.
    lim._script = f"{lim._script}\n-- {uuid.uuid4().hex}\n"
    lim._sha = hashlib.sha1(lim._script.encode()).hexdigest()
    assert await admin.script_exists(lim._sha) == [False]
    assert (await lim.hit(Limit("x", 1, 60), "k")).allowed  # NOSCRIPT, then EVAL
    assert await admin.script_exists(lim._sha) == [True]
    assert not (await lim.hit(Limit("x", 1, 60), "k")).allowed  # EVALSHA now
