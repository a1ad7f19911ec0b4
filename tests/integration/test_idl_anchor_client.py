"""`idl/hybridmarket.json` loaded by the official Anchor TypeScript client, `@coral-xyz/anchor`.

The IDL's requirement is that standard Anchor clients can use it. `tools/anchor-check` (a pinned
npm project) loads it into `new BorshCoder(idl)` and `new Program(idl, provider)` (offline: its
Connection's fetch throws) and runs one batch of cases built here from real values:

* every account type, as `to_account_data()` writes it, decoded by Anchor's accounts coder;
* every instruction, as the builders in `hybridmarket.program.builders` make it: Anchor decodes
  its data, Anchor's `instruction.encode` gives the same bytes, and `program.methods.<ix>(...)`
  builds the same instruction, with Anchor resolving the PDAs and fixed addresses from the IDL's
  seeds to the same accounts, in the same order and with the same signer/writable flags;
* every event, as `to_bytes()` / `to_log_line()` emit it, decoded by Anchor's events coder and
  found by its `EventParser` in a transaction's logs.

Each case runs through two coders: the IDL as published (snake_case, as in the file) and the
`Program`'s, which Anchor builds from a camelCased copy (field, instruction, account, event,
type, enum variant and error names all camelCased): that is what TS dapps read.

Anchor's shapes, which the expected values below spell out: u64/i64 are BN (here decimal
strings), u8/u16/u32 plain numbers, `[u8; N]` a list of numbers, `bytes` a Buffer (here
`{"$hex": ...}`), `Option` null or the value, pubkeys base58, unit enums `{"<Variant>": {}}`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from hybridmarket.codec.borsh import (
    BOOL,
    I64,
    PUBKEY,
    U8,
    U16,
    U32,
    U64,
    U128,
    BorshStruct,
    BorshType,
    Bytes,
    FixedBytes,
    Option,
    Struct,
    UnitEnum,
)
from hybridmarket.program import builders as b
from hybridmarket.program.accounts import (
    ACCOUNT_TYPES,
    EVIDENCE_CID_LEN,
    AccountState,
    ConfigParams,
    MarketAccount,
    MarketState,
    VoteKind,
)
from hybridmarket.program.errors import all_program_errors
from hybridmarket.program.events import EVENT_TYPES, Event
from hybridmarket.program.ids import PROGRAM_ID
from hybridmarket.program.instructions import (
    BY_NAME,
    INSTRUCTIONS,
    ApproveMarketArgs,
    BuySharesArgs,
    FinalizeMarketArgs,
    InitializeConfigArgs,
    NoArgs,
    ProposeMarketArgs,
    ResolveMarketArgs,
    SellSharesArgs,
    SetPausedArgs,
    UpdateConfigArgs,
    VoteArgs,
)

from .node_tool import TOOL

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IDL_PATH = ROOT / "idl" / "hybridmarket.json"
ANCHOR_PIN = json.loads((TOOL / "package.json").read_text())["dependencies"]["@coral-xyz/anchor"]


# ---- values --------------------------------------------------------------------------------


def camel(name: str) -> str:
    """Anchor's `camelcase(name, {locale: false})` for this IDL's names (snake_case or Pascal)."""
    head, *rest = name.split("_")
    return head[:1].lower() + head[1:] + "".join(p[:1].upper() + p[1:] for p in rest)


_rng = random.Random(0x0A_C0)


def _pubkey() -> Pubkey:
    return Keypair.from_seed(_rng.randbytes(32)).pubkey()


_INT_RANGES: dict[int, tuple[int, int]] = {
    id(U8): (0, (1 << 8) - 1),
    id(U16): (0, (1 << 16) - 1),
    id(U32): (0, (1 << 32) - 1),
    id(U64): (0, (1 << 64) - 1),
    id(U128): (0, (1 << 128) - 1),
    id(I64): (-(1 << 63), (1 << 63) - 1),
}


def _sample(t: BorshType[Any], profile: str) -> Any:
    """A value of type `t`: profile "min" (zeros, None, empty, i64 min), "max" (type maxima,
    Some, full-length bytes, last variant) or "mixed" (random, Options alternating)."""
    if id(t) in _INT_RANGES:
        lo, hi = _INT_RANGES[id(t)]
        if profile == "min":
            return lo
        if profile == "max":
            return hi
        # Beyond 2**53 for the 64-bit types, where a JS number would lose precision.
        return _rng.randint(max(lo, -(1 << 62)), hi)
    if t is BOOL:
        return profile == "max" or (profile == "mixed" and _rng.random() < 0.5)
    if t is PUBKEY:
        return Pubkey.default() if profile == "min" else _pubkey()
    if isinstance(t, FixedBytes):
        if profile == "min":
            return bytes(t.n)
        return bytes([0xFF] * t.n) if profile == "max" else _rng.randbytes(t.n)
    if isinstance(t, Bytes):
        if profile == "min":
            return b""
        return bytes([0xA5] * t.max_len) if profile == "max" else _rng.randbytes(t.max_len // 2)
    if isinstance(t, Option):
        if profile == "min" or (profile == "mixed" and _rng.random() < 0.4):
            return None
        return _sample(t.inner, profile)
    if isinstance(t, UnitEnum):
        members = list(t.enum)
        if profile == "mixed":
            return _rng.choice(members)
        return members[0] if profile == "min" else members[-1]
    if isinstance(t, Struct):
        return _instance(t.cls, profile)
    raise TypeError(f"no sampler for {t!r}")


S = TypeVar("S", bound=BorshStruct)


def _instance(cls: type[S], profile: str, **overrides: Any) -> S:
    values = {n: _sample(t, profile) for n, t in cls.SCHEMA if n not in overrides}
    return cls(**values, **overrides)


def tagged(t: BorshType[Any], v: Any, *, use_camel: bool) -> Any:
    """A value as check.mjs takes it for encoding: BN, PublicKey, Buffer tagged; enums as Anchor
    takes them (`{"<variant>": {}}`)."""
    if t in (U64, I64, U128):
        return {"$bn": str(v)}
    if t in (U8, U16, U32, BOOL):
        return v
    if t is PUBKEY:
        return {"$pk": str(v)}
    if isinstance(t, FixedBytes):
        return list(v)
    if isinstance(t, Bytes):
        return {"$buf": v.hex()}
    if isinstance(t, Option):
        return None if v is None else tagged(t.inner, v, use_camel=use_camel)
    if isinstance(t, UnitEnum):
        return {camel(v.name) if use_camel else v.name: {}}
    if isinstance(t, Struct):
        return struct_tagged(v, use_camel=use_camel)
    raise TypeError(f"cannot tag {t!r}")


def struct_tagged(value: BorshStruct, *, use_camel: bool) -> dict[str, Any]:
    return {
        (camel(n) if use_camel else n): tagged(t, getattr(value, n), use_camel=use_camel)
        for n, t in value.SCHEMA
    }


def expected(t: BorshType[Any], v: Any, *, use_camel: bool) -> Any:
    """What Anchor decodes `v` of type `t` to, after check.mjs's JSON conversion."""
    if t in (U64, I64, U128):
        return str(v)
    if t in (U8, U16, U32, BOOL):
        return v
    if t is PUBKEY:
        return str(v)
    if isinstance(t, FixedBytes):
        return list(v)
    if isinstance(t, Bytes):
        return {"$hex": v.hex()}
    if isinstance(t, Option):
        return None if v is None else expected(t.inner, v, use_camel=use_camel)
    if isinstance(t, UnitEnum):
        return {camel(v.name) if use_camel else v.name: {}}
    if isinstance(t, Struct):
        return struct_expected(v, use_camel=use_camel)
    raise TypeError(f"no expectation for {t!r}")


