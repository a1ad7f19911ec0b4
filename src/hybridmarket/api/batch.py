"""Concurrent reads of single keys, coalesced into one read of many (the DataLoader pattern,
written here because it is twenty lines around asyncio and no maintained library does it for
plain asyncio without a framework).

Under load, many requests miss the cache at once, each for its own market; read one by one,
each costs the database a statement's round trip, executor start and plan lookup. Here the keys
asked for while a read is under way wait for it to finish and then go together in the next
read, so one statement answers all of them; when nothing is under way, a key is read at once
(the next turn of the event loop). A key already asked for, waiting or being read, shares that
read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Batched(Generic[K, V]):
    def __init__(
        self, read_many: Callable[[list[K]], Awaitable[Mapping[K, V]]], *, max_keys: int = 100
    ) -> None:
        self._read_many = read_many
        self._max_keys = max_keys
        self._waiting: dict[K, asyncio.Future[V | None]] = {}
        self._reading: dict[K, asyncio.Future[V | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self.reads = 0  # reads run

    async def load(self, key: K) -> V | None:
        """The value of `key`, or None when the read found none; raises what the read raised."""
        fut = self._waiting.get(key) or self._reading.get(key)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._waiting[key] = fut
            if self._task is None:
                self._task = asyncio.create_task(self._run())
        return await asyncio.shield(fut)

    async def _run(self) -> None:
        try:
            while self._waiting:
                keys = list(self._waiting)[: self._max_keys]
                for k in keys:
                    self._reading[k] = self._waiting.pop(k)
                self.reads += 1
                try:
                    found = await self._read_many(keys)
                except Exception as e:
                    for k in keys:
                        fut = self._reading.pop(k)
                        if not fut.done():
                            fut.set_exception(e)
                            fut.exception()  # retrieved: its waiter may have gone
                    continue
                except BaseException:  # cancelled (the server stopping): so are its waiters
                    for k in keys:
                        self._reading.pop(k).cancel()
                    raise
                for k in keys:
                    fut = self._reading.pop(k)
                    if not fut.done():
                        fut.set_result(found.get(k))
        finally:
            self._task = None
