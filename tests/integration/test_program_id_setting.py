"""A deployment at another address, end to end: the shipped binary runs at a fresh program id,
deployed there either by the embedded validator's genesis or by `hybridmarket deploy` (a
validator started without the program, the command over its JSON-RPC, `--init-config`), and the
API, the worker and the indexer, told only `PROGRAM_ID` through Settings, take a market from
proposal to claim (real validator, PostgreSQL, uvicorn, keys); the random workload covers every
instruction there."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from hybridmarket import bootstrap
from hybridmarket.authority import Signer
from hybridmarket.bootstrap import Context
from hybridmarket.canonical import canonical_json
from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair, write_keypair
from hybridmarket.ipfs.cid import cid_from_bytes
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program.accounts import MarketState
from hybridmarket.program.ids import PROGRAM_ID, config_pda, market_pda
from hybridmarket.program.instructions import BY_NAME
from hybridmarket.settings import Settings
from hybridmarket.sim import WorkloadConfig, clock_advancer, run_workload, verify_report

from .api_fixtures import api_settings, running_api
from .localnet_fixtures import control, running_validator
from .test_api import market_metadata, post_market, relay

pytestmark = pytest.mark.integration
SOL = 1_000_000_000
EVIDENCE = cid_from_bytes(bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"evidence").digest())


@pytest.fixture
def program_keypair() -> Keypair:
    return Keypair()


@pytest.fixture
def program_id(program_keypair: Keypair) -> Pubkey:
    return program_keypair.pubkey()


@pytest.fixture(params=["genesis"])
async def validator(
    request: pytest.FixtureRequest, tmp_path: Path, program_keypair: Keypair
) -> AsyncIterator[LocalValidator]:
    """The shipped binary deployed at the program keypair's address with its GlobalConfig
    initialised: at genesis, or by `hybridmarket deploy --init-config` on a validator started
    without it."""
    program_id = program_keypair.pubkey()
    if request.param == "genesis":
        async with running_validator(tmp_path / "ledger", program_id=program_id) as v:
            yield v
        return
    async with running_validator(tmp_path / "ledger", program_id=program_id, program=False) as v:
        keys = v.key_paths
        key_file = write_keypair(tmp_path / "program-keypair.json", program_keypair)
        done = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable, "-m", "hybridmarket", "deploy",
                "--url", v.rpc_url,
                "--keypair", str(keys["faucet"]),
                "--program-keypair", str(key_file),
                "--upgrade-authority", str(keys["admin"]),
                "--init-config",
                "--admin", str(keys["admin"]),
                "--backend-authority", str(load_keypair(keys["backend_authority"]).pubkey()),
                "--fee-wallet", str(load_keypair(keys["protocol_fee_wallet"]).pubkey()),
            ],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"Program Id: {program_id}" in done.stdout
        yield v


@pytest.fixture
def settings(
    validator: LocalValidator, db_url: str, tmp_path: Path, program_id: Pubkey
) -> Settings:
    return api_settings(
        db_url, validator.rpc_url, validator.ws_url, tmp_path / "data", PROGRAM_ID=str(program_id)
    )


class World:
    """The worker (its indexer and jobs) built from settings, as `hybridmarket worker` builds it,
    and the API client; chain actions go through the API and a wallet's signature."""

    def __init__(self, v: LocalValidator, ctx: Context, http: httpx2.AsyncClient) -> None:
        self.v = v
        self.client = ctx.client
        self.http = http
        backend = load_keypair(v.key_paths["backend_authority"])
        self.worker = bootstrap.worker(ctx, signer=Signer(backend, "test"))

    async def funded(self, lamports: int = 100 * SOL) -> Keypair:
        kp = Keypair()
        await self.client.request_airdrop(kp.pubkey(), lamports)
        return kp

    async def act(self, path: str, kp: Keypair, **body: Any) -> dict[str, Any]:
        """POST an action for `kp`, sign what the API built, relay it; then index it."""
        r = await self.http.post(path, json={"wallet": str(kp.pubkey()), **body})
        assert r.status_code == 200, r.text
        built: dict[str, Any] = r.json()
        assert (await relay(self.http, built, kp))["status"] == "confirmed"
        await self.worker.indexer.sync()
        return built

    async def job(self, name: str) -> dict[str, Any]:
        out = await self.worker.runs[name]()
        await self.worker.indexer.sync()
        return out

    async def advance(self, seconds: int) -> None:
        await control(self.v, "hybridmarket_advanceClock", seconds=seconds)
        slot = await self.client.get_slot()
        while await self.client.get_slot() <= slot + 1:  # a block at the new time is confirmed
            await asyncio.sleep(0.02)

    async def state(self, mid: str) -> str:
        r = await self.http.get(f"/api/markets/{mid}")
        assert r.status_code == 200, r.text
        state: str = r.json()["state"]
        return state


@pytest.fixture
async def world(validator: LocalValidator, settings: Settings) -> AsyncIterator[World]:
    async with (
        bootstrap.open_context(settings, name="worker") as ctx,
        running_api(settings) as http,
    ):
        yield World(validator, ctx, http)


