"""Concurrent single-key reads coalesced into one read of many (`api.batch.Batched`)."""

from __future__ import annotations

import asyncio

import pytest

from hybridmarket.api.batch import Batched


async def test_keys_asked_while_a_read_runs_go_together_in_the_next() -> None:
    calls: list[list[int]] = []
    gate = asyncio.Event()

    async def read_many(keys: list[int]) -> dict[int, str]:
        calls.append(keys)
        if len(calls) == 1:
            await gate.wait()
        return {k: f"v{k}" for k in keys if k % 10}

    batched: Batched[int, str] = Batched(read_many)
    first = asyncio.create_task(batched.load(1))
    await asyncio.sleep(0)  # the first read is under way, alone
    later = [asyncio.create_task(batched.load(k)) for k in (2, 3, 1, 20, 3)]
    await asyncio.sleep(0)
    gate.set()
    assert await first == "v1"
    # 1 was being read: shared; 2, 3 and 20 in one read; 3 asked twice, read once.
    assert await asyncio.gather(*later) == ["v2", "v3", "v1", None, "v3"]
    assert calls == [[1], [2, 3, 20]] and batched.reads == 2
    assert await batched.load(4) == "v4"  # idle again: read at once


async def test_a_failed_read_fails_its_keys_only() -> None:
    async def read_many(keys: list[int]) -> dict[int, int]:
        if 13 in keys:
            raise RuntimeError("database gone")
        return {k: k for k in keys}

    batched: Batched[int, int] = Batched(read_many)
    with pytest.raises(RuntimeError, match="database gone"):
        await batched.load(13)
    assert await batched.load(7) == 7


async def test_a_read_takes_at_most_max_keys() -> None:
    sizes: list[int] = []

    async def read_many(keys: list[int]) -> dict[int, int]:
        sizes.append(len(keys))
        await asyncio.sleep(0)
        return {k: k for k in keys}

    batched: Batched[int, int] = Batched(read_many, max_keys=10)
    got = await asyncio.gather(*(batched.load(k) for k in range(35)))
    assert got == list(range(35))
    assert max(sizes) == 10 and sum(sizes) == 35
