"""The snapshot service against real PostgreSQL and a real on-disk IPFS block store: what one UTC
day's documents hold (and leave out), their CIDs, idempotency, failed uploads retried and
counted, the day-closing barrier; `hybridmarket snapshot` and the worker's job as processes;
and a snapshot posted through the API, archived, then fetched back and verified by CID."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from psycopg_pool import AsyncConnectionPool

from hybridmarket.canonical import canonical_json
from hybridmarket.db.queries import discussions as q
from hybridmarket.ipfs import CID, EmbeddedBackend, cat, compute_cid, read_car
from hybridmarket.ipfs.multiformats import RAW
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.worker.snapshots import DayNotOver, snapshot_day, snapshot_recent

from .api_fixtures import api_settings
from .discussion_fixtures import (
    Served,
    Wallet,
    assert_authentic,
    insert_market,
    insert_signed_comment,
    post_comment,
    serving,
)
from .localnet_fixtures import running_validator

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()
DAY = TODAY - timedelta(days=2)


def at(day: date, h: int = 0, m: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, h, m, s, us, tzinfo=UTC)


def uploads(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("hybridmarket_snapshot_uploads_total", {"outcome": outcome})
        or 0.0
    )


async def anchors(pool: AsyncConnectionPool) -> dict[str, tuple[Any, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT market_id, snapshot_date, ipfs_hash, discussions_count, size_bytes "
            "FROM ipfs_anchors"
        )
        return {r[0]: r for r in await cur.fetchall()}


async def test_one_day_one_document_per_active_market(
    pool: AsyncConnectionPool, tmp_path: Path
) -> None:
    ipfs = EmbeddedBackend(tmp_path / "ipfs")
    alice, bob = Wallet("solders"), Wallet("nacl")
    async with pool.connection() as conn:
        m = {s: await insert_market(conn, s) for s in ("ACTIVE", "RESOLVING", "DISPUTED")}
        finalized = await insert_market(conn, "FINALIZED")
        proposed = await insert_market(conn, "PROPOSED")
        quiet = await insert_market(conn, "ACTIVE")
        active = m["ACTIVE"]
        day_before, day_after = DAY - timedelta(days=1), DAY + timedelta(days=1)
        await insert_signed_comment(
            conn, alice, active, "yesterday's", at(day_before, 23, 59, 59, 999_999)
        )
        first = await insert_signed_comment(conn, alice, active, "midnight", at(DAY))
        await insert_signed_comment(conn, bob, active, 'noon <b>"bold"</b> é😀', at(DAY, 12))
        gone = await insert_signed_comment(conn, bob, active, "deleted", at(DAY, 13))
        await conn.execute(
            "UPDATE discussions SET deleted_at = now(), deleted_by = user_wallet WHERE id = %s",
            (gone,),
        )
        last = await insert_signed_comment(
            conn, alice, active, "last", at(DAY, 23, 59, 59, 999_999)
        )
        await insert_signed_comment(conn, alice, active, "tomorrow's", at(day_after))
        await insert_signed_comment(conn, bob, m["RESOLVING"], "ça résout", at(DAY, 8))
        await insert_signed_comment(conn, bob, m["DISPUTED"], "disputed!", at(DAY, 9))
        await insert_signed_comment(conn, bob, finalized, "over", at(DAY, 10))
        await insert_signed_comment(conn, bob, proposed, "soon", at(DAY, 11))
        await insert_signed_comment(conn, bob, quiet, "another day", at(day_after, 1))

    ok_before = uploads("ok")
    summary = await snapshot_day(pool, ipfs, DAY)
    assert {
        k: summary[k]
        for k in ("markets", "snapshotted", "already_snapshotted", "failed", "comments")
    } == {
        "markets": 3,
        "snapshotted": 3,
        "already_snapshotted": 0,
        "failed": 0,
        "comments": 5,
    }
    assert uploads("ok") == ok_before + 3
    rows = await anchors(pool)
    assert set(rows) == set(m.values())
    total = 0
    for mid, (_, snapshot_date, cid, count, size) in rows.items():
        data = ipfs.cat(cid)
        total += len(data)
        # The CID is `ipfs add --cid-version=1` of the stored bytes, which are canonical JSON.
        assert cid == compute_cid(data, cid_version=1) and cid.startswith("bafkrei")
        assert canonical_json(json.loads(data)) == data and size == len(data)
        doc = json.loads(data)
        assert set(doc) == {
            "market_id", "snapshot_date", "discussions_count", "discussions", "previous"
        }  # fmt: skip
        assert doc["previous"] is None  # each market's first snapshot starts its chain
        assert (
            doc["market_id"] == mid
            and doc["snapshot_date"] == DAY.isoformat() == snapshot_date.isoformat()
        )
        assert doc["discussions_count"] == len(doc["discussions"]) == count
        for entry in doc["discussions"]:
            assert set(entry) == {
                "id",
                "user_wallet",
                "content",
                "created_at",
                "signed_message",
                "signature",
            }
            assert_authentic(entry, mid)
            assert entry["created_at"].startswith(DAY.isoformat())
    assert summary["bytes"] == total
    doc = json.loads(ipfs.cat(rows[active][2]))
    assert [d["content"] for d in doc["discussions"]] == [
        "midnight",
        'noon <b>"bold"</b> é😀',
        "last",
    ]
    assert doc["discussions"][0]["id"] == first and doc["discussions"][-1]["id"] == last
    assert doc["discussions"][0]["created_at"] == f"{DAY.isoformat()}T00:00:00.000000Z"
    assert doc["discussions"][-1]["created_at"] == f"{DAY.isoformat()}T23:59:59.999999Z"
    assert doc["discussions"][1]["user_wallet"] == bob.address

    # Rerunning the day is a no-op: same anchors, nothing uploaded.
    again = await snapshot_day(pool, ipfs, DAY)
    assert (again["markets"], again["snapshotted"], again["already_snapshotted"]) == (0, 0, 3)
    assert await anchors(pool) == rows and uploads("ok") == ok_before + 3
    # A day that is not over is refused (by the database's clock).
    with pytest.raises(DayNotOver):
        await snapshot_day(pool, ipfs, TODAY)


async def test_a_failed_upload_is_counted_and_retried_by_the_next_run(
    pool: AsyncConnectionPool, tmp_path: Path
) -> None:
    (tmp_path / "not-a-directory").write_text("x")
    broken = EmbeddedBackend(tmp_path / "not-a-directory" / "ipfs")  # every write fails
    good = EmbeddedBackend(tmp_path / "ipfs")
    w = Wallet()
    async with pool.connection() as conn:
        ids = [await insert_market(conn) for _ in range(2)]
        for mid in ids:
            await insert_signed_comment(conn, w, mid, f"on {mid[:8]}", at(DAY, 15))
    errors_before, ok_before = uploads("error"), uploads("ok")
    # The worker's run the day after: both uploads fail, nothing is anchored.
    first = await snapshot_recent(pool, broken, today=DAY + timedelta(days=1))
    assert (first["snapshotted"], first["failed"]) == (0, 2)
    day = first["days"][DAY.isoformat()]
    assert day["failed"] == 2 and "NotADirectoryError" in day["errors"][0]["error"]
    assert uploads("error") == errors_before + 2 and await anchors(pool) == {}
    # The next day's run looks back over the week and finishes the failed day.
    second = await snapshot_recent(pool, good, today=DAY + timedelta(days=2))
    assert (second["snapshotted"], second["failed"]) == (2, 0)
    assert list(second["days"]) == [DAY.isoformat()]
    assert uploads("ok") == ok_before + 2 and set(await anchors(pool)) == set(ids)
    third = await snapshot_recent(pool, good, today=DAY + timedelta(days=2))
    assert (third["snapshotted"], third["failed"], third["days"]) == (0, 0, {})


async def test_closing_a_day_waits_for_comments_in_flight(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as writer, pool.connection() as closer:
        async with writer.transaction():
            await q.lock_for_comment(writer)
            closing = asyncio.create_task(q.close_day(closer))
            await asyncio.sleep(0.3)
            assert not closing.done()  # a comment transaction is open: the day cannot close
        closed = await asyncio.wait_for(closing, 5)
        # A comment inserted after the barrier is stamped after it.
        async with writer.transaction():
            await q.lock_for_comment(writer)
            cur = await writer.execute("SELECT clock_timestamp()")
            row = await cur.fetchone()
        assert row is not None and row[0] > closed


def _hm(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hybridmarket", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
async def validator(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    async with running_validator(tmp_path / "ledger") as v:
        yield v


async def test_snapshot_command_and_the_workers_daily_job(
    validator: LocalValidator, db_url: str, pool: AsyncConnectionPool, tmp_path: Path
) -> None:
    w = Wallet()
    yesterday = TODAY - timedelta(days=1)
    async with pool.connection() as conn:
        a, b = await insert_market(conn), await insert_market(conn, "DISPUTED")
        for i in range(3):
            await insert_signed_comment(conn, w, a, f"a{i}", at(DAY, 10, i))
        await insert_signed_comment(conn, w, b, "b", at(yesterday, 10))
    env = {"DATABASE_URL": db_url, "HYBRIDMARKET_DATA_DIR": str(tmp_path / "data")}
    for bad in (TODAY.isoformat(), "2025-13-01", "20250101"):
        r = await asyncio.to_thread(_hm, "snapshot", "--date", bad, env=env)
        assert r.returncode == 2 and "Invalid value" in r.stderr, (bad, r.stderr)
    r = await asyncio.to_thread(_hm, "snapshot", "--date", DAY.isoformat(), env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    cid = (await anchors(pool))[a][2]
    assert lines[0] == f"{a} {cid} 3"
    assert re.fullmatch(
        rf"snapshot of {DAY.isoformat()}: 1 markets archived \(3 comments, \d+ bytes\), "
        r"0 already archived, 0 failed",
        lines[1],
    ), lines
    data = EmbeddedBackend(tmp_path / "data" / "ipfs").cat(cid)
    assert compute_cid(data) == cid and json.loads(data)["discussions_count"] == 3
    r = await asyncio.to_thread(_hm, "snapshot", "--date", DAY.isoformat(), "--json", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["snapshotted"], out["already_snapshotted"], out["failed"]) == (0, 1, 0)

    # The worker's job (cron CRON_SNAPSHOTS, 00:00 UTC) archives yesterday and finishes the week.
    r = await asyncio.to_thread(
        _hm,
        "worker",
        "--run-once",
        "snapshots",
        env={
            **env,
            "SOLANA_RPC_URL": validator.rpc_url,
            "SOLANA_WS_URL": validator.ws_url,
            "BACKEND_KEYPAIR_FILE": str(validator.key_paths["backend_authority"]),
        },
    )
    assert r.returncode == 0, r.stderr
    job = json.loads(r.stdout)
    assert (job["snapshotted"], job["failed"], list(job["days"])) == (1, 0, [yesterday.isoformat()])
    assert set(await anchors(pool)) == {a, b}


@pytest.fixture
async def api(validator: LocalValidator, db_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with serving(
        api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path / "data")
    ) as s:
        yield s


async def test_posted_comments_archived_then_fetched_and_verified_by_cid(
    api: Served, pool: AsyncConnectionPool
) -> None:
    async with pool.connection() as conn:
        mid = await insert_market(conn, "RESOLVING")
    authors = [Wallet("solders"), Wallet("nacl"), Wallet("solders")]
    for i, w in enumerate(authors):
        r = await post_comment(api.http, w, mid, f"comment {i}: {'✓' * (i + 1)}")
        assert r.status_code == 201, r.text
    # Posted today; move them to a day that is over (the clock is the only thing faked here).
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE discussions SET created_at = created_at - interval '2 days' WHERE market_id = %s",
            (mid,),
        )
    summary = await snapshot_day(pool, api.st.ipfs, DAY)  # the API's own IPFS store
    assert summary["snapshotted"] == 1 and summary["comments"] == 3

    page = (await api.http.get(f"/api/discussions/{mid}")).json()
    [snap] = page["ipfs_snapshots"]
    cid = snap["cid"]
    assert (snap["snapshot_date"], snap["discussions_count"]) == (DAY.isoformat(), 3)
    assert snap["links"] == {"document": f"/api/discussions/ipfs/{cid}", "gateway": f"/ipfs/{cid}"}

    r = await api.http.get(f"/api/discussions/ipfs/{cid}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
    assert compute_cid(r.content, cid_version=1) == cid
    assert r.headers["etag"] == f'"{cid}"' and "immutable" in r.headers["cache-control"]
    doc = r.json()
    assert [d["content"] for d in doc["discussions"]] == [
        d["content"] for d in page["discussions"]
    ][::-1]
    for entry in doc["discussions"]:
        assert_authentic(entry, mid)

    # Through the trustless gateway, as any IPFS client fetches it: trust only the CID.
    car = await api.http.get(f"/ipfs/{cid}", params={"format": "car"})
    assert car.status_code == 200 and car.headers["content-type"].startswith(
        "application/vnd.ipld.car"
    )
    parsed = read_car(car.content)  # checks every block against its CID
    assert [str(r) for r in parsed.roots] == [cid]
    for block_cid, block in parsed.blocks:
        assert CID.for_block(block, block_cid.codec) == block_cid
    assert cat(CID.parse(cid), parsed.block_map().__getitem__) == r.content
    raw = await api.http.get(f"/ipfs/{cid}", headers={"Accept": "application/vnd.ipld.raw"})
    assert raw.headers["content-type"] == "application/vnd.ipld.raw"
    assert CID.for_block(raw.content, RAW) == CID.parse(cid) and raw.content == r.content

    # Bytes that no longer hash to the CID are never served.
    store = api.st.ipfs
    assert isinstance(store, EmbeddedBackend)
    store.store.path_for(CID.parse(cid)).write_bytes(r.content.replace(b"comment", b"COMMENT"))
    bad = await api.http.get(f"/api/discussions/ipfs/{cid}")
    assert bad.status_code == 502 and bad.json()["error"]["code"] == "snapshot_corrupt"
    bad = await api.http.get(f"/ipfs/{cid}", params={"format": "raw"})
    assert bad.status_code == 502 and bad.json()["error"]["code"] == "corrupt_content"
