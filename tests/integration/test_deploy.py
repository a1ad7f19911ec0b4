"""`hybridmarket deploy` against a validator that starts without the program: a first deploy
at a fresh program id over JSON-RPC only, a resumed deploy after an interruption, an upgrade
while markets exist, and the one-line errors an operator meets."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from solders.keypair import Keypair

from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.deploy import Deployer, DeployError, buffer_keypair_path, deploy_program
from hybridmarket.chain.keys import load_keypair, write_keypair
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b
from hybridmarket.program.accounts import MarketState
from hybridmarket.sbf import loader, program_binary
from hybridmarket.sbf.build import build_program, program_sources, project_root
from tests.integration.localnet_fixtures import SOL, running_validator

pytestmark = pytest.mark.integration


@pytest.fixture
async def bare(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    async with running_validator(tmp_path / "ledger", slot_ms=50, program=False) as v:
        yield v


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hybridmarket", "deploy", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def _funded(client: ChainClient, lamports: int) -> Keypair:
    kp = Keypair()
    await client.request_airdrop(kp.pubkey(), lamports)
    return kp


def _keyfile(tmp_path: Path, name: str, kp: Keypair) -> Path:
    return write_keypair(tmp_path / f"{name}.json", kp)


async def test_deploy_init_config_trade_then_upgrade_with_markets(
    bare: LocalValidator, tmp_path: Path
) -> None:
    url = bare.rpc_url
    keys = bare.key_paths
    admin = load_keypair(keys["admin"])
    backend = load_keypair(keys["backend_authority"])
    program_file = tmp_path / "deploy" / "program.json"
    async with ChainClient(url) as plain:
        assert await plain.get_account_data(bare.program_id) is None  # nothing at genesis
    done = await asyncio.to_thread(
        cli,
        "--url", url,
        "--keypair", str(keys["faucet"]),
        "--program-keypair", str(program_file),
        "--upgrade-authority", str(keys["admin"]),
        "--init-config",
        "--admin", str(keys["admin"]),
        "--backend-authority", str(backend.pubkey()),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    program_id = load_keypair(program_file).pubkey()
    elf = program_binary()
    assert f"Program Id: {program_id}" in done.stdout
    assert f"sha256: {hashlib.sha256(elf).hexdigest()}" in done.stdout
    assert "GlobalConfig initialized" in done.stderr
    assert not buffer_keypair_path(program_file).exists()  # consumed by the deploy

    async with ChainClient(url, program_id=program_id) as client:
        acc = await client.get_account_data(program_id)
        assert acc is not None and acc[1] == loader.LOADER_ID
        pd = await client.get_account_data(loader.programdata_address(program_id))
        assert pd is not None
        state = loader.decode_state(pd[2])
        assert isinstance(state, loader.ProgramDataState)
        assert state.upgrade_authority == admin.pubkey() and state.elf[: len(elf)] == elf
        cfg = await client.get_config()
        assert cfg is not None and cfg.admin == admin.pubkey()
        assert cfg.backend_authority == backend.pubkey()

        # A market at the new address, traded.
        creator, trader = await _funded(client, 500 * SOL), await _funded(client, 50 * SOL)
        mid = hashlib.sha256(b"deployed elsewhere").digest()
        pid = program_id
        await client.send(
            [b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, creator.pubkey(), pid)],
            creator,
        )
        voters = [await _funded(client, SOL) for _ in range(cfg.min_proposal_votes)]
        for v in voters:
            await client.send([b.submit_proposal_vote(v.pubkey(), mid, True, pid)], v)
        await client.send([b.approve_market(backend.pubkey(), mid, len(voters), 0, pid)], backend)
        await client.send([b.activate_market(creator.pubkey(), mid, pid)], creator)
        fee_wallet = cfg.protocol_fee_wallet
        buy = b.buy_shares(trader.pubkey(), mid, True, SOL, 2 * SOL, fee_wallet, pid)
        await client.send([buy], trader)
        before = await client.get_market(mid)
        assert (
            before is not None and before.state == MarketState.Active and before.shares_yes == SOL
        )

        # Upgrade to another build of the same sources (linked in another order: other bytes,
        # the same behaviour) while the market exists: its state survives, trading goes on.
        root = project_root()
        sources, includes = program_sources(root)
        other = build_program(list(reversed(sources)), includes, root=root)
        assert other != elf
        other_file = tmp_path / "other.so"
        other_file.write_bytes(other)
        upgrade = (
            "--url", url,
            "--keypair", str(keys["faucet"]),
            "--program-keypair", str(program_file),
            "--upgrade-authority", str(keys["admin"]),
            "--program", str(other_file),
        )  # fmt: skip
        up = await asyncio.to_thread(cli, *upgrade)
        assert up.returncode == 0, up.stderr
        assert "upgraded" in up.stderr
        assert f"sha256: {hashlib.sha256(other).hexdigest()}" in up.stdout
        pd = await client.get_account_data(loader.programdata_address(program_id))
        assert pd is not None
        upgraded = loader.decode_state(pd[2])
        assert isinstance(upgraded, loader.ProgramDataState) and upgraded.slot > state.slot
        assert await client.get_market(mid) == before
        await client.send([buy], trader)
        after = await client.get_market(mid)
        assert after is not None and after.shares_yes == 2 * SOL

        # The same bytes again: nothing to do.
        again = await asyncio.to_thread(cli, *upgrade)
        assert again.returncode == 0 and "unchanged" in again.stderr

        # Errors are one line that says what to do.
        wrong = await asyncio.to_thread(
            cli,
            "--url", url,
            "--keypair", str(keys["faucet"]),
            "--program-keypair", str(program_file),
        )  # fmt: skip
        assert wrong.returncode == 1
        assert wrong.stderr.strip().splitlines()[-1] == (
            f"error: wrong upgrade authority: {program_id} is upgraded by {admin.pubkey()}, "
            f"not {load_keypair(keys['faucet']).pubkey()}; pass that key with --upgrade-authority"
        )
        taken = _keyfile(tmp_path, "taken", trader)  # a wallet's address, not a program's
        used = await asyncio.to_thread(
            cli, "--url", url, "--keypair", str(keys["faucet"]), "--program-keypair", str(taken)
        )
        assert used.returncode == 1
        assert f"program id {trader.pubkey()} is already used by an account owned by" in used.stderr
        poor = _keyfile(tmp_path, "poor", await _funded(client, SOL // 10))
        broke = await asyncio.to_thread(
            cli,
            "--url", url,
            "--keypair", str(poor),
            "--program-keypair", str(tmp_path / "fresh.json"),
        )  # fmt: skip
        assert broke.returncode == 1
        line = broke.stderr.strip().splitlines()[-1]
        assert (
            line.startswith("error: insufficient funds: the payer ")
            and "more and run again" in line
        )


async def test_an_interrupted_deploy_resumes_with_its_buffer(
    bare: LocalValidator, tmp_path: Path
) -> None:
    payer = load_keypair(bare.key_paths["faucet"])
    program_file = tmp_path / "program.json"
    elf = program_binary()

    class Interrupted(Exception):
        pass

    written: list[int] = []

    def stop_halfway(done: int, total: int) -> None:
        written.append(done)
        if done > total // 2:
            raise Interrupted

    async with ChainClient(bare.rpc_url) as client:
        with pytest.raises(Interrupted):
            await deploy_program(
                client, elf, payer=payer, program_keypair=program_file, progress=stop_halfway
            )
        buffer = load_keypair(buffer_keypair_path(program_file))
        held = await client.get_account_data(buffer.pubkey())
        assert held is not None  # the buffer stays on chain, its keypair on disk
        result = await deploy_program(client, elf, payer=payer, program_keypair=program_file)
        assert result.chunks_reused > 0 and result.chunks_sent > 0
        chunk = loader.write_chunk_size(payer.pubkey(), buffer.pubkey(), payer.pubkey())
        assert result.chunks_reused + result.chunks_sent == -(-len(elf) // chunk)
        assert result.sha256 == hashlib.sha256(elf).hexdigest()
        assert await client.get_account_data(buffer.pubkey()) is None  # closed by the deploy
        with pytest.raises(DeployError, match="does not exist: a first deploy needs its keypair"):
            await Deployer(client, payer).deploy(
                elf, Keypair().pubkey(), Keypair(), max_data_len=None
            )
