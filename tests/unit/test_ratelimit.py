"""The in-memory rate limiter on a fake clock, the headers and check_all."""

from __future__ import annotations

import asyncio

import pytest

from hybridmarket.api.ratelimit import (
    DEFAULT_LIMITS,
    Decision,
    Limit,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    check_all,
    headers,
    ip_key,
    limiter_from_url,
    most_restrictive,
    wallet_key,
)

pytestmark = pytest.mark.unit

VOTES = Limit("votes", 10, 60)


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def test_exact_boundary_and_slide() -> None:
    clock = Clock()
    lim = MemoryRateLimiter(now=clock)
    for i in range(10):
        d = await lim.hit(VOTES, "ip:1.2.3.4")
        assert d == Decision(True, 10, 9 - i, 60.0, 0)
    refused = await lim.hit(VOTES, "ip:1.2.3.4")
    assert not refused.allowed
    assert refused.remaining == 0
    assert refused.retry_after_s == 60 and refused.reset_s == 60.0

    clock.t += 59.5  # still inside the window: refused, a shorter wait
    d = await lim.hit(VOTES, "ip:1.2.3.4")
    assert not d.allowed and d.retry_after_s == 1 and d.reset_s == pytest.approx(0.5)

    clock.t += 0.5  # exactly window_s after the first ten: they no longer count
    d = await lim.hit(VOTES, "ip:1.2.3.4")
    assert d.allowed and d.remaining == 9 and d.reset_s == 60.0


async def test_sliding_not_fixed_window() -> None:
    clock = Clock()
    lim = MemoryRateLimiter(now=clock)
    for _ in range(5):
        assert (await lim.hit(VOTES, "k")).allowed
    clock.t += 30
    for _ in range(5):
        assert (await lim.hit(VOTES, "k")).allowed
    clock.t += 29  # 59 s after the first five
    d = await lim.hit(VOTES, "k")
    assert not d.allowed and d.reset_s == pytest.approx(1.0) and d.retry_after_s == 1
    clock.t += 1  # the first five leave; the five of t+30 stay
    d = await lim.hit(VOTES, "k")
    assert d.allowed and d.remaining == 4 and d.reset_s == pytest.approx(30.0)


async def test_refused_hits_are_not_logged() -> None:
    clock = Clock()
    lim = MemoryRateLimiter(now=clock)
    small = Limit("x", 2, 10)
    assert (await lim.hit(small, "k")).allowed
    clock.t += 5
    assert (await lim.hit(small, "k")).allowed
    for _ in range(50):  # hammering while refused does not push the reset back
        clock.t += 0.01
        assert not (await lim.hit(small, "k")).allowed
    clock.t = 1010.0
    assert (await lim.hit(small, "k")).allowed


async def test_keys_and_limits_are_independent() -> None:
    clock = Clock()
    lim = MemoryRateLimiter(now=clock)
    for _ in range(10):
        assert (await lim.hit(VOTES, "ip:a")).allowed
    assert not (await lim.hit(VOTES, "ip:a")).allowed
    assert (await lim.hit(VOTES, "ip:b")).allowed
    assert (await lim.hit(DEFAULT_LIMITS["trades"], "ip:a")).allowed
    assert (await lim.hit(VOTES, "wallet:a")).allowed


async def test_concurrent_hits_allow_exactly_the_limit() -> None:
    lim = MemoryRateLimiter()
    trades = Limit("trades", 30, 60)
    decisions = await asyncio.gather(*(lim.hit(trades, "k") for _ in range(100)))
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 30
    assert sorted(d.remaining for d in allowed) == list(range(30))


def test_headers() -> None:
    ok = Decision(True, 30, 29, 59.2, 0)
    assert headers(ok) == {
        "RateLimit-Limit": "30",
        "RateLimit-Remaining": "29",
        "RateLimit-Reset": "60",
    }
    no = Decision(False, 10, 0, 0.3, 1)
    assert headers(no) == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "1",
        "Retry-After": "1",
    }
    # float noise does not add a second
    assert headers(Decision(True, 1, 0, 60.000000000001, 0))["RateLimit-Reset"] == "60"


