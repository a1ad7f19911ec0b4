"""The local validator's JSON-RPC over real sockets: solana-py's AsyncClient for the typed view,
raw POSTs for the exact shapes and error codes."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import base58
import httpx2
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Processed
from solana.rpc.core import RPCException
from solana.rpc.models import MemcmpOpts, TxOpts
from solders.address_lookup_table_account import (
    AddressLookupTableAccount,
    derive_lookup_table_address,
)
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import VersionedTransaction

from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders
from hybridmarket.program.errors import MarketError
from hybridmarket.program.ids import PROGRAM_ID, config_pda
from hybridmarket.program.runtime import rent_exempt_minimum
from tests.integration.localnet_fixtures import (
    SOL,
    b64,
    control,
    faucet_of,
    funded,
    latest_blockhash,
    legacy_tx,
    rpc,
    rpc_raw,
    running_validator,
    send,
    transfer_ix,
    v0_tx,
    wait_status,
)

pytestmark = pytest.mark.integration
SYSTEM = "11111111111111111111111111111111"
SYSTEM_LOGS = [f"Program {SYSTEM} invoke [1]", f"Program {SYSTEM} success"]


@pytest.fixture
async def v(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    async with running_validator(tmp_path / "ledger") as validator:
        yield validator


@pytest.fixture
async def client(v: LocalValidator) -> AsyncIterator[AsyncClient]:
    c = AsyncClient(v.rpc_url, commitment=Confirmed)
    yield c
    await c.close()


async def test_node_methods(v: LocalValidator, client: AsyncClient) -> None:
    assert (await client.is_connected()) is True
    assert await rpc(v.rpc_url, "getHealth") == "ok"
    version = await rpc(v.rpc_url, "getVersion")
    assert set(version) == {"solana-core", "feature-set"}
    await v.wait_for_slot(5, "finalized")
    # One batch is answered in one pass of the event loop: the three views of the same instant.
    commitments = ("processed", "confirmed", "finalized")
    async with httpx2.AsyncClient() as http:
        batch = [
            {"jsonrpc": "2.0", "id": i, "method": "getSlot", "params": [{"commitment": c}]}
            for i, c in enumerate(commitments)
        ]
        answers = sorted((await http.post(v.rpc_url, json=batch)).json(), key=lambda a: a["id"])
    slots = {c: a["result"] for c, a in zip(commitments, answers, strict=True)}
    assert slots["processed"] > slots["confirmed"] >= slots["finalized"]
    assert slots["confirmed"] - slots["finalized"] <= 4
    assert (await client.get_block_height(Processed)).value >= slots["processed"] - 1
    assert await rpc(v.rpc_url, "getMinimumBalanceForRentExemption", [0]) == 890_880
    assert await rpc(v.rpc_url, "getMinimumBalanceForRentExemption", [100]) == rent_exempt_minimum(
        100
    )
    assert await rpc(v.rpc_url, "getGenesisHash") == str(v.bank.genesis_hash)
    info = await rpc(v.rpc_url, "getEpochInfo", [{"commitment": "confirmed"}])
    assert info["epoch"] == 0 and info["slotsInEpoch"] == 432_000
    bt = (await client.get_block_time(slots["finalized"])).value
    assert isinstance(bt, int) and bt > 1_600_000_000
    err = await rpc_raw(v.rpc_url, "getBlockTime", [10**9])
    assert err["error"]["code"] == -32004


async def test_blockhash_methods(v: LocalValidator, client: AsyncClient) -> None:
    resp = await client.get_latest_blockhash()
    bh = resp.value.blockhash
    assert resp.value.last_valid_block_height >= resp.context.slot + 149
    valid = await rpc(v.rpc_url, "isBlockhashValid", [str(bh), {"commitment": "confirmed"}])
    assert valid["value"] is True
    invalid = await rpc(v.rpc_url, "isBlockhashValid", [str(Hash.new_unique())])
    assert invalid["value"] is False


async def test_transfer_legacy_and_v0(v: LocalValidator, client: AsyncClient) -> None:
    faucet = faucet_of(v)
    bh = (await client.get_latest_blockhash()).value.blockhash
    dst = Keypair().pubkey()
    legacy = legacy_tx([transfer_ix(faucet.pubkey(), dst, SOL)], faucet, bh)
    sig_l = (await client.send_transaction(legacy)).value
    v0 = v0_tx([transfer_ix(faucet.pubkey(), dst, 2 * SOL)], faucet, bh)
    sig_v0 = (
        await client.send_raw_transaction(bytes(v0), TxOpts(preflight_commitment=Confirmed))
    ).value
    await client.confirm_transaction(sig_l, Confirmed, sleep_seconds=0.05)
    await client.confirm_transaction(sig_v0, Confirmed, sleep_seconds=0.05)
    assert (await client.get_balance(dst)).value == 3 * SOL

    tx = (await client.get_transaction(sig_l, "json", max_supported_transaction_version=0)).value
    assert tx is not None
    meta = tx.transaction.meta
    assert meta.err is None and meta.fee == 5000
    assert meta.log_messages == SYSTEM_LOGS
    assert meta.compute_units_consumed == 150
    assert meta.post_balances[1] - meta.pre_balances[1] == SOL
    assert meta.pre_balances[0] - meta.post_balances[0] == SOL + 5000

    raw = await rpc(
        v.rpc_url,
        "getTransaction",
        [
            str(sig_v0),
            {"encoding": "base64", "commitment": "confirmed", "maxSupportedTransactionVersion": 0},
        ],
    )
    assert raw["version"] == 0
    assert base64.b64decode(raw["transaction"][0]) == bytes(v0)
    raw_json = await rpc(
        v.rpc_url,
        "getTransaction",
        [
            str(sig_v0),
            {"encoding": "json", "commitment": "confirmed", "maxSupportedTransactionVersion": 0},
        ],
    )
    assert raw_json["transaction"]["message"]["addressTableLookups"] == []
    assert raw_json["meta"]["status"] == {"Ok": None}
    legacy_json = await rpc(v.rpc_url, "getTransaction", [str(sig_l), {"commitment": "confirmed"}])
    assert "version" not in legacy_json
    assert "addressTableLookups" not in legacy_json["transaction"]["message"]
    # A v0 transaction without maxSupportedTransactionVersion: -32015.
    err = await rpc_raw(v.rpc_url, "getTransaction", [str(sig_v0), {"commitment": "confirmed"}])
    assert err["error"]["code"] == -32015
    # processed is rejected for getTransaction and getSignaturesForAddress.
    for method, arg in (("getTransaction", str(sig_l)), ("getSignaturesForAddress", str(dst))):
        err = await rpc_raw(v.rpc_url, method, [arg, {"commitment": "processed"}])
        assert err["error"]["code"] == -32602
        assert "confirmed" in err["error"]["message"]
    unknown = await rpc(
        v.rpc_url, "getTransaction", [str(Signature.new_unique()), {"commitment": "confirmed"}]
    )
    assert unknown is None


async def test_send_errors(v: LocalValidator, client: AsyncClient) -> None:
    faucet = faucet_of(v)
    url = v.rpc_url
    bh = await latest_blockhash(url)
    payer = await funded(url, faucet, SOL)

    # Bad signature: -32003 with preflight, silently dropped without.
    tx = legacy_tx([transfer_ix(payer.pubkey(), Keypair().pubkey(), SOL // 2)], payer, bh)
    raw = bytearray(bytes(tx))
    raw[5] ^= 1
    bad = base64.b64encode(bytes(raw)).decode()
    err = await rpc_raw(url, "sendTransaction", [bad, {"encoding": "base64"}])
    assert err["error"] == {"code": -32003, "message": "Transaction signature verification failure"}
    skipped = await rpc(
        url, "sendTransaction", [bad, {"encoding": "base64", "skipPreflight": True}]
    )
    assert (await rpc(url, "getSignatureStatuses", [[skipped]]))["value"] == [None]

    # Unknown blockhash: preflight failure with data.
    stale = legacy_tx(
        [transfer_ix(payer.pubkey(), Keypair().pubkey(), SOL // 2)], payer, Hash.new_unique()
    )
    err = await send(url, stale)
    assert err["error"]["code"] == -32002
    assert err["error"]["message"] == "Transaction simulation failed: Blockhash not found"
    assert err["error"]["data"]["err"] == "BlockhashNotFound"
    assert err["error"]["data"]["logs"] == []

    # Insufficient funds in the system program: Custom(1) and Agave's log line.
    poor = legacy_tx([transfer_ix(payer.pubkey(), Keypair().pubkey(), 2 * SOL)], payer, bh)
    with pytest.raises(RPCException) as info:
        await client.send_transaction(poor)
    msg = info.value.args[0]
    assert isinstance(msg, SendTransactionPreflightFailureMessage)
    assert msg.data.logs == [
        f"Program {SYSTEM} invoke [1]",
        f"Transfer: insufficient lamports {SOL - 5000}, need {2 * SOL}",
        f"Program {SYSTEM} failed: custom program error: 0x1",
    ]
    err = await send(url, poor)
    assert err["error"]["data"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert err["error"]["message"] == (
        "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1"
    )

    # The same, skipping preflight: recorded as failed, the fee charged, nothing else.
    sig = (await send(url, poor, skipPreflight=True))["result"]
    st = await wait_status(url, sig)
    assert st["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert st["status"] == {"Err": {"InstructionError": [0, {"Custom": 1}]}}
    got = await rpc(url, "getTransaction", [sig, {"commitment": "confirmed"}])
    assert got["meta"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert got["meta"]["fee"] == 5000
    assert got["meta"]["postBalances"][0] == got["meta"]["preBalances"][0] - 5000
    assert got["meta"]["postBalances"][1] == got["meta"]["preBalances"][1]
    assert (await client.get_balance(payer.pubkey())).value == SOL - 5000

    # Rent: a new account below the rent-exempt minimum.
    dust = legacy_tx([transfer_ix(payer.pubkey(), Keypair().pubkey(), 1000)], payer, bh)
    err = await send(url, dust)
    assert err["error"]["data"]["err"] == {"InsufficientFundsForRent": {"account_index": 1}}
    assert err["error"]["message"].endswith(
        "Transaction results in an account (1) with insufficient funds for rent"
    )

    # Replay of a landed transaction.
    ok = legacy_tx([transfer_ix(payer.pubkey(), Keypair().pubkey(), SOL // 10)], payer, bh)
    assert "result" in await send(url, ok)
    err = await send(url, ok)
    assert err["error"]["data"]["err"] == "AlreadyProcessed"

    # Fee payer that does not exist.
    ghost = Keypair()
    err = await send(url, legacy_tx([transfer_ix(ghost.pubkey(), payer.pubkey(), 1)], ghost, bh))
    assert err["error"]["data"]["err"] == "AccountNotFound"

    # Garbage: -32602.
    err = await rpc_raw(url, "sendTransaction", ["AAAA", {"encoding": "base64"}])
    assert err["error"]["code"] == -32602


async def test_create_account_and_program_accounts(v: LocalValidator, client: AsyncClient) -> None:
    url = v.rpc_url
    payer = await funded(url, faucet_of(v), 10 * SOL)
    owner = Pubkey.new_unique()
    bh = await latest_blockhash(url)
    news = [Keypair() for _ in range(3)]
    sizes = [16, 16, 24]
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=payer.pubkey(),
                to_pubkey=k.pubkey(),
                lamports=rent_exempt_minimum(n),
                space=n,
                owner=owner,
            )
        )
        for k, n in zip(news, sizes, strict=True)
    ]
    sig = (await send(url, legacy_tx(ixs, payer, bh, news)))["result"]
    await wait_status(url, sig)
    got = (await client.get_account_info(news[0].pubkey())).value
    assert got is not None and got.owner == owner and got.data == bytes(16)
    # Creating it again: already in use, Custom(0).
    again = legacy_tx(ixs[:1], payer, await latest_blockhash(url), news[:1])
    err = await send(url, again)
    assert err["error"]["data"]["err"] == {"InstructionError": [0, {"Custom": 0}]}
    assert any("already in use" in line for line in err["error"]["data"]["logs"])

    res = await client.get_program_accounts(owner, encoding="base64")
    assert sorted(str(a.pubkey) for a in res.value) == sorted(str(k.pubkey()) for k in news)
    res = await client.get_program_accounts(owner, encoding="base64", filters=[16])
    assert len(res.value) == 2
    res = await client.get_program_accounts(
        owner, encoding="base64", filters=[24, MemcmpOpts(offset=0, bytes="1111")]
    )
    assert len(res.value) == 1
    b64_filter = {
        "memcmp": {"offset": 4, "bytes": base64.b64encode(bytes(4)).decode(), "encoding": "base64"}
    }
    with_ctx = await rpc(
        url,
        "getProgramAccounts",
        [
            str(owner),
            {
                "encoding": "base64",
                "filters": [b64_filter, {"dataSize": 24}],
                "withContext": True,
                "commitment": "confirmed",
            },
        ],
    )
    assert set(with_ctx) == {"context", "value"} and len(with_ctx["value"]) == 1
    too_many = await rpc_raw(
        url, "getProgramAccounts", [str(owner), {"filters": [{"dataSize": 1}] * 5}]
    )
    assert too_many["error"]["code"] == -32602

    multi = await client.get_multiple_accounts(
        [news[0].pubkey(), Pubkey.new_unique(), news[2].pubkey()]
    )
    assert [a is None for a in multi.value] == [False, True, False]
    over = await rpc_raw(url, "getMultipleAccounts", [[str(Pubkey.new_unique())] * 101])
    assert over["error"] == {"code": -32602, "message": "Too many inputs provided; max 100"}
    sliced = await rpc(
        url,
        "getAccountInfo",
        [
            str(news[2].pubkey()),
            {
                "encoding": "base64",
                "dataSlice": {"offset": 2, "length": 3},
                "commitment": "confirmed",
            },
        ],
    )
    assert sliced["value"]["data"] == [base64.b64encode(bytes(3)).decode(), "base64"]
    assert sliced["value"]["space"] == 24


async def test_program_error_and_events(v: LocalValidator, client: AsyncClient) -> None:
    url = v.rpc_url
    creator = await funded(url, faucet_of(v), 10 * SOL)
    market_id = hashlib.sha256(b"program error test").digest()
    # Far too little initial liquidity for b: the program's InsufficientInitialLiquidity.
    ix = builders.propose_market(creator.pubkey(), market_id, 1_000 * SOL, 1, creator.pubkey())
    bh = await latest_blockhash(url)
    err = await send(url, legacy_tx([ix], creator, bh))
    code = int(MarketError.InsufficientInitialLiquidity)
    assert err["error"]["data"]["err"] == {"InstructionError": [0, {"Custom": code}]}
    logs = err["error"]["data"]["logs"]
    assert logs[0] == f"Program {PROGRAM_ID} invoke [1]"
    assert logs[-1] == f"Program {PROGRAM_ID} failed: custom program error: {code:#x}"
    sig = (await send(url, legacy_tx([ix], creator, bh), skipPreflight=True))["result"]
    st = await wait_status(url, sig)
    assert st["err"] == {"InstructionError": [0, {"Custom": code}]}
    got = await rpc(url, "getTransaction", [sig, {"commitment": "confirmed"}])
    assert got["meta"]["logMessages"] == logs

    # A valid one lands, with its event in the logs; the GlobalConfig from genesis is there.
    ok = builders.propose_market(creator.pubkey(), market_id, SOL, SOL, creator.pubkey())
    sig = (await send(url, legacy_tx([ok], creator, bh)))["result"]
    await wait_status(url, sig)
    got = await rpc(url, "getTransaction", [sig, {"commitment": "confirmed"}])
    assert any(line.startswith("Program data: ") for line in got["meta"]["logMessages"])
    assert (await client.get_account_info(config_pda()[0])).value.owner == PROGRAM_ID
    sigs = await rpc(
        url, "getSignaturesForAddress", [str(config_pda()[0]), {"commitment": "confirmed"}]
    )
    assert sigs[-1]["slot"] == 2  # initialize_config at genesis, after the deploy in slot 1


async def test_simulate(v: LocalValidator, client: AsyncClient) -> None:
    url = v.rpc_url
    payer = await funded(url, faucet_of(v), SOL)
    dst = Keypair().pubkey()
    tx = legacy_tx([transfer_ix(payer.pubkey(), dst, SOL // 2)], payer, Hash.new_unique())
    res = await client.simulate_transaction(tx, replace_recent_blockhash=True)
    assert res.value.err is None and res.value.logs == SYSTEM_LOGS
    assert res.value.replacement_blockhash is not None
    assert res.value.units_consumed == 150
    strict = await rpc(
        url, "simulateTransaction", [b64(tx), {"encoding": "base64", "sigVerify": True}]
    )
    assert strict["value"]["err"] == "BlockhashNotFound"
    both = await rpc_raw(
        url,
        "simulateTransaction",
        [b64(tx), {"encoding": "base64", "sigVerify": True, "replaceRecentBlockhash": True}],
    )
    assert both["error"]["code"] == -32602
    with_accounts = await rpc(
        url,
        "simulateTransaction",
        [
            b64(tx),
            {
                "encoding": "base64",
                "replaceRecentBlockhash": True,
                "accounts": {"addresses": [str(dst)], "encoding": "base64"},
            },
        ],
    )
    assert with_accounts["value"]["accounts"][0]["lamports"] == SOL // 2
    # Simulation changes nothing.
    assert (await client.get_balance(dst, Processed)).value == 0


async def test_statuses_and_commitments(tmp_path: Path) -> None:
    async with running_validator(tmp_path / "l", slot_ms=600, finalize_depth=2) as v:
        url = v.rpc_url
        faucet = faucet_of(v)
        dst = Keypair().pubkey()
        await v.wait_for_slot(v.bank.current.slot, "confirmed")  # right after a slot boundary
        bh = await latest_blockhash(url)
        sig = (await send(url, legacy_tx([transfer_ix(faucet.pubkey(), dst, SOL)], faucet, bh)))[
            "result"
        ]
        st = (await rpc(url, "getSignatureStatuses", [[sig]]))["value"][0]
        assert st["confirmationStatus"] == "processed" and st["confirmations"] == 0
        bal = {
            c: (await rpc(url, "getBalance", [str(dst), {"commitment": c}]))["value"]
            for c in ("processed", "confirmed", "finalized")
        }
        assert bal == {"processed": SOL, "confirmed": 0, "finalized": 0}
        assert await rpc(url, "getTransaction", [sig, {"commitment": "confirmed"}]) is None
        st = await wait_status(url, sig, "confirmed")
        assert st["confirmationStatus"] == "confirmed"
        assert (await rpc(url, "getBalance", [str(dst), {"commitment": "confirmed"}]))[
            "value"
        ] == SOL
        fin = (await rpc(url, "getBalance", [str(dst), {"commitment": "finalized"}]))["value"]
        assert fin == 0
        st = await wait_status(url, sig, "finalized")
        assert st["confirmations"] is None
        assert (await rpc(url, "getBalance", [str(dst)]))["value"] == SOL  # default: finalized
        over = await rpc_raw(url, "getSignatureStatuses", [[sig] * 257])
        assert over["error"]["code"] == -32602
        unknown = await rpc(
            url,
            "getSignatureStatuses",
            [[str(Signature.new_unique())], {"searchTransactionHistory": True}],
        )
        assert unknown["value"] == [None]
        mcs = await rpc_raw(url, "getSlot", [{"commitment": "confirmed", "minContextSlot": 10**9}])
        assert mcs["error"]["code"] == -32016


async def test_signatures_for_address_paging(v: LocalValidator) -> None:
    url = v.rpc_url
    faucet = faucet_of(v)
    payer = await funded(url, faucet, 100 * SOL)
    target = await funded(url, faucet, SOL)
    bh = await latest_blockhash(url)
    n = 2300
    txs = [
        legacy_tx([transfer_ix(payer.pubkey(), target.pubkey(), 1 + i)], payer, bh)
        for i in range(n)
    ]
    sent: list[str] = []
    async with httpx2.AsyncClient() as http:
        for start in range(0, n, 200):  # batches of 200 sendTransaction requests
            batch = [
                {
                    "jsonrpc": "2.0",
                    "id": start + i,
                    "method": "sendTransaction",
                    "params": [b64(tx), {"encoding": "base64", "skipPreflight": True}],
                }
                for i, tx in enumerate(txs[start : start + 200])
            ]
            r = (await http.post(url, json=batch)).json()
            assert [x["id"] for x in r] == [start + i for i in range(len(batch))]
            sent.extend(x["result"] for x in r)
    await wait_status(url, sent[-1])
    pages: list[list[dict[str, object]]] = []
    before = None
    while True:
        cfg: dict[str, object] = {"commitment": "confirmed", "limit": 1000}
        if before is not None:
            cfg["before"] = before
        page = await rpc(url, "getSignaturesForAddress", [str(target.pubkey()), cfg])
        if not page:
            break
        pages.append(page)
        before = page[-1]["signature"]
    listed = [p["signature"] for page in pages for p in page]
    assert [len(p) for p in pages] == [1000, 1000, 301]  # + the funding transfer
    assert len(set(listed)) == len(listed)
    assert listed[:n] == list(reversed(sent))  # newest first, block order within a slot
    slots = [p["slot"] for page in pages for p in page]
    assert slots == sorted(slots, reverse=True)
    # until is exclusive, before too; an unknown before gives [].
    window = await rpc(
        url,
        "getSignaturesForAddress",
        [str(target.pubkey()), {"commitment": "confirmed", "before": sent[10], "until": sent[5]}],
    )
    assert [w["signature"] for w in window] == list(reversed(sent[6:10]))
    assert (
        await rpc(
            url,
            "getSignaturesForAddress",
            [
                str(target.pubkey()),
                {"commitment": "confirmed", "before": str(Signature.new_unique())},
            ],
        )
        == []
    )
    for bad in (0, 1001):
        err = await rpc_raw(url, "getSignaturesForAddress", [str(target.pubkey()), {"limit": bad}])
        assert err["error"] == {"code": -32602, "message": "Invalid limit; max 1000"}
    balance = (await rpc(url, "getBalance", [str(target.pubkey()), {"commitment": "confirmed"}]))[
        "value"
    ]
    assert balance == SOL + sum(1 + i for i in range(n))


async def test_envelope_and_batches(v: LocalValidator) -> None:
    url = v.rpc_url
    async with httpx2.AsyncClient() as http:
        body = [
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "getSlot",
                "params": [{"commitment": None, "minContextSlot": None}],
            },
            {"jsonrpc": "2.0", "id": "x", "method": "nope"},
            {"jsonrpc": "1.0", "id": 2, "method": "getSlot"},
            {"jsonrpc": "2.0", "id": 3, "method": "getBalance", "params": ["not-a-key"]},
            {
                "jsonrpc": "2.0",
                "id": 4,
                "method": "getAccountInfo",
                "params": [str(Pubkey.new_unique()), {"encoding": "base64", "dataSlice": None}],
            },
            5,
        ]
        r = (await http.post(url, json=body)).json()
        assert r[0]["id"] == 0 and isinstance(r[0]["result"], int)
        assert r[1] == {
            "jsonrpc": "2.0",
            "error": {"code": -32601, "message": "Method not found"},
            "id": "x",
        }
        assert r[2]["error"] == {"code": -32600, "message": "Invalid request"}
        assert r[3]["error"]["code"] == -32602 and r[3]["id"] == 3
        assert r[4]["result"]["value"] is None
        assert r[5]["error"]["code"] == -32600 and r[5]["id"] is None
        empty = (await http.post(url, json=[])).json()
        assert empty["error"]["code"] == -32600
        parse = (
            await http.post(url, content=b"{nope", headers={"content-type": "application/json"})
        ).json()
        assert parse["error"] == {"code": -32700, "message": "Parse error"}
        health = await http.get(url + "/health")
        assert health.text == "ok"


async def test_airdrop_fee_and_clock(v: LocalValidator, client: AsyncClient) -> None:
    url = v.rpc_url
    kp = Keypair()
    sig = (await client.request_airdrop(kp.pubkey(), 5 * SOL)).value
    await client.confirm_transaction(sig, Confirmed, sleep_seconds=0.05)
    assert (await client.get_balance(kp.pubkey())).value == 5 * SOL
    bh = await latest_blockhash(url)
    msg = Message.new_with_blockhash(
        [transfer_ix(kp.pubkey(), Keypair().pubkey(), SOL)], kp.pubkey(), bh
    )
    assert (await client.get_fee_for_message(msg)).value == 5000
    stale = Message.new_with_blockhash(
        [transfer_ix(kp.pubkey(), Keypair().pubkey(), SOL)], kp.pubkey(), Hash.new_unique()
    )
    assert (await client.get_fee_for_message(stale)).value is None

    before = await control(v, "hybridmarket_getClock")
    moved = await control(v, "hybridmarket_advanceClock", seconds=86_400)
    assert moved["unixTimestamp"] >= before["unixTimestamp"] + 86_400
    await v.wait_for_slot(moved["slot"] + 1, "confirmed")
    slot = await rpc(url, "getSlot", [{"commitment": "confirmed"}])
    assert await rpc(url, "getBlockTime", [slot]) >= moved["unixTimestamp"]
    bad = await rpc_raw(url, "hybridmarket_advanceClock", [{"seconds": -1}])
    assert bad["error"]["code"] == -32602


async def test_test_controls_off_by_default(tmp_path: Path) -> None:
    async with running_validator(tmp_path / "l", enable_test_controls=False) as v:
        err = await rpc_raw(v.rpc_url, "hybridmarket_advanceClock", [{"seconds": 1}])
        assert err["error"]["code"] == -32601
        err = await rpc_raw(v.rpc_url, "hybridmarket_setFaults", [{"http429_rate": 1.0}])
        assert err["error"]["code"] == -32601


async def test_signed_transaction_from_other_signer(v: LocalValidator) -> None:
    """Two signers (payer + new account) in a v0 transaction; every signature is checked."""
    url = v.rpc_url
    payer = await funded(url, faucet_of(v), SOL)
    new = Keypair()
    ix = create_account(
        CreateAccountParams(
            from_pubkey=payer.pubkey(),
            to_pubkey=new.pubkey(),
            lamports=rent_exempt_minimum(0),
            space=0,
            owner=Pubkey.new_unique(),
        )
    )
    bh = await latest_blockhash(url)
    tx = v0_tx([ix], payer, bh, [new])
    raw = bytearray(bytes(tx))
    raw[1 + 64 + 3] ^= 0xFF  # corrupt the second signature
    err = await rpc_raw(
        url, "sendTransaction", [base64.b64encode(bytes(raw)).decode(), {"encoding": "base64"}]
    )
    assert err["error"]["code"] == -32003
    # No encoding given: base58, Agave's default.
    sig = await rpc(url, "sendTransaction", [base58.b58encode(bytes(tx)).decode()])
    assert sig == str(tx.signatures[0])
    await wait_status(url, sig)


ALT_PROGRAM = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")


def _alt_ix(tag: int, fields: bytes, metas: list[AccountMeta]) -> Instruction:
    """The address-lookup-table program's bincode: a u32 variant index, then the fields."""
    return Instruction(ALT_PROGRAM, struct.pack("<I", tag) + fields, metas)


