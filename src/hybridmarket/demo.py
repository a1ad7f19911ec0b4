"""The demo world of `hybridmarket up --demo`, made through the real path: transactions on the
validator (the random workload driver), indexed by the indexer, market metadata and comments
posted to the API with real signed messages, a daily snapshot on IPFS; then a light trickle of
trades and comments so that the UI is alive.

Seeding happens once per data directory (`DATA_DIR/demo/wallets.json` records the wallets, 0600,
so the trickle can go on after a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import structlog
from solders.keypair import Keypair

from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.settings import Settings

log = structlog.get_logger(__name__)
Progress = Callable[[str, str, str], None]

COMMENTS = (
    "The resolution criteria look clear to me.",
    "Priced too high, the base rate is much lower.",
    "Buying YES, the latest numbers point that way.",
    "Does anyone have a source for the official data?",
    "Good market. Liquidity could be deeper though.",
    "Sold half my position after the news this morning.",
    "I think this resolves INVALID if the event is postponed.",
    "Forecasts changed a lot over the week 🌧️",
    "What counts as the official close?",
    "Bought NO at 0.31, still feels cheap.",
)
_FATES = (
    "active",
    "active",
    "active",
    "finalized_yes",
    "dispute_flipped",
    "proposed",
    "resolving",
    "disputed",
    "cancelled_active",
    "finalized_no",
    "approved",
    "cancelled_proposed",
)


def _wallets_file(data_dir: Path) -> Path:
    return data_dir / "demo" / "wallets.json"


def _save_wallets(path: Path, keypairs: list[Keypair], markets: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"wallets": [list(bytes(k)) for k in keypairs], "markets": markets}, f)
    os.replace(tmp, path)


def _load_wallets(path: Path) -> tuple[list[Keypair], list[str]]:
    data = json.loads(path.read_text())
    return [Keypair.from_bytes(bytes(w)) for w in data["wallets"]], list(data["markets"])


async def _signed(
    http: httpx2.AsyncClient, kp: Keypair, action: str, subject: str, content: str
) -> tuple[str, str]:
    r = await http.get(
        "/api/auth/nonce",
        params={
            "wallet": str(kp.pubkey()),
            "action": action,
            "subject": subject,
            "content_sha256": hashlib.sha256(content.encode()).hexdigest(),
        },
    )
    r.raise_for_status()
    text = r.json()["message"]
    return text, str(kp.sign_message(text.encode()))


async def post_comment(http: httpx2.AsyncClient, kp: Keypair, market_id: str, content: str) -> bool:
    message, signature = await _signed(http, kp, "post_comment", market_id, content)
    r = await http.post(
        "/api/discussions",
        json={
            "marketId": market_id,
            "content": content,
            "wallet": str(kp.pubkey()),
            "message": message,
            "signature": signature,
        },
    )
    return r.status_code == 201


async def post_metadata(
    http: httpx2.AsyncClient, creator: Keypair, metadata: dict[str, Any], b: int, liquidity: int
) -> bool:
    from hybridmarket.canonical import canonical_json

    mid = hashlib.sha256(canonical_json(metadata)).hexdigest()
    message, signature = await _signed(
        http, creator, "create_market", mid, canonical_json(metadata).decode()
    )
    r = await http.post(
        "/api/markets",
        json={
            "metadata": metadata,
            "b_parameter": b,
            "initial_liquidity": liquidity,
            "message": message,
            "signature": signature,
        },
    )
    return r.status_code == 201


async def seed(
    settings: Settings, base_url: str, progress: Progress
) -> tuple[list[Keypair], list[str]]:
    from hybridmarket.sim import Fate, WorkloadConfig, clock_advancer, run_workload

    ledger = settings.data_dir / "ledger"
    async with (
        ChainClient(settings.rpc_url(), program_id=settings.program_id) as client,
        httpx2.AsyncClient(base_url=base_url, timeout=60) as http,
    ):
        progress("demo", "seeding", "markets, votes, trades, resolutions, disputes (a few seconds)")
        report = await run_workload(
            client,
            admin=load_keypair(ledger / "admin.json"),
            backend=load_keypair(settings.data_dir / "keys" / "backend-authority.json"),
            faucet=load_keypair(ledger / "faucet.json"),
            config=WorkloadConfig(
                markets=12,
                wallets=16,
                trades=360,
                seed=int(datetime.now(UTC).timestamp()),
                concurrency=16,
                failed_fraction=0.02,
                fates=tuple(Fate(f) for f in _FATES),
                admin_instructions=False,
            ),
            advance_clock=clock_advancer(settings.rpc_url()),
        )
        wallets = {str(k.pubkey()): k for k in report.keypairs}
        posted = 0
        for m in report.markets:
            creator = wallets.get(str(m.creator))
            if creator is not None and await post_metadata(
                http, creator, m.metadata, m.b_parameter, m.initial_liquidity
            ):
                posted += 1
        progress(
            "demo",
            "seeded",
            f"{len(report.markets)} markets ({posted} with metadata), {len(report.landed)} transactions",
        )
        # Comments on the markets that are open for discussion, by several wallets.
        rng = random.Random(7)
        open_markets = [
            m.market_id.hex()
            for m in report.markets
            if m.fate in (Fate.ACTIVE, Fate.RESOLVING, Fate.DISPUTED)
        ]
        comments = 0
        for mid in open_markets:
            for _ in range(rng.randint(2, 4)):
                kp = rng.choice(report.keypairs)
                comments += await post_comment(http, kp, mid, rng.choice(COMMENTS))
        evidence = [m.evidence for m in report.markets if m.evidence]
        snap = await _archive(settings, open_markets, evidence)
        progress("demo", "seeded", f"{comments} comments; daily IPFS snapshots: {snap}")
        active = [m.market_id.hex() for m in report.markets if m.fate == Fate.ACTIVE]
        return list(report.keypairs), active


async def _archive(settings: Settings, markets: list[str], evidence: list[bytes]) -> str:
    """Store the resolvers' evidence documents on IPFS (their CIDs are the ones the seeded
    resolve transactions carry, so the market pages' evidence links open them), then move the
    seeded comments one day back (a believable history; their signatures cover the content and
    the action, not the posting time) and archive that day, so the demo shows a daily IPFS
    snapshot at once rather than after its first midnight."""
    from datetime import timedelta

    from hybridmarket import bootstrap
    from hybridmarket.worker import snapshots

    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    async with bootstrap.open_context(settings, name="demo", pool_size=2) as ctx:
        for doc in evidence:
            await asyncio.to_thread(ctx.ipfs.add, doc, cid_version=1)
        async with ctx.pool.connection() as conn:
            await conn.execute(
                "UPDATE discussions SET created_at = created_at - interval '1 day' "
                "WHERE market_id = ANY(%s)",
                (markets,),
            )
        summary = await snapshots.snapshot_day(ctx.pool, ctx.ipfs, yesterday)
    return f"{summary.get('snapshotted', summary)} for {yesterday.isoformat()}"


async def run_demo(
    settings: Settings, base_url: str, stop: asyncio.Event, *, progress: Progress
) -> None:
    """Seed once, then trickle until `stop`."""
    from hybridmarket.sim import trickle

    path = _wallets_file(settings.data_dir)
    try:
        if path.exists():
            wallets, active = _load_wallets(path)
            progress("demo", "resumed", f"{len(wallets)} wallets, {len(active)} active markets")
        else:
            wallets, active = await seed(settings, base_url, progress)
            _save_wallets(path, wallets, active)
    except Exception as e:  # the demo must never take the system down
        log.error("demo seeding failed", error=f"{type(e).__name__}: {e}")
        progress("demo", "failed", f"{type(e).__name__}: {e}")
        return
    if not active:
        return
    progress("demo", "live", "a trade every few seconds, a comment now and then")
    async with (
        ChainClient(settings.rpc_url(), program_id=settings.program_id) as client,
        httpx2.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        chatter = asyncio.create_task(_chatter(http, wallets, active, stop))
        try:
            await trickle(
                client,
                wallets=wallets,
                rate_per_s=0.3,
                stop=stop,
                markets=[bytes.fromhex(m) for m in active],
                seed=11,
            )
        except Exception as e:
            log.warning("demo trickle stopped", error=f"{type(e).__name__}: {e}")
        finally:
            chatter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chatter


async def _chatter(
    http: httpx2.AsyncClient, wallets: list[Keypair], markets: list[str], stop: asyncio.Event
) -> None:
    rng = random.Random()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=rng.uniform(20, 60))
        if stop.is_set():
            return
        with contextlib.suppress(httpx2.HTTPError):
            await post_comment(http, rng.choice(wallets), rng.choice(markets), rng.choice(COMMENTS))