def struct_expected(value: BorshStruct, *, use_camel: bool) -> dict[str, Any]:
    return {
        (camel(n) if use_camel else n): expected(t, getattr(value, n), use_camel=use_camel)
        for n, t in value.SCHEMA
    }


# ---- cases ---------------------------------------------------------------------------------

PROFILES = ("min", "max", "mixed")


def _account_cases() -> dict[str, AccountState]:
    cases: dict[str, AccountState] = {}
    for cls in ACCOUNT_TYPES:
        for p in PROFILES:
            cases[f"{cls.__name__}-{p}"] = _instance(cls, p)
    # Every MarketState variant, with each Some/None combination of the two outcomes.
    options = [(None, None), (True, None), (False, True), (True, False)]
    for i, state in enumerate(MarketState):
        proposed, final = options[i % len(options)]
        cases[f"MarketAccount-{state.name}"] = _instance(
            MarketAccount,
            "mixed",
            state=state,
            proposed_outcome=proposed,
            final_outcome=final,
        )
    return cases


def _event_cases() -> dict[str, Event]:
    cases: dict[str, Event] = {}
    for cls in EVENT_TYPES:
        for p in PROFILES:
            cases[f"{cls.__name__}-{p}"] = _instance(cls, p)
    return cases


@dataclass(frozen=True)
class IxCase:
    name: str
    args: BorshStruct
    ix: Instruction