async def test_v0_transaction_through_an_address_lookup_table(
    v: LocalValidator, client: AsyncClient
) -> None:
    """A lookup table created and extended through the SVM's own program (its recent slot
    checked against our SlotHashes), then a v0 transfer to an address loaded from it: the
    balances, `loadedAddresses` and the address's signature list name it."""
    url = v.rpc_url
    payer = await funded(url, faucet_of(v), 10 * SOL)
    dest = Keypair().pubkey()
    recent = await rpc(url, "getSlot", [{"commitment": "finalized"}])
    table, bump = derive_lookup_table_address(payer.pubkey(), recent)
    create = _alt_ix(
        0,
        struct.pack("<QB", recent, bump),
        [
            AccountMeta(table, False, True),
            AccountMeta(payer.pubkey(), True, False),
            AccountMeta(payer.pubkey(), True, True),
            AccountMeta(Pubkey.from_string(SYSTEM), False, False),
        ],
    )
    extend = _alt_ix(
        2,
        struct.pack("<Q", 1) + bytes(dest),
        [
            AccountMeta(table, False, True),
            AccountMeta(payer.pubkey(), True, False),
            AccountMeta(payer.pubkey(), True, True),
            AccountMeta(Pubkey.from_string(SYSTEM), False, False),
        ],
    )
    resp = await send(url, legacy_tx([create, extend], payer, await latest_blockhash(url)))
    assert "result" in resp, resp
    created = await wait_status(url, resp["result"])
    assert created["err"] is None
    # Addresses extended in a slot can be looked up from the next one on.
    await v.wait_for_slot(created["slot"] + 1, "processed")
    lookup = AddressLookupTableAccount(table, [dest])
    ix = transfer_ix(payer.pubkey(), dest, SOL)
    msg = MessageV0.try_compile(payer.pubkey(), [ix], [lookup], await latest_blockhash(url))
    assert msg.address_table_lookups and dest not in msg.account_keys
    resp = await send(url, VersionedTransaction(msg, [payer]))
    assert "result" in resp, resp
    sig = resp["result"]
    assert (await wait_status(url, sig))["err"] is None
    assert (await rpc(url, "getBalance", [str(dest), {"commitment": "confirmed"}]))["value"] == SOL
    got = await rpc(
        url,
        "getTransaction",
        [sig, {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}],
    )
    assert got["meta"]["loadedAddresses"] == {"writable": [str(dest)], "readonly": []}
    keys = len(got["transaction"]["message"]["accountKeys"])
    assert got["meta"]["postBalances"][keys] == SOL  # the loaded address comes after the keys
    listed = await rpc(url, "getSignaturesForAddress", [str(dest), {"commitment": "confirmed"}])
    assert [r["signature"] for r in listed] == [sig]
