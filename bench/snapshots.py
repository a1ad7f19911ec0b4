"""Benchmark: the daily discussion snapshot of `--markets` markets with `--comments` comments
each (default 10,000 x 100 = 1M comments, one UTC day), CIDs included, against serialising the
same documents without hashing.

Loads a fresh, migrated database with the markets (ACTIVE) and their comments, each a real
Sign-In-With-Solana text signed with ed25519 by one of `WALLETS` keys (content of 20-600
characters, some with multi-byte characters), by COPY, then VACUUM ANALYZE. Then, in the same
run:

- serialise: the snapshot documents (`snapshot_bytes`: canonical JSON) of every market, from
  rows already in memory; no hashing. The baseline.
- + CID: the same, plus the CIDv1 of each document (`compute_cid`: UnixFS import, sha2-256),
  as `ipfs add --only-hash --cid-version=1` would.
- + store: the same, plus `EmbeddedBackend.add` (blocks written to disk, fsync'ed), serially.
- service: `snapshot_day`, the worker's job end to end: the day-closing barrier, the rows
  streamed from PostgreSQL, documents, CIDs, blocks stored (4 uploads in flight), one anchor
  row per market. Checked after: one anchor per market whose CID equals the bytes' CID.

The in-memory stages run `--repeat` times (medians); the service once per repeat on a fresh
store with the anchors cleared. Ratios are against serialising, the figure to compare across
machines.

Uses DATABASE_URL when set, else an embedded PostgreSQL 16 in a temporary directory; either way
in a database `bench_snapshots`, created fresh and dropped at the end.

    .venv/bin/python bench/snapshots.py [--markets 10000] [--comments 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from hybridmarket import logs
from hybridmarket.api import siws
from hybridmarket.db.admin import bulk_copy, drop_database, recreate_database, server
from hybridmarket.db.connect import make_pool
from hybridmarket.ipfs import EmbeddedBackend, compute_cid
from hybridmarket.worker.snapshots import snapshot_bytes, snapshot_day
from machine import measured

DB_NAME = "bench_snapshots"
SEED = 20251105
WALLETS = 2_000
DOMAIN = "markets.example"
DAY = date(2025, 11, 4)
WORDS = [
    "yes",
    "no",
    "will",
    "the",
    "market",
    "resolve",
    "before",
    "deadline",
    "source",
    "evidence",
    "price",
    "think",
    "because",
    "probably",
    "unlikely",
    "rain",
    "Lisbon",
    "election",
    "rate",
    "cut",
    "déjà",
    "vu",
    "naïve",
    "🎉",
    "🚀",
    "ça",
]

MARKET_COLUMNS = (
    "id",
    "on_chain_address",
    "creator_wallet",
    "resolver_wallet",
    "state",
    "b_parameter",
    "current_price",
    "initial_liquidity",
    "created_at",
    "last_slot",
)
COMMENT_COLUMNS = (
    "market_id",
    "user_wallet",
    "content",
    "created_at",
    "signed_message",
    "signature",
)


def message_text(address: str, market_id: str, nonce: str, at: datetime, content: str) -> str:
    """What `siws.build_message(...).to_text()` gives for a post (checked once in `main`),
    formatted directly: building a million dataclasses would dominate the set-up."""
    issued = siws.format_timestamp(at)
    expires = siws.format_timestamp(at + timedelta(minutes=5))
    digest = hashlib.sha256(content.encode()).hexdigest()
    return (
        f"{DOMAIN} wants you to sign in with your Solana account:\n{address}\n\n"
        f"Post a comment on market {market_id}\n\nVersion: 1\nChain ID: localnet\n"
        f"Nonce: {nonce}\nIssued At: {issued}\nExpiration Time: {expires}\n"
        f"Resources:\n- sha256:{digest}"
    )


class Dataset:
    def __init__(self, markets: int, comments: int, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.ids = [
            hashlib.sha256(f"bench-snapshot-market-{i}".encode()).hexdigest()
            for i in range(markets)
        ]
        self.comments = comments
        self.keys = [Keypair.from_seed(self.rng.randbytes(32)) for _ in range(WALLETS)]
        self.addresses = [str(k.pubkey()) for k in self.keys]

    def market_rows(self) -> Iterator[Sequence[Any]]:
        start = datetime(2025, 1, 1, tzinfo=UTC)
        for i, mid in enumerate(self.ids):
            w = self.addresses[i % WALLETS]
            address = str(Pubkey(bytes.fromhex(mid)))  # unique, like the market's PDA
            yield (mid, address, w, w, "ACTIVE", 10**12, "0.5", 693_147_180_560, start, 1 + i)

    def content(self) -> str:
        rng = self.rng
        n = rng.randint(20, 600)
        out = []
        size = 0
        while size < n:
            word = rng.choice(WORDS)
            out.append(word)
            size += len(word) + 1
        return " ".join(out)[:n]

    def comment_rows(self) -> Iterator[Sequence[Any]]:
        rng = self.rng
        day_start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
        for mid in self.ids:
            for _ in range(self.comments):
                k = rng.randrange(WALLETS)
                content = self.content()
                at = day_start + timedelta(microseconds=rng.randrange(86_400 * 10**6))
                at = at.replace(microsecond=at.microsecond // 1000 * 1000)
                text = message_text(self.addresses[k], mid, rng.randbytes(16).hex(), at, content)
                signature = str(self.keys[k].sign_message(text.encode()))
                yield (mid, self.addresses[k], content, at, text, signature)


def load_documents(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every market's comments of the day, as the service reads them."""
    out: dict[str, list[dict[str, Any]]] = {}
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT id, market_id, user_wallet, content, created_at, signed_message, signature "
            "FROM discussions ORDER BY market_id, created_at, id"
        )
        for row in cur:
            out.setdefault(row["market_id"], []).append(row)
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def serialise(docs: dict[str, list[dict[str, Any]]]) -> int:
    return sum(len(snapshot_bytes(mid, DAY, rows)) for mid, rows in docs.items())


