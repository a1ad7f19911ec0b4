"""A market's discussion archive is a chain, against real PostgreSQL and a real on-disk IPFS
block store: each daily snapshot names the previous one's CID; `GET /api/markets/{id}/archive`
publishes the latest; `hybridmarket verify-archive` (as a process and as a function) walks it
and passes on an intact archive, and reports a day dropped, rewritten, unreadable, a comment
whose content no longer matches its signature, and a day of comments never archived. Old
documents without `previous` start a chain; days are archived in order or not at all."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from hybridmarket.canonical import canonical_json
from hybridmarket.db.queries import discussions as q
from hybridmarket.ipfs import EmbeddedBackend, compute_cid
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.worker.archive_cli import verify_archive
from hybridmarket.worker.snapshots import snapshot_day, snapshot_document, snapshot_recent

from .api_fixtures import api_settings
from .discussion_fixtures import Served, Wallet, insert_market, insert_signed_comment, serving
from .test_snapshots import _hm, validator

__all__ = ["validator"]  # the fixture, shared with the snapshot tests

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()
D1, D2, D3 = TODAY - timedelta(days=6), TODAY - timedelta(days=5), TODAY - timedelta(days=3)


def at(day: date, h: int) -> datetime:
    return datetime(day.year, day.month, day.day, h, tzinfo=UTC)


async def chain_of(pool: AsyncConnectionPool, mid: str) -> dict[date, str]:
    async with pool.connection() as conn:
        return {a["snapshot_date"]: a["ipfs_hash"] for a in await q.list_anchors(conn, mid)}


async def commented_market(pool: AsyncConnectionPool, days: list[date]) -> str:
    """An ACTIVE market with signed comments on each of `days` (two on the first)."""
    alice, bob = Wallet("solders"), Wallet("nacl")
    async with pool.connection() as conn:
        mid = await insert_market(conn)
        for i, day in enumerate(days):
            await insert_signed_comment(conn, alice, mid, f"day {i}: é😀", at(day, 9))
        await insert_signed_comment(conn, bob, mid, "and bob", at(days[0], 20))
    return mid


async def set_anchor(pool: AsyncConnectionPool, mid: str, day: date, cid: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE ipfs_anchors SET ipfs_hash = %s WHERE market_id = %s AND snapshot_date = %s",
            (cid, mid, day),
        )


@pytest.fixture
async def api(validator: LocalValidator, db_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with serving(
        api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path / "data")
    ) as s:
        yield s


async def test_three_days_make_a_chain_that_verifies_and_is_published(
    api: Served, db_url: str, pool: AsyncConnectionPool, tmp_path: Path
) -> None:
    ipfs = EmbeddedBackend(tmp_path / "data" / "ipfs")  # the API's and the CLI's store
    mid = await commented_market(pool, [D1, D2, D3])
    r = await api.http.get(f"/api/markets/{mid}/archive")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "market_id": mid, "latest_cid": None, "latest_date": None, "first_date": None,
        "days": 0, "links": None,
    }  # fmt: skip
    run = await snapshot_recent(pool, ipfs, today=TODAY)
    assert run["snapshotted"] == 3, run
    cids = await chain_of(pool, mid)
    assert sorted(cids) == [D1, D2, D3]
    docs = {d: json.loads(ipfs.cat(c)) for d, c in cids.items()}
    assert docs[D1]["previous"] is None
    assert docs[D2]["previous"] == cids[D1] and docs[D3]["previous"] == cids[D2]

    # Published: the latest CID, its day, how many days.
    r = await api.http.get(f"/api/markets/{mid}/archive")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "market_id": mid,
        "latest_cid": cids[D3],
        "latest_date": D3.isoformat(),
        "first_date": D1.isoformat(),
        "days": 3,
        "links": {"document": f"/api/discussions/ipfs/{cids[D3]}", "gateway": f"/ipfs/{cids[D3]}"},
    }
    # The document route serves the chained document as its model says.
    served = await api.http.get(f"/api/discussions/ipfs/{cids[D3]}")
    assert served.status_code == 200 and json.loads(served.content)["previous"] == cids[D2]
    unknown = "f" * 64
    r = await api.http.get(f"/api/markets/{unknown}/archive")
    assert r.status_code == 404 and r.json()["error"]["code"] == "market_not_found"

    # The command walks it back from the latest CID: all is well.
    env = {"DATABASE_URL": db_url, "HYBRIDMARKET_DATA_DIR": str(tmp_path / "data")}
    ok = await asyncio.to_thread(_hm, "verify-archive", mid, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [
        f"{D3.isoformat()} {cids[D3]} 1",
        f"{D2.isoformat()} {cids[D2]} 1",
        f"{D1.isoformat()} {cids[D1]} 2",
        f"archive of {mid}: 3 days, ok",
    ]
    # Drop the middle day from the chain: a new head for D3 that links straight to D1.
    forged = {**docs[D3], "previous": cids[D1]}
    head = ipfs.add(canonical_json(forged))
    await set_anchor(pool, mid, D3, head)
    bad = await asyncio.to_thread(_hm, "verify-archive", mid, env=env)
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        f"PROBLEM {D2.isoformat()}: snapshot {cids[D2]} is not in the chain (dropped from it)"
    ], bad.stderr
    out = json.loads(
        (await asyncio.to_thread(_hm, "verify-archive", mid, "--json", env=env)).stdout
    )
    assert out["latest_cid"] == head and [d["date"] for d in out["days"]] == [
        D3.isoformat(), D1.isoformat()
    ]  # fmt: skip
    r = await asyncio.to_thread(_hm, "verify-archive", "nope", env=env)
    assert r.returncode == 2 and "not a market id" in r.stderr


async def test_tampering_is_reported_one_line_per_problem(
    pool: AsyncConnectionPool, tmp_path: Path
) -> None:
    ipfs = EmbeddedBackend(tmp_path / "ipfs")
    mid = await commented_market(pool, [D1, D2, D3])
    await snapshot_recent(pool, ipfs, today=TODAY)
    cids = await chain_of(pool, mid)
    docs = {d: json.loads(ipfs.cat(c)) for d, c in cids.items()}
    report = await verify_archive(pool, ipfs, mid, today=TODAY)
    assert report.problems == [] and [d for d, _, _ in report.days] == [D3, D2, D1]

    # A row deleted from the database: the chain on IPFS still has the day.
    async with pool.connection() as conn:
        await conn.execute(
            "DELETE FROM ipfs_anchors WHERE market_id = %s AND snapshot_date = %s", (mid, D2)
        )
    report = await verify_archive(pool, ipfs, mid, today=TODAY)
    assert report.problems == [
        f"{D2.isoformat()}: the chain has {cids[D2]}, the database anchors no snapshot"
    ]
    async with pool.connection() as conn:
        await q.insert_anchor(
            conn, market_id=mid, snapshot_date=D2, ipfs_hash=cids[D2], discussions_count=1,
            size_bytes=None,
        )  # fmt: skip

    # A day rewritten (its comment dropped) and anchored in place of the original.
    rewritten = ipfs.add(canonical_json(snapshot_document(mid, D2, [], cids[D1])))
    await set_anchor(pool, mid, D2, rewritten)
    report = await verify_archive(pool, ipfs, mid, today=TODAY)
    assert report.problems == [
        f"{D2.isoformat()}: the chain has {cids[D2]}, the database anchors {rewritten}"
    ]
    await set_anchor(pool, mid, D2, cids[D2])

    # A head whose comment no longer says what its author signed, and a link to nowhere.
    altered = json.loads(json.dumps(docs[D3]))
    altered["discussions"][0]["content"] = "something else"
    altered["previous"] = compute_cid(b"never stored")
    head = ipfs.add(canonical_json(altered))
    await set_anchor(pool, mid, D3, head)
    report = await verify_archive(pool, ipfs, mid, today=TODAY)
    comment = altered["discussions"][0]["id"]
    assert report.problems[0] == (
        f"{D3.isoformat()} ({head}): comment {comment}: the signed message does not name the "
        "sha256 of this content"
    )
    assert report.problems[1].startswith(f"{altered['previous']}: cannot be read from IPFS")
    assert report.problems[2:] == [
        f"{D2.isoformat()}: snapshot {cids[D2]} is not in the chain (dropped from it)",
        f"{D1.isoformat()}: snapshot {cids[D1]} is not in the chain (dropped from it)",
    ]
    # Dates that do not decrease: a D2 that links forward to D3, under a new head.
    loop = ipfs.add(canonical_json({**docs[D2], "previous": cids[D3]}))
    head = ipfs.add(canonical_json({**docs[D3], "previous": loop}))
    await set_anchor(pool, mid, D3, head)
    await set_anchor(pool, mid, D2, loop)
    report = await verify_archive(pool, ipfs, mid, today=TODAY)
    assert (
        f"{D3.isoformat()} ({cids[D3]}) is linked from {D2.isoformat()}: days must strictly "
        "decrease"
    ) in report.problems, report.problems

    # A day with comments in the database that the chain never got.
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM ipfs_anchors WHERE market_id = %s", (mid,))
    await snapshot_day(pool, ipfs, D1)
    await snapshot_day(pool, ipfs, D3)  # D2 never archived
    report = await verify_archive(pool, ipfs, mid, today=TODAY)
    assert report.problems == [
        f"{D2.isoformat()}: 1 comments in the database, no snapshot in the chain"
    ]
    late = await snapshot_day(pool, ipfs, D2)  # too late: D3 already links to D1
    assert (late["snapshotted"], late["out_of_order"]) == (0, 1)


async def test_old_documents_start_a_chain_and_a_failed_day_holds_back_the_next(
    pool: AsyncConnectionPool, tmp_path: Path
) -> None:
    ipfs = EmbeddedBackend(tmp_path / "ipfs")
    mid = await commented_market(pool, [D1, D2, D3])
    # D1 archived before snapshots were chained: no `previous` at all.
    async with pool.connection() as conn:
        rows = await q.day_comments(conn, [mid], D1)
        old: dict[str, Any] = snapshot_document(mid, D1, rows)
        del old["previous"]
        data = canonical_json(old)
        await q.insert_anchor(
            conn, market_id=mid, snapshot_date=D1, ipfs_hash=ipfs.add(data),
            discussions_count=len(rows), size_bytes=len(data),
        )  # fmt: skip
    # The daily job: D2's upload fails, so D3 waits (archiving it would skip D2 for ever).
    (tmp_path / "not-a-directory").write_text("x")
    broken = EmbeddedBackend(tmp_path / "not-a-directory" / "ipfs")
    first = await snapshot_recent(pool, broken, today=D3 + timedelta(days=1))
    assert (first["snapshotted"], first["failed"]) == (0, 1)
    assert sorted(await chain_of(pool, mid)) == [D1]
    second = await snapshot_recent(pool, ipfs, today=TODAY)
    assert second["snapshotted"] == 2, second
    cids = await chain_of(pool, mid)
    assert json.loads(ipfs.cat(cids[D2]))["previous"] == cids[D1]
    assert json.loads(ipfs.cat(cids[D3]))["previous"] == cids[D2]
    report = await verify_archive(pool, ipfs, mid, today=TODAY)
    assert report.problems == [] and [d for d, _, _ in report.days] == [D3, D2, D1]
