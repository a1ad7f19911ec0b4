"""The whole market lifecycle driven through `ChainClient` against the local validator over real
sockets: real ed25519 keys, real wire transactions, the clock advanced where the program needs
time to pass. Also the client's error mapping and its retries under injected faults."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from solders.keypair import Keypair

from hybridmarket.chain import (
    ChainClient,
    PreflightFailed,
    RateLimited,
    RetryPolicy,
    RpcUnavailable,
    TransactionFailed,
)
from hybridmarket.chain.keys import load_keypair
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b
from hybridmarket.program import lmsr
from hybridmarket.program.accounts import MarketState, VoteKind
from hybridmarket.program.errors import MarketError
from hybridmarket.program.events import SharesBought

pytestmark = pytest.mark.integration
SOL = 1_000_000_000
EVIDENCE = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"evidence").digest()


async def _control(v: LocalValidator, method: str, **params: object) -> object:
    async with httpx2.AsyncClient() as http:
        r = await http.post(
            v.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": [params]}
        )
        body = r.json()
        assert "error" not in body, body
        return body["result"]


@pytest.fixture
async def validator(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    async with LocalValidator(
        tmp_path / "ledger", rpc_port=0, slot_ms=50, finalize_depth=2, enable_test_controls=True
    ) as v:
        yield v


@pytest.fixture
async def client(validator: LocalValidator) -> AsyncIterator[ChainClient]:
    async with ChainClient(validator.rpc_url) as c:
        yield c


async def _funded(client: ChainClient, lamports: int = 100 * SOL) -> Keypair:
    kp = Keypair()
    await client.request_airdrop(kp.pubkey(), lamports)
    return kp


async def test_full_lifecycle_from_config_to_claims(
    validator: LocalValidator, client: ChainClient
) -> None:
    keys = validator.key_paths
    admin = load_keypair(keys["admin"])
    backend = load_keypair(keys["backend_authority"])
    cfg = await client.get_config()
    assert (
        cfg is not None
        and cfg.admin == admin.pubkey()
        and cfg.backend_authority == backend.pubkey()
    )
    fee_wallet = cfg.protocol_fee_wallet

    creator, resolver = await _funded(client, 500 * SOL), await _funded(client)
    mid = hashlib.sha256(b"Will it rain in Lisbon tomorrow?").digest()
    await client.send(
        [b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, resolver.pubkey())], creator
    )
    voters = [await _funded(client, SOL) for _ in range(10)]
    for i, v in enumerate(voters):
        await client.send([b.submit_proposal_vote(v.pubkey(), mid, i < 7)], v)
    records = await client.list_vote_records(mid, VoteKind.Proposal)
    assert sorted(r.vote for _, r in records) == [False] * 3 + [True] * 7

    # One vote below the threshold is refused by the program, with its code and logs.
    with pytest.raises(TransactionFailed) as bad:
        await client.send(
            [b.approve_market(backend.pubkey(), mid, 6, 4)], backend, skip_preflight=True
        )
    assert bad.value.code == MarketError.ApprovalThresholdNotMet
    assert any("ApprovalThresholdNotMet" in line for line in bad.value.logs)
    with pytest.raises(PreflightFailed) as pre:
        await client.send([b.approve_market(backend.pubkey(), mid, 6, 4)], backend)
    assert pre.value.code == MarketError.ApprovalThresholdNotMet and pre.value.logs

    await client.send([b.approve_market(backend.pubkey(), mid, 7, 3)], backend)
    await client.send([b.activate_market(creator.pubkey(), mid)], creator)
    market = await client.get_market(mid)
    assert market is not None and market.state == MarketState.Active

    yes, no = await _funded(client), await _funded(client)
    fees = lmsr.FeeSchedule(cfg.protocol_fee_bps, cfg.resolver_fee_bps, cfg.lp_fee_bps)
    q = lmsr.quote_buy(0, 0, 100 * SOL, True, 20 * SOL, fees)
    sent = await client.send(
        [b.buy_shares(yes.pubkey(), mid, True, 20 * SOL, q.total, fee_wallet)], yes
    )
    info = await client.get_transaction(sent.signature)
    assert info is not None and info.ok
    [ev] = info.events
    assert isinstance(ev.event, SharesBought) and ev.event.total == q.total
    assert (ev.instruction_index, ev.event_index) == (0, 0)
    await client.send([b.buy_shares(no.pubkey(), mid, False, 5 * SOL, 10 * SOL, fee_wallet)], no)
    positions = await client.list_positions(market_id=mid)
    assert {p.user for _, p in positions} == {yes.pubkey(), no.pubkey()}

    await _control(validator, "hybridmarket_advanceClock", seconds=cfg.min_resolution_delay)
    await client.send([b.resolve_market(resolver.pubkey(), mid, True, EVIDENCE)], resolver)
    await _control(validator, "hybridmarket_advanceClock", seconds=cfg.dispute_period)
    await client.send([b.finalize_market(backend.pubkey(), mid, resolver.pubkey())], backend)
    market = await client.get_market(mid)
    assert market is not None and market.state == MarketState.Finalized and market.final_outcome

    before = await client.get_balance(yes.pubkey())
    await client.send([b.claim_winnings(yes.pubkey(), mid)], yes)
    # The winner receives 1 lamport per share unit, minus the 5000-lamport signature fee.
    assert await client.get_balance(yes.pubkey()) == before + 20 * SOL - 5000
    with pytest.raises(PreflightFailed) as nothing:
        await client.send([b.claim_winnings(no.pubkey(), mid)], no)
    assert nothing.value.code == MarketError.NothingToClaim
    await client.send([b.withdraw_liquidity(creator.pubkey(), mid)], creator)
    [(_, m2)] = [
        (k, m) for k, m in await client.list_markets(MarketState.Finalized) if m.market_id == mid
    ]
    assert m2.total_withdrawn > 0
    assert await client.get_markets([mid, hashlib.sha256(b"none").digest()]) == [
        await client.get_market(mid),
        None,
    ]


async def test_unsigned_transaction_for_a_wallet(
    validator: LocalValidator, client: ChainClient
) -> None:
    import base64

    from solders.message import to_bytes_versioned
    from solders.transaction import VersionedTransaction

    payer = await _funded(client)
    ix = b.set_paused(payer.pubkey(), True)  # any instruction; it will fail on-chain (not admin)
    raw, last_valid = await client.build_unsigned([ix], payer.pubkey())
    tx = VersionedTransaction.from_bytes(base64.b64decode(raw))
    assert last_valid > 0 and tx.verify_with_results() == [False]
    signed = VersionedTransaction.populate(
        tx.message, [payer.sign_message(to_bytes_versioned(tx.message))]
    )
    assert signed.verify_with_results() == [True]
    with pytest.raises(PreflightFailed) as err:
        await client.send_raw(bytes(signed))
    assert err.value.code == MarketError.Unauthorized


async def test_client_retries_then_raises_typed_errors(validator: LocalValidator) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, deadline=5, timeout=0.5)
    async with ChainClient(validator.rpc_url, policy=policy) as c:
        await _control(validator, "hybridmarket_setFaults", http429_rate=1.0, retry_after=0)
        with pytest.raises(RateLimited):
            await c.get_slot()
        assert c.gateway.retries == 2
        await _control(validator, "hybridmarket_setFaults", http5xx_rate=1.0)
        with pytest.raises(RpcUnavailable):
            await c.get_slot()
        await _control(validator, "hybridmarket_setFaults", timeout_rate=1.0, timeout_seconds=2)
        with pytest.raises(RpcUnavailable):
            await c.get_slot()
    patient = RetryPolicy(max_attempts=30, base_delay=0.001, max_delay=0.01, deadline=10)
    async with ChainClient(validator.rpc_url, policy=patient) as c:
        await _control(validator, "hybridmarket_setFaults", http5xx_rate=0.5, seed=7)
        # Half the requests fail; the gateway's retries make every call succeed.
        for _ in range(10):
            assert await c.get_slot() > 0
        assert c.gateway.retries > 0
        await _control(validator, "hybridmarket_clearFaults")


async def test_program_logs_stream_yields_events_in_order(
    validator: LocalValidator, client: ChainClient
) -> None:
    import asyncio

    from hybridmarket.chain.stream import program_logs
    from hybridmarket.program.events import MarketProposed

    creator = await _funded(client)
    stream = program_logs(validator.ws_url)
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.3)  # let the subscription land before sending
    mids = [hashlib.sha256(f"stream-{i}".encode()).digest() for i in range(3)]
    sigs = []
    for mid in mids:
        ix = b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, creator.pubkey())
        sigs.append((await client.send([ix], creator)).signature)
    entries = [await asyncio.wait_for(first, 10)]
    while len(entries) < 3:
        entries.append(await asyncio.wait_for(stream.__anext__(), 10))
    await stream.aclose()
    assert [e.signature for e in entries] == sigs
    for entry, mid in zip(entries, mids, strict=True):
        [ev] = entry.events
        assert isinstance(ev.event, MarketProposed) and ev.event.market_id == mid
