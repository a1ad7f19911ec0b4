"""Rate limits for the API gateway: per client IP and per wallet, counted in memory (one process)
or in Redis (`REDIS_URL` set: every API process, on any machine, enforces one shared limit).

Algorithm: a sliding-window log, identical in both backends. A request at time `t` counts against
`Limit(name, limit, window_s)` for a key if fewer than `limit` earlier *allowed* requests of that
key lie in the window `(t - window_s, t]`; then it is allowed and logged, otherwise refused and not
logged (a client hammering a refused key is let back in as soon as its oldest logged request
leaves the window). So the `limit`-th request in any window of `window_s` seconds is allowed and
the `limit + 1`-th refused, exactly; a request logged at `t0` stops counting at `t0 + window_s`.

- Memory (`MemoryRateLimiter`): a deque of timestamps per (limit name, key), under a lock (safe
  for coroutines and for threads, e.g. FastAPI's TestClient). Memory is bounded: keys whose every
  entry has left the window are dropped by a sweep every `sweep_every_s` seconds, and at most
  `max_keys` keys are kept; past that the least recently seen key is forgotten (it starts afresh:
  a flood of distinct keys can reset someone's count, but can never exhaust memory).
- Redis (`RedisRateLimiter`): one ZSET per key, `hm:rl:<limit name>:<key>`, members scored with
  the Redis server's own `TIME` in microseconds, so processes whose clocks disagree still agree.
  One Lua script does ZREMRANGEBYSCORE, ZCARD, ZADD and PEXPIRE atomically (EVALSHA, falling back
  to EVAL when the server does not know the script). A ZSET holds at most `limit` members and
  expires `window_s` after its last allowed request. A Redis that does not answer (within
  `REDIS_TIMEOUT_S`) raises `LimiterUnavailable`: the API then fails closed (503).

`Decision.reset_s` is the time until the oldest logged request leaves the window, that is until a
slot frees (when refused, the earliest moment a retry can succeed). `headers()` turns a decision
into the IETF draft headers `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and, when
refused, `Retry-After`.

`check_all()` hits every (limit, key) pair of a request, e.g. the IP's and the wallet's, and
returns the most restrictive decision. Every attempt counts: a request refused by one key still
consumes a slot in each other key that allowed it (no two-phase reservation across keys; a client
retrying against a refused limit drains its others too, which is the common and simplest rule).

Default limits (`DEFAULT_LIMITS`, all per 60 s, each applied per IP and per wallet when the
request names one):

| name     | limit | for                                                               |
| -------- | ----- | ----------------------------------------------------------------- |
| votes    | 10    | proposal and dispute votes                                        |
| trades   | 30    | buy / sell transactions built or submitted                        |
| comments | 5     | posting a comment                                                 |
| reads    | 600   | the nonce, faucet balance, discussion and IPFS gateway reads      |
| admin    | 10    | admin / operator endpoints                                        |
| relay    | 60    | signed transactions relayed to the Solana RPC                     |

The market list, detail, price and history reads are not limited: they are served from the read
cache (the detail without routing, see `api.cache.CachedReads`), and a limit would put a limiter
round trip (Redis) on the hottest path. Limit them in front of the API (balancer, CDN) if needed.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

if TYPE_CHECKING:  # the `redis` extra; imported only when REDIS_URL is set
    import redis.asyncio as aioredis

__all__ = [
    "DEFAULT_LIMITS",
    "KEY_PREFIX",
    "Decision",
    "Limit",
    "LimiterUnavailable",
    "MemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "check_all",
    "headers",
    "ip_key",
    "limiter_from_url",
    "most_restrictive",
    "wallet_key",
]

KEY_PREFIX: Final = "hm:rl:"
# A request waits at most this long (connecting, then answering) for Redis to count it.
REDIS_TIMEOUT_S: Final = 1.0


class LimiterUnavailable(Exception):
    """The shared store of the counts (Redis) did not answer: nothing was counted."""


@dataclass(frozen=True)
class Limit:
    """At most `limit` requests per key in any window of `window_s` seconds."""

    name: str
    limit: int
    window_s: int

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a limit needs a name")
        if self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.window_s < 1:
            raise ValueError(f"window_s must be >= 1, got {self.window_s}")


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit.

    `remaining`: requests still allowed now (0 when refused). `reset_s`: seconds until the oldest
    counted request leaves the window (a slot frees). `retry_after_s`: 0 when allowed, else
    `ceil(reset_s)` and at least 1.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_s: float
    retry_after_s: int


DEFAULT_LIMITS: Final[Mapping[str, Limit]] = MappingProxyType(
    {
        "votes": Limit("votes", 10, 60),
        "trades": Limit("trades", 30, 60),
        "comments": Limit("comments", 5, 60),
        "reads": Limit("reads", 600, 60),
        "admin": Limit("admin", 10, 60),
        "relay": Limit("relay", 60, 60),
        "markets": Limit("markets", 10, 60),
    }
)


def limits_with(overrides: str) -> dict[str, Limit]:
    """DEFAULT_LIMITS with `name=limit/window_s` overrides (comma-separated), e.g. from the
    RATE_LIMITS setting; raises ValueError naming the bad entry."""
    out = dict(DEFAULT_LIMITS)
    for item in filter(None, (part.strip() for part in overrides.split(","))):
        try:
            name, spec = item.split("=", 1)
            limit, window = spec.split("/", 1)
            out[name.strip()] = Limit(name.strip(), int(limit), int(window))
        except ValueError:
            raise ValueError(f"rate limit {item!r}: expected name=limit/window_seconds") from None
    return out


def ip_key(ip: str) -> str:
    return f"ip:{ip}"


def wallet_key(wallet: str) -> str:
    return f"wallet:{wallet}"


@runtime_checkable
class RateLimiter(Protocol):
    async def hit(self, limit: Limit, key: str) -> Decision:
        """Count one request of `key` against `limit`, atomically, and say whether it may pass."""
        ...

    async def ping(self) -> None:
        """Return when the limiter can count requests, else raise `LimiterUnavailable`."""
        ...

    async def close(self) -> None: ...


def _ceil_s(seconds: float) -> int:
    # Rounded to the microsecond first, so float noise (60.000000000001) does not add a second.
    return math.ceil(round(seconds, 6))


def _decision(allowed: bool, limit: int, remaining: int, reset_s: float) -> Decision:
    reset_s = max(reset_s, 0.0)
    retry = 0 if allowed else max(1, _ceil_s(reset_s))
    return Decision(allowed, limit, max(remaining, 0), reset_s, retry)


class _Log:
    __slots__ = ("expires_at", "times")

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.expires_at = 0.0  # when every logged request has left the window


class MemoryRateLimiter:
    """Sliding-window log in this process's memory (see the module docstring)."""

    def __init__(
        self,
        *,
        now: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
        sweep_every_s: float = 60.0,
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be >= 1")
        self._now = now
        self._max_keys = max_keys
        self._sweep_every_s = sweep_every_s
        self._next_sweep: float | None = None
        self._logs: OrderedDict[tuple[str, str], _Log] = OrderedDict()  # least recently hit first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys are tracked."""
        return len(self._logs)

    async def hit(self, limit: Limit, key: str) -> Decision:
        return self.hit_now(limit, key)

    def hit_now(self, limit: Limit, key: str) -> Decision:
        """`hit`, synchronously (it never waits)."""
        with self._lock:
            now = self._now()
            if self._next_sweep is None:
                self._next_sweep = now + self._sweep_every_s
            elif now >= self._next_sweep:
                self._sweep(now)
                self._next_sweep = now + self._sweep_every_s

            ident = (limit.name, key)
            log = self._logs.get(ident)
            if log is None:
                while len(self._logs) >= self._max_keys:
                    self._logs.popitem(last=False)
                log = self._logs[ident] = _Log()
            else:
                self._logs.move_to_end(ident)

            times = log.times
            cutoff = now - limit.window_s
            while times and times[0] <= cutoff:
                times.popleft()
            count = len(times)
            allowed = count < limit.limit
            if allowed:
                times.append(now)
                count += 1
                log.expires_at = now + limit.window_s
            return _decision(
                allowed, limit.limit, limit.limit - count, times[0] + limit.window_s - now
            )

    def _sweep(self, now: float) -> None:
        idle = [ident for ident, log in self._logs.items() if log.expires_at <= now]
        for ident in idle:
            del self._logs[ident]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        with self._lock:
            self._logs.clear()


# KEYS[1] the key's ZSET; ARGV[1] limit; ARGV[2] window in microseconds.
# Returns {allowed 0/1, count after this hit, microseconds until the oldest entry leaves}.
_SCRIPT: Final = """
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  -- unique member: members sharing a score are numbered 0..n-1 (they are removed together)
  local n = redis.call('ZCOUNT', key, now, now)
  redis.call('ZADD', key, now, t[1] .. string.format('%06d', tonumber(t[2])) .. ':' .. n)
  redis.call('PEXPIRE', key, math.ceil(window / 1000))
  count = count + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local reset = 0
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, count, reset}
"""


class RedisRateLimiter:
    """Sliding-window log shared through Redis (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = KEY_PREFIX,
        client: aioredis.Redis | None = None,
    ) -> None:
        import redis.asyncio as aioredis

        self.prefix = prefix
        self._owns_client = client is None
        self._client: aioredis.Redis = (
            client
            if client is not None
            else aioredis.from_url(
                url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
            )
        )
        self._script: str = _SCRIPT
        self._sha = hashlib.sha1(self._script.encode()).hexdigest()

    def redis_key(self, limit: Limit, key: str) -> str:
        return f"{self.prefix}{limit.name}:{key}"

    async def hit(self, limit: Limit, key: str) -> Decision:
        from redis.exceptions import NoScriptError, RedisError

        rkey = self.redis_key(limit, key)
        args = (limit.limit, limit.window_s * 1_000_000)
        try:
            try:
                reply = await self._client.evalsha(self._sha, 1, rkey, *args)
            except NoScriptError:
                reply = await self._client.eval(self._script, 1, rkey, *args)  # also caches it
        except (RedisError, OSError) as e:
            raise LimiterUnavailable(f"Redis: {type(e).__name__}: {e}") from e
        allowed, count, reset_us = (int(x) for x in reply)
        return _decision(bool(allowed), limit.limit, limit.limit - count, reset_us / 1_000_000)

    async def ping(self) -> None:
        from redis.exceptions import RedisError

        try:
            await self._client.ping()
        except (RedisError, OSError) as e:
            raise LimiterUnavailable(f"Redis: {type(e).__name__}: {e}") from e

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def limiter_from_url(redis_url: str | None) -> RateLimiter:
    """Redis-backed when a URL is given (shared by every process), else in this process's memory."""
    if redis_url:
        return RedisRateLimiter(redis_url)
    return MemoryRateLimiter()


def headers(decision: Decision) -> dict[str, str]:
    """IETF draft `RateLimit-*` response headers, plus `Retry-After` when refused."""
    out = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(_ceil_s(decision.reset_s)),
    }
    if not decision.allowed:
        out["Retry-After"] = str(decision.retry_after_s)
    return out


def most_restrictive(decisions: Sequence[Decision]) -> Decision:
    """Refused if any is refused (the one to wait longest for); otherwise the smallest remaining
    (on a tie, the later reset)."""
    if not decisions:
        raise ValueError("no decisions")
    refused = [d for d in decisions if not d.allowed]
    if refused:
        return max(refused, key=lambda d: (d.retry_after_s, d.reset_s))
    return min(decisions, key=lambda d: (d.remaining, -d.reset_s))


async def check_all(limiter: RateLimiter, limits_and_keys: Sequence[tuple[Limit, str]]) -> Decision:
    """Hit every (limit, key) pair, concurrently, and return the most restrictive decision.

    Every pair is counted even when another refuses (see the module docstring)."""
    if not limits_and_keys:
        raise ValueError("check_all needs at least one (limit, key) pair")
    decisions = await asyncio.gather(*(limiter.hit(lim, key) for lim, key in limits_and_keys))
    return most_restrictive(decisions)
