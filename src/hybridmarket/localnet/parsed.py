"""The `jsonParsed` encoding, shaped as Agave's RPC shapes it (pure: no I/O).

Transactions (`solana-transaction-status`): account keys become `{pubkey, writable, signer,
source}`; instructions of the programs Agave knows how to parse here (system, BPF loader,
upgradeable BPF loader, SPL memo) become `{program, programId, parsed, stackHeight}`, any other
(ours, the compute-budget program, which Agave does not parse) or one that does not decode stays
`{programId, accounts, data, stackHeight}` with base58 keys and data. `meta` gets its inner
instructions in the same forms and loses `loadedAddresses` (they are in the account keys).

Accounts (`solana-account-decoder`): data owned by the upgradeable loader or a system-owned
nonce account becomes `{program, parsed, space}`; everything else (our program's accounts, plain
wallets, native programs) falls back to `[base64, "base64"]`, as Agave does.

Instruction and account data are bincode (u32 LE enum tags, u64 LE lengths, trailing bytes
allowed); anything that does not decode falls back instead of failing the request.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Sequence
from typing import Any

import base58
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from hybridmarket.codec.base58 import encode as b58encode

SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")
BPF_LOADER = Pubkey.from_string("BPFLoader2111111111111111111111111111111111")
BPF_UPGRADEABLE_LOADER = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
MEMO_V1 = Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
MEMO_V3 = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")

# Agave's `ReservedAccountKeys::new_all_activated()`: never shown as writable in parsed keys.
RESERVED_ACCOUNT_KEYS = frozenset(
    Pubkey.from_string(k)
    for k in (
        "AddressLookupTab1e1111111111111111111111111",
        "BPFLoader2111111111111111111111111111111111",
        "BPFLoader1111111111111111111111111111111111",
        "BPFLoaderUpgradeab1e11111111111111111111111",
        "ComputeBudget111111111111111111111111111111",
        "Config1111111111111111111111111111111111111",
        "Ed25519SigVerify111111111111111111111111111",
        "Feature111111111111111111111111111111111111",
        "LoaderV411111111111111111111111111111111111",
        "KeccakSecp256k11111111111111111111111111111",
        "StakeConfig11111111111111111111111111111111",
        "Stake11111111111111111111111111111111111111",
        "11111111111111111111111111111111",
        "Vote111111111111111111111111111111111111111",
        "ZkE1Gama1Proof11111111111111111111111111111",
        "ZkTokenProof1111111111111111111111111111111",
        "SysvarC1ock11111111111111111111111111111111",
        "SysvarEpochRewards1111111111111111111111111",
        "SysvarEpochSchedu1e111111111111111111111111",
        "SysvarFees111111111111111111111111111111111",
        "Sysvar1nstructions1111111111111111111111111",
        "SysvarLastRestartS1ot1111111111111111111111",
        "SysvarRecentB1ockHashes11111111111111111111",
        "SysvarRent111111111111111111111111111111111",
        "SysvarRewards111111111111111111111111111111",
        "SysvarS1otHashes111111111111111111111111111",
        "SysvarS1otHistory11111111111111111111111111",
        "SysvarStakeHistory1111111111111111111111111",
        "NativeLoader1111111111111111111111111111111",
        "Sysvar1111111111111111111111111111111111111",
    )
)


class _NotParsable(Exception):
    """The data or the accounts do not fit the program's instruction or account layout."""


