"""The random workload driver against the embedded validator over real sockets: a small run
covers every instruction and state, its report equals what the chain records (signatures
paged from getSignaturesForAddress with their errors, every market's state), and `trickle`
holds a rate with every trade accounted for."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from solders.keypair import Keypair

from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program.accounts import MarketState
from hybridmarket.program.errors import MarketError
from hybridmarket.program.instructions import BY_NAME
from hybridmarket.sim import (
    Fate,
    TxStatus,
    WorkloadConfig,
    clock_advancer,
    fund_wallets,
    market_id_of,
    program_signatures,
    run_workload,
    trickle,
    verify_report,
)
from tests.integration.localnet_fixtures import running_validator

pytestmark = pytest.mark.integration
SOL = 1_000_000_000
TIMED = {"resolve_market", "initiate_dispute", "submit_dispute_vote", "finalize_market"}


@pytest.fixture
async def validator(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    async with running_validator(tmp_path / "ledger", slot_ms=50, finalize_depth=3) as v:
        yield v


@pytest.fixture
async def client(validator: LocalValidator) -> AsyncIterator[ChainClient]:
    async with ChainClient(validator.rpc_url) as c:
        yield c


def _keys(v: LocalValidator) -> tuple[Keypair, Keypair, Keypair]:
    """(admin, backend authority, faucet)."""
    paths = v.key_paths
    return (
        load_keypair(paths["admin"]),
        load_keypair(paths["backend_authority"]),
        load_keypair(paths["faucet"]),
    )


async def test_workload_covers_the_program_and_equals_the_chain(
    validator: LocalValidator, client: ChainClient
) -> None:
    before = await program_signatures(client)  # initialize_config, at genesis
    progress: list[tuple[str, int, int]] = []
    admin, backend, faucet = _keys(validator)
    report = await run_workload(
        client,
        admin=admin,
        backend=backend,
        faucet=faucet,
        config=WorkloadConfig(markets=6, wallets=12, trades=150, seed=1234),
        advance_clock=clock_advancer(validator.rpc_url),
        progress=lambda phase, done, total: progress.append((phase, done, total)),
    )
    assert report.unexpected() == []
    assert len(report.wallets) == 12 and len(report.markets) == 6

    # Every instruction succeeded at least once; initialize_config ran at genesis, so it can
    # only fail now (AlreadyInitialized).
    counts = report.counts()
    for name in BY_NAME:
        if name == "initialize_config":
            assert counts[name]["failed"] >= 1
        else:
            assert counts.get(name, {}).get("ok", 0) >= 1, name
    failed_codes = {t.error_code for t in report.transactions if t.status is TxStatus.FAILED}
    assert {
        MarketError.SlippageExceeded,
        MarketError.AlreadyVoted,
        MarketError.InsufficientShares,
    } <= failed_codes

    # The report's signatures are exactly the program's, paged from getSignaturesForAddress,
    # with the same slots and the same success or failure.
    chain = {s: v for s, v in (await program_signatures(client)).items() if s not in before}
    assert {s for s, (_, err) in chain.items() if err is None} == report.signatures(TxStatus.OK)
    assert {s for s, (_, err) in chain.items() if err is not None} == report.signatures(
        TxStatus.FAILED
    )
    assert not report.signatures(TxStatus.REJECTED, program_only=False)
    assert not report.signatures(TxStatus.LOST, program_only=False)
    landed = {t.signature: t for t in report.transactions if t.program and t.landed}
    assert all(landed[s].slot == slot for s, (slot, _) in chain.items())

    # A skip-preflight failure is a real transaction: readable, with its error, logs and fee.
    one_per_kind = {t.failure: t for t in report.transactions if t.failure is not None}
    for t in one_per_kind.values():
        assert t.expected_error is not None
        info = await client.get_transaction(t.signature)
        assert info is not None and info.err == t.err and info.fee == 5000
        assert any(MarketError(t.expected_error).name in line for line in info.logs)

    # Every market ended in the state (and with the outcomes) the report says.
    accounts = await client.get_markets([m.market_id for m in report.markets])
    for rec, acc in zip(report.markets, accounts, strict=True):
        assert acc is not None and market_id_of(rec.metadata) == rec.market_id
        assert (acc.state, acc.proposed_outcome, acc.final_outcome, acc.trades_count) == (
            rec.state,
            rec.proposed_outcome,
            rec.final_outcome,
            rec.trades,
        ), rec.fate
    listed = await client.list_markets()
    assert Counter(m.state for _, m in listed) == Counter(rec.state for rec in report.markets)
    states = {rec.state for rec in report.markets}
    assert {MarketState.Finalized, MarketState.Cancelled} <= states
    finalized = [rec for rec in report.markets if rec.state is MarketState.Finalized]
    assert {rec.proposed_outcome for rec in finalized} == {True, False, None}
    assert any(rec.flipped and rec.final_outcome != rec.proposed_outcome for rec in finalized)
    assert await verify_report(client, report) == []

    done = {phase for phase, n, total in progress if n == total > 0}
    assert {"funding", "propose", "vote", "trade", "resolve", "finalize", "claim"} <= done


async def test_workload_without_a_clock_then_a_steady_trickle(
    validator: LocalValidator, client: ChainClient
) -> None:
    admin, backend, faucet = _keys(validator)
    fates = (Fate.ACTIVE, Fate.CANCELLED_ACTIVE, Fate.PROPOSED, Fate.ACTIVE)
    report = await run_workload(
        client,
        admin=admin,
        backend=backend,
        faucet=faucet,
        config=WorkloadConfig(markets=4, wallets=10, trades=40, seed=99, fates=fates),
        advance_clock=None,
    )
    assert report.unexpected() == [] and await verify_report(client, report) == []
    assert not TIMED & report.counts().keys()
    assert [rec.state for rec in report.markets] == [
        MarketState.Active,
        MarketState.Cancelled,
        MarketState.Proposed,
        MarketState.Active,
    ]

    traders = [Keypair() for _ in range(20)]
    await fund_wallets(client, faucet, [(k.pubkey(), 1_000 * SOL) for k in traders])
    cursor = (await client.signatures_for_program(limit=1))[0][0]
    result = await trickle(client, wallets=traders, rate_per_s=50, duration_s=2, seed=5)
    active = {rec.market_id for rec in report.markets if rec.state is MarketState.Active}
    assert set(result.markets) == active
    # About 100 at the target rate; only loosely bounded, timing is not what is tested here.
    assert len(result.transactions) >= 25
    assert all(t.acked_at is not None and t.acked_at >= t.sent_at > 0 for t in result.transactions)
    assert result.count(TxStatus.OK) == len(result.transactions)
    chain = await program_signatures(client, until=cursor)
    assert set(chain) == {t.signature for t in result.transactions}
    assert all(err is None for _, err in chain.values())
    on_chain = sum(m.trades_count for m in await client.get_markets(sorted(active)) if m)
    assert on_chain == sum(rec.trades for rec in report.markets if rec.market_id in active) + len(
        result.transactions
    )

    # Stopped by an event instead of a duration.
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    stopped = await trickle(client, wallets=traders, rate_per_s=100, stop=stop, seed=6)
    assert stopped.transactions and stopped.count(TxStatus.OK) == len(stopped.transactions)
