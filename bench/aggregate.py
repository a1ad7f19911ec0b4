"""Benchmark: reading the vote counts the indexer keeps (`vote_tallies`) against counting the
votes at every aggregation pass, and what keeping them costs the indexer's vote writes.

Loads a fresh, migrated database with `--markets` markets in state PROPOSED and `--votes`
proposal votes spread unevenly across them (a log-normal share per market: a few markets get
thousands of votes, most get tens, some none), with COPY, fills `vote_tallies` with the recount
the worker's `tallies` job runs, then VACUUM ANALYZE. Then times, in the same run, on the same
connection, the aggregation pass's read of every PROPOSED market's (likes, dislikes):

- the service: ``votes.tallies(conn, "proposal", state="PROPOSED")``, the maintained counts
  (markets LEFT JOIN vote_tallies);
- the previous service: one LEFT JOIN … GROUP BY over the vote rows of every PROPOSED market;
- the seed document's approach: list the PROPOSED markets, then for each one
  ``SELECT vote FROM proposal_votes WHERE market_id = %s`` and count likes and dislikes in
  Python (one round trip per market).

All three must give the same counts, which must also be the counts generated. Each is timed
once to warm up, then `--repeat` times (alternating); the figures are the medians.

Then the write cost: `--write-votes` new votes over random markets (so a batch touches many
markets, the costly case for the counts), written in indexer-sized batches of `--batch` rows,
one transaction each, into the loaded tables, alternately by plain COPY (the indexer's vote
write before the counts) and by ``votes.append`` (COPY plus one upsert of the batch's counts);
the new rows are deleted and the tables vacuumed after each round. The figure is the extra time
of ``votes.append`` over plain COPY (median of `--repeat` rounds).

Uses the server at DATABASE_URL when it is set, else an embedded PostgreSQL 16 in a temporary
directory; either way in a database `bench_aggregate`, created fresh and dropped at the end.

    .venv/bin/python bench/aggregate.py [--markets 10000] [--votes 1000000] [--repeat 3]
                                        [--write-votes 200000] [--batch 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import AsyncConnection
from solders.pubkey import Pubkey
from solders.signature import Signature

from hybridmarket.db.admin import bulk_copy, drop_database, recreate_database, server
from hybridmarket.db.connect import make_pool
from hybridmarket.db.queries import votes
from hybridmarket.db.queries._util import copy_rows
from hybridmarket.db.queries.votes import VOTE_COLUMNS
from machine import measured

DB_NAME = "bench_aggregate"
STATE = "PROPOSED"
SEED = 20240501
WALLET_POOL = 50_000  # distinct voter wallets (at least the largest market's vote count)
CREATORS = 2_000
SPREAD = 1.5  # sigma of the log-normal share of votes per market

B_PARAMETER = 1_000_000_000_000  # 1000 SOL
INITIAL_LIQUIDITY = 693_147_180_560  # b·ln 2
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
FIRST_SLOT = 300_000_000
WRITE_SLOT = 900_000_000  # the timed writes' votes, deleted after each round

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

Tallies = dict[str, tuple[int, int]]


# ---- the data set ------------------------------------------------------------------------------


def wallet(rng: random.Random) -> str:
    """A random 32-byte public key in base58 (32–44 characters), as the `wallet` domain wants."""
    return str(Pubkey(rng.randbytes(32)))


def signature(rng: random.Random) -> str:
    """A random 64-byte transaction signature in base58 (64–88 characters)."""
    return str(Signature(rng.randbytes(64)))


def vote_counts(markets: int, total: int, rng: random.Random) -> list[int]:
    """`total` votes split across `markets` in independent log-normal proportions, summing
    exactly to `total` (largest remainders)."""
    weights = [rng.lognormvariate(0.0, SPREAD) for _ in range(markets)]
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(markets), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


class Dataset:
    """Markets, their vote counts and the voter wallets, generated from one seeded RNG; the
    vote rows themselves are streamed (`vote_rows`), recording the expected tallies."""

    def __init__(self, markets: int, total_votes: int, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.ids = [
            hashlib.sha256(f"bench-market-{i}".encode()).hexdigest() for i in range(markets)
        ]
        self.counts = vote_counts(markets, total_votes, self.rng)
        self.voters = [wallet(self.rng) for _ in range(max(WALLET_POOL, *self.counts))]
        self.creators = [wallet(self.rng) for _ in range(CREATORS)]
        self.expected: Tallies = {}

    def created_at(self, i: int) -> datetime:
        return EPOCH + timedelta(seconds=30 * i)

    def market_rows(self) -> Iterator[Sequence[Any]]:
        rng = self.rng
        for i, market_id in enumerate(self.ids):
            creator = rng.choice(self.creators)
            yield (
                market_id,
                wallet(rng),  # the market PDA
                creator,
                rng.choice(self.creators),  # resolver
                STATE,
                B_PARAMETER,
                Decimal("0.5"),
                INITIAL_LIQUIDITY,
                self.created_at(i),
                FIRST_SLOT + 75 * i,
            )

    def vote_rows(self) -> Iterator[Sequence[Any]]:
        """Each market's voters are a run of distinct wallets of the pool from a random offset;
        each market has its own like-probability. One transaction per vote."""
        rng, pool = self.rng, self.voters
        for i, (market_id, count) in enumerate(zip(self.ids, self.counts, strict=True)):
            like_p = rng.betavariate(2.0, 2.0)
            start = rng.randrange(len(pool))
            likes = 0
            for j in range(count):
                vote = rng.random() < like_p
                likes += vote
                yield (
                    market_id,
                    pool[(start + j) % len(pool)],
                    vote,
                    self.created_at(i) + timedelta(seconds=1 + j),
                    wallet(rng),  # the VoteRecord PDA
                    FIRST_SLOT + 75 * i + 1 + j,
                    signature(rng),
                    0,
                    0,
                )
            self.expected[market_id] = (likes, count - likes)


def load(url: str, data: Dataset) -> float:
    """Load the markets and the votes (one transaction), then VACUUM ANALYZE; seconds taken."""
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        bulk_copy(conn, "markets", MARKET_COLUMNS, data.market_rows(), len(data.ids))
        bulk_copy(conn, "proposal_votes", VOTE_COLUMNS, data.vote_rows(), sum(data.counts))
        conn.commit()
    return time.perf_counter() - t0


async def fill_tallies(url: str) -> int:
    """The counts of the loaded votes, as the worker's recount repairs them (COPY bypasses
    `votes.append`); the number of markets counted."""
    async with make_pool(url, max_size=1, name="bench-aggregate") as pool:
        async with pool.connection() as conn, conn.transaction():
            filled = len(await votes.recount(conn, "proposal", repair=True))
        async with pool.connection() as conn:
            t1 = time.perf_counter()
            await conn.execute("VACUUM (ANALYZE) markets, proposal_votes, vote_tallies")
            print(f"  VACUUM ANALYZE: {time.perf_counter() - t1:.1f}s", flush=True)
    return filled


# ---- the three ways to read the counts ---------------------------------------------------------


async def kept_tallies(conn: AsyncConnection[Any]) -> Tallies:
    """The service: the counts the indexer keeps."""
    return await votes.tallies(conn, "proposal", state=STATE)


async def group_by_tallies(conn: AsyncConnection[Any]) -> Tallies:
    """The previous service: one GROUP BY over the vote rows in the database."""
    cur = await conn.execute(
        "SELECT m.id, count(v.vote) FILTER (WHERE v.vote), "
        "count(v.vote) FILTER (WHERE NOT v.vote) "
        "FROM markets m LEFT JOIN proposal_votes v ON v.market_id = m.id "
        "WHERE m.state = %s GROUP BY m.id",
        (STATE,),
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in await cur.fetchall()}


async def seed_tallies(conn: AsyncConnection[Any]) -> Tallies:
    """The seed document: load each PROPOSED market's votes and count them in Python."""
    cur = await conn.execute("SELECT id FROM markets WHERE state = %s", (STATE,))
    market_ids = [row[0] for row in await cur.fetchall()]
    out: Tallies = {}
    for market_id in market_ids:
        cur = await conn.execute(
            "SELECT vote FROM proposal_votes WHERE market_id = %s", (market_id,)
        )
        rows = await cur.fetchall()
        likes = sum(1 for (vote,) in rows if vote)
        out[market_id] = (likes, len(rows) - likes)
    return out