def serialise_and_cid(docs: dict[str, list[dict[str, Any]]]) -> list[str]:
    return [compute_cid(snapshot_bytes(mid, DAY, rows)) for mid, rows in docs.items()]


def serialise_and_store(docs: dict[str, list[dict[str, Any]]], store: Path) -> list[str]:
    backend = EmbeddedBackend(store)
    return [backend.add(snapshot_bytes(mid, DAY, rows)) for mid, rows in docs.items()]


async def run_service(url: str, store: Path) -> tuple[float, dict[str, Any]]:
    async with make_pool(url, max_size=8) as pool:
        t0 = time.perf_counter()
        summary = await snapshot_day(pool, EmbeddedBackend(store), DAY)
        return time.perf_counter() - t0, summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--markets", type=int, default=10_000)
    p.add_argument("--comments", type=int, default=100, help="per market, all on one day")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    logs.configure("warning")

    probe = siws.build_message(
        DOMAIN,
        "11111111111111111111111111111111",
        siws.statement_for("post_comment", "ab" * 32),
        "00" * 16,
        resources=(siws.content_resource("é"),),
        now=datetime(2025, 11, 4, 1, 2, 3, 4000, tzinfo=UTC),
    ).to_text()
    assert probe == message_text(
        "11111111111111111111111111111111",
        "ab" * 32,
        "00" * 16,
        datetime(2025, 11, 4, 1, 2, 3, 4000, tzinfo=UTC),
        "é",
    )

    with tempfile.TemporaryDirectory(prefix="hm-bench-snap-") as tmp:
        tmpdir = Path(tmp)
        stack = contextlib.ExitStack()
        admin_url = stack.enter_context(server(prefix="hm-bench-snap-pg-"))
        try:
            url = recreate_database(admin_url, DB_NAME)
            total = args.markets * args.comments
            print(
                f"loading {args.markets:,} markets x {args.comments} comments = {total:,} "
                f"signed comments on {DAY.isoformat()}",
                flush=True,
            )
            data = Dataset(args.markets, args.comments)
            with psycopg.connect(url, autocommit=True) as conn:
                bulk_copy(conn, "markets", MARKET_COLUMNS, data.market_rows(), args.markets)
                bulk_copy(conn, "discussions", COMMENT_COLUMNS, data.comment_rows(), total)
                conn.execute("VACUUM ANALYZE")
            t_load, docs = timed(lambda: load_documents(url))
            print(f"  read the day's rows into memory for the in-memory stages: {t_load:.1f}s\n")

            ser, cid, store, service = [], [], [], []
            size = 0
            cids: list[str] = []
            for i in range(args.repeat):
                t, size = timed(lambda: serialise(docs))
                ser.append(t)
                t, cids = timed(lambda: serialise_and_cid(docs))
                cid.append(t)
                d = tmpdir / f"store-{i}"
                t, stored = timed(lambda d=d: serialise_and_store(docs, d))
                store.append(t)
                assert stored == cids
                shutil.rmtree(d)
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("DELETE FROM ipfs_anchors")
                d = tmpdir / f"service-{i}"
                t, summary = asyncio.run(run_service(url, d))
                service.append(t)
                assert summary["snapshotted"] == args.markets and summary["failed"] == 0
                assert summary["comments"] == total and summary["bytes"] == size
                with psycopg.connect(url) as conn:
                    anchored = dict(
                        conn.execute("SELECT market_id, ipfs_hash FROM ipfs_anchors").fetchall()
                    )
                assert [anchored[m] for m in docs] == cids
                shutil.rmtree(d)
                print(
                    f"  run {i + 1}: serialise {ser[-1]:.2f}s, +CID {cid[-1]:.2f}s, "
                    f"+store {store[-1]:.2f}s, service {service[-1]:.2f}s",
                    flush=True,
                )

            m_ser, m_cid = statistics.median(ser), statistics.median(cid)
            m_store, m_service = statistics.median(store), statistics.median(service)
            print()
            print(
                f"{args.markets:,} documents, {total:,} comments, {size / 1e6:.1f} MB of "
                f"canonical JSON (mean {size / args.markets / 1e3:.1f} kB per document)"
            )
            print(f"medians of {args.repeat} runs:")
            print(f"  serialise only (baseline)     {m_ser:8.2f} s   1.00x")
            print(f"  serialise + CID               {m_cid:8.2f} s   {m_cid / m_ser:.2f}x")
            print(f"  serialise + CID + store       {m_store:8.2f} s   {m_store / m_ser:.2f}x")
            print(f"  snapshot service (end to end) {m_service:8.2f} s   {m_service / m_ser:.2f}x")
            print(
                f"  service throughput: {args.markets / m_service:,.0f} documents/s, "
                f"{total / m_service:,.0f} comments/s, {size / m_service / 1e6:.1f} MB/s"
            )
        finally:
            drop_database(admin_url, DB_NAME)
            stack.close()


if __name__ == "__main__":
    with measured("bench/snapshots.py"):
        main()