class _Reader:
    """bincode's default (fixint, little-endian) reader; trailing bytes are allowed."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise _NotParsable("short data")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def u32(self) -> int:
        value: int = struct.unpack("<I", self.take(4))[0]
        return value

    def u64(self) -> int:
        value: int = struct.unpack("<Q", self.take(8))[0]
        return value

    def pubkey(self) -> str:
        return str(Pubkey.from_bytes(self.take(32)))

    def hash(self) -> str:
        return str(Pubkey.from_bytes(self.take(32)))

    def string(self) -> str:
        try:
            return self.take(self.u64()).decode()
        except UnicodeDecodeError:
            raise _NotParsable("invalid utf-8") from None

    def byte_vec(self) -> bytes:
        return self.take(self.u64())

    def option_pubkey(self) -> str | None:
        tag = self.take(1)[0]
        if tag == 0:
            return None
        if tag == 1:
            return self.pubkey()
        raise _NotParsable("invalid option tag")


# --- instructions ------------------------------------------------------------------------------


class _Accounts:
    """An instruction's accounts as keys, with Agave's "key mismatch" checks."""

    __slots__ = ("indexes", "keys")

    def __init__(self, indexes: bytes, keys: Sequence[Pubkey]):
        self.indexes = indexes
        self.keys = keys

    def need(self, n: int) -> None:
        if len(self.indexes) < n:
            raise _NotParsable("instruction key mismatch")

    def __len__(self) -> int:
        return len(self.indexes)

    def __getitem__(self, position: int) -> str:
        return str(self.keys[self.indexes[position]])

    def opt(self, position: int) -> str | None:
        return self[position] if len(self.indexes) > position else None

    def all_in_range(self) -> None:
        if not self.indexes or max(self.indexes) >= len(self.keys):
            raise _NotParsable("instruction key mismatch")


def _typed(kind: str, info: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": kind} if info is None else {"type": kind, "info": info}


def _parse_system(data: bytes, a: _Accounts) -> dict[str, Any]:
    r = _Reader(data)
    tag = r.u32()
    if tag > 13:
        raise _NotParsable("unknown system instruction")
    if tag == 0:  # CreateAccount
        lamports, space, owner = r.u64(), r.u64(), r.pubkey()
        a.all_in_range()
        a.need(2)
        return _typed(
            "createAccount",
            {
                "source": a[0],
                "newAccount": a[1],
                "lamports": lamports,
                "space": space,
                "owner": owner,
            },
        )
    if tag == 1:  # Assign
        owner = r.pubkey()
        a.all_in_range()
        a.need(1)
        return _typed("assign", {"account": a[0], "owner": owner})
    if tag == 2:  # Transfer
        lamports = r.u64()
        a.all_in_range()
        a.need(2)
        return _typed("transfer", {"source": a[0], "destination": a[1], "lamports": lamports})
    if tag == 3:  # CreateAccountWithSeed
        base, seed, lamports, space, owner = r.pubkey(), r.string(), r.u64(), r.u64(), r.pubkey()
        a.all_in_range()
        a.need(2)
        return _typed(
            "createAccountWithSeed",
            {
                "source": a[0],
                "newAccount": a[1],
                "base": base,
                "seed": seed,
                "lamports": lamports,
                "space": space,
                "owner": owner,
            },
        )
    if tag == 4:  # AdvanceNonceAccount
        a.all_in_range()
        a.need(3)
        return _typed(
            "advanceNonce",
            {"nonceAccount": a[0], "recentBlockhashesSysvar": a[1], "nonceAuthority": a[2]},
        )
    if tag == 5:  # WithdrawNonceAccount(lamports)
        lamports = r.u64()
        a.all_in_range()
        a.need(5)
        return _typed(
            "withdrawFromNonce",
            {
                "nonceAccount": a[0],
                "destination": a[1],
                "recentBlockhashesSysvar": a[2],
                "rentSysvar": a[3],
                "nonceAuthority": a[4],
                "lamports": lamports,
            },
        )
    if tag == 6:  # InitializeNonceAccount(authority)
        authority = r.pubkey()
        a.all_in_range()
        a.need(3)
        return _typed(
            "initializeNonce",
            {
                "nonceAccount": a[0],
                "recentBlockhashesSysvar": a[1],
                "rentSysvar": a[2],
                "nonceAuthority": authority,
            },
        )
    if tag == 7:  # AuthorizeNonceAccount(authority)
        authority = r.pubkey()
        a.all_in_range()
        a.need(2)
        return _typed(
            "authorizeNonce",
            {"nonceAccount": a[0], "nonceAuthority": a[1], "newAuthorized": authority},
        )
    if tag == 8:  # Allocate
        space = r.u64()
        a.all_in_range()
        a.need(1)
        return _typed("allocate", {"account": a[0], "space": space})
    if tag == 9:  # AllocateWithSeed
        base, seed, space, owner = r.pubkey(), r.string(), r.u64(), r.pubkey()
        a.all_in_range()
        a.need(2)
        return _typed(
            "allocateWithSeed",
            {"account": a[0], "base": base, "seed": seed, "space": space, "owner": owner},
        )
    if tag == 10:  # AssignWithSeed
        base, seed, owner = r.pubkey(), r.string(), r.pubkey()
        a.all_in_range()
        a.need(2)
        return _typed(
            "assignWithSeed", {"account": a[0], "base": base, "seed": seed, "owner": owner}
        )
    if tag == 11:  # TransferWithSeed
        lamports, from_seed, from_owner = r.u64(), r.string(), r.pubkey()
        a.all_in_range()
        a.need(3)
        return _typed(
            "transferWithSeed",
            {
                "source": a[0],
                "sourceBase": a[1],
                "destination": a[2],
                "lamports": lamports,
                "sourceSeed": from_seed,
                "sourceOwner": from_owner,
            },
        )
    if tag == 12:  # UpgradeNonceAccount
        a.all_in_range()
        a.need(1)
        return _typed("upgradeNonce", {"nonceAccount": a[0]})
    # 13: CreateAccountAllowPrefund
    lamports, space, owner = r.u64(), r.u64(), r.pubkey()
    a.all_in_range()
    if lamports == 0:
        a.need(1)
        return _typed(
            "createAccountAllowPrefund", {"newAccount": a[0], "space": space, "owner": owner}
        )
    a.need(2)
    return _typed(
        "createAccountAllowPrefund",
        {"newAccount": a[0], "source": a[1], "lamports": lamports, "space": space, "owner": owner},
    )


def _parse_bpf_loader(data: bytes, a: _Accounts) -> dict[str, Any]:
    r = _Reader(data)
    tag = r.u32()
    if tag == 0:  # Write { offset: u32, bytes }
        offset, chunk = r.u32(), r.byte_vec()
    elif tag != 1:  # Finalize
        raise _NotParsable("unknown loader instruction")
    if not a.indexes or a.indexes[0] >= len(a.keys):
        raise _NotParsable("instruction key mismatch")
    if tag == 0:
        a.need(1)
        return _typed(
            "write",
            {"offset": offset, "bytes": base64.b64encode(chunk).decode(), "account": a[0]},
        )
    a.need(2)
    return _typed("finalize", {"account": a[0]})


def _parse_bpf_upgradeable_loader(data: bytes, a: _Accounts) -> dict[str, Any]:
    r = _Reader(data)
    tag = r.u32()
    if tag > 7:
        raise _NotParsable("loader instruction not parsed here")
    fields: dict[str, Any] = {}
    if tag == 1:
        fields = {"offset": r.u32(), "bytes": base64.b64encode(r.byte_vec()).decode()}
    elif tag == 2:
        fields = {"maxDataLen": r.u64()}
    elif tag == 6:
        fields = {"additionalBytes": r.u32()}
    a.all_in_range()
    if tag == 0:  # InitializeBuffer
        a.need(1)
        info = {"account": a[0]}
        if len(a) > 1:
            info["authority"] = a[1]
        return _typed("initializeBuffer", info)
    if tag == 1:  # Write
        a.need(2)
        return _typed("write", {**fields, "account": a[0], "authority": a[1]})
    if tag == 2:  # DeployWithMaxDataLen
        a.need(8)
        return _typed(
            "deployWithMaxDataLen",
            {
                **fields,
                "payerAccount": a[0],
                "programDataAccount": a[1],
                "programAccount": a[2],
                "bufferAccount": a[3],
                "rentSysvar": a[4],
                "clockSysvar": a[5],
                "systemProgram": a[6],
                "authority": a[7],
            },
        )
    if tag == 3:  # Upgrade
        a.need(7)
        return _typed(
            "upgrade",
            {
                "programDataAccount": a[0],
                "programAccount": a[1],
                "bufferAccount": a[2],
                "spillAccount": a[3],
                "rentSysvar": a[4],
                "clockSysvar": a[5],
                "authority": a[6],
            },
        )
    if tag == 4:  # SetAuthority
        a.need(2)
        return _typed(
            "setAuthority", {"account": a[0], "authority": a[1], "newAuthority": a.opt(2)}
        )
    if tag == 5:  # Close
        a.need(3)
        return _typed(
            "close",
            {"account": a[0], "recipient": a[1], "authority": a[2], "programAccount": a.opt(3)},
        )
    if tag == 6:  # ExtendProgram
        a.need(2)
        return _typed(
            "extendProgram",
            {
                **fields,
                "programDataAccount": a[0],
                "programAccount": a[1],
                "systemProgram": a.opt(2),
                "payerAccount": a.opt(3),
            },
        )
    # 7: SetAuthorityChecked
    a.need(3)
    return _typed("setAuthorityChecked", {"account": a[0], "authority": a[1], "newAuthority": a[2]})


def _parse_memo(data: bytes, a: _Accounts) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise _NotParsable("memo is not utf-8") from None


_INSTRUCTION_PARSERS: dict[Pubkey, tuple[str, Callable[[bytes, _Accounts], Any]]] = {
    SYSTEM_PROGRAM: ("system", _parse_system),
    BPF_LOADER: ("bpf-loader", _parse_bpf_loader),
    BPF_UPGRADEABLE_LOADER: ("bpf-upgradeable-loader", _parse_bpf_upgradeable_loader),
    MEMO_V1: ("spl-memo", _parse_memo),
    MEMO_V3: ("spl-memo", _parse_memo),
}


def parse_instruction(
    program_index: int,
    accounts: bytes,
    data: bytes,
    keys: Sequence[Pubkey],
    stack_height: int | None,
) -> dict[str, Any]:
    """One compiled instruction as a UiParsedInstruction (parsed, else partially decoded)."""
    program_id = keys[program_index]
    parser = _INSTRUCTION_PARSERS.get(program_id)
    if parser is not None:
        name, parse = parser
        try:
            parsed = parse(data, _Accounts(accounts, keys))
        except _NotParsable:
            pass
        else:
            return {
                "program": name,
                "programId": str(program_id),
                "parsed": parsed,
                "stackHeight": stack_height,
            }
    return {
        "programId": str(program_id),
        "accounts": [str(keys[i]) for i in accounts],
        "data": b58encode(data),
        "stackHeight": stack_height,
    }


# --- transactions ------------------------------------------------------------------------------


def _loaded(meta: dict[str, Any] | None) -> tuple[list[Pubkey], list[Pubkey]]:
    loaded = (meta or {}).get("loadedAddresses") or {}
    return (
        [Pubkey.from_string(k) for k in loaded.get("writable") or []],
        [Pubkey.from_string(k) for k in loaded.get("readonly") or []],
    )


def all_account_keys(tx: VersionedTransaction, meta: dict[str, Any] | None) -> list[Pubkey]:
    """Static keys, then the lookup tables' writable and readonly addresses (Agave's order)."""
    writable, readonly = _loaded(meta)
    return [*tx.message.account_keys, *writable, *readonly]


def parsed_transaction(tx: VersionedTransaction, meta: dict[str, Any] | None) -> dict[str, Any]:
    """`transaction` of getTransaction in `jsonParsed` encoding (a UiParsedMessage).

    Top-level instructions carry `stackHeight: null`, as in this validator's `json` encoding
    and Agave 2.x (later Agave releases write 1 in both encodings).
    """
    msg = tx.message
    header = msg.header
    static = list(msg.account_keys)
    loaded_writable, _ = _loaded(meta)
    keys = all_account_keys(tx, meta)
    n_static = len(static)
    n_signers = header.num_required_signatures
    n_writable_signed = n_signers - header.num_readonly_signed_accounts
    n_writable_unsigned_end = n_static - header.num_readonly_unsigned_accounts
    invoked = {ix.program_id_index for ix in msg.instructions}
    loader_present = BPF_UPGRADEABLE_LOADER in keys

    def writable(i: int) -> bool:
        if i < n_static:
            requested = i < n_writable_signed if i < n_signers else i < n_writable_unsigned_end
        else:
            requested = i < n_static + len(loaded_writable)
        if not requested or keys[i] in RESERVED_ACCOUNT_KEYS:
            return False
        return not (i in invoked and not loader_present)

    message: dict[str, Any] = {
        "accountKeys": [
            {
                "pubkey": str(key),
                "writable": writable(i),
                "signer": i < n_signers,
                "source": "transaction" if i < n_static else "lookupTable",
            }
            for i, key in enumerate(keys)
        ],
        "recentBlockhash": str(msg.recent_blockhash),
        "instructions": [
            parse_instruction(ix.program_id_index, bytes(ix.accounts), bytes(ix.data), keys, None)
            for ix in msg.instructions
        ],
    }
    if isinstance(msg, MessageV0):
        message["addressTableLookups"] = [
            {
                "accountKey": str(lk.account_key),
                "writableIndexes": list(lk.writable_indexes),
                "readonlyIndexes": list(lk.readonly_indexes),
            }
            for lk in msg.address_table_lookups
        ]
    return {"signatures": [str(s) for s in tx.signatures], "message": message}


def parsed_meta(meta: dict[str, Any], keys: Sequence[Pubkey]) -> dict[str, Any]:
    """`meta` of getTransaction in `jsonParsed`: parsed inner instructions, no loadedAddresses."""
    out = {k: v for k, v in meta.items() if k != "loadedAddresses"}
    inner = meta.get("innerInstructions")
    if inner is not None:
        out["innerInstructions"] = [
            {
                "index": group["index"],
                "instructions": [
                    parse_instruction(
                        ix["programIdIndex"],
                        bytes(ix["accounts"]),
                        base58.b58decode(ix["data"]),
                        keys,
                        ix.get("stackHeight"),
                    )
                    for ix in group["instructions"]
                ],
            }
            for group in inner
        ]
    return out


# --- accounts ----------------------------------------------------------------------------------

_BUFFER_METADATA = 37  # u32 tag + Option<Pubkey>
_PROGRAMDATA_METADATA = 45  # u32 tag + u64 slot + Option<Pubkey>


def _parse_upgradeable_loader_account(data: bytes) -> dict[str, Any]:
    r = _Reader(data)
    tag = r.u32()
    if tag == 0:
        return _typed("uninitialized")
    if tag == 1:
        authority = r.option_pubkey()
        offset = _BUFFER_METADATA if authority is not None else _BUFFER_METADATA - 32
        return _typed(
            "buffer",
            {"authority": authority, "data": [base64.b64encode(data[offset:]).decode(), "base64"]},
        )
    if tag == 2:
        return _typed("program", {"programData": r.pubkey()})
    if tag == 3:
        slot = r.u64()
        authority = r.option_pubkey()
        offset = _PROGRAMDATA_METADATA if authority is not None else _PROGRAMDATA_METADATA - 32
        return _typed(
            "programData",
            {
                "slot": slot,
                "authority": authority,
                "data": [base64.b64encode(data[offset:]).decode(), "base64"],
            },
        )
    raise _NotParsable("unknown upgradeable loader state")


def _parse_nonce_account(data: bytes) -> dict[str, Any]:
    r = _Reader(data)
    if r.u32() > 1:  # Versions::{Legacy, Current}
        raise _NotParsable("unknown nonce version")
    state = r.u32()
    if state != 1:  # Uninitialized (0) is refused, as Agave does; others do not decode.
        raise _NotParsable("not an initialized nonce account")
    authority, blockhash = r.pubkey(), r.hash()
    lamports_per_signature = r.u64()
    return _typed(
        "initialized",
        {
            "authority": authority,
            "blockhash": blockhash,
            "feeCalculator": {"lamportsPerSignature": str(lamports_per_signature)},
        },
    )


_ACCOUNT_PARSERS: dict[Pubkey, tuple[str, Callable[[bytes], dict[str, Any]]]] = {
    BPF_UPGRADEABLE_LOADER: ("bpf-upgradeable-loader", _parse_upgradeable_loader_account),
    SYSTEM_PROGRAM: ("nonce", _parse_nonce_account),
}


def parse_account_data(owner: Pubkey, data: bytes) -> dict[str, Any] | None:
    """`{program, parsed, space}` for an account Agave parses, None where it falls back."""
    parser = _ACCOUNT_PARSERS.get(owner)
    if parser is None:
        return None
    name, parse = parser
    try:
        parsed = parse(data)
    except _NotParsable:
        return None
    return {"program": name, "parsed": parsed, "space": len(data)}


__all__ = [
    "RESERVED_ACCOUNT_KEYS",
    "all_account_keys",
    "parse_account_data",
    "parse_instruction",
    "parsed_meta",
    "parsed_transaction",
]
