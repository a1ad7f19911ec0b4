"""The multi-machine deployment of `docs/deploy.md`, as separate processes: the local validator,
two `hybridmarket worker` and two `hybridmarket api` (the second with `--workers 2`: three
server processes in all) on a real PostgreSQL server and a real Redis. A trade relayed through one API shows in both APIs' cached detail and list within a
second of being indexed and in both live streams; a comment posted on one reaches the other's
stream; the rate limits are one count across the APIs; each job runs once per tick.

PostgreSQL: `DATABASE_URL` if set, else the server on 127.0.0.1:5432; Redis: `REDIS_URL` if
set, else 127.0.0.1:6379 (db 14). Configured or under `CI`, a server that does not answer fails
the test; otherwise it is skipped. The test owns a fresh database, a random client address
(`X-Forwarded-For` from a trusted proxy) and random wallets, so other tests' rows and rate-limit
buckets are never touched."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest
from solders.keypair import Keypair

from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.db.admin import drop_database, recreate_database
from hybridmarket.localnet.process import ValidatorProcess
from hybridmarket.program import builders as b

from .api_fixtures import DOMAIN
from .discussion_fixtures import Wallet, post_comment
from .test_api import create_market, relay
from .test_ratelimit_redis import _answers as redis_answers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/14"
SOL = 1_000_000_000
COMMENT_LIMIT = 3
NEVER = "0 0 1 1 *"  # once a year: the jobs this test does not watch stay quiet
EVERY_SECOND = "* * * * * *"


def _required() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as c:
            c.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def _server(env: str, local: str, answers: Any, what: str) -> str:
    configured = os.environ.get(env)
    if configured:
        return configured  # configured: it must answer (the processes fail loudly otherwise)
    if answers(local):
        return local
    if _required():
        pytest.fail(f"CI: {what} must be reachable ({env} unset, nothing answers at {local})")
    pytest.skip(f"no {what}: {env} is unset and nothing answers at {local}")


@pytest.fixture
def deploy_db() -> Iterator[str]:
    """A fresh migrated database on the real server (the role must be able to CREATEDB)."""
    admin = _server("DATABASE_URL", LOCAL_PG, _pg_answers, "PostgreSQL server")
    name = f"hm_deploy_{uuid.uuid4().hex[:12]}"
    url = recreate_database(admin, name)
    try:
        yield url
    finally:
        drop_database(admin, name)


@pytest.fixture
def deploy_redis() -> str:
    return _server("REDIS_URL", LOCAL_REDIS, redis_answers, "Redis")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        """The process's JSON log lines (structlog renders JSON when stderr is not a tty)."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _spawn(name: str, args: list[str], env: dict[str, str], logdir: Path) -> Proc:
    log = logdir / f"{name}.log"
    with open(log, "wb") as f:
        popen = subprocess.Popen(
            [sys.executable, "-m", "hybridmarket", *args],
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Proc(name, popen, log)


@dataclass
class Stream:
    """One API's `GET /api/stream` for a market, read in the background."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self, http: httpx2.AsyncClient, market_id: str) -> None:
        async with http.stream("GET", "/api/stream", params={"market": market_id}) as r:
            assert r.status_code == 200, r.status_code
            event = ""
            async for line in r.aiter_lines():
                if line == ": connected":
                    self.connected.set()
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    self.events.append((event, json.loads(line[6:])))

    async def wait_for(self, kind: str, pred: Any, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for k, data in self.events:
                if k == kind and pred(data):
                    return data
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {kind} event within {timeout} s; got {self.events}")


async def _until(check: Any, timeout: float, what: str, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = await check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(step)


@asynccontextmanager
async def deployment(
    tmp_path: Path, db_url: str, redis_url: str
) -> AsyncIterator[tuple[ValidatorProcess, list[Proc], list[httpx2.AsyncClient]]]:
    validator = ValidatorProcess(tmp_path / "ledger", slot_ms=100, finalize_depth=4)
    await asyncio.to_thread(validator.start)
    procs: list[Proc] = []
    try:
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "SOLANA_RPC_URL": validator.rpc_url,
            "SOLANA_WS_URL": validator.ws_url,
            "BACKEND_KEYPAIR_FILE": validator.info["keys"]["backend_authority"],
            "API_DOMAIN": DOMAIN,
            "API_CACHE_TTL": "600",  # only the change signal may refresh a cached read
            "TRUSTED_PROXIES": "127.0.0.1",
            "RATE_LIMITS": f"comments={COMMENT_LIMIT}/60",
            "CRON_MONITOR": EVERY_SECOND,
            "CRON_DISPUTES": EVERY_SECOND,
            "CRON_PROPOSALS": NEVER,
            "CRON_RECONCILE": NEVER,
            "CRON_SNAPSHOTS": NEVER,
            "CRON_BACKUPS": NEVER,
            "DB_POOL_SIZE": "6",
        }
        for k in ("BACKEND_KEYPAIR", "VAULT_ADDR", "IPFS_API_URL", "PINNING_SERVICE_URL"):
            env.pop(k, None)
        ports = [_free_port(), _free_port()]
        for i in range(2):
            data = {"HYBRIDMARKET_DATA_DIR": str(tmp_path / f"worker{i}")}
            procs.append(_spawn(f"worker{i}", ["worker"], env | data, tmp_path))
        for i, port in enumerate(ports):
            data = {"HYBRIDMARKET_DATA_DIR": str(tmp_path / f"api{i}")}
            args = ["api", "--host", "127.0.0.1", "--port", str(port)]
            args += ["--workers", "2"] if i == 1 else []
            procs.append(_spawn(f"api{i}", args, env | data, tmp_path))
        async with AsyncExitStack() as stack:
            apis = [
                await stack.enter_async_context(
                    httpx2.AsyncClient(base_url=f"http://127.0.0.1:{p}", timeout=30)
                )
                for p in ports
            ]
            for http in apis:

                async def up(http: httpx2.AsyncClient = http) -> bool:
                    for p in procs:
                        assert p.popen.poll() is None, f"{p.name} exited: {p.log.read_text()}"
                    try:
                        return (await http.get("/api/markets")).status_code == 200
                    except httpx2.TransportError:
                        return False

                await _until(up, 60, "API answering", step=0.1)
            yield validator, procs, apis
    finally:
        for p in procs:
            p.stop()
        await asyncio.to_thread(validator.stop)


def _server_processes(pid: int) -> set[int]:
    """The processes `pid` spawned with multiprocessing (Linux /proc; not its resource
    tracker)."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                out.add(int(child))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def _db(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as c:
        return await (await c.execute(sql, args)).fetchall()


async def test_two_workers_and_two_apis_share_signals_limits_and_jobs(
    tmp_path: Path, deploy_db: str, deploy_redis: str
) -> None:
    started = time.monotonic()
    async with deployment(tmp_path, deploy_db, deploy_redis) as (validator, procs, apis):
        a, b_api = apis
        workers = [p for p in procs if p.name.startswith("worker")]
        # `api --workers 2`: a supervisor and two server processes on one port.
        servers = _server_processes(next(p for p in procs if p.name == "api1").popen.pid)
        assert len(servers) == 2, servers
        async with ChainClient(validator.rpc_url) as client:
            backend = load_keypair(validator.info["keys"]["backend_authority"])
            creator, trader, *voters = [Keypair() for _ in range(12)]
            await asyncio.gather(
                client.request_airdrop(creator.pubkey(), 500 * SOL),
                client.request_airdrop(trader.pubkey(), 100 * SOL),
                *(client.request_airdrop(v.pubkey(), SOL) for v in voters),
            )
            # A market proposed through API A, liked by ten wallets, approved, activated.
            mid = await create_market(a, creator, "Will the replicas agree?")
            raw = bytes.fromhex(mid)

            async def indexed(state: str) -> bool:
                rows = await _db(deploy_db, "SELECT state FROM markets WHERE id = %s", mid)
                return bool(rows) and rows[0][0] == state

            await _until(lambda: indexed("PROPOSED"), 10, "market indexed by a worker")
            await asyncio.gather(
                *(client.send([b.submit_proposal_vote(v.pubkey(), raw, True)], v) for v in voters)
            )
            await client.send([b.approve_market(backend.pubkey(), raw, 10, 0)], backend)
            await client.send([b.activate_market(creator.pubkey(), raw)], creator)
            await _until(lambda: indexed("ACTIVE"), 10, "market activated in the database")

            # Both APIs cache the active market (detail and list) and stream it.
            listing = {"state": "ACTIVE", "q": "replicas"}
            for http in apis:
                for _ in range(2):
                    m = (await http.get(f"/api/markets/{mid}")).json()
                    assert m["state"] == "ACTIVE" and m["trades_count"] == 0, m
                    listed = (await http.get("/api/markets", params=listing)).json()["markets"]
                    assert [(x["id"], x["trades_count"]) for x in listed] == [(mid, 0)]
            streams = [Stream(), Stream()]
            readers = [
                asyncio.create_task(s.follow(h, mid)) for s, h in zip(streams, apis, strict=True)
            ]
            try:
                for s in streams:
                    await asyncio.wait_for(s.connected.wait(), 5)

                # A trade built and relayed by API A.
                r = await a.post(
                    f"/api/markets/{mid}/buy",
                    json={
                        "wallet": str(trader.pubkey()),
                        "outcome": "yes",
                        "amount": 2 * SOL,
                        "slippage_bps": 50,
                    },
                )
                assert r.status_code == 200, r.text
                built = r.json()
                relayed = await relay(a, built, trader)
                assert relayed["status"] == "confirmed", relayed

                async def trade_row() -> bool:
                    q = "SELECT count(*) FROM trades WHERE market_id = %s"
                    return (await _db(deploy_db, q, mid))[0][0] == 1

                await _until(trade_row, 10, "trade indexed")
                indexed_at = time.monotonic()

                async def everywhere() -> bool:
                    for http in apis:
                        m = (await http.get(f"/api/markets/{mid}")).json()
                        listed = (await http.get("/api/markets", params=listing)).json()
                        if m["trades_count"] != 1 or listed["markets"][0]["trades_count"] != 1:
                            return False
                    return True

                await _until(everywhere, 1.0, "the trade in both APIs' cached detail and list")
                assert time.monotonic() - indexed_at < 1.0
                shares = built["quote"]["shares"]
                for s in streams:
                    t = await s.wait_for("trade", lambda d: d["market_id"] == mid)
                    assert t["shares"] == shares, t
                    await s.wait_for("market", lambda d: d["trades_count"] == 1)

                # A comment posted on API A reaches API B's stream (and A's).
                w = Wallet()
                r = await post_comment(a, w, mid, "Both replicas should say so.")
                assert r.status_code == 201, r.text
                cid = r.json()["id"]
                for s in streams:
                    await s.wait_for("comment", lambda d: d["id"] == cid)
            finally:
                for t in readers:
                    t.cancel()
                await asyncio.gather(*readers, return_exceptions=True)

            # One comment limit across the two APIs: N allowed in total, the next refused on
            # both (the requests are counted before their signature is checked).
            addr = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
            someone = Wallet()

            async def attempt(http: httpx2.AsyncClient) -> int:
                body = {
                    "marketId": mid,
                    "content": "spam",
                    "wallet": someone.address,
                    "message": "not a signed message",
                    "signature": "1" * 88,
                }
                r = await http.post(
                    "/api/discussions", json=body, headers={"X-Forwarded-For": addr}
                )
                return r.status_code

            codes = [await attempt(apis[i % 2]) for i in range(COMMENT_LIMIT)]
            assert 429 not in codes, codes
            assert [await attempt(a), await attempt(b_api)] == [429, 429]

        # Each job ran once per tick across the two workers: every second's tick claimed in
        # job_runs exactly once, and run by the worker that claimed it and by no other (a tick
        # whose previous run was still going is recorded as an error, and nobody runs it).
        since = await _db(deploy_db, "SELECT min(tick) FROM job_runs WHERE job = 'monitor'")
        assert since[0][0] is not None, "the monitor never ran"
        await asyncio.sleep(1.5)
    # SIGTERM to the supervisor stopped its server processes too.
    assert not any(_alive(pid) for pid in servers), servers
    rows = await _db(
        deploy_db,
        "SELECT job, tick, worker, outcome, error FROM job_runs "
        "WHERE job IN ('monitor', 'disputes') AND finished_at IS NOT NULL ORDER BY job, tick",
    )
    by_pid = {str(w.popen.pid): w.name for w in workers}
    for job in ("monitor", "disputes"):
        claimed = {r[1]: (by_pid[r[2].rsplit(":", 1)[1]], r[3], r[4]) for r in rows if r[0] == job}
        ticks = sorted(claimed)
        assert len(ticks) >= 3, (job, ticks)
        gaps = {(t2 - t1).total_seconds() for t1, t2 in itertools.pairwise(ticks)}
        assert gaps == {1.0}, (job, ticks)
        ran: dict[datetime, list[str]] = {}
        for w in workers:
            for line in w.lines():
                if line.get("event") == "job ran" and line.get("job") == job:
                    ran.setdefault(datetime.fromisoformat(line["tick"]), []).append(w.name)
        for t, (owner, outcome, error) in claimed.items():
            assert ran.get(t, []) == ([owner] if outcome == "ok" else []), (job, t, error)
        assert sum(outcome == "ok" for _, outcome, _ in claimed.values()) >= 3, claimed
    assert time.monotonic() - started < 120


async def test_signals_announce_committed_changes_on_both_channels(
    deploy_db: str, deploy_redis: str
) -> None:
    """The gateway every writer uses: a committed change is NOTIFYed and PUBLISHed, a rolled-back
    one neither; a Redis that does not answer costs a log line, never the committed change."""
    import redis.asyncio as aioredis

    from hybridmarket.signals import CHANNEL, Signals, market_changes, redis_channel, signals_for

    kept, dropped = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    sub = aioredis.from_url(deploy_redis)
    async with (
        await psycopg.AsyncConnection.connect(deploy_db, autocommit=True) as listen,
        await psycopg.AsyncConnection.connect(deploy_db, autocommit=True) as conn,
        sub.pubsub() as ps,
        signals_for(deploy_redis) as signals,
    ):
        await listen.execute(f"LISTEN {CHANNEL}")
        await ps.subscribe(redis_channel(deploy_redis))
        with pytest.raises(RuntimeError):
            async with signals.transaction(conn) as announce:
                announce.extend(market_changes({dropped}, 1))
                raise RuntimeError("rolled back")
        async with signals.transaction(conn) as announce:
            announce.extend(market_changes({kept}, 2))
        notes = []
        async for n in listen.notifies(timeout=1.0):
            notes.append(json.loads(n.payload))
        published = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not published:
            msg = await ps.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if msg is not None and kept in msg["data"].decode():
                published.append(json.loads(msg["data"]))
            elif msg is not None:
                assert dropped not in msg["data"].decode()
        ours = [n for n in notes if {kept, dropped} & set(n["markets"])]
        assert ours == [{"slot": 2, "markets": [kept]}]
        assert published == [{"slot": 2, "markets": [kept]}]

        # Redis gone: the transaction commits and the NOTIFY still goes out.
        unreachable = f"redis://127.0.0.1:{_free_port()}/0"
        async with signals_for(unreachable) as gone:
            assert isinstance(gone, Signals)
            async with gone.transaction(conn) as announce:
                announce.extend(market_changes({dropped}, 3))
        got = [json.loads(n.payload) async for n in listen.notifies(timeout=1.0)]
        assert {"slot": 3, "markets": [dropped]} in got
    await sub.aclose()


async def test_deployments_on_other_redis_databases_do_not_hear_each_other(
    deploy_redis: str,
) -> None:
    """Redis pub/sub ignores the database number: the channel carries it."""
    from hybridmarket.signals import changes_from_redis, redis_channel, signals_for

    base, db = deploy_redis.rsplit("/", 1)
    other = f"{base}/{int(db) + 1}"
    assert redis_channel(deploy_redis) != redis_channel(other)
    heard: list[dict[str, Any]] = []

    async def listen() -> None:
        async for change in changes_from_redis(deploy_redis):
            heard.append(change)

    task = asyncio.create_task(listen())
    try:
        mine, theirs = uuid.uuid4().hex, uuid.uuid4().hex
        async with signals_for(deploy_redis) as ours, signals_for(other) as neighbours:
            assert ours.publish is not None and neighbours.publish is not None
            await _until(lambda: _subscribed(deploy_redis), 5, "subscribed")
            await neighbours.publish(json.dumps({"markets": [theirs]}))
            await ours.publish(json.dumps({"markets": [mine]}))

            async def got_mine() -> bool:
                return any(mine in c["markets"] for c in heard)

            await _until(got_mine, 5, "our own change")
        assert not any(theirs in c["markets"] for c in heard), heard
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _subscribed(redis_url: str) -> bool:
    import redis.asyncio as aioredis

    from hybridmarket.signals import redis_channel

    client = aioredis.from_url(redis_url)
    try:
        counts = await client.pubsub_numsub(redis_channel(redis_url))
        return bool(counts and counts[0][1] > 0)
    finally:
        await client.aclose()