READERS: dict[str, Callable[[AsyncConnection[Any]], Awaitable[Tallies]]] = {
    "kept": kept_tallies,
    "group_by": group_by_tallies,
    "seed": seed_tallies,
}


async def timed(fn: Callable[[AsyncConnection[Any]], Awaitable[Tallies]], conn: Any) -> float:
    t0 = time.perf_counter()
    await fn(conn)
    return time.perf_counter() - t0


async def measure_reads(url: str, data: Dataset, repeat: int) -> dict[str, float]:
    """Median seconds of each reader over `repeat` alternating runs after one warm-up each."""
    async with (
        make_pool(url, max_size=1, name="bench-aggregate") as pool,
        pool.connection() as conn,
    ):
        for name, fn in READERS.items():  # also the warm-up
            assert await fn(conn) == data.expected, f"{name}: the tallies differ from the votes"
        times: dict[str, list[float]] = {name: [] for name in READERS}
        for i in range(repeat):
            for name, fn in READERS.items():
                times[name].append(await timed(fn, conn))
            print(
                f"  run {i + 1}: " + ", ".join(f"{name} {t[-1]:.4f}s" for name, t in times.items()),
                flush=True,
            )
    return {name: statistics.median(t) for name, t in times.items()}


# ---- what keeping the counts costs the writes ------------------------------------------------