def _ix_cases() -> dict[str, IxCase]:
    admin, backend, creator, resolver = _pubkey(), _pubkey(), _pubkey(), _pubkey()
    voter, trader, fee_wallet, authority = _pubkey(), _pubkey(), _pubkey(), _pubkey()
    mid = _rng.randbytes(32)
    u64_max, u32_max = (1 << 64) - 1, (1 << 32) - 1
    cid_v1 = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"evidence").digest()
    cid_max = bytes([0xA5] * EVIDENCE_CID_LEN)
    p_default = ConfigParams.default(backend, fee_wallet)
    p_max = _instance(ConfigParams, "max")
    p_min = _instance(ConfigParams, "min")
    specs: list[tuple[str, str, BorshStruct, Callable[[], Instruction]]] = [
        (
            "initialize_config",
            "initialize_config-default",
            InitializeConfigArgs(p_default),
            lambda: b.initialize_config(admin, p_default),
        ),
        (
            "update_config",
            "update_config-max",
            UpdateConfigArgs(p_max),
            lambda: b.update_config(admin, p_max),
        ),
        (
            "update_config",
            "update_config-min",
            UpdateConfigArgs(p_min),
            lambda: b.update_config(admin, p_min),
        ),
        ("set_paused", "set_paused-true", SetPausedArgs(True), lambda: b.set_paused(admin, True)),
        (
            "set_paused",
            "set_paused-false",
            SetPausedArgs(False),
            lambda: b.set_paused(admin, False),
        ),
        (
            "propose_market",
            "propose_market",
            ProposeMarketArgs(mid, 5_000_000_000, u64_max, resolver),
            lambda: b.propose_market(creator, mid, 5_000_000_000, u64_max, resolver),
        ),
        (
            "submit_proposal_vote",
            "submit_proposal_vote",
            VoteArgs(True),
            lambda: b.submit_proposal_vote(voter, mid, True),
        ),
        (
            "approve_market",
            "approve_market",
            ApproveMarketArgs(12, u32_max),
            lambda: b.approve_market(backend, mid, 12, u32_max),
        ),
        ("activate_market", "activate_market", NoArgs(), lambda: b.activate_market(creator, mid)),
        (
            "buy_shares",
            "buy_shares",
            BuySharesArgs(True, 3_000_000_000, u64_max),
            lambda: b.buy_shares(trader, mid, True, 3_000_000_000, u64_max, fee_wallet),
        ),
        (
            "sell_shares",
            "sell_shares",
            SellSharesArgs(False, (1 << 53) + 1, 0),
            lambda: b.sell_shares(trader, mid, False, (1 << 53) + 1, 0, fee_wallet),
        ),
        (
            "resolve_market",
            "resolve_market-none-empty",
            ResolveMarketArgs(None, b""),
            lambda: b.resolve_market(resolver, mid, None, b""),
        ),
        (
            "resolve_market",
            "resolve_market-true-cidv1",
            ResolveMarketArgs(True, cid_v1),
            lambda: b.resolve_market(resolver, mid, True, cid_v1),
        ),
        (
            "resolve_market",
            "resolve_market-false-46",
            ResolveMarketArgs(False, cid_max),
            lambda: b.resolve_market(resolver, mid, False, cid_max),
        ),
        (
            "initiate_dispute",
            "initiate_dispute",
            NoArgs(),
            lambda: b.initiate_dispute(authority, mid),
        ),
        (
            "submit_dispute_vote",
            "submit_dispute_vote",
            VoteArgs(False),
            lambda: b.submit_dispute_vote(voter, mid, False),
        ),
        (
            "finalize_market",
            "finalize_market-none",
            FinalizeMarketArgs(None, None),
            lambda: b.finalize_market(backend, mid, resolver),
        ),
        (
            "finalize_market",
            "finalize_market-some",
            FinalizeMarketArgs(7, u32_max),
            lambda: b.finalize_market(backend, mid, resolver, 7, u32_max),
        ),
        (
            "finalize_market",
            "finalize_market-mixed",
            FinalizeMarketArgs(0, None),
            lambda: b.finalize_market(backend, mid, resolver, 0, None),
        ),
        ("cancel_market", "cancel_market", NoArgs(), lambda: b.cancel_market(authority, mid)),
        ("claim_winnings", "claim_winnings", NoArgs(), lambda: b.claim_winnings(trader, mid)),
        (
            "withdraw_liquidity",
            "withdraw_liquidity",
            NoArgs(),
            lambda: b.withdraw_liquidity(creator, mid),
        ),
    ]
    return {cid: IxCase(name, args, make()) for name, cid, args, make in specs}


