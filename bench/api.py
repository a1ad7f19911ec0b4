"""Benchmark: the API's cached reads against the same SQL run on every request.

Loads a fresh, migrated database with `--markets` markets (markets + market_metadata rows,
inserted directly with COPY; a mix of states, volumes and categories), then serves it twice,
each server a separate uvicorn process with one worker:

- the API: `python -m hybridmarket api`, the real app (its read cache, invalidated by the
  indexer's signal; nothing changes during the run, so entries live for the cache TTL), a
  fresh process for each workload so that each starts with an empty cache;
- the baseline: a minimal FastAPI app defined in this file (`--serve-baseline`) whose two
  endpoints run the API's own SQL for the same requests on every request and shape the rows
  with the API's own `market_json`: everything the API does, minus the cache.

Each endpoint is loaded in turn by a separate process (`--load`): an asyncio HTTP/1.1 client
holding `--connections` keep-alive connections, each sending its next request as soon as the
previous answer is read, for `--seconds` after `--warmup` seconds. Requests:

- `GET /api/markets?limit=50` (the first page, 50 markets, sorted by volume);
- `GET /api/markets/{id}` for ids drawn from a Zipf-like popularity over all markets (a few
  markets get most views, every market some), the same sequence for both servers: once with
  the API's cache empty at the start (the misses' database reads are in the figures), once
  after one request for every market (every answer a cache hit, for the cache's TTL).

The run is closed-loop: at saturation the mean latency is connections / throughput (Little's
law), so p99 under 50 ms at 100 connections needs well over 2,000 requests a second.

Printed: requests per second, p50 and p99 latency, errors, the API's cache hits and misses
during the run (from /metrics), and the ratios API/baseline. Targets: the API at least 3x the
baseline's throughput, p99 under 50 ms at 100 connections.

Uses the server at DATABASE_URL when set, else an embedded PostgreSQL in a temporary directory;
either way a database `bench_api`, created fresh and dropped at the end. The API reads the
program's config from a local validator started for the run.

    .venv/bin/python bench/api.py [--markets 10000] [--connections 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg

DB_NAME = "bench_api"
SEED = 20240607
PAGE = 50
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
STATES = ("ACTIVE",) * 6 + ("PROPOSED", "APPROVED", "RESOLVING", "FINALIZED")
CATEGORIES = ("politics", "sports", "crypto", "weather", "science", "culture")
B_PARAMETER = 1_000_000_000_000
LIQUIDITY = 693_147_180_560
LIST_PATH = f"/api/markets?limit={PAGE}"


# --- the data -------------------------------------------------------------------------------


def wallet(rng: random.Random) -> str:
    from solders.pubkey import Pubkey

    return str(Pubkey(rng.randbytes(32)))


def market_ids(n: int) -> list[str]:
    return [hashlib.sha256(f"bench-api-market-{i}".encode()).hexdigest() for i in range(n)]


def rows(n: int) -> tuple[list[Sequence[Any]], list[Sequence[Any]]]:
    """(market_metadata rows, markets rows) for `n` markets, from one seeded RNG."""
    rng = random.Random(SEED)
    creators = [wallet(rng) for _ in range(500)]
    meta: list[Sequence[Any]] = []
    markets: list[Sequence[Any]] = []
    for i, mid in enumerate(market_ids(n)):
        creator = rng.choice(creators)
        category = rng.choice(CATEGORIES)
        question = f"Will event #{i} in {category} happen before the end of the year?"
        doc = {
            "question": question,
            "description": f"A benchmark market about event {i}. " * 4,
            "category": category,
            "resolution_criteria": "YES if the event is reported by two major outlets.",
            "closes_at": "2027-01-01T00:00:00Z",
            "creator": creator,
        }
        canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"))
        meta.append(
            (
                mid,
                json.dumps(doc),
                canonical,
                question,
                doc["description"],
                category,
                doc["resolution_criteria"],
                doc["closes_at"],
                creator,
            )
        )
        state = rng.choice(STATES)
        traded = state in ("ACTIVE", "RESOLVING", "FINALIZED")
        trades = int(rng.paretovariate(1.2) * 3) if traded else 0
        volume = trades * rng.randrange(10**8, 10**10) if traded else 0
        shares_yes = rng.randrange(0, 10**12) if traded else 0
        shares_no = rng.randrange(0, 10**12) if traded else 0
        created = EPOCH + timedelta(seconds=60 * i)
        markets.append(
            (
                mid,
                wallet(rng),
                creator,
                rng.choice(creators),
                state,
                B_PARAMETER,
                shares_yes,
                shares_no,
                Decimal(rng.randrange(1, 999_999_999)) / Decimal(10**9),
                LIQUIDITY if state != "PROPOSED" else 0,
                LIQUIDITY,
                volume,
                trades,
                created,
                created + timedelta(hours=1) if state != "PROPOSED" else None,
                created + timedelta(hours=2) if traded else None,
                100_000 + i,
            )
        )
    return meta, markets


META_COLUMNS = (
    "market_id",
    "document",
    "canonical_json",
    "question",
    "description",
    "category",
    "resolution_criteria",
    "closes_at",
    "creator_wallet",
)
MARKET_COLUMNS = (
    "id",
    "on_chain_address",
    "creator_wallet",
    "resolver_wallet",
    "state",
    "b_parameter",
    "shares_yes",
    "shares_no",
    "current_price",
    "current_liquidity",
    "initial_liquidity",
    "total_volume",
    "trades_count",
    "created_at",
    "approved_at",
    "activated_at",
    "last_slot",
)


def load(url: str, n: int) -> None:
    meta, markets = rows(n)
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY market_metadata ({', '.join(META_COLUMNS)}) FROM STDIN") as cp:
                for r in meta:
                    cp.write_row(r)
            with cur.copy(f"COPY markets ({', '.join(MARKET_COLUMNS)}) FROM STDIN") as cp:
                for r in markets:
                    cp.write_row(r)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SELECT count(*), count(question) FROM markets").fetchone()
    assert row == (n, n), f"loaded {row}, expected {n} markets with their question"


# --- the baseline server ----------------------------------------------------------------------


def baseline_app(db_url: str, rpc_url: str) -> Any:
    """The API's list and detail reads without the cache: its SQL on every request, its
    `market_json`, the program config read once at start (the API caches it too)."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from fastapi import FastAPI
    from psycopg.rows import dict_row

    from hybridmarket.api.common import market_json
    from hybridmarket.api.errors import not_found
    from hybridmarket.api.routes.markets import _MARKET_SELECT
    from hybridmarket.chain.client import ChainClient
    from hybridmarket.db.connect import make_pool

    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with make_pool(db_url, max_size=20) as pool, ChainClient(rpc_url) as client:
            state["pool"], state["cfg"] = pool, await client.get_config()
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/api/markets")
    async def list_markets(limit: int = PAGE) -> dict[str, Any]:
        pool = state["pool"]
        sql = _MARKET_SELECT + " ORDER BY m.total_volume DESC, m.id DESC LIMIT %s"
        async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql, (limit + 1,))
            found = await cur.fetchall()
        page = found[:limit]
        return {
            "markets": [market_json(r, state["cfg"]) for r in page],
            "next_cursor": "x" if len(found) > limit else None,
        }

    @app.get("/api/markets/{market_id}")
    async def get_market(market_id: str) -> dict[str, Any]:
        async with state["pool"].connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_MARKET_SELECT + " WHERE m.id = %s", (market_id,))
            row = await cur.fetchone()
        if row is None:
            raise not_found("market", market_id)
        return market_json(row, state["cfg"])

    return app