@pytest.mark.parametrize("validator", ["genesis", "hybridmarket deploy"], indirect=True)
async def test_a_market_lifecycle_at_another_program_id(
    world: World, validator: LocalValidator, program_id: Pubkey
) -> None:
    assert program_id != PROGRAM_ID and world.client.program_id == program_id
    # The program and its config are at the other address, and nothing is at the default one.
    assert await world.client.get_config() is not None
    async with ChainClient(validator.rpc_url) as default:
        assert await default.get_account_data(config_pda()[0]) is None
        assert await default.get_account_data(PROGRAM_ID) is None
    health = (await world.http.get("/api/health")).json()
    assert health["chain"]["program_id"] == str(program_id), health

    # Proposed through the API: the address it names is the market's PDA under `program_id`.
    creator = await world.funded(500 * SOL)  # also its resolver (none named)
    meta = market_metadata(creator, "Does the program run at another address?")
    r = await post_market(world.http, creator, meta)
    assert r.status_code == 201, r.text
    built = r.json()
    mid = built["market_id"]
    address = market_pda(bytes.fromhex(mid), program_id)[0]
    assert built["address"] == str(address)
    assert hashlib.sha256(canonical_json(meta)).hexdigest() == mid
    assert (await relay(world.http, built, creator))["status"] == "confirmed"
    await world.worker.indexer.sync()
    assert await world.state(mid) == "PROPOSED"
    # Ten likes through the API; the worker's proposal job approves.
    for _ in range(10):
        await world.act(
            f"/api/markets/{mid}/vote", await world.funded(SOL), kind="proposal", vote=True
        )
    assert (await world.job("proposals"))["approved"] == 1
    assert await world.state(mid) == "APPROVED"

    # Activated and traded through the API.
    await world.act(f"/api/markets/{mid}/activate", creator)
    yes, no = await world.funded(), await world.funded()
    bought = await world.act(
        f"/api/markets/{mid}/buy", yes, outcome="yes", amount=2 * SOL, slippage_bps=50
    )
    await world.act(f"/api/markets/{mid}/buy", no, outcome="no", amount=SOL, slippage_bps=50)
    assert await world.state(mid) == "ACTIVE"

    # Resolved by its resolver (the creator) through the API; the worker's monitor finalizes it.
    cfg = await world.client.get_config()
    assert cfg is not None
    await world.advance(cfg.min_resolution_delay)
    await world.act(f"/api/markets/{mid}/resolve", creator, outcome="yes", evidence_cid=EVIDENCE)
    assert await world.state(mid) == "RESOLVING"
    await world.advance(cfg.dispute_period)
    assert (await world.job("monitor"))["finalized"] == 1
    assert await world.state(mid) == "FINALIZED"

    # The winner claims through the API.
    await world.act(f"/api/markets/{mid}/claim", yes)
    pos = await world.client.get_position(bytes.fromhex(mid), yes.pubkey())
    assert pos is not None and pos.has_claimed
    chain = await world.client.get_market(bytes.fromhex(mid))
    assert chain is not None and chain.state == MarketState.Finalized and chain.final_outcome

    # The indexer followed this program: its cursor, the config and the market under its id.
    async with world.worker.ctx.pool.connection() as conn:
        cur = await conn.execute("SELECT program_id, commitment FROM indexer_cursors")
        assert await cur.fetchall() == [(str(program_id), "confirmed")]
        cur = await conn.execute("SELECT program_id FROM program_config")
        assert await cur.fetchall() == [(str(program_id),)]
        cur = await conn.execute(
            "SELECT on_chain_address, state, trades_count FROM markets WHERE id = %s", (mid,)
        )
        assert await cur.fetchone() == (str(address), "FINALIZED", 2)
        cur = await conn.execute(
            "SELECT shares_yes, has_claimed FROM positions WHERE market_id = %s AND user_wallet = %s",
            (mid, str(yes.pubkey())),
        )
        assert await cur.fetchone() == (bought["quote"]["shares"], True)
        cur = await conn.execute("SELECT count(*) FROM dead_letters")
        assert await cur.fetchone() == (0,)
    health = (await world.http.get("/api/health")).json()
    assert health["indexer"]["ok"] and health["status"] == "ok", health


async def test_the_workload_runs_at_another_program_id(
    validator: LocalValidator, program_id: Pubkey
) -> None:
    """The random workload (every instruction, the deliberate failures) builds for its client's
    program id, and its report equals that program's history on chain."""
    keys = {k: load_keypair(p) for k, p in validator.key_paths.items()}
    async with ChainClient(validator.rpc_url, program_id=program_id) as client:
        report = await run_workload(
            client,
            admin=keys["admin"],
            backend=keys["backend_authority"],
            faucet=keys["faucet"],
            config=WorkloadConfig(markets=6, wallets=12, trades=60, seed=7),
            advance_clock=clock_advancer(validator.rpc_url),
        )
        assert report.unexpected() == []
        counts = report.counts()
        assert all(
            counts.get(name, {}).get("ok", 0) >= 1
            for name in BY_NAME
            if name != "initialize_config"
        ), counts
        assert await verify_report(client, report) == []
