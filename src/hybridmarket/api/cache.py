"""The read cache: entries tagged with the markets they show, dropped when the indexer signals
that those markets changed (and every list on any change), with a short TTL as a safety net
for a missed signal. Concurrent misses of one key share a single load (no stampede)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

HITS = Counter("hybridmarket_api_cache", "API cache lookups", ["result"])
LIST_TAG = "*list*"


@dataclass
class _Entry:
    value: Any
    expires: float
    tags: frozenset[str]


class Cache:
    def __init__(self, *, ttl: float = 30.0, max_entries: int = 20_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: OrderedDict[str, _Entry] = OrderedDict()
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self.generation = (
            0  # bumped by every invalidation: a load that started before is not stored
        )

    async def get(
        self,
        key: str,
        loader: Callable[[], Awaitable[Any]],
        *,
        tags: Iterable[str] = (),
        ttl: float | None = None,
    ) -> Any:
        now = time.monotonic()
        entry = self._data.get(key)
        if entry is not None and entry.expires > now:
            self._data.move_to_end(key)
            HITS.labels("hit").inc()
            return entry.value
        pending = self._loading.get(key)
        if pending is not None:
            HITS.labels("shared").inc()
            return await asyncio.shield(pending)
        HITS.labels("miss").inc()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = fut
        generation = self.generation
        try:
            value = await loader()
        except BaseException as e:
            fut.set_exception(e)
            fut.exception()  # mark retrieved
            raise
        finally:
            self._loading.pop(key, None)
        fut.set_result(value)
        if generation == self.generation:
            self._data[key] = _Entry(value, now + (ttl or self.ttl), frozenset(tags))
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

    def peek(self, key: str) -> Any:
        """The fresh value of `key`, or None; never loads (see `CachedReads`)."""
        entry = self._data.get(key)
        if entry is None or entry.expires <= time.monotonic():
            return None
        self._data.move_to_end(key)
        HITS.labels("hit").inc()
        return entry.value

    def invalidate(self, markets: Iterable[str]) -> int:
        """Drop every entry showing one of `markets`, and every list. Returns how many."""
        wanted = set(markets) | {LIST_TAG}
        self.generation += 1
        doomed = [k for k, e in self._data.items() if e.tags & wanted]
        for k in doomed:
            del self._data[k]
        return len(doomed)

    def clear(self) -> None:
        self.generation += 1
        self._data.clear()


_MARKET_PATH = re.compile(r"^/api/markets/([0-9a-f]{64})$")


class CachedReads:
    """A pure-ASGI front for the hottest read, `GET /api/markets/{id}`: when the encoded market
    is in the cache it is sent straight away, without routing, dependency injection or a
    response object; anything else (a miss included, which the route then loads and caches)
    goes to the app. bench/api.py measures what this saves."""

    def __init__(self, app: Any, cache: Callable[[], Cache | None]) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("query_string"):
            m = _MARKET_PATH.match(scope["path"])
            cache = self.cache() if m else None
            body = cache.peek(f"market.json:{m.group(1)}") if cache is not None and m else None
            if body is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
