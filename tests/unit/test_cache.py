"""The API's read cache: tags, invalidation while a load is under way, bounds, sharing."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from hybridmarket.api.cache import LIST_TAG, Cache, CachedReads, list_request_key, market_key


async def _value(v: object) -> object:
    return v


async def test_an_invalidation_drops_its_markets_entries_and_every_list() -> None:
    cache = Cache()
    await cache.get("a", lambda: _value(b"A"), tags=["m1"])
    await cache.get("b", lambda: _value(b"B"), tags=["m2"])
    await cache.get("ab", lambda: _value(b"AB"), tags=["m1", "m2"])
    await cache.get("page", lambda: _value(b"P"), tags=[LIST_TAG])
    await cache.get("config", lambda: _value({"x": 1}))
    assert cache.invalidate(["m1"]) == 3  # a, ab and the page
    assert [k for k in ("a", "b", "ab", "page", "config") if cache.peek(k) is not None] == [
        "b",
        "config",
    ]
    assert cache.invalidate(["m1"]) == 0
    assert cache.invalidate(["m2"]) == 1
    assert cache.bytes == 1024  # the config's nominal size alone


async def test_a_load_under_way_when_its_market_changes_is_not_kept() -> None:
    cache = Cache()
    started, go = asyncio.Event(), asyncio.Event()

    async def slow(v: bytes) -> bytes:
        started.set()
        await go.wait()
        return v

    one = asyncio.create_task(cache.get("one", lambda: slow(b"old"), tags=["m1"]))
    other = asyncio.create_task(cache.get("other", lambda: _value(b"x"), tags=["m2"]))
    await started.wait()
    cache.invalidate(["m1"])  # m1 changed while "one" was being read
    go.set()
    assert await one == b"old"  # the caller gets what it read
    await other
    assert cache.peek("one") is None  # but it is not kept
    assert cache.peek("other") == b"x"  # another market's read is


async def test_put_refuses_what_was_read_before_a_change_or_a_clear() -> None:
    cache = Cache()
    before = cache.generation
    cache.invalidate(["m1"])
    assert not cache.put("k", b"v", tags=["m1"], generation=before)
    assert cache.put("k2", b"v", tags=["m2"], generation=before)
    cache.clear()
    assert not cache.put("k3", b"v", tags=["m2"], generation=before)
    assert cache.put("k3", b"v", tags=["m2"], generation=cache.generation)
    assert len(cache) == 1


async def test_bounded_by_entries_and_by_bytes_least_recently_used_first() -> None:
    cache = Cache(max_entries=3, max_bytes=10_000)
    for k in "abc":
        cache.put(k, b"x", tags=[k], generation=cache.generation)
    assert cache.peek("a") == b"x"  # a is now the most recent
    cache.put("d", b"x", tags=["d"], generation=cache.generation)
    assert cache.peek("b") is None and len(cache) == 3
    cache.put("big", b"y" * 9_999, tags=["big"], generation=cache.generation)
    assert cache.bytes == 10_000  # c and a (the least recent) made room; d fits
    assert [k for k in ("c", "a", "d", "big") if cache.peek(k) is not None] == ["d", "big"]
    # A replaced entry counts once; an evicted entry's tag finds nothing.
    cache.put("big", b"z" * 10, tags=["big"], generation=cache.generation)
    assert cache.bytes == 11  # d's byte and big's ten
    assert cache.invalidate(["c"]) == 0
    assert cache.invalidate(["d"]) == 1 and cache.bytes == 10


async def test_expired_entries_are_loaded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Cache(ttl=30.0)
    now = time.monotonic()
    calls = []

    async def load() -> bytes:
        calls.append(1)
        return b"v"

    await cache.get("k", load)
    monkeypatch.setattr(time, "monotonic", lambda: now + 31.0)
    await cache.get("k", load)
    assert len(calls) == 2


async def test_concurrent_misses_share_one_load() -> None:
    cache = Cache()
    calls = []

    async def load() -> bytes:
        calls.append(1)
        await asyncio.sleep(0.01)
        return b"v"

    got = await asyncio.gather(*(cache.get("k", load) for _ in range(20)))
    assert got == [b"v"] * 20 and len(calls) == 1


async def test_cached_reads_answers_kept_bodies_by_path_and_exact_query() -> None:
    """The ASGI front: a kept list page (by its request's query string) or market body is
    sent without the app; anything else, and any other query, goes to the app."""
    cache = Cache()
    mid = "ab" * 32
    cache.put(list_request_key(b"sort=newest&limit=5"), b'{"markets":[]}', tags=[LIST_TAG],
              generation=cache.generation)  # fmt: skip
    cache.put(market_key(mid), b'{"id":1}', tags=[mid], generation=cache.generation)
    reached: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        reached.append(f"{scope['path']}?{scope['query_string'].decode()}")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    st: Any = SimpleNamespace(cache=cache)  # no program config kept: a miss goes to the app
    front = CachedReads(app, lambda: st)

    async def get(path: str, query: bytes = b"") -> tuple[int, bytes]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": path, "query_string": query}
        await front(scope, None, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    assert await get("/api/markets", b"sort=newest&limit=5") == (200, b'{"markets":[]}')
    assert await get(f"/api/markets/{mid}") == (200, b'{"id":1}')
    assert reached == []
    assert (await get("/api/markets", b"limit=5&sort=newest"))[0] == 204  # another query
    assert (await get(f"/api/markets/{mid}", b"x=1"))[0] == 204
    assert (await get(f"/api/markets/{mid}/votes"))[0] == 204
    cache.invalidate(["cd" * 32])  # any change drops every list page
    assert (await get("/api/markets", b"sort=newest&limit=5"))[0] == 204
    assert await get(f"/api/markets/{mid}") == (200, b'{"id":1}')
    assert len(reached) == 4
