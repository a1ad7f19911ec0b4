"""The local validator's WebSocket PubSub through solana-py's SolanaWsClient (and raw frames for
the exact notification envelope)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets
from solana.rpc.commitment import Confirmed, Finalized, Processed
from solana.rpc.websocket_api import SolanaWsClient
from solders.keypair import Keypair
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.rpc.responses import (
    AccountNotification,
    LogsNotification,
    SignatureNotification,
    SlotNotification,
)
from solders.signature import Signature

from hybridmarket.localnet.validator import LocalValidator
from tests.integration.localnet_fixtures import (
    SOL,
    faucet_of,
    funded,
    latest_blockhash,
    legacy_tx,
    rpc,
    running_validator,
    send,
    transfer_ix,
    wait_status,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def v(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    async with running_validator(tmp_path / "ledger", slot_ms=50, finalize_depth=3) as validator:
        yield validator


async def test_logs_subscribe_mentions_confirmed(v: LocalValidator) -> None:
    url = v.rpc_url
    payer = await funded(url, faucet_of(v), SOL)
    dst = Keypair().pubkey()
    async with SolanaWsClient(v.ws_url) as ws:
        sub = await ws.logs_subscribe(
            filter_=RpcTransactionLogsFilterMentions(dst), commitment=Confirmed
        )
        bh = await latest_blockhash(url)
        sig = (await send(url, legacy_tx([transfer_ix(payer.pubkey(), dst, SOL // 2)], payer, bh)))[
            "result"
        ]
        n = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(n, LogsNotification)
        assert n.subscription == sub.subscription_id
        assert str(n.result.value.signature) == sig
        assert n.result.value.err is None
        # Confirmed means the slot is closed: getTransaction at confirmed finds it.
        got = await rpc(url, "getTransaction", [sig, {"commitment": "confirmed"}])
        assert got is not None and n.result.value.logs == got["meta"]["logMessages"]
        assert n.result.context.slot == got["slot"]
        await ws.unsubscribe(sub)


async def test_logs_all_processed_and_failed(v: LocalValidator) -> None:
    url = v.rpc_url
    payer = await funded(url, faucet_of(v), SOL)
    async with SolanaWsClient(v.ws_url) as ws:
        await ws.logs_subscribe(commitment=Processed)
        bh = await latest_blockhash(url)
        tx = legacy_tx([transfer_ix(payer.pubkey(), Keypair().pubkey(), 5 * SOL)], payer, bh)
        sig = (await send(url, tx, skipPreflight=True))["result"]
        n = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(n, LogsNotification) and str(n.result.value.signature) == sig
        assert n.result.value.err is not None
        assert n.result.value.logs[-1].endswith("failed: custom program error: 0x1")


async def test_signature_account_slot_subscriptions(v: LocalValidator) -> None:
    url = v.rpc_url
    payer = await funded(url, faucet_of(v), SOL)
    dst = Keypair().pubkey()
    bh = await latest_blockhash(url)
    tx = legacy_tx([transfer_ix(payer.pubkey(), dst, SOL // 4)], payer, bh)
    async with SolanaWsClient(v.ws_url) as ws:
        sig_sub = await ws.signature_subscribe(signature=tx.signatures[0], commitment=Finalized)
        acct_sub = await ws.account_subscribe(pubkey=dst, commitment=Confirmed, encoding="base64")
        await send(url, tx)
        got: dict[type, object] = {}
        while len(got) < 2:
            n = await asyncio.wait_for(ws.recv(), 5)
            got[type(n)] = n
        acct = got[AccountNotification]
        assert isinstance(acct, AccountNotification)
        assert acct.subscription == acct_sub.subscription_id
        assert acct.result.value.lamports == SOL // 4
        sn = got[SignatureNotification]
        assert isinstance(sn, SignatureNotification)
        assert sn.subscription == sig_sub.subscription_id and sn.result.value.err is None
        assert (await rpc(url, "getSlot", [{"commitment": "finalized"}])) >= sn.result.context.slot
        await ws.unsubscribe(acct_sub)

        # Subscribing to an already-finalized signature notifies at once.
        late = await ws.signature_subscribe(signature=tx.signatures[0], commitment=Confirmed)
        n = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(n, SignatureNotification) and n.subscription == late.subscription_id

        slot_sub = await ws.slot_subscribe()
        first = await asyncio.wait_for(ws.recv(), 5)
        second = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(first, SlotNotification) and isinstance(second, SlotNotification)
        assert second.result.slot == first.result.slot + 1
        assert first.result.parent == first.result.slot - 1
        await ws.unsubscribe(slot_sub)


async def test_raw_envelopes_and_errors(v: LocalValidator) -> None:
    url = v.rpc_url
    payer = await funded(url, faucet_of(v), SOL)
    async with websockets.connect(v.ws_url) as ws:
        two = [str(Keypair().pubkey()), str(Keypair().pubkey())]
        await ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "logsSubscribe",
                    "params": [{"mentions": two}],
                }
            )
        )
        err = json.loads(await ws.recv())
        assert err["id"] == 1 and err["error"]["code"] == -32602
        assert err["error"]["message"] == "Invalid Request: Only 1 address supported"
        await ws.send(
            json.dumps({"jsonrpc": "2.0", "id": 2, "method": "logsUnsubscribe", "params": [987654]})
        )
        err = json.loads(await ws.recv())
        assert err["error"] == {"code": -32602, "message": "Invalid subscription id."}
        await ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 0,
                    "method": "logsSubscribe",
                    "params": [{"mentions": [str(payer.pubkey())]}, {"commitment": "confirmed"}],
                }
            )
        )
        ack = json.loads(await ws.recv())
        assert ack["id"] == 0 and isinstance(ack["result"], int)
        bh = await latest_blockhash(url)
        sig = (
            await send(
                url,
                legacy_tx([transfer_ix(payer.pubkey(), Keypair().pubkey(), SOL // 2)], payer, bh),
            )
        )["result"]
        note = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert note["jsonrpc"] == "2.0" and note["method"] == "logsNotification"
        assert note["params"]["subscription"] == ack["result"]
        value = note["params"]["result"]["value"]
        assert value["signature"] == sig and value["err"] is None
        assert set(note["params"]["result"]["context"]) >= {"slot"}
        await ws.send(
            json.dumps(
                {"jsonrpc": "2.0", "id": 3, "method": "logsUnsubscribe", "params": [ack["result"]]}
            )
        )
        assert json.loads(await ws.recv()) == {"jsonrpc": "2.0", "result": True, "id": 3}
        await wait_status(url, sig)
        await ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 4,
                    "method": "signatureSubscribe",
                    "params": [str(Signature.new_unique()), {"commitment": "processed"}],
                }
            )
        )
        assert isinstance(json.loads(await ws.recv())["result"], int)