def new_votes(data: Dataset, n: int) -> list[tuple[Any, ...]]:
    """`n` votes by fresh wallets on random markets, in random order (as votes on many live
    markets arrive)."""
    rng = random.Random(SEED + 1)
    at = EPOCH + timedelta(days=365)
    return [
        (
            rng.choice(data.ids),
            wallet(rng),
            rng.random() < 0.5,
            at + timedelta(seconds=i),
            wallet(rng),
            WRITE_SLOT + i,
            signature(rng),
            0,
            0,
        )
        for i in range(n)
    ]


async def plain_copy(conn: AsyncConnection[Any], rows: Sequence[Sequence[Any]]) -> None:
    """The indexer's vote write before the counts were kept."""
    await copy_rows(conn, "proposal_votes", VOTE_COLUMNS, rows)


async def append(conn: AsyncConnection[Any], rows: Sequence[Sequence[Any]]) -> None:
    """The indexer's vote write now: COPY and the batch's counts."""
    await votes.append(conn, "proposal", rows)


async def measure_writes(
    url: str, rows: list[tuple[Any, ...]], batch: int, repeat: int
) -> tuple[float, float]:
    """Median seconds to write `rows` in batches (one transaction each) by plain COPY and by
    `votes.append`, alternating, cleaning up after each round."""
    writers = {"copy": plain_copy, "append": append}
    times: dict[str, list[float]] = {name: [] for name in writers}
    async with (
        make_pool(url, max_size=1, name="bench-aggregate") as pool,
        pool.connection() as conn,
    ):
        for i in range(repeat + 1):  # the first round warms up
            for name, write in writers.items():
                t0 = time.perf_counter()
                for k in range(0, len(rows), batch):
                    async with conn.transaction():
                        await write(conn, rows[k : k + batch])
                elapsed = time.perf_counter() - t0
                if i:
                    times[name].append(elapsed)
                async with conn.transaction():
                    await conn.execute("DELETE FROM proposal_votes WHERE slot >= %s", (WRITE_SLOT,))
                    if name == "append":
                        assert len(await votes.recount(conn, "proposal", repair=True)) > 0
                await conn.execute("VACUUM proposal_votes, vote_tallies")
            if i:
                print(
                    f"  writes, round {i}: COPY {times['copy'][-1]:.2f}s, "
                    f"append {times['append'][-1]:.2f}s",
                    flush=True,
                )
    return statistics.median(times["copy"]), statistics.median(times["append"])


async def main(args: argparse.Namespace) -> None:
    with server(prefix="hm-bench-aggregate-") as admin_url:
        try:
            url = recreate_database(admin_url, DB_NAME)
            print(f"generating and loading {args.markets:,} markets, {args.votes:,} votes ...")
            data = Dataset(args.markets, args.votes)
            load_s = load(url, data)
            filled = await fill_tallies(url)
            counts = sorted(data.counts)
            print(
                f"loaded in {load_s:.1f}s ({filled:,} tallies); votes per market: median "
                f"{counts[len(counts) // 2]}, max {counts[-1]:,}, without votes "
                f"{sum(c == 0 for c in counts)}; top 1% of markets hold "
                f"{sum(counts[-max(1, len(counts) // 100) :]) / max(1, args.votes):.0%} of votes"
            )
            print(f"reads: 1 warm-up, then median of {args.repeat} ...", flush=True)
            reads = await measure_reads(url, data, args.repeat)
            print(
                f"writes: {args.write_votes:,} new votes in batches of {args.batch:,}, "
                f"1 warm-up round, then median of {args.repeat} ...",
                flush=True,
            )
            copy_s, append_s = await measure_writes(
                url, new_votes(data, args.write_votes), args.batch, args.repeat
            )
            likes = sum(t[0] for t in data.expected.values())
            print(
                f"\ntallies of {args.markets:,} PROPOSED markets, {args.votes:,} votes "
                f"({likes:,} likes, {args.votes - likes:,} dislikes); identical all three ways"
            )
            kept = reads["kept"]
            print(f"{'aggregation read':<46}{'seconds':>10}{'/ kept':>9}")
            for name, label in (
                ("kept", "service: votes.tallies (the kept counts)"),
                ("group_by", "previous: one GROUP BY over the votes"),
                ("seed", "seed: one SELECT per market + Python"),
            ):
                print(f"{label:<46}{reads[name]:>10.4f}{reads[name] / kept:>8.1f}×")
            print(f"\n{'vote writes (' + f'{args.write_votes:,} votes)':<46}{'seconds':>10}")
            print(f"{'plain COPY (before)':<46}{copy_s:>10.3f}")
            print(f"{'votes.append: COPY + counts':<46}{append_s:>10.3f}")
            print(f"{'extra cost of the counts':<46}{(append_s / copy_s - 1):>10.1%}")
        finally:
            drop_database(admin_url, DB_NAME)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markets", type=int, default=10_000)
    ap.add_argument("--votes", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each, after a warm-up")
    ap.add_argument("--write-votes", type=int, default=200_000, help="votes for the write cost")
    ap.add_argument("--batch", type=int, default=2000, help="votes per write transaction")
    with measured("bench/aggregate.py"):
        asyncio.run(main(ap.parse_args()))