def serve_baseline(db_url: str, rpc_url: str, port: int) -> None:
    import uvicorn

    uvicorn.run(baseline_app(db_url, rpc_url), host="127.0.0.1", port=port, log_level="warning")


# --- the load generator -----------------------------------------------------------------------


async def _one_connection(
    host: str,
    port: int,
    next_path: Any,
    measure_from: float,
    stop_at: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    """Send a request, read the whole answer, repeat, until `stop_at` or no path is left."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            now = time.perf_counter()
            path = next_path()
            if now >= stop_at or path is None:
                return
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if m is None:
                raise RuntimeError("response without Content-Length")
            await reader.readexactly(int(m.group(1)))
            done = time.perf_counter()
            if now >= measure_from:
                latencies.append(done - now)
                if status != 200:
                    errors.append(status)
    finally:
        writer.close()


async def run_load(
    url: str,
    paths: Sequence[str],
    connections: int,
    warmup: float,
    seconds: float,
    once: bool = False,
) -> dict[str, Any]:
    """`connections` closed-loop clients; each takes its own run of `paths` in turn (cycling),
    or, with `once`, all share one pass over them and stop when it is done."""
    host, port = url.removeprefix("http://").split(":")
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = float("inf") if once else start + warmup + seconds
    latencies: list[float] = []
    errors: list[int] = []
    shared = iter(paths)

    def cycling(offset: int) -> Any:
        position = offset

        def step() -> str:
            nonlocal position
            position += 1
            return paths[(position - 1) % len(paths)]

        return step

    step = len(paths) // connections or 1
    await asyncio.gather(
        *(
            _one_connection(
                host,
                int(port),
                (lambda: next(shared, None)) if once else cycling(k * step),
                measure_from,
                stop_at,
                latencies,
                errors,
            )
            for k in range(connections)
        )
    )
    elapsed = time.perf_counter() - measure_from if once else seconds
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(latencies) * 1000,
        "errors": len(errors),
    }


def load_in_subprocess(
    url: str,
    paths: Sequence[str],
    connections: int,
    warmup: float,
    seconds: float,
    tmp: Path,
    once: bool = False,
) -> dict[str, Any]:
    paths_file = tmp / f"paths-{time.monotonic_ns()}.txt"
    paths_file.write_text("\n".join(paths))
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--load",
            url,
            "--paths-file",
            str(paths_file),
            "--connections",
            str(connections),
            "--warmup",
            str(warmup),
            "--seconds",
            str(seconds),
            *(["--once"] if once else []),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=warmup + seconds + 600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- orchestration ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def cache_counts(base: str) -> dict[str, float]:
    text = httpx.get(base + "/metrics", timeout=10).text
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^hybridmarket_api_cache_total\{result="(\w+)"\} (\S+)$', text, re.M)
    }


def popular_ids(ids: Sequence[str], n: int) -> list[str]:
    """`n` draws from a Zipf-like popularity (weight 1/rank^0.8) over all ids."""
    rng = random.Random(SEED + 1)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(ids))]
    return rng.choices(list(ids), weights=weights, k=n)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def report(name: str, r: dict[str, Any]) -> None:
    print(
        f"  {name:<30} {r['rps']:>8,.0f} req/s   p50 {r['p50_ms']:>7.1f} ms   "
        f"p99 {r['p99_ms']:>7.1f} ms   ({r['requests']:,} requests, {r['errors']} errors)",
        flush=True,
    )


def main(args: argparse.Namespace) -> None:
    from hybridmarket.db.admin import drop_database, recreate_database, server
    from hybridmarket.localnet.process import ValidatorProcess

    tmp = Path(tempfile.mkdtemp(prefix="hm-bench-api-"))
    procs: list[subprocess.Popen[bytes]] = []
    stack = contextlib.ExitStack()
    admin_url = stack.enter_context(server(prefix="hm-bench-api-pg-"))
    validator = None
    try:
        url = recreate_database(admin_url, DB_NAME)
        t0 = time.perf_counter()
        load(url, args.markets)
        print(f"loaded {args.markets:,} markets in {time.perf_counter() - t0:.1f} s", flush=True)
        validator = ValidatorProcess(tmp / "ledger").start()

        api_port, base_port = free_port(), free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SOLANA_RPC_URL": validator.rpc_url,
            "HYBRIDMARKET_DATA_DIR": str(tmp / "data"),
        }
        env.pop("REDIS_URL", None)  # the in-process cache and signals from PostgreSQL
        if args.cache_ttl is not None:
            env["API_CACHE_TTL"] = str(args.cache_ttl)
        ids = market_ids(args.markets)

        def start_api() -> subprocess.Popen[bytes]:
            """A fresh API process: its cache starts empty."""
            proc = subprocess.Popen(
                [sys.executable, "-m", "hybridmarket", "api", "--port", str(api_port)],
                env=env,
                stdout=subprocess.DEVNULL,
            )
            procs.append(proc)
            wait_http(f"http://127.0.0.1:{api_port}/api/markets/{ids[0]}", proc)
            return proc

        api = start_api()
        baseline = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve-baseline",
                "--db",
                url,
                "--rpc",
                validator.rpc_url,
                "--port",
                str(base_port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        procs.append(baseline)
        api_url, base_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{base_port}"
        wait_http(base_url + f"/api/markets/{ids[0]}", baseline)

        # Both servers must answer the same thing.
        for path in (LIST_PATH, f"/api/markets/{ids[1]}"):
            a = httpx.get(api_url + path, timeout=30).json()
            b = httpx.get(base_url + path, timeout=30).json()
            a.pop("next_cursor", None)
            b.pop("next_cursor", None)
            assert a == b, f"the API and the baseline disagree on {path}"
        assert len(httpx.get(api_url + LIST_PATH, timeout=30).json()["markets"]) == PAGE

        detail_paths = [f"/api/markets/{m}" for m in popular_ids(ids, 200_000)]
        all_ids = [f"/api/markets/{m}" for m in ids]
        # name: (paths, a pass over every market first?)
        workloads: dict[str, tuple[list[str], bool]] = {
            f"GET /api/markets?limit={PAGE}": ([LIST_PATH], False),
            "GET /api/markets/{id}, Zipf, cache empty at the start": (detail_paths, False),
            "GET /api/markets/{id}, Zipf, every market cached": (detail_paths, True),
        }
        print(
            f"{args.connections} connections, {args.warmup:g} s warm-up, {args.seconds:g} s "
            "measured, each server one uvicorn process; API cache TTL "
            f"{'default' if args.cache_ttl is None else f'{args.cache_ttl:g} s'}",
            flush=True,
        )
        results: dict[str, dict[str, dict[str, Any]]] = {}
        for name, (paths, fill) in workloads.items():
            print(name, flush=True)
            measured: dict[str, dict[str, Any]] = {}
            stop(api)
            api = start_api()  # each workload starts with an empty cache
            for who, url_ in (("api", api_url), ("baseline", base_url)):
                if fill:  # one request for every market, then the measured run
                    load_in_subprocess(url_, all_ids, args.connections, 0, 0, tmp, once=True)
                before = cache_counts(api_url)
                measured[who] = load_in_subprocess(
                    url_, paths, args.connections, args.warmup, args.seconds, tmp
                )
                after = cache_counts(api_url)
                if who == "api":
                    hits = after.get("hit", 0) - before.get("hit", 0)
                    misses = after.get("miss", 0) - before.get("miss", 0)
                    measured[who]["cache_hits"], measured[who]["cache_misses"] = hits, misses
                report(
                    "API (cached)" if who == "api" else "baseline (SQL every request)",
                    measured[who],
                )
            r_api, r_base = measured["api"], measured["baseline"]
            hits, misses = r_api["cache_hits"], r_api["cache_misses"]
            ratio = r_api["rps"] / r_base["rps"]
            met = ratio >= 3 and r_api["p99_ms"] < 50
            print(
                f"  API/baseline throughput {ratio:.1f}x, API p99 {r_api['p99_ms']:.1f} ms "
                f"(targets >= 3x, < 50 ms: {'met' if met else 'NOT met'}); API cache lookups "
                f"{hits:,.0f} hits, {misses:,.0f} misses ({hits / max(hits + misses, 1):.1%})",
                flush=True,
            )
            results[name] = measured
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    finally:
        for p in procs:
            stop(p)
        if validator is not None:
            validator.stop()
        with contextlib.suppress(psycopg.Error):
            drop_database(admin_url, DB_NAME)
        stack.close()
        shutil.rmtree(tmp, ignore_errors=True)


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markets", type=int, default=10_000)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument(
        "--cache-ttl", type=float, help="API_CACHE_TTL for the API (default: the product's)"
    )
    # internal modes: the baseline server, the load generator
    ap.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--rpc", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--paths-file", help=argparse.SUPPRESS)
    ap.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_baseline:
        serve_baseline(args.db, args.rpc, args.port)
    elif args.load:
        paths = Path(args.paths_file).read_text().split("\n")
        result = asyncio.run(
            run_load(args.load, paths, args.connections, args.warmup, args.seconds, args.once)
        )
        print(json.dumps(result))
    else:
        main(args)


if __name__ == "__main__":
    cli()
