"""Benchmark: the portfolio, profile and leaderboard reads (issue 16) at 10,000 markets, 100,000
wallets and 1,000,000 trades, 50 connections.

The markets are bench/api.py's (its seeded generator and loader); the trades are drawn here
from one seeded RNG (each wallet trades up to five markets, a tenth of the trades from the busiest
1 % of wallets; mostly buys, sales of at most what is held) and loaded the way a data-only restore loads them: `trades` with each row's realized
P&L, and `position_costs`, `trader_stats`, `trader_weeks`, `positions` as the trades trigger
and the indexer would have left them, computed in Python by the same average-cost method (so
the load takes seconds, not the trigger's minutes; the test suite checks the trigger's figures
equal that recount). Then the real API (`python -m hybridmarket api`, one uvicorn process)
serves, and bench/api.py's closed-loop load generator (a separate process) measures each
workload: the portfolio and the profile of random wallets (20,000 distinct, so the database is
read every time), and the leaderboards (profit / volume x all / week, first and deeper pages).

Printed per workload: requests per second, p50 and p99 latency, errors, and the CPU time per
request of the API's process(es) and of the embedded database server's; and the plans of the
portfolio's, the profile's and a leaderboard's queries (index scans, no sequential scan of
trades or positions).

    .venv/bin/python bench/portfolio.py [--wallets 100000] [--trades 1000000]
                                        [--connections 50[,10,1]] [--seconds 10] [--warmup 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import base58
import httpx2
import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as bench_api
from hybridmarket.db.queries import trades as q_trades
from machine import measured

DB_NAME = "bench_portfolio"
MARKETS = 10_000
SEED = 16


def trades_and_state(
    n_wallets: int, n_trades: int, market_ids: list[str]
) -> tuple[list[str], dict[str, list[Any]]]:
    """(wallets, rows per table) of a seeded random history, in chain order."""
    rng = random.Random(SEED)
    wallets = [bench_api.wallet(rng) for _ in range(n_wallets)]
    shares: dict[tuple[str, str, bool], int] = defaultdict(int)
    basis: dict[tuple[str, str, bool], int] = defaultdict(int)
    realized_by: dict[tuple[str, str, bool], int] = defaultdict(int)
    stats: dict[str, list[int]] = {}
    weeks: dict[tuple[Any, str], list[int]] = {}
    positions: dict[tuple[str, str], list[Any]] = {}
    trades: list[Any] = []
    favourite = {w: rng.sample(market_ids, 5) for w in wallets}
    for i in range(n_trades):
        # a tenth of the trades from the busiest 1 % of wallets, the rest from anyone
        w = wallets[
            rng.randrange(max(1, n_wallets // 100)) if i % 10 == 0 else rng.randrange(n_wallets)
        ]
        m = rng.choice(favourite[w])
        outcome = rng.random() < 0.5
        key = (w, m, outcome)
        at = bench_api.EPOCH + timedelta(seconds=30 * i)
        slot = 1000 + i // 4
        if shares[key] and rng.random() < 0.3:
            side = "sell"
            n = shares[key] if rng.random() < 0.3 else rng.randrange(1, shares[key] + 1)
            cost = rng.randrange(0, 2 * n + 1)
            total = cost - cost // 10
            removed = basis[key] if n >= shares[key] else basis[key] * n // shares[key]
            realized = total - removed
            shares[key] -= n
            basis[key] -= removed
        else:
            side = "buy"
            n = rng.randrange(10**6, 10**10)
            cost = rng.randrange(1, n + 1)
            total = cost + cost // 10 + 1
            realized = 0
            shares[key] += n
            basis[key] += total
        realized_by[key] += realized
        price = f"{rng.randrange(1, 10**9) / 10**9:.9f}"
        trades.append(
            (
                m,
                w,
                side,
                outcome,
                n,
                cost,
                0,
                0,
                total - cost if side == "buy" else 0,
                total,
                price,
                0,
                0,
                slot,
                base58.b58encode(rng.randbytes(64)).decode(),
                0,
                0,
                at,
                realized,
            )
        )
        s = stats.setdefault(w, [0, 0, 0])
        s[0] += realized
        s[1] += cost
        s[2] += 1
        week = (at - timedelta(days=at.weekday())).date()
        ws = weeks.setdefault((week, w), [0, 0, 0])
        ws[0] += realized
        ws[1] += cost
        ws[2] += 1
        p = positions.setdefault((m, w), [0, 0, 0, 0, 0, at, slot])
        p[0 if outcome else 1] += n if side == "buy" else -n
        p[2 if side == "buy" else 3] += total
        p[4] += 1
        p[5], p[6] = at, slot
    return wallets, {
        "trades": trades,
        "position_costs": [
            (w, m, o, shares[(w, m, o)], basis[(w, m, o)], realized_by[(w, m, o)])
            for (w, m, o) in shares
        ],
        "trader_stats": [(w, *s) for w, s in stats.items()],
        "trader_weeks": [(week, w, *s) for (week, w), s in weeks.items()],
        "positions": [
            (m, w, y, no, inv, wd, cnt, last, False, 0, slot)
            for (m, w), (y, no, inv, wd, cnt, last, slot) in positions.items()
        ],
    }


COLUMNS = {
    "trades": (*q_trades.TRADE_COLUMNS, "realized_pnl"),
    "position_costs": (
        "user_wallet",
        "market_id",
        "outcome",
        "shares",
        "cost_basis",
        "realized_pnl",
    ),
    "trader_stats": ("wallet", "realized_pnl", "volume", "trades"),
    "trader_weeks": ("week", "wallet", "realized_pnl", "volume", "trades"),
    "positions": (
        "market_id",
        "user_wallet",
        "shares_yes",
        "shares_no",
        "total_invested",
        "total_withdrawn",
        "trades_count",
        "last_trade_at",
        "has_claimed",
        "claimed_amount",
        "last_slot",
    ),
}


def load(url: str, tables: dict[str, list[Any]]) -> None:
    """COPY the tables with the triggers off (`session_replication_role = replica`, as
    `pg_restore --disable-triggers` loads): the rows already hold what the triggers would make.
    The settlements of positions held to their markets' end (migration 0013) are not made: the
    workloads read the same indexes with or without them."""
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            for table, rows in tables.items():
                with cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row(r)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


PLANS = {
    "portfolio": "SELECT * FROM positions p LEFT JOIN position_costs c ON c.user_wallet = "
    "p.user_wallet AND c.market_id = p.market_id WHERE p.user_wallet = %s",
    "profile trades": "SELECT count(*), sum(total) FROM trades WHERE user_wallet = %s",
    "leaderboard week": "SELECT * FROM trader_weeks WHERE week = '2025-01-06' "
    "ORDER BY realized_pnl DESC, wallet DESC LIMIT 25",
}


def start_api(
    url: str, validator: Any, tmp: Path, workers: int, redis_url: str, profile: Path | None
) -> tuple[subprocess.Popen[bytes], str]:
    """`hybridmarket api` on a free port (and its URL): one process, or `--workers N` (which
    needs Redis); with `profile`, one process under cProfile, which writes there when stopped."""
    port = bench_api.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SOLANA_RPC_URL": validator.rpc_url,
        "SOLANA_WS_URL": validator.ws_url,
        "HYBRIDMARKET_DATA_DIR": str(tmp / "data"),
    }
    env.pop("REDIS_URL", None)
    under = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    cmd = [sys.executable, *under, "-m", "hybridmarket", "api", "--port", str(port)]
    if workers > 1:
        env["REDIS_URL"] = redis_url
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    bench_api.wait_http(f"{base}/api/leaderboards", proc)
    return proc, base


def cpu_times(roots: list[psutil.Process]) -> dict[int, float]:
    """User + system CPU seconds used so far by each of the processes and their descendants
    still running, by pid."""
    out = {}
    for root in roots:
        with contextlib.suppress(psutil.NoSuchProcess):
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    t = p.cpu_times()
                    out[p.pid] = t.user + t.system
    return out


def cpu_used(roots: list[psutil.Process], before: dict[int, float]) -> float:
    """CPU seconds the processes (and their descendants, new ones included: a pool's new
    connections) used since `before`."""
    return sum(t - before.get(pid, 0.0) for pid, t in cpu_times(roots).items())


def postmaster(admin_url: str) -> list[psutil.Process]:
    """The embedded server's postmaster (its backends are its children), found by its data
    directory, the socket directory of the URL; none for a server elsewhere."""
    host = psycopg.conninfo.conninfo_to_dict(admin_url).get("host")
    if not isinstance(host, str) or not host.startswith("/"):
        return []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and Path(cmd[0]).name == "postgres" and host in cmd:
            return [p]
    return []


def run_workloads(
    args: argparse.Namespace,
    base: str,
    wallets: list[str],
    sample: list[str],
    workers: int,
    tmp: Path,
    api: psutil.Process,
    admin_url: str,
) -> None:
    boards = [
        f"/api/leaderboards?by={by}&period={period}&limit=25"
        + (f"&week={week}" if period == "week" else "")
        for by in ("profit", "volume")
        for period in ("all", "week")
        for week in ("2025-01-06", "2025-03-03", "2025-06-02")
    ]
    first = httpx2.get(base + boards[0], timeout=30).json()
    deeper = [boards[0] + f"&cursor={first['next_cursor']}"]
    workloads = {
        "portfolio (random wallets)": [f"/api/users/{w}/portfolio" for w in sample],
        "profile (random wallets)": [f"/api/users/{w}" for w in sample],
        "leaderboards (4 kinds, pages 1-2)": boards + deeper,
    }
    if args.only:
        workloads = {
            k: v for k, v in workloads.items() if any(w in k for w in args.only.split(","))
        }
    sizes = httpx2.get(f"{base}/api/users/{wallets[0]}/portfolio", timeout=30).json()
    print(f"the busiest wallet holds {len(sizes['positions'])} positions", flush=True)
    processes = "one uvicorn process" if workers == 1 else f"{workers} API processes (--workers)"
    for connections in (int(c) for c in args.connections.split(",")):
        print(
            f"{connections} connections, {args.warmup:g} s warm-up, {args.seconds:g} s "
            f"measured, {processes}",
            flush=True,
        )
        for name, paths in workloads.items():
            # CPU per request of the API's processes and of the database's, over the warm-up
            # and the measured seconds (the requests of the warm-up counted at the measured
            # rate): less noisy than latency on a shared machine, and what sets the p99 once a
            # process is saturated.
            procs = {"API": [api], "database": postmaster(admin_url)}
            before = {k: cpu_times(v) for k, v in procs.items()}
            r = bench_api.load_in_subprocess(
                base, paths, connections, args.warmup, args.seconds, tmp
            )
            served = r["requests"] * (args.warmup + args.seconds) / args.seconds
            print(name, flush=True)
            bench_api.report("API", r)
            print(
                "  CPU per request: "
                + ", ".join(
                    f"{k} {cpu_used(v, before[k]) / max(served, 1) * 1e3:.2f} ms"
                    for k, v in procs.items()
                    if v
                ),
                flush=True,
            )


def main(args: argparse.Namespace) -> None:
    from hybridmarket.db import migrate
    from hybridmarket.db.admin import drop_database, recreate_database, server
    from hybridmarket.localnet.process import ValidatorProcess

    tmp = Path(tempfile.mkdtemp(prefix="hm-bench-portfolio-"))
    stack = contextlib.ExitStack()
    admin_url = stack.enter_context(server(prefix="hm-bench-portfolio-pg-"))
    validator = proc = None
    try:
        validator = ValidatorProcess(tmp / "ledger").start()
        url = recreate_database(admin_url, DB_NAME)
        migrate.migrate(url)
        t0 = time.perf_counter()
        bench_api.load(url, MARKETS)
        wallets, tables = trades_and_state(args.wallets, args.trades, bench_api.market_ids(MARKETS))
        load(url, tables)
        print(
            f"loaded {MARKETS:,} markets, {args.wallets:,} wallets, {args.trades:,} trades, "
            f"{len(tables['positions']):,} positions in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        with psycopg.connect(url) as conn:
            for name, q in PLANS.items():
                plan = conn.execute("EXPLAIN " + q, (wallets[1],) if "%s" in q else ()).fetchall()
                print(f"plan of {name}: " + " / ".join(r[0].strip() for r in plan[:3]))
        sample = random.Random(SEED + 1).sample(wallets, min(20_000, len(wallets)))
        for workers in (int(w) for w in args.workers.split(",")):
            profile = tmp / "api.prof" if args.profile and workers == 1 else None
            proc, base = start_api(url, validator, tmp, workers, args.redis_url, profile)
            run_workloads(
                args, base, wallets, sample, workers, tmp, psutil.Process(proc.pid), admin_url
            )
            if profile is not None:
                # SIGINT: cProfile writes its figures on the way out (SIGTERM would not).
                proc.send_signal(signal.SIGINT)
                proc.wait(60)
                print("one API process, all the workloads above:", flush=True)
                bench_api.print_profile(profile)
            bench_api.stop(proc)
            proc = None
    finally:
        if proc is not None:
            bench_api.stop(proc)
        with contextlib.suppress(psycopg.Error):
            drop_database(admin_url, DB_NAME)
        if validator is not None:
            validator.stop()
        stack.close()
        shutil.rmtree(tmp, ignore_errors=True)


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wallets", type=int, default=100_000)
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--connections", default="50", help="comma-separated, e.g. 50,10,1")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument(
        "--workers", default="1", help="API processes, comma-separated, e.g. 1,2 (>1 needs Redis)"
    )
    ap.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        help="Redis for --workers above 1",
    )
    ap.add_argument(
        "--only", help="only the workloads whose names contain one of these (comma-separated)"
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="run the one-process API under cProfile: its own time per request by package",
    )
    main(ap.parse_args())


if __name__ == "__main__":
    with measured("bench/portfolio.py"):
        cli()
