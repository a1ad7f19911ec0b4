"""Benchmark: tallying proposal votes in the database (one GROUP BY) against the seed's per-market
loop.

Loads a fresh, migrated database with `--markets` markets in state PROPOSED and `--votes`
proposal votes spread unevenly across them (a log-normal share per market: a few markets get
thousands of votes, most get tens, some none), with COPY, then VACUUM ANALYZE. Then times, in
the same run, on the same connection:

- the service's SQL: ``votes.tallies(conn, "proposal", state="PROPOSED")``, one statement that
  counts likes and dislikes of every PROPOSED market with a LEFT JOIN … GROUP BY;
- the baseline, the seed document's approach: list the PROPOSED markets, then for each one
  ``SELECT vote FROM proposal_votes WHERE market_id = %s`` and count likes and dislikes in
  Python (one round trip per market).

Both must give the same counts, which must also be the counts generated. Each is timed once to
warm up, then `--repeat` times (the two alternating); the figures are the medians, and the
ratio seed/SQL is the number to compare across machines.

Uses the server at DATABASE_URL when it is set, else an embedded PostgreSQL 16 in a temporary
directory; either way in a database `bench_aggregate`, created fresh and dropped at the end.

    .venv/bin/python bench/aggregate.py [--markets 10000] [--votes 1000000] [--repeat 3]
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
from hybridmarket.db.queries.votes import VOTE_COLUMNS

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
    with psycopg.connect(url, autocommit=True) as conn:
        t1 = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) markets, proposal_votes")
        print(f"  VACUUM ANALYZE: {time.perf_counter() - t1:.1f}s", flush=True)
    return time.perf_counter() - t0


# ---- the two ways to tally ---------------------------------------------------------------------


async def sql_tallies(conn: AsyncConnection[Any]) -> Tallies:
    """The service: one GROUP BY in the database."""
    return await votes.tallies(conn, "proposal", state=STATE)


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


async def timed(fn: Callable[[AsyncConnection[Any]], Awaitable[Tallies]], conn: Any) -> float:
    t0 = time.perf_counter()
    await fn(conn)
    return time.perf_counter() - t0


async def measure(url: str, data: Dataset, repeat: int) -> tuple[float, float]:
    """Median seconds of (SQL, seed) over `repeat` alternating runs after one warm-up each."""
    async with (
        make_pool(url, max_size=1, name="bench-aggregate") as pool,
        pool.connection() as conn,
    ):
        by_sql = await sql_tallies(conn)  # also the warm-up
        by_seed = await seed_tallies(conn)
        assert by_sql == by_seed, "the GROUP BY and the per-market loop disagree"
        assert by_sql == data.expected, "the tallies differ from the votes loaded"
        sql_s, seed_s = [], []
        for i in range(repeat):
            sql_s.append(await timed(sql_tallies, conn))
            seed_s.append(await timed(seed_tallies, conn))
            print(f"  run {i + 1}: SQL {sql_s[-1]:.3f}s, seed {seed_s[-1]:.3f}s", flush=True)
    return statistics.median(sql_s), statistics.median(seed_s)


async def main(args: argparse.Namespace) -> None:
    with server(prefix="hm-bench-aggregate-") as admin_url:
        try:
            url = recreate_database(admin_url, DB_NAME)
            print(f"generating and loading {args.markets:,} markets, {args.votes:,} votes ...")
            data = Dataset(args.markets, args.votes)
            load_s = load(url, data)
            counts = sorted(data.counts)
            print(
                f"loaded in {load_s:.1f}s; votes per market: median {counts[len(counts) // 2]}, "
                f"max {counts[-1]:,}, without votes {sum(c == 0 for c in counts)}; "
                f"top 1% of markets hold "
                f"{sum(counts[-max(1, len(counts) // 100) :]) / max(1, args.votes):.0%} of votes"
            )
            print(f"timing: 1 warm-up, then median of {args.repeat} ...", flush=True)
            sql_s, seed_s = await measure(url, data, args.repeat)
            likes = sum(t[0] for t in data.expected.values())
            print(
                f"\ntallies of {args.markets:,} PROPOSED markets, {args.votes:,} votes "
                f"({likes:,} likes, {args.votes - likes:,} dislikes); identical both ways"
            )
            print(f"{'method':<40}{'seconds':>10}{'× SQL':>8}")
            print(f"{'SQL: votes.tallies (one GROUP BY)':<40}{sql_s:>10.3f}{1:>7.1f}×")
            print(
                f"{'seed: one SELECT per market + Python':<40}{seed_s:>10.3f}{seed_s / sql_s:>7.1f}×"
            )
        finally:
            drop_database(admin_url, DB_NAME)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markets", type=int, default=10_000)
    ap.add_argument("--votes", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each, after a warm-up")
    asyncio.run(main(ap.parse_args()))
