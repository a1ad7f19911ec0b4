"""`jsonParsed` encoding of the local validator (getTransaction, getAccountInfo,
getMultipleAccounts), shaped as Agave shapes it: exact shapes over raw POSTs, then solana-py's
typed parsers and @solana/web3.js's `getParsed*` (its superstruct schemas) over real sockets.
`json` and `base64` stay as they were."""

from __future__ import annotations

import asyncio
import base64
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import base58
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.account import AccountJSON
from solders.hash import Hash
from solders.instruction import CompiledInstruction, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageAddressTableLookup, MessageHeader, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import (
    AllocateWithSeedParams,
    AssignParams,
    CreateAccountParams,
    CreateAccountWithSeedParams,
    TransferWithSeedParams,
    WithdrawNonceAccountParams,
    allocate_with_seed,
    assign,
    create_account,
    create_account_with_seed,
    transfer_with_seed,
    withdraw_nonce_account,
)
from solders.transaction import VersionedTransaction
from solders.transaction_status import ParsedInstruction, UiPartiallyDecodedInstruction

from hybridmarket.localnet.parsed import (
    BPF_LOADER,
    BPF_UPGRADEABLE_LOADER,
    all_account_keys,
    parse_account_data,
    parse_instruction,
    parsed_meta,
    parsed_transaction,
)
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program.ids import PROGRAM_ID, config_pda
from hybridmarket.program.runtime import rent_exempt_minimum
from hybridmarket.sbf import loader, program_binary
from tests.integration.localnet_fixtures import (
    SOL,
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
from tests.integration.node_tool import run_script

pytestmark = pytest.mark.integration
SYSTEM = "11111111111111111111111111111111"
CONFIRMED = {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}


# ---- the parsers alone -------------------------------------------------------------------------


def _parse(ix: Instruction, stack_height: int | None = None) -> dict[str, Any]:
    keys = [ix.program_id, *(m.pubkey for m in ix.accounts)]
    return parse_instruction(0, bytes(range(1, len(keys))), bytes(ix.data), keys, stack_height)


@pytest.mark.unit
def test_system_instructions_parse_as_agave_names_them() -> None:
    a, b, owner = (Keypair().pubkey() for _ in range(3))
    got = _parse(
        create_account(
            CreateAccountParams(from_pubkey=a, to_pubkey=b, lamports=1_000, space=94, owner=owner)
        ),
        2,
    )
    assert got == {
        "program": "system",
        "programId": SYSTEM,
        "parsed": {
            "type": "createAccount",
            "info": {
                "source": str(a),
                "newAccount": str(b),
                "lamports": 1_000,
                "space": 94,
                "owner": str(owner),
            },
        },
        "stackHeight": 2,
    }
    assert _parse(assign(AssignParams(pubkey=a, owner=owner)))["parsed"] == {
        "type": "assign",
        "info": {"account": str(a), "owner": str(owner)},
    }
    seeded = _parse(
        create_account_with_seed(
            CreateAccountWithSeedParams(
                from_pubkey=a, to_pubkey=b, base=a, seed="s", lamports=5, space=7, owner=owner
            )
        )
    )
    assert seeded["parsed"]["type"] == "createAccountWithSeed"
    assert seeded["parsed"]["info"]["seed"] == "s"
    assert seeded["parsed"]["info"]["base"] == str(a)
    alloc = _parse(
        allocate_with_seed(
            AllocateWithSeedParams(address=b, base=a, seed="x", space=9, owner=owner)
        )
    )
    assert alloc["parsed"] == {
        "type": "allocateWithSeed",
        "info": {"account": str(b), "base": str(a), "seed": "x", "space": 9, "owner": str(owner)},
    }
    tws = _parse(
        transfer_with_seed(
            TransferWithSeedParams(
                from_pubkey=a,
                from_base=b,
                from_seed="y",
                from_owner=owner,
                to_pubkey=a,
                lamports=SOL,
            )
        )
    )
    assert tws["parsed"]["type"] == "transferWithSeed"
    assert tws["parsed"]["info"]["sourceSeed"] == "y"
    assert tws["parsed"]["info"]["lamports"] == SOL
    nonce = _parse(
        withdraw_nonce_account(
            WithdrawNonceAccountParams(
                nonce_pubkey=a, authorized_pubkey=b, to_pubkey=owner, lamports=3
            )
        )
    )
    assert nonce["parsed"]["type"] == "withdrawFromNonce"
    assert nonce["parsed"]["info"]["lamports"] == 3


@pytest.mark.unit
def test_unparsable_instructions_stay_raw() -> None:
    a, b = Keypair().pubkey(), Keypair().pubkey()
    sys_id = Pubkey.from_string(SYSTEM)
    # Too short for Transfer, an unknown tag, too few accounts: Agave keeps the raw form.
    for data, accounts in ((b"\x02\x00\x00\x00\x01", b"\x01\x02"), (b"\xff" * 12, b"\x01\x02")):
        got = parse_instruction(0, accounts, data, [sys_id, a, b], 1)
        assert got == {
            "programId": SYSTEM,
            "accounts": [str(a), str(b)],
            "data": base58.b58encode(data).decode(),
            "stackHeight": 1,
        }
    one_account = parse_instruction(0, b"\x01", struct.pack("<IQ", 2, 5), [sys_id, a], None)
    assert "parsed" not in one_account
    ours = parse_instruction(0, b"", b"hi", [PROGRAM_ID], None)
    assert ours == {
        "programId": str(PROGRAM_ID),
        "accounts": [],
        "data": "8wr",
        "stackHeight": None,
    }


@pytest.mark.unit
def test_loader_instructions_parse() -> None:
    buf, auth, payer, pdata, prog = (Keypair().pubkey() for _ in range(5))
    write = struct.pack("<IIQ", 1, 16, 3) + b"abc"
    got = parse_instruction(0, b"\x01\x02", write, [BPF_UPGRADEABLE_LOADER, buf, auth], None)
    assert got["program"] == "bpf-upgradeable-loader"
    assert got["parsed"] == {
        "type": "write",
        "info": {"offset": 16, "bytes": "YWJj", "account": str(buf), "authority": str(auth)},
    }
    keys = [BPF_UPGRADEABLE_LOADER, payer, pdata, prog, buf, auth]
    deploy = parse_instruction(
        0, bytes([1, 2, 3, 4, 5, 5, 5, 5]), struct.pack("<IQ", 2, 4096), keys, None
    )
    assert deploy["parsed"]["type"] == "deployWithMaxDataLen"
    assert deploy["parsed"]["info"]["maxDataLen"] == 4096
    assert deploy["parsed"]["info"]["programAccount"] == str(prog)
    init = parse_instruction(0, b"\x01", struct.pack("<I", 0), [BPF_UPGRADEABLE_LOADER, buf], 2)
    assert init["parsed"] == {"type": "initializeBuffer", "info": {"account": str(buf)}}
    set_auth = parse_instruction(0, b"\x01\x02", struct.pack("<I", 4), keys[:3], None)
    assert set_auth["parsed"]["info"]["newAuthority"] is None
    v2 = parse_instruction(0, b"\x01\x01", struct.pack("<I", 1), [BPF_LOADER, buf], None)
    assert v2["program"] == "bpf-loader"
    assert v2["parsed"] == {"type": "finalize", "info": {"account": str(buf)}}


@pytest.mark.unit
def test_account_parsers_and_fallbacks() -> None:
    loader = BPF_UPGRADEABLE_LOADER
    auth, pdata = Keypair().pubkey(), Keypair().pubkey()
    assert parse_account_data(loader, bytes(36)) == {
        "program": "bpf-upgradeable-loader",
        "parsed": {"type": "uninitialized"},
        "space": 36,
    }
    program = struct.pack("<I", 2) + bytes(pdata)
    assert parse_account_data(loader, program) == {
        "program": "bpf-upgradeable-loader",
        "parsed": {"type": "program", "info": {"programData": str(pdata)}},
        "space": 36,
    }
    elf = b"\x7fELF" + bytes(4)
    programdata = struct.pack("<IQ", 3, 77) + b"\x01" + bytes(auth) + elf
    assert parse_account_data(loader, programdata) == {
        "program": "bpf-upgradeable-loader",
        "parsed": {
            "type": "programData",
            "info": {
                "slot": 77,
                "authority": str(auth),
                "data": [base64.b64encode(elf).decode(), "base64"],
            },
        },
        "space": len(programdata),
    }
    immutable = struct.pack("<IQ", 3, 1) + b"\x00" + elf
    info = parse_account_data(loader, immutable)
    assert info is not None
    assert info["parsed"]["info"]["authority"] is None
    assert info["parsed"]["info"]["data"][0] == base64.b64encode(elf).decode()
    assert parse_account_data(loader, struct.pack("<I", 9)) is None
    assert parse_account_data(loader, b"") is None
    sysid = Pubkey.from_string(SYSTEM)
    assert parse_account_data(sysid, b"") is None  # a wallet: Agave falls back to base64
    assert parse_account_data(sysid, bytes(80)) is None  # uninitialized nonce is refused
    nonce = struct.pack("<II", 1, 1) + bytes(auth) + bytes(range(32)) + struct.pack("<Q", 5000)
    assert parse_account_data(sysid, nonce) == {
        "program": "nonce",
        "parsed": {
            "type": "initialized",
            "info": {
                "authority": str(auth),
                "blockhash": base58.b58encode(bytes(range(32))).decode(),
                "feeCalculator": {"lamportsPerSignature": "5000"},
            },
        },
        "space": 80,
    }
    assert parse_account_data(PROGRAM_ID, bytes(94)) is None


# ---- over real sockets -------------------------------------------------------------------------


@pytest.fixture
async def v(tmp_path: Path) -> AsyncIterator[LocalValidator]:
    async with running_validator(tmp_path / "ledger") as validator:
        yield validator


async def _landed(url: str, resp: dict[str, Any]) -> str:
    assert "result" in resp, resp
    sig: str = resp["result"]
    await wait_status(url, sig)
    return sig


async def _config_signature(url: str) -> str:
    for _ in range(200):
        rows = await rpc(
            url, "getSignaturesForAddress", [str(config_pda()[0]), {"commitment": "confirmed"}]
        )
        if rows:
            sig: str = rows[-1]["signature"]
            return sig
        await asyncio.sleep(0.05)
    raise AssertionError("initialize_config never confirmed")


async def test_get_transaction_json_parsed_shapes(v: LocalValidator) -> None:
    url = v.rpc_url
    faucet = faucet_of(v)
    payer = await funded(url, faucet)
    dest, new = Keypair(), Keypair()
    bh = await latest_blockhash(url)
    space = 10
    rent = rent_exempt_minimum(space)
    ixs = [
        transfer_ix(payer.pubkey(), dest.pubkey(), SOL),
        create_account(
            CreateAccountParams(
                from_pubkey=payer.pubkey(),
                to_pubkey=new.pubkey(),
                lamports=rent,
                space=space,
                owner=PROGRAM_ID,
            )
        ),
    ]
    sig = await _landed(url, await send(url, legacy_tx(ixs, payer, bh, [new])))
    res = await rpc(url, "getTransaction", [sig, {**CONFIRMED, "encoding": "jsonParsed"}])
    assert res["version"] == "legacy"
    msg = res["transaction"]["message"]
    assert set(msg) == {"accountKeys", "recentBlockhash", "instructions"}
    assert msg["recentBlockhash"] == str(bh)
    assert msg["accountKeys"] == [
        {"pubkey": str(payer.pubkey()), "writable": True, "signer": True, "source": "transaction"},
        {"pubkey": str(new.pubkey()), "writable": True, "signer": True, "source": "transaction"},
        {"pubkey": str(dest.pubkey()), "writable": True, "signer": False, "source": "transaction"},
        {"pubkey": SYSTEM, "writable": False, "signer": False, "source": "transaction"},
    ]
    assert msg["instructions"] == [
        {
            "program": "system",
            "programId": SYSTEM,
            "parsed": {
                "type": "transfer",
                "info": {
                    "source": str(payer.pubkey()),
                    "destination": str(dest.pubkey()),
                    "lamports": SOL,
                },
            },
            "stackHeight": None,
        },
        {
            "program": "system",
            "programId": SYSTEM,
            "parsed": {
                "type": "createAccount",
                "info": {
                    "source": str(payer.pubkey()),
                    "newAccount": str(new.pubkey()),
                    "lamports": rent,
                    "space": space,
                    "owner": str(PROGRAM_ID),
                },
            },
            "stackHeight": None,
        },
    ]
    assert res["transaction"]["signatures"][0] == sig
    assert len(res["transaction"]["signatures"]) == 2
    # meta: as in `json`, less loadedAddresses (the keys carry their source instead).
    plain = await rpc(url, "getTransaction", [sig, {**CONFIRMED, "encoding": "json"}])
    assert "loadedAddresses" in plain["meta"]
    assert res["meta"] == {k: x for k, x in plain["meta"].items() if k != "loadedAddresses"}
    # `json` keeps the raw message; `base64` the wire bytes.
    raw_msg = plain["transaction"]["message"]
    assert raw_msg["accountKeys"] == [k["pubkey"] for k in msg["accountKeys"]]
    assert [ix["programIdIndex"] for ix in raw_msg["instructions"]] == [3, 3]
    b64 = await rpc(url, "getTransaction", [sig, {**CONFIRMED, "encoding": "base64"}])
    assert b64["transaction"][1] == "base64"
    assert base58.b58encode(base64.b64decode(b64["transaction"][0])[1:65]).decode() == sig

    # v0, and the genesis initialize_config: our program's instruction stays raw.
    bh = await latest_blockhash(url)
    sig0 = await _landed(
        url, await send(url, v0_tx([transfer_ix(payer.pubkey(), dest.pubkey(), 7)], payer, bh))
    )
    res0 = await rpc(url, "getTransaction", [sig0, {**CONFIRMED, "encoding": "jsonParsed"}])
    assert res0["version"] == 0
    assert res0["transaction"]["message"]["addressTableLookups"] == []
    assert res0["transaction"]["message"]["instructions"][0]["parsed"]["info"]["lamports"] == 7
    cfg_sig = await _config_signature(url)
    cfg = await rpc(url, "getTransaction", [cfg_sig, {**CONFIRMED, "encoding": "jsonParsed"}])
    cfg_json = await rpc(url, "getTransaction", [cfg_sig, {**CONFIRMED, "encoding": "json"}])
    keys = cfg_json["transaction"]["message"]["accountKeys"]
    (raw_ix,) = cfg_json["transaction"]["message"]["instructions"]
    assert cfg["transaction"]["message"]["instructions"] == [
        {
            "programId": str(PROGRAM_ID),
            "accounts": [keys[i] for i in raw_ix["accounts"]],
            "data": raw_ix["data"],
            "stackHeight": None,
        }
    ]
    parsed_keys = cfg["transaction"]["message"]["accountKeys"]
    by_key = {k["pubkey"]: k for k in parsed_keys}
    assert by_key[str(PROGRAM_ID)]["writable"] is False
    assert by_key[str(config_pda()[0])]["writable"] is True
    assert by_key[SYSTEM]["writable"] is False


async def test_solana_py_reads_json_parsed(v: LocalValidator) -> None:
    url = v.rpc_url
    faucet = faucet_of(v)
    payer = await funded(url, faucet)
    dest = Keypair()
    bh = await latest_blockhash(url)
    sig = await _landed(
        url,
        await send(url, legacy_tx([transfer_ix(payer.pubkey(), dest.pubkey(), SOL)], payer, bh)),
    )
    cfg_sig = await _config_signature(url)
    async with AsyncClient(url, commitment=Confirmed) as client:
        resp = await client.get_transaction(
            Signature.from_string(sig), encoding="jsonParsed", max_supported_transaction_version=0
        )
        assert resp.value is not None
        (ix,) = resp.value.transaction.transaction.message.instructions  # type: ignore[union-attr]
        assert isinstance(ix, ParsedInstruction)
        assert ix.program == "system"
        assert ix.parsed["info"]["destination"] == str(dest.pubkey())
        keys = resp.value.transaction.transaction.message.account_keys  # type: ignore[union-attr]
        assert [(str(k.pubkey), k.signer, k.writable) for k in keys] == [
            (str(payer.pubkey()), True, True),
            (str(dest.pubkey()), False, True),
            (SYSTEM, False, False),
        ]
        resp = await client.get_transaction(
            Signature.from_string(cfg_sig),
            encoding="jsonParsed",
            max_supported_transaction_version=0,
        )
        assert resp.value is not None
        (ix,) = resp.value.transaction.transaction.message.instructions  # type: ignore[union-attr]
        assert isinstance(ix, UiPartiallyDecodedInstruction)
        assert ix.program_id == PROGRAM_ID

        wallet = (await client.get_account_info_json_parsed(dest.pubkey())).value
        assert wallet is not None
        assert not isinstance(wallet, AccountJSON)
        assert wallet.lamports == SOL
        program = (await client.get_account_info_json_parsed(PROGRAM_ID)).value
        assert program is not None
        assert isinstance(program, AccountJSON)
        assert program.data.program == "bpf-upgradeable-loader"
        assert program.executable is True
        many = await client.get_multiple_accounts_json_parsed(
            [dest.pubkey(), PROGRAM_ID, config_pda()[0], Keypair().pubkey()]
        )
        assert [type(a).__name__ if a else None for a in many.value] == [
            "Account",
            "AccountJSON",
            "Account",
            None,
        ]


async def test_get_account_info_json_parsed_shapes(v: LocalValidator) -> None:
    url = v.rpc_url
    faucet = faucet_of(v)
    wallet = await funded(url, faucet, 3 * SOL)
    cfg_pk = config_pda()[0]
    await _config_signature(url)
    jp = {"encoding": "jsonParsed", "commitment": "confirmed"}
    got = await rpc(url, "getAccountInfo", [str(PROGRAM_ID), jp])
    programdata = str(loader.programdata_address(PROGRAM_ID))
    program_state = {"type": "program", "info": {"programData": programdata}}
    assert got["value"] == {
        "lamports": rent_exempt_minimum(36),
        "data": {"program": "bpf-upgradeable-loader", "parsed": program_state, "space": 36},
        "owner": str(BPF_UPGRADEABLE_LOADER),
        "executable": True,
        "rentEpoch": 18446744073709551615,
        "space": 36,
    }
    # The program-data account the genesis deploy wrote: the slot, the admin as upgrade
    # authority, the shipped ELF (with room to grow to twice its size).
    pd = (await rpc(url, "getAccountInfo", [programdata, jp]))["value"]
    assert pd["owner"] == str(BPF_UPGRADEABLE_LOADER) and not pd["executable"]
    info = pd["data"]["parsed"]["info"]
    assert pd["data"]["parsed"]["type"] == "programData"
    assert info["slot"] == 1 and info["authority"] == str(v.keys.admin.pubkey())
    elf = program_binary()
    assert base64.b64decode(info["data"][0]) == elf + bytes(len(elf))
    plain = await rpc(url, "getAccountInfo", [str(wallet.pubkey()), {**jp, "encoding": "base64"}])
    parsed = await rpc(url, "getAccountInfo", [str(wallet.pubkey()), jp])
    assert parsed["value"] == plain["value"]
    assert parsed["value"]["data"] == ["", "base64"]
    for pk in (SYSTEM, str(cfg_pk)):  # native program, our program's account: base64 fallback
        plain = await rpc(url, "getAccountInfo", [pk, {**jp, "encoding": "base64"}])
        parsed = await rpc(url, "getAccountInfo", [pk, jp])
        assert parsed["value"] == plain["value"]
        assert parsed["value"]["data"][1] == "base64"
    # The slice applies to the base64 fallback only, as in Agave's UiAccount::encode.
    sliced = await rpc(
        url, "getAccountInfo", [str(cfg_pk), {**jp, "dataSlice": {"offset": 0, "length": 8}}]
    )
    assert len(base64.b64decode(sliced["value"]["data"][0])) == 8
    unsliced = await rpc(
        url, "getAccountInfo", [str(PROGRAM_ID), {**jp, "dataSlice": {"offset": 0, "length": 1}}]
    )
    assert unsliced["value"]["data"]["parsed"] == program_state
    missing = str(Keypair().pubkey())
    many = await rpc(
        url, "getMultipleAccounts", [[str(wallet.pubkey()), str(PROGRAM_ID), missing], jp]
    )
    assert [a and a["data"] for a in many["value"]] == [
        ["", "base64"],
        {"program": "bpf-upgradeable-loader", "parsed": program_state, "space": 36},
        None,
    ]
    resp = await rpc_raw(
        url,
        "getProgramAccounts",
        [str(PROGRAM_ID), {**jp, "dataSlice": {"offset": 0, "length": 8}}],
    )
    assert resp["error"] == {
        "code": -32600,
        "message": "Sliced account data can only be encoded using binary (base 58) or base64 encoding.",
    }
    gpa = await rpc(url, "getProgramAccounts", [str(PROGRAM_ID), jp])
    assert gpa and all(a["account"]["data"][1] == "base64" for a in gpa)


async def test_web3js_get_parsed(v: LocalValidator, anchor_check_tool: str) -> None:
    url = v.rpc_url
    faucet = faucet_of(v)
    payer = await funded(url, faucet)
    dest = Keypair()
    bh = await latest_blockhash(url)
    sig = await _landed(
        url,
        await send(url, legacy_tx([transfer_ix(payer.pubkey(), dest.pubkey(), SOL)], payer, bh)),
    )
    bh = await latest_blockhash(url)
    sig0 = await _landed(
        url, await send(url, v0_tx([transfer_ix(payer.pubkey(), dest.pubkey(), 9)], payer, bh))
    )
    cfg_sig = await _config_signature(url)
    accounts = [str(dest.pubkey()), str(PROGRAM_ID), str(config_pda()[0]), str(Keypair().pubkey())]
    request = {"url": url, "signatures": [sig, sig0, cfg_sig], "accounts": accounts}
    result = await run_script(anchor_check_tool, "parsed.mjs", request, timeout=120)

    def ok(r: dict[str, Any]) -> Any:
        assert "error" not in r, r["error"]
        return r["ok"]

    legacy, v0, cfg = (ok(r) for r in result["transactions"])
    assert ok(result["batch"]) == [legacy, v0, cfg]
    (ix,) = legacy["transaction"]["message"]["instructions"]
    assert ix["program"] == "system"
    assert ix["programId"] == SYSTEM
    assert ix["parsed"]["info"] == {
        "source": str(payer.pubkey()),
        "destination": str(dest.pubkey()),
        "lamports": SOL,
    }
    assert legacy["transaction"]["message"]["accountKeys"][0] == {
        "pubkey": str(payer.pubkey()),
        "signer": True,
        "writable": True,
        "source": "transaction",
    }
    assert v0["version"] == 0
    assert v0["transaction"]["message"]["instructions"][0]["parsed"]["info"]["lamports"] == 9
    (raw,) = cfg["transaction"]["message"]["instructions"]
    assert raw["programId"] == str(PROGRAM_ID)
    assert set(raw) >= {"accounts", "data"}
    wallet, program, config, missing = (ok(r) for r in result["accounts"])
    assert wallet["value"]["data"] == {"$b64": ""}
    assert wallet["value"]["lamports"] == SOL + 9
    assert program["value"]["data"] == {
        "program": "bpf-upgradeable-loader",
        "parsed": {
            "type": "program",
            "info": {"programData": str(loader.programdata_address(PROGRAM_ID))},
        },
        "space": 36,
    }
    assert program["value"]["owner"] == str(BPF_UPGRADEABLE_LOADER)
    assert config["value"]["owner"] == str(PROGRAM_ID)
    assert "$b64" in config["value"]["data"]
    assert missing["value"] is None
    assert ok(result["multiple"])["value"] == [
        wallet["value"],
        program["value"],
        config["value"],
        None,
    ]


@pytest.mark.unit
def test_lookup_keys_loader_presence_and_inner_instructions() -> None:
    payer, table, loaded_w, loaded_r = (Keypair().pubkey() for _ in range(4))
    sys_id = Pubkey.from_string(SYSTEM)
    # Keys: payer, PROGRAM_ID (invoked, in the writable region), system; then lookups.
    msg = MessageV0(
        MessageHeader(1, 0, 1),
        [payer, PROGRAM_ID, sys_id],
        Hash.default(),
        [CompiledInstruction(1, b"\x01", bytes([0, 3, 4]))],
        [MessageAddressTableLookup(table, bytes([0]), bytes([1]))],
    )
    tx = VersionedTransaction.populate(msg, [Signature.default()])
    meta = {
        "err": None,
        "innerInstructions": [
            {
                "index": 0,
                "instructions": [
                    {
                        "programIdIndex": 2,
                        "accounts": [0, 3],
                        "data": base58.b58encode(struct.pack("<IQ", 2, 42)).decode(),
                        "stackHeight": 2,
                    }
                ],
            }
        ],
        "loadedAddresses": {"writable": [str(loaded_w)], "readonly": [str(loaded_r)]},
        "computeUnitsConsumed": 1,
    }
    keys = all_account_keys(tx, meta)
    assert keys == [payer, PROGRAM_ID, sys_id, loaded_w, loaded_r]
    parsed = parsed_transaction(tx, meta)["message"]
    assert [(k["writable"], k["signer"], k["source"]) for k in parsed["accountKeys"]] == [
        (True, True, "transaction"),
        (False, False, "transaction"),  # invoked, and no upgradeable loader among the keys
        (False, False, "transaction"),  # reserved
        (True, False, "lookupTable"),
        (False, False, "lookupTable"),
    ]
    assert parsed["instructions"][0]["accounts"] == [str(payer), str(loaded_w), str(loaded_r)]
    assert parsed["addressTableLookups"] == [
        {"accountKey": str(table), "writableIndexes": [0], "readonlyIndexes": [1]}
    ]
    out = parsed_meta(meta, keys)
    assert "loadedAddresses" not in out
    assert out["computeUnitsConsumed"] == 1
    assert out["innerInstructions"] == [
        {
            "index": 0,
            "instructions": [
                {
                    "program": "system",
                    "programId": SYSTEM,
                    "parsed": {
                        "type": "transfer",
                        "info": {
                            "source": str(payer),
                            "destination": str(loaded_w),
                            "lamports": 42,
                        },
                    },
                    "stackHeight": 2,
                }
            ],
        }
    ]
    # With the upgradeable loader among the keys an invoked program keeps its write lock.
    legacy = Message.new_with_compiled_instructions(
        1,
        0,
        1,
        [payer, PROGRAM_ID, BPF_UPGRADEABLE_LOADER],
        Hash.default(),
        [CompiledInstruction(1, b"", bytes([0]))],
    )
    ltx = VersionedTransaction.populate(legacy, [Signature.default()])
    flags = [k["writable"] for k in parsed_transaction(ltx, None)["message"]["accountKeys"]]
    assert flags == [True, True, False]