ACCOUNT_CASES = _account_cases()
EVENT_CASES = _event_cases()
IX_CASES = _ix_cases()


def _given_accounts(case: IxCase) -> dict[str, Any]:
    """The accounts a TS caller passes to `accountsPartial`: those Anchor cannot derive offline.

    Anchor resolves fixed addresses and PDAs whose seeds are constants, arguments or other
    accounts' keys; a seed that is a field of an account (`market.market_id`) needs that
    account's data, so such a PDA is given, as are plain (non-PDA) accounts.
    """
    specs = BY_NAME[case.name].accounts
    out = {}
    for spec, meta in zip(specs, case.ix.accounts, strict=True):
        derivable = spec.address is not None or (
            spec.seeds is not None and not any("." in s.path for s in spec.seeds)
        )
        if not derivable:
            out[camel(spec.name)] = {"$pk": str(meta.pubkey)}
    return out


def _request() -> dict[str, Any]:
    log_lines = [f"Program {PROGRAM_ID} invoke [1]", "Program log: Instruction: Batch"]
    log_lines += [e.to_log_line() for e in EVENT_CASES.values()]
    log_lines += [
        f"Program {PROGRAM_ID} consumed 12345 of 200000 compute units",
        f"Program {PROGRAM_ID} success",
    ]
    return {
        "idl_path": str(IDL_PATH),
        "accounts": [
            {
                "id": cid,
                "name": type(acc).__name__,
                "camel_name": camel(type(acc).__name__),
                "data": acc.to_account_data().hex(),
            }
            for cid, acc in ACCOUNT_CASES.items()
        ],
        "instructions": [
            {
                "id": cid,
                "name": c.name,
                "camel_name": camel(c.name),
                "data": bytes(c.ix.data).hex(),
                "args": struct_tagged(c.args, use_camel=False),
                "camel_args": struct_tagged(c.args, use_camel=True),
                "camel_accounts": _given_accounts(c),
            }
            for cid, c in IX_CASES.items()
        ],
        "events": [
            {"id": cid, "b64": base64.b64encode(e.to_bytes()).decode()}
            for cid, e in EVENT_CASES.items()
        ],
        "logs": log_lines,
    }


