"""The read cache: entries tagged with the markets they show, dropped when the indexer signals
that those markets changed (and every list on any change), with a short TTL as a safety net
for a missed signal. Concurrent misses of one key share a single load (no stampede).

Bounded by entries and by the bytes of its `bytes` values (the encoded bodies: a list page is
tens of kB, a market's body one). An invalidation finds its entries through an index by tag,
so its cost is the entries it drops, not the cache's size; and a load that was under way when
one of its tags was invalidated is not stored (it may have read the state before the change),
while loads of other markets' entries are."""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from hybridmarket.api.errors import (
    DATABASE_DOWN,
    ApiError,
    database_response,
    error_response,
    not_found,
)

if TYPE_CHECKING:
    from hybridmarket.api.state import ApiState

HITS = Counter("hybridmarket_api_cache", "API cache lookups", ["result"])
LIST_TAG = "*list*"
PROGRAM_CONFIG = "program_config"  # the key of the program's config (`api.common.program_config`)
_OBJECT_SIZE = 1024  # what a value that is not bytes counts against max_bytes


@dataclass
class _Entry:
    value: Any
    expires: float
    tags: frozenset[str]
    size: int


class Cache:
    def __init__(
        self, *, ttl: float = 30.0, max_entries: int = 200_000, max_bytes: int = 256 << 20
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._data: OrderedDict[str, _Entry] = OrderedDict()
        self._tagged: dict[str, set[str]] = {}  # tag -> the keys of the entries it tags
        self._loading: dict[str, asyncio.Future[Any]] = {}
        # Bumped by every invalidation; what it was when each tag was last invalidated, and
        # when the cache was last cleared: a load stores only if neither happened since it
        # began (`generation` read before the load).
        self.generation = 0
        self._dropped_at: dict[str, int] = {}
        self._cleared_at = 0

    def __len__(self) -> int:
        return len(self._data)

    async def get(
        self,
        key: str,
        loader: Callable[[], Awaitable[Any]],
        *,
        tags: Iterable[str] = (),
        ttl: float | None = None,
    ) -> Any:
        value = self.peek(key)
        if value is not None:
            return value
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
        self.put(key, value, tags=tags, ttl=ttl, generation=generation)
        return value

    def peek(self, key: str) -> Any:
        """The fresh value of `key`, or None; never loads (see `CachedReads`)."""
        entry = self._data.get(key)
        if entry is None or entry.expires <= time.monotonic():
            return None
        self._data.move_to_end(key)
        HITS.labels("hit").inc()
        return entry.value

    def put(
        self,
        key: str,
        value: Any,
        *,
        tags: Iterable[str] = (),
        ttl: float | None = None,
        generation: int,
    ) -> bool:
        """Store `value`, loaded from a read that began at `generation` (`self.generation`
        then), unless one of its `tags` was invalidated or the cache cleared since. Returns
        whether it was stored."""
        tagset = frozenset(tags)
        if self._cleared_at > generation or any(
            self._dropped_at.get(t, -1) > generation for t in tagset
        ):
            return False
        self._drop(key)
        size = len(value) if isinstance(value, bytes | str) else _OBJECT_SIZE
        self._data[key] = _Entry(value, time.monotonic() + (ttl or self.ttl), tagset, size)
        self.bytes += size
        for t in tagset:
            self._tagged.setdefault(t, set()).add(key)
        while self._data and (len(self._data) > self.max_entries or self.bytes > self.max_bytes):
            self._drop(next(iter(self._data)))
        return True

    def invalidate(self, markets: Iterable[str]) -> int:
        """Drop every entry showing one of `markets`, and every list. Returns how many."""
        self.generation += 1
        dropped = 0
        for tag in {*markets, LIST_TAG}:
            self._dropped_at[tag] = self.generation
            for key in self._tagged.pop(tag, ()):
                dropped += self._drop(key)
        return dropped

    def clear(self) -> None:
        self.generation += 1
        self._cleared_at = self.generation
        self._dropped_at.clear()
        self._data.clear()
        self._tagged.clear()
        self.bytes = 0

    def _drop(self, key: str) -> int:
        entry = self._data.pop(key, None)
        if entry is None:
            return 0
        self.bytes -= entry.size
        for t in entry.tags:
            keys = self._tagged.get(t)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tagged[t]
        return 1


_MARKET_PATH = re.compile(r"^/api/markets/([0-9a-f]{64})$")
LIST_PATH = "/api/markets"


def market_key(market_id: str) -> str:
    """The key of a market's `Market` body (tagged with the market)."""
    return f"market.json:{market_id}"


def item_key(market_id: str) -> str:
    """The key of a market's `MarketListItem` body, which list pages are assembled from
    (tagged with the market)."""
    return f"item.json:{market_id}"


def list_request_key(query_string: bytes) -> str:
    """The key under which `GET /api/markets?<query_string>`'s body is kept as sent (by the
    route, tagged as a list), where `CachedReads` finds it."""
    return "list.raw:" + query_string.decode("latin-1")


class CachedReads:
    """A pure-ASGI front for the hottest reads, `GET /api/markets/{id}` and the list pages
    (`GET /api/markets?...`, by their exact query string): when the encoded body is in the
    cache it is sent straight away, without routing, validation, dependency injection or a
    response object. A market's body missing from the cache is read here too (through
    `ApiState.market_bodies`, with the other markets being read at that moment) when the
    program config is cached (a market that does not exist answered with the route's 404, a
    database that cannot be reached with the app's 503); anything else (a list page missed, a
    detail while the config is not cached) goes to the app, whose routes answer it. bench/api.py measures what this saves."""

    def __init__(self, app: Any, state: Callable[[], ApiState | None]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            try:
                body = await self._body(scope)
            except ApiError as e:  # read here already: the route would read it again
                await error_response(e)(scope, receive, send)
                return
            except DATABASE_DOWN as e:  # answered now: the route would wait DB_TIMEOUT again
                await database_response(scope["path"], e)(scope, receive, send)
                return
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

    async def _body(self, scope: Any) -> bytes | None:
        path, query = scope["path"], scope.get("query_string", b"")
        st = self.state()
        if st is None:
            return None
        if path == LIST_PATH:
            body: bytes | None = st.cache.peek(list_request_key(query))
            return body
        m = None if query else _MARKET_PATH.match(path)
        if m is None:
            return None
        market_id = m.group(1)
        body = st.cache.peek(market_key(market_id))
        cfg = st.cache.peek(PROGRAM_CONFIG) if body is None else None
        if cfg is None:
            return body
        HITS.labels("miss").inc()
        generation = st.cache.generation
        periods = (cfg.dispute_period, cfg.dispute_voting_period)
        body = await st.market_bodies.load((market_id, periods))
        if body is None:
            raise not_found("market", market_id)
        st.cache.put(market_key(market_id), body, tags=[market_id], generation=generation)
        return body
