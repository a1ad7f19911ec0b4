"""Benchmark: the API's market list and detail reads at 1,000 to 100,000 markets, against the
PostgREST method (JSON built in PostgreSQL) on the same rows.

For each size in `--markets` (default 1000,10000,100000): a fresh, migrated database loaded with
that many markets (markets + market_metadata rows, by COPY; a mix of states, volumes, closing
times and categories, each question with its own words), then served twice, each server a
separate uvicorn process with one worker:

- the API: `python -m hybridmarket api`, the real app with its read cache (a fresh process for
  each workload, so each starts with an empty cache);
- the baseline, the PostgREST method (Supabase's own API layer): a minimal app defined in this
  file (`--serve-baseline`) that runs the API's own list query (`db.queries.markets.page_query`:
  the same rows, the same indexes) and detail query on every request, wrapped in
  `json_agg(row_to_json(...))` / `row_to_json(...)` so PostgreSQL builds the JSON.

Each workload is loaded in turn by a separate process (`--load`): an asyncio HTTP/1.1 client
holding `--connections` keep-alive connections, each sending its next request as soon as the
previous answer is read, for `--seconds` after `--warmup` seconds. Workloads (paths drawn at
random, the same sequence for both servers; thousands of distinct ones, so the API's cache
misses too):

- the first page (open markets by volume, the default);
- random pages deep in each sort (volume, newest, closing): a cursor at a random market;
- random word searches (`q=` two words of a random market's question);
- a category's random pages, a state's random pages, the settled markets' random pages;
- `GET /api/markets/{id}` over Zipf-like popular ids, the API's cache empty at the start.

Printed for each size and workload: requests per second, p50 and p99 latency and errors of
both, and the ratio API / baseline; then p99 of each workload across sizes (the target: p99 at
100,000 within 2x of 1,000, and under 50 ms at 50 connections at 100,000) and the load average
at the start and end of each size's run.

Uses the server at DATABASE_URL when set, else an embedded PostgreSQL in a temporary directory;
either way a database `bench_api`, created fresh for each size and dropped at the end. The API
reads the program's config and the chain's clock from a local validator started for the run.

    .venv/bin/python bench/api.py [--markets 1000,10000,100000] [--connections 50]
                                  [--seconds 5] [--warmup 2] [--only volume,q=] [--profile]
                                  [--changes 0]

After each of the API's runs: the share of its cache lookups (list pages, and the markets'
bodies a page is assembled from) that hit, missed or shared a load under way. `--changes N`
announces N random markets as changed each second during every run, as the indexer does after
trades: the API drops those markets' bodies and every cached page (the baseline caches nothing).

`--profile` runs the API under cProfile and prints, per workload, its own time per request by
package and the costliest functions (cProfile roughly doubles Python's time: read the shares,
not the figures); `--only` runs the workloads whose names contain one of the words.
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
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import psycopg

DB_NAME = "bench_api"
SEED = 20240607
PAGE = 50
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
STATES = ("ACTIVE",) * 6 + ("PROPOSED", "APPROVED", "RESOLVING", "FINALIZED", "CANCELLED")
CITIES = ("Nairobi", "Lagos", "Lima", "Oslo", "Hanoi", "Quito", "Perth", "Dakar", "Kyiv", "Pune")
EVENTS = ("rain", "snow", "election", "strike", "final", "summit", "launch", "merger")
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
        question = (
            f"Will the {rng.choice(EVENTS)} in {rng.choice(CITIES)} (event #{i}, {category}) "
            "happen before the end of the year?"
        )
        closes_at = (
            None
            if rng.random() < 0.05
            else (EPOCH + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))).isoformat()
        )
        doc = {
            "question": question,
            "description": f"A benchmark market about event {i}. " * 4,
            "category": category,
            "resolution_criteria": "YES if the event is reported by two major outlets.",
            "closes_at": closes_at,
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


# --- the baseline server: the PostgREST method ------------------------------------------------


def baseline_app(db_url: str, rpc_url: str) -> Any:
    """The API's list and detail reads as PostgREST serves a table: the same query (its rows,
    its indexes) on every request, the JSON built by PostgreSQL (`json_agg(row_to_json(...))`)
    and sent as it comes. The 24-hour window from the chain's clock read once at start."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Query, Response

    from hybridmarket.api.errors import not_found
    from hybridmarket.api.routes.markets import _decode_cursor
    from hybridmarket.chain.client import ChainClient
    from hybridmarket.db.connect import make_pool
    from hybridmarket.db.queries.markets import page_query

    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with make_pool(db_url, max_size=20) as pool, ChainClient(rpc_url) as client:
            state["pool"] = pool
            state["since"] = datetime.fromtimestamp(await client.chain_time() - 86400, UTC)
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/api/markets")
    async def list_markets(
        state_: str | None = Query(None, alias="state"),
        status: str = "open",
        category: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        limit: int = PAGE,
        cursor: str | None = None,
    ) -> Response:
        order = sort or ("relevance" if q else "volume")
        query, params = page_query(
            state=state_,
            category=category,
            search=q,
            status=status,  # type: ignore[arg-type]
            sort=order,  # type: ignore[arg-type]
            after=_decode_cursor(cursor, order) if cursor else None,
            limit=limit,
            since=state["since"],
        )
        async with state["pool"].connection() as conn:
            cur = await conn.execute(
                f"SELECT coalesce(json_agg(row_to_json(r)), '[]')::text FROM ({query}) r",
                params,
            )
            row = await cur.fetchone()
        return Response(row[0], media_type="application/json")

    @app.get("/api/markets/{market_id}")
    async def get_market(market_id: str) -> Response:
        async with state["pool"].connection() as conn:
            cur = await conn.execute(
                "SELECT row_to_json(r)::text FROM (SELECT m.*, md.resolution_criteria "
                "FROM markets m LEFT JOIN market_metadata md ON md.market_id = m.id "
                "WHERE m.id = %s) r",
                (market_id,),
            )
            row = await cur.fetchone()
        if row is None:
            raise not_found("market", market_id)
        return Response(row[0], media_type="application/json")

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
            if httpx2.get(url, timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


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


def list_key_text(k: Any) -> str:
    """A row's `list_key` as the API writes it into a cursor."""
    from hybridmarket.api.common import iso

    return "infinity" if k is None else str(iso(k)) if isinstance(k, datetime) else str(k)


def workload_paths(url: str, n: int) -> dict[str, list[str]]:
    """Each workload's request paths (random, seeded; the same for both servers)."""
    from urllib.parse import urlencode

    from hybridmarket.api.routes.markets import _encode_cursor
    from hybridmarket.db.queries.markets import page_query

    rng = random.Random(SEED + 2)
    count = 20_000

    def pages(**params: Any) -> list[str]:
        """Pages from a cursor at a random market of the list the parameters ask for."""
        kw: dict[str, Any] = {
            "state": params.get("state"),
            "category": params.get("category"),
            "search": None,
            "status": params.get("status", "open"),
            "sort": params.get("sort", "volume"),
        }
        query, qp = page_query(after=None, limit=n, since=None, **kw)
        with psycopg.connect(url) as conn:
            keys = conn.execute(f"SELECT list_key, id, list_rank FROM ({query}) r", qp).fetchall()
        out = []
        for _ in range(count):
            k, mid, rank = keys[rng.randrange(len(keys))]
            cursor = _encode_cursor(list_key_text(k), mid, int(rank))
            out.append(f"/api/markets?{urlencode({'limit': PAGE, **params, 'cursor': cursor})}")
        return out

    searches = []
    for _ in range(count):
        if rng.random() < 0.5:  # two common words: hundreds of matches to rank
            q = f"{rng.choice(EVENTS)} {rng.choice(CITIES)}"
        else:  # a city and an event number: one match among thousands with the city
            q = f"{rng.choice(CITIES)} {rng.randrange(n)}"
        searches.append(f"/api/markets?{urlencode({'limit': PAGE, 'q': q})}")
    ids = market_ids(n)
    return {
        "first page (open, by volume)": [LIST_PATH],
        "volume: random pages": pages(sort="volume"),
        "newest: random pages": pages(sort="newest"),
        "closing: random pages": pages(sort="closing"),
        "q=: random word searches": searches,
        "category: random pages": pages(category="weather"),
        "state=PROPOSED: random pages": pages(state="PROPOSED", sort="newest"),
        "status=settled: random pages": pages(status="settled"),
        "GET /api/markets/{id}, Zipf, cache empty": [
            f"/api/markets/{m}" for m in popular_ids(ids, 200_000)
        ],
    }


def run_size(
    n: int,
    args: argparse.Namespace,
    admin_url: str,
    validator: Any,
    tmp: Path,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Load `n` markets, serve them both ways, run every workload; the figures by workload."""
    from hybridmarket.db.admin import drop_database, recreate_database

    print(f"\n=== {n:,} markets; load average {load_average()} ===", flush=True)
    url = recreate_database(admin_url, DB_NAME)
    t0 = time.perf_counter()
    load(url, n)
    print(f"loaded {n:,} markets in {time.perf_counter() - t0:.1f} s", flush=True)
    workloads = workload_paths(url, n)
    procs: list[subprocess.Popen[bytes]] = []
    api_port, base_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SOLANA_RPC_URL": validator.rpc_url,
        "SOLANA_WS_URL": validator.ws_url,
        "HYBRIDMARKET_DATA_DIR": str(tmp / "data"),
    }
    env.pop("REDIS_URL", None)  # the in-process cache and signals from PostgreSQL
    if args.cache_ttl is not None:
        env["API_CACHE_TTL"] = str(args.cache_ttl)
    first_id = market_ids(1)[0]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    try:

        def start_api(profile: Path | None = None) -> subprocess.Popen[bytes]:
            """A fresh API process: its cache starts empty. With `profile`, run under cProfile,
            which writes its figures there when the process is stopped."""
            under = ["-m", "cProfile", "-o", str(profile)] if profile else []
            proc = subprocess.Popen(
                [sys.executable, *under, "-m", "hybridmarket", "api", "--port", str(api_port)],
                env=env,
                stdout=subprocess.DEVNULL,
            )
            procs.append(proc)
            wait_http(f"http://127.0.0.1:{api_port}/api/markets/{first_id}", proc)
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
        wait_http(base_url + f"/api/markets/{first_id}", baseline)

        # Both servers must list the same markets in the same order.
        for paths in workloads.values():
            path = paths[len(paths) // 2]
            if "/api/markets?" not in path:
                continue
            a = [m["id"] for m in httpx2.get(api_url + path, timeout=30).json()["markets"]]
            b = [m["id"] for m in httpx2.get(base_url + path, timeout=30).json()]
            assert a == b, f"the API and the baseline disagree on {path}"
        for name, paths in workloads.items():
            if args.only and not any(w in name for w in args.only.split(",")):
                continue
            print(name, flush=True)
            measured: dict[str, dict[str, Any]] = {}
            stop(api)
            profile = tmp / "api.prof" if args.profile else None
            api = start_api(profile)  # each workload starts with an empty cache
            servers = [("api", api_url), ("baseline", base_url)]
            for who, url_ in reversed(servers) if args.baseline_first else servers:
                before = cache_lookups(api_url) if who == "api" else {}
                with changing_markets(url, market_ids(n), args.changes):
                    measured[who] = load_in_subprocess(
                        url_, paths, args.connections, args.warmup, args.seconds, tmp
                    )
                report("API" if who == "api" else "baseline (PostgREST method)", measured[who])
                if who == "api":
                    after = cache_lookups(api_url)
                    looked = {k: after.get(k, 0) - before.get(k, 0) for k in after}
                    total = sum(looked.values()) or 1
                    print(
                        "  API cache lookups (pages and market bodies): "
                        + ", ".join(f"{k} {v / total:.0%}" for k, v in sorted(looked.items())),
                        flush=True,
                    )
                if who == "api" and profile is not None:
                    # SIGINT: uvicorn raises it again once stopped, and cProfile writes its
                    # figures on the way out (SIGTERM would end the process without them).
                    api.send_signal(signal.SIGINT)
                    api.wait(60)
                    print_profile(profile)
            ratio = measured["api"]["rps"] / measured["baseline"]["rps"]
            print(
                f"  API/baseline throughput {ratio:.1f}x, API p99 "
                f"{measured['api']['p99_ms']:.1f} ms",
                flush=True,
            )
            results[name] = measured
    finally:
        for p in procs:
            stop(p)
        with contextlib.suppress(psycopg.Error):
            drop_database(admin_url, DB_NAME)
    print(f"load average at the end of {n:,}: {load_average()}", flush=True)
    return results


def cache_lookups(api_url: str) -> dict[str, float]:
    """The API's cache lookups so far by result (hit, miss, shared), from its /metrics."""
    text = httpx2.get(api_url + "/metrics", timeout=30).text
    found = re.findall(r'^hybridmarket_api_cache_total\{result="(\w+)"\} (\S+)$', text, re.M)
    return {k: float(v) for k, v in found}


@contextlib.contextmanager
def changing_markets(db_url: str, ids: Sequence[str], per_second: float) -> Iterator[None]:
    """While the block runs, `per_second` random markets announced as changed each second
    (the indexer's NOTIFY after a trade): the API drops those markets' cached bodies and
    every cached list page, as it does while markets trade. Nothing when `per_second` is 0."""
    if per_second <= 0:
        yield
        return
    import threading

    from hybridmarket.signals import CHANNEL, market_changes

    done = threading.Event()
    rng = random.Random(SEED + 3)

    def announce() -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            slot = 0
            while not done.wait(1 / per_second):
                slot += 1
                for payload in market_changes([rng.choice(ids)], slot):
                    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    thread = threading.Thread(target=announce, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(10)


def print_profile(path: Path) -> None:
    """Where the API process's time went (cProfile, its whole life, warm-up included): own time
    per request by package, then the functions with the most own time."""
    import pstats

    stats = pstats.Stats(str(path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    requests = sum(
        v[1]
        for (file, _, fn), v in raw.items()
        if fn == "__call__" and file.endswith("chainclock.py")
    )
    groups: dict[str, float] = {}
    for (file, _, _), (_, _, own, _, _) in raw.items():
        groups[_package(file)] = groups.get(_package(file), 0.0) + own
    total = sum(groups.values())
    print(
        f"  API profile: {requests:,} /api requests, {total / max(requests, 1) * 1e3:.2f} ms own "
        "time each (cProfile slows Python ~2x: compare the shares)"
    )
    for name, own in sorted(groups.items(), key=lambda kv: -kv[1])[:12]:
        print(f"    {name:<28} {own / max(requests, 1) * 1e3:7.3f} ms  {own / total:6.1%}")
    stats.sort_stats("tottime").print_stats(15)


def _package(file: str) -> str:
    """The package a profiled function belongs to: a site-packages distribution, a
    hybridmarket subpackage, the standard library's module, or a builtin."""
    if file.startswith("~") or file.startswith("<"):
        return "builtins (C: sockets, select, ...)"
    parts = Path(file).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    if "hybridmarket" in parts:
        i = parts.index("hybridmarket")
        return "hybridmarket." + parts[i + 1].removesuffix(".py")
    return "stdlib " + Path(file).stem if "python3" in file else file


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(args: argparse.Namespace) -> None:
    from hybridmarket.db.admin import server
    from hybridmarket.localnet.process import ValidatorProcess

    sizes = [int(x) for x in args.markets.split(",")]
    print(f"load average at the start: {load_average()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="hm-bench-api-"))
    stack = contextlib.ExitStack()
    admin_url = stack.enter_context(server(prefix="hm-bench-api-pg-"))
    validator = None
    try:
        validator = ValidatorProcess(tmp / "ledger").start()
        print(
            f"{args.connections} connections, {args.warmup:g} s warm-up, {args.seconds:g} s "
            "measured, each server one uvicorn process",
            flush=True,
        )
        by_size = {n: run_size(n, args, admin_url, validator, tmp) for n in sizes}
        print("\n=== summary: API req/s, p99 (API / baseline throughput) ===")
        print(f"{'workload':<44}" + "".join(f"{f'{n:,}':>26}" for n in sizes))
        for name in by_size[sizes[0]]:
            cells = []
            for n in sizes:
                api, base = by_size[n][name]["api"], by_size[n][name]["baseline"]
                cells.append(
                    f"{api['rps']:>7,.0f}/s {api['p99_ms']:>6.1f} ms "
                    f"({api['rps'] / base['rps']:.1f}x)"
                )
            growth = (
                by_size[sizes[-1]][name]["api"]["p99_ms"] / by_size[sizes[0]][name]["api"]["p99_ms"]
            )
            print(f"{name:<44}" + "".join(f"{c:>26}" for c in cells) + f"   p99 x{growth:.1f}")
        if args.json:
            Path(args.json).write_text(
                json.dumps({str(n): r for n, r in by_size.items()}, indent=2)
            )
    finally:
        if validator is not None:
            validator.stop()
        stack.close()
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"load average at the end: {load_average()}", flush=True)


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markets", default="1000,10000,100000", help="sizes, comma-separated")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument(
        "--cache-ttl", type=float, help="API_CACHE_TTL for the API (default: the product's)"
    )
    ap.add_argument(
        "--baseline-first",
        action="store_true",
        help="measure the baseline before the API in each workload (the second finds the "
        "database's pages in memory: see which way the order matters)",
    )
    ap.add_argument("--only", help="run only the workloads whose names contain one of these")
    ap.add_argument(
        "--changes",
        type=float,
        default=0.0,
        help="markets announced as changed per second during each run, as trades would "
        "(the API's cache drops them and every list page); default 0",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="run the API under cProfile and print where its time goes (slower: not figures)",
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