# ---- the Node side -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anchor(anchor_check_tool: str) -> dict[str, Any]:
    """Anchor's results for every case, from a single run of check.mjs."""
    proc = subprocess.run(
        [anchor_check_tool, str(TOOL / "check.mjs")],
        input=json.dumps(_request()),
        cwd=TOOL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"check.mjs failed ({proc.returncode}):\n{proc.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _by_id(anchor: dict[str, Any], section: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in anchor[section]}


def ok(result: dict[str, Any]) -> Any:
    """The value of an operation check.mjs ran, failing with Anchor's error if it threw."""
    assert "error" not in result, f"Anchor threw: {result['error']}"
    return result["ok"]


# ---- the program as a whole ----------------------------------------------------------------


def test_pinned_anchor_version_is_the_one_installed(anchor: dict[str, Any]) -> None:
    assert anchor["anchor_version"] == ANCHOR_PIN


def test_program_loads_the_idl_and_exposes_every_item(anchor: dict[str, Any]) -> None:
    prog = ok(anchor["program"])
    assert prog["program_id"] == str(PROGRAM_ID)
    ix_names = [camel(ix.name) for ix in INSTRUCTIONS]
    assert prog["instructions"] == ix_names
    assert sorted(prog["methods"]) == sorted(ix_names)
    assert prog["accounts"] == [camel(a.__name__) for a in ACCOUNT_TYPES]
    assert prog["events"] == [camel(e.__name__) for e in EVENT_TYPES]
    assert prog["errors"] == [[e.code, camel(e.name), e.message] for e in all_program_errors()]


def test_program_account_sizes_are_the_allocated_sizes(anchor: dict[str, Any]) -> None:
    """`program.account.<name>.size` (what TS callers allocate and filter with) is `SPACE`."""
    sizes = ok(anchor["program"])["account_sizes"]
    assert sizes == {camel(a.__name__): a.SPACE for a in ACCOUNT_TYPES}


# ---- accounts ------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", list(ACCOUNT_CASES))
def test_account_decodes_to_the_python_value(anchor: dict[str, Any], case_id: str) -> None:
    acc = ACCOUNT_CASES[case_id]
    r = _by_id(anchor, "accounts")[case_id]
    assert ok(r["raw"]) == struct_expected(acc, use_camel=False)
    assert ok(r["raw_any"]) == struct_expected(acc, use_camel=False)
    assert ok(r["camel"]) == struct_expected(acc, use_camel=True)
    assert ok(r["raw_size"]) == type(acc).SPACE


# ---- instructions --------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", list(IX_CASES))
def test_instruction_data_decodes_to_the_builder_args(anchor: dict[str, Any], case_id: str) -> None:
    c = IX_CASES[case_id]
    r = _by_id(anchor, "instructions")[case_id]
    assert ok(r["raw_decode"]) == {"name": c.name, "data": struct_expected(c.args, use_camel=False)}
    assert ok(r["camel_decode"]) == {
        "name": camel(c.name),
        "data": struct_expected(c.args, use_camel=True),
    }


@pytest.mark.parametrize("case_id", list(IX_CASES))
def test_anchor_encodes_the_builder_bytes(anchor: dict[str, Any], case_id: str) -> None:
    c = IX_CASES[case_id]
    r = _by_id(anchor, "instructions")[case_id]
    assert ok(r["raw_encode"]) == bytes(c.ix.data).hex()
    assert ok(r["camel_encode"]) == bytes(c.ix.data).hex()


@pytest.mark.parametrize("case_id", list(IX_CASES))
def test_program_methods_build_the_builder_instruction(
    anchor: dict[str, Any], case_id: str
) -> None:
    """Same program id, data and accounts (PDAs resolved by Anchor from the IDL's seeds)."""
    c = IX_CASES[case_id]
    built = ok(_by_id(anchor, "instructions")[case_id]["methods"])
    assert built["program_id"] == str(c.ix.program_id)
    assert built["data"] == {"$hex": bytes(c.ix.data).hex()}
    names = [s.name for s in BY_NAME[c.name].accounts]
    want = [[str(m.pubkey), m.is_signer, m.is_writable] for m in c.ix.accounts]
    assert dict(zip(names, built["keys"], strict=True)) == dict(zip(names, want, strict=True))


# ---- events --------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", list(EVENT_CASES))
def test_event_decodes_to_the_python_value(anchor: dict[str, Any], case_id: str) -> None:
    ev = EVENT_CASES[case_id]
    r = _by_id(anchor, "events")[case_id]
    name = type(ev).__name__
    assert ok(r["raw"]) == {"name": name, "data": struct_expected(ev, use_camel=False)}
    assert ok(r["camel"]) == {"name": camel(name), "data": struct_expected(ev, use_camel=True)}


def test_event_parser_finds_every_event_in_transaction_logs(anchor: dict[str, Any]) -> None:
    """`EventParser.parseLogs` (what `program.addEventListener` runs) over `to_log_line()`s."""
    parsed = ok(anchor["parsed_logs"])
    assert parsed == [
        {"name": camel(type(e).__name__), "data": struct_expected(e, use_camel=True)}
        for e in EVENT_CASES.values()
    ]


def test_every_type_and_variant_is_covered() -> None:
    """The cases reach every account, event, instruction and enum variant the IDL declares."""
    assert {type(a) for a in ACCOUNT_CASES.values()} == set(ACCOUNT_TYPES)
    assert {type(e) for e in EVENT_CASES.values()} == set(EVENT_TYPES)
    assert {c.name for c in IX_CASES.values()} == {ix.name for ix in INSTRUCTIONS}
    seen: set[IntEnum] = set()
    for value in [*ACCOUNT_CASES.values(), *EVENT_CASES.values()]:
        seen |= {v for f in fields(value) if isinstance(v := getattr(value, f.name), IntEnum)}
    assert seen == {*MarketState, *VoteKind}
