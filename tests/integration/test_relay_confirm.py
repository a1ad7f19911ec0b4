"""Confirmation through `signatureSubscribe` (issue 17): `ChainClient.confirm` of a client given
the node's WebSocket answers from the notification, success or failure, and falls back to polling when the
subscription cannot be made or its connection closes; the relay confirms this way. Real
validator, real sockets; the fallback poll is slowed so that only a notification can answer in
time."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from hybridmarket.chain import ChainClient
from hybridmarket.chain import client as chain_client
from hybridmarket.chain.errors import TransactionFailed
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b

from .api_fixtures import api_settings, running_api
from .localnet_fixtures import control, faucet_of, running_validator, transfer_ix

pytestmark = pytest.mark.integration
SOL = 1_000_000_000


@pytest.fixture
async def validator(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    """Slots of 400 ms (Solana's): a transaction confirms well after the subscription is made,
    so the status read right after subscribing does not answer for it."""
    async with running_validator(tmp_path / "ledger", slot_ms=400) as v:
        yield v


@pytest.fixture
async def subscribed(validator: LocalValidator) -> AsyncIterator[ChainClient]:
    """A client that confirms on the validator's WebSocket."""
    async with ChainClient(validator.rpc_url, ws_url=validator.ws_url) as c:
        yield c


@pytest.fixture
def slow_fallback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A subscribed confirm reads the status only after subscribing and then every 60 s: within
    the tests' 10 s timeouts, only the notification can answer."""
    monkeypatch.setattr(chain_client, "SUBSCRIBED_POLL", 60.0)
    yield


async def _transfer(client: ChainClient, payer: Keypair, *, skip_preflight: bool = False) -> str:
    bh, _ = await client.latest_blockhash()
    tx = client.build_signed([transfer_ix(payer.pubkey(), Keypair().pubkey(), SOL)], payer, (), bh)
    return await client.send_raw(bytes(tx), skip_preflight=skip_preflight)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _confirm_before_sending(
    client: ChainClient, raw: bytes, *, skip_preflight: bool = False
) -> int:
    """Start waiting on the transaction's signature before it is sent: the status read right
    after subscribing finds nothing, so only the notification can answer (the fallback poll is
    a minute away)."""
    sig = str(VersionedTransaction.from_bytes(raw).signatures[0])
    waiting = asyncio.create_task(client.confirm(sig, timeout=10))
    await asyncio.sleep(0.5)  # subscribed, and its status read done
    assert not waiting.done()
    assert await client.send_raw(raw, skip_preflight=skip_preflight) == sig
    return await waiting


async def test_confirmed_by_the_notification(
    validator: LocalValidator, subscribed: ChainClient, slow_fallback: None
) -> None:
    client = subscribed
    faucet = faucet_of(validator)
    bh, _ = await client.latest_blockhash()
    txs = [
        bytes(
            client.build_signed(
                [transfer_ix(faucet.pubkey(), Keypair().pubkey(), SOL)], faucet, (), bh
            )
        )
        for _ in range(3)
    ]
    # Three waits on one shared connection, each answered by its own notification.
    slots = await asyncio.gather(*(_confirm_before_sending(client, raw) for raw in txs))
    for raw, slot in zip(txs, slots, strict=True):
        st = await client.signature_status(str(VersionedTransaction.from_bytes(raw).signatures[0]))
        assert st is not None and st[0] == slot and st[1] is None
    # Confirmed before the subscription: the status read right after subscribing answers.
    sig = str(VersionedTransaction.from_bytes(txs[0]).signatures[0])
    assert await client.confirm(sig, timeout=10) == slots[0]


async def test_a_failed_transaction_is_reported_from_the_notification(
    subscribed: ChainClient, slow_fallback: None
) -> None:
    client = subscribed
    voter = Keypair()
    await client.request_airdrop(voter.pubkey(), SOL)
    # A vote on a market that does not exist, past the preflight: it lands and fails.
    ix = b.submit_proposal_vote(voter.pubkey(), hashlib.sha256(b"no such market").digest(), True)
    bh, _ = await client.latest_blockhash()
    raw = bytes(client.build_signed([ix], voter, (), bh))
    with pytest.raises(TransactionFailed) as e:
        await _confirm_before_sending(client, raw, skip_preflight=True)
    assert e.value.logs, "the failure carries the transaction's logs"


async def test_falls_back_to_polling_without_a_subscription(
    validator: LocalValidator, client: ChainClient, subscribed: ChainClient
) -> None:
    faucet = faucet_of(validator)
    # Nobody listens there: the subscription fails at once and the status is polled.
    nowhere = f"ws://127.0.0.1:{_closed_port()}"
    async with ChainClient(validator.rpc_url, ws_url=nowhere) as deaf:
        sig = await _transfer(deaf, faucet)
        slot = await deaf.confirm(sig, timeout=10)
    st = await client.signature_status(sig)
    assert st is not None and st[0] == slot
    # The node closes the WebSocket instead of notifying: the wait falls back to polling.
    await control(validator, "hybridmarket_setFaults", ws_close_rate=1.0)
    try:
        sig = await _transfer(subscribed, faucet)
        slot = await subscribed.confirm(sig, timeout=10)
        st = await client.signature_status(sig)
        assert st is not None and st[0] == slot
    finally:
        await control(validator, "hybridmarket_setFaults")


async def test_the_relay_confirms_through_the_subscription(
    validator: LocalValidator,
    client: ChainClient,
    db_url: str,
    tmp_path: Path,
    slow_fallback: None,
) -> None:
    faucet = faucet_of(validator)
    async with running_api(
        api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path)
    ) as http:
        bh, _ = await client.latest_blockhash()
        tx = client.build_signed(
            [transfer_ix(faucet.pubkey(), Keypair().pubkey(), SOL)], faucet, (), bh
        )
        r = await http.post(
            "/api/transactions",
            json={"transaction": base64.b64encode(bytes(tx)).decode(), "wait": "confirmed"},
            timeout=httpx2.Timeout(30),
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "confirmed"
    st = await client.signature_status(body["signature"])
    assert st is not None and st[0] == body["slot"]