async def test_check_all_combines_ip_and_wallet() -> None:
    clock = Clock()
    lim = MemoryRateLimiter(now=clock)
    trades = Limit("trades", 30, 60)
    per_wallet = Limit("trades", 3, 60)
    pairs = [(trades, ip_key("1.2.3.4")), (per_wallet, wallet_key("W1"))]

    d = await check_all(lim, pairs)
    assert d.allowed and d.limit == 3 and d.remaining == 2  # the smallest remaining wins
    await check_all(lim, pairs)
    await check_all(lim, pairs)
    d = await check_all(lim, pairs)
    assert not d.allowed and d.limit == 3 and d.retry_after_s == 60
    assert headers(d)["Retry-After"] == "60"

    # Every attempt counts: the refused request still took an IP slot (30 - 4).
    d = await lim.hit(trades, ip_key("1.2.3.4"))
    assert d.remaining == 30 - 5

    # Another wallet behind the same IP is not held back by W1's limit.
    d = await check_all(lim, [(trades, ip_key("1.2.3.4")), (per_wallet, wallet_key("W2"))])
    assert d.allowed and d.remaining == 2

    # The IP's limit refuses every wallet behind it once exhausted.
    ip_small = Limit("votes", 2, 60)
    await check_all(lim, [(ip_small, ip_key("5.6.7.8")), (VOTES, wallet_key("A"))])
    await check_all(lim, [(ip_small, ip_key("5.6.7.8")), (VOTES, wallet_key("B"))])
    d = await check_all(lim, [(ip_small, ip_key("5.6.7.8")), (VOTES, wallet_key("C"))])
    assert not d.allowed and d.limit == 2

    with pytest.raises(ValueError):
        await check_all(lim, [])


def test_most_restrictive() -> None:
    a = Decision(True, 30, 5, 10.0, 0)
    b = Decision(True, 10, 5, 40.0, 0)
    c = Decision(False, 10, 0, 3.0, 3)
    d = Decision(False, 5, 0, 50.0, 50)
    assert most_restrictive([a, b]) is b  # equal remaining: the later reset
    assert most_restrictive([a, c, b]) is c
    assert most_restrictive([c, d, a]) is d  # the longest wait


async def test_idle_keys_are_dropped() -> None:
    clock = Clock()
    lim = MemoryRateLimiter(now=clock, sweep_every_s=10)
    short = Limit("s", 5, 1)
    for i in range(1000):
        await lim.hit(short, f"ip:{i}")
    await lim.hit(VOTES, "ip:long")  # a 60 s window: not idle at the next sweep
    assert len(lim) == 1001
    clock.t += 10
    await lim.hit(short, "ip:new")
    assert len(lim) == 2  # ip:long and ip:new
    clock.t += 60
    await lim.hit(short, "ip:newer")  # a sweep is due: ip:long and ip:new have gone idle
    assert len(lim) == 1
    clock.t += 5
    await lim.hit(short, "ip:between")  # no sweep due yet: idle ip:newer is still held
    assert len(lim) == 2
    clock.t += 5
    await lim.hit(short, "ip:last")
    assert len(lim) == 1


async def test_max_keys_forgets_the_least_recently_seen() -> None:
    clock = Clock()
    lim = MemoryRateLimiter(now=clock, max_keys=10)
    one = Limit("one", 1, 60)
    assert (await lim.hit(one, "first")).allowed
    for i in range(9):
        await lim.hit(one, f"k{i}")
    assert not (await lim.hit(one, "first")).allowed  # seen again: now the most recent
    for i in range(9, 20):
        await lim.hit(one, f"k{i}")
    assert len(lim) == 10
    assert not (await lim.hit(one, "k19")).allowed  # recent keys kept their count
    assert (await lim.hit(one, "first")).allowed  # evicted: it starts afresh


def test_limit_validation_and_defaults() -> None:
    with pytest.raises(ValueError):
        Limit("x", 0, 60)
    with pytest.raises(ValueError):
        Limit("x", 1, 0)
    with pytest.raises(ValueError):
        Limit("", 1, 1)
    assert DEFAULT_LIMITS["votes"] == Limit("votes", 10, 60)
    assert DEFAULT_LIMITS["trades"] == Limit("trades", 30, 60)
    assert set(DEFAULT_LIMITS) == {
        "votes",
        "trades",
        "comments",
        "reads",
        "admin",
        "relay",
        "markets",
    }
    assert all(name == lim.name for name, lim in DEFAULT_LIMITS.items())


def test_limits_can_be_overridden_by_configuration() -> None:
    from hybridmarket.api.ratelimit import limits_with

    limits = limits_with("comments=20/60, trades=100/30")
    assert limits["comments"] == Limit("comments", 20, 60)
    assert limits["trades"] == Limit("trades", 100, 30)
    assert limits["votes"] == DEFAULT_LIMITS["votes"]
    assert limits_with("") == dict(DEFAULT_LIMITS)
    for bad in ("comments", "comments=20", "comments=x/60", "comments=0/60"):
        with pytest.raises(ValueError, match="rate limit"):
            limits_with(bad)


async def test_limiter_from_url() -> None:
    mem = limiter_from_url(None)
    assert isinstance(mem, MemoryRateLimiter) and isinstance(mem, RateLimiter)
    assert isinstance(limiter_from_url(""), MemoryRateLimiter)
    red = limiter_from_url("redis://127.0.0.1:1/0")  # no connection until the first hit
    assert isinstance(red, RedisRateLimiter) and isinstance(red, RateLimiter)
    assert red.redis_key(VOTES, "ip:::1") == "hm:rl:votes:ip:::1"
    await red.close()
    await mem.close()
