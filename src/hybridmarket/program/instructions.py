"""The program's instructions: arguments (borsh), accounts (with PDA seeds) and nominal compute.

This table is the single description of the interface: the processor validates accounts from
it, the builders construct instructions from it, and the IDL is generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from solders.pubkey import Pubkey

from hybridmarket.codec.anchor import instruction_discriminator
from hybridmarket.codec.borsh import (
    BOOL,
    PUBKEY,
    U32,
    U64,
    BorshStruct,
    Bytes,
    FixedBytes,
    Option,
    Struct,
)
from hybridmarket.program.accounts import (
    EVIDENCE_CID_LEN,
    AccountState,
    ConfigParams,
    GlobalConfig,
    MarketAccount,
    UserPosition,
    VoteRecord,
)
from hybridmarket.program.ids import CONFIG_SEED, MARKET_SEED, POSITION_SEED, VOTE_SEED
from hybridmarket.program.runtime import SYSTEM_PROGRAM_ID


@dataclass(frozen=True, slots=True)
class Seed:
    """One PDA seed: a constant, an instruction argument, an account's key or an account field."""

    kind: Literal["const", "arg", "account"]
    value: bytes = b""
    path: str = ""


def const(v: bytes) -> Seed:
    return Seed("const", value=v)


def arg(path: str) -> Seed:
    return Seed("arg", path=path)


def acct(path: str) -> Seed:
    return Seed("account", path=path)


Init = Literal["", "init", "init_if_needed"]


@dataclass(frozen=True, slots=True)
class AccountSpec:
    name: str
    writable: bool = False
    signer: bool = False
    address: Pubkey | None = None
    seeds: tuple[Seed, ...] | None = None
    account_type: type[AccountState] | None = None
    init: Init = ""
    payer: str = ""
    docs: str = ""


@dataclass(frozen=True, slots=True)
class InstructionDef:
    name: str
    args: type[BorshStruct]
    accounts: tuple[AccountSpec, ...]
    compute_units: int
    docs: str

    @property
    def discriminator(self) -> bytes:
        return instruction_discriminator(self.name)


# ---- arguments -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InitializeConfigArgs(BorshStruct):
    params: ConfigParams
    SCHEMA = (("params", Struct(ConfigParams)),)


@dataclass(frozen=True, slots=True)
class UpdateConfigArgs(BorshStruct):
    params: ConfigParams
    SCHEMA = (("params", Struct(ConfigParams)),)


@dataclass(frozen=True, slots=True)
class SetPausedArgs(BorshStruct):
    paused: bool
    SCHEMA = (("paused", BOOL),)


@dataclass(frozen=True, slots=True)
class ProposeMarketArgs(BorshStruct):
    market_id: bytes
    b_parameter: int
    initial_liquidity: int
    resolver: Pubkey
    SCHEMA = (
        ("market_id", FixedBytes(32)),
        ("b_parameter", U64),
        ("initial_liquidity", U64),
        ("resolver", PUBKEY),
    )


@dataclass(frozen=True, slots=True)
class VoteArgs(BorshStruct):
    vote: bool
    SCHEMA = (("vote", BOOL),)


@dataclass(frozen=True, slots=True)
class ApproveMarketArgs(BorshStruct):
    likes: int
    dislikes: int
    SCHEMA = (("likes", U32), ("dislikes", U32))


@dataclass(frozen=True, slots=True)
class NoArgs(BorshStruct):
    SCHEMA = ()


@dataclass(frozen=True, slots=True)
class BuySharesArgs(BorshStruct):
    outcome: bool
    shares: int
    max_cost: int
    SCHEMA = (("outcome", BOOL), ("shares", U64), ("max_cost", U64))


@dataclass(frozen=True, slots=True)
class SellSharesArgs(BorshStruct):
    outcome: bool
    shares: int
    min_proceeds: int
    SCHEMA = (("outcome", BOOL), ("shares", U64), ("min_proceeds", U64))


@dataclass(frozen=True, slots=True)
class ResolveMarketArgs(BorshStruct):
    outcome: bool | None
    evidence_cid: bytes
    SCHEMA = (("outcome", Option(BOOL)), ("evidence_cid", Bytes(EVIDENCE_CID_LEN)))


@dataclass(frozen=True, slots=True)
class FinalizeMarketArgs(BorshStruct):
    agree: int | None
    disagree: int | None
    SCHEMA = (("agree", Option(U32)), ("disagree", Option(U32)))


ARG_TYPES: tuple[type[BorshStruct], ...] = (
    InitializeConfigArgs,
    UpdateConfigArgs,
    SetPausedArgs,
    ProposeMarketArgs,
    VoteArgs,
    ApproveMarketArgs,
    NoArgs,
    BuySharesArgs,
    SellSharesArgs,
    ResolveMarketArgs,
    FinalizeMarketArgs,
)
for _cls in ARG_TYPES:
    _cls.validate_schema()


# ---- accounts --------------------------------------------------------------------------------

_CONFIG_SEEDS = (const(CONFIG_SEED),)
_MARKET_SEEDS = (const(MARKET_SEED), acct("market.market_id"))


def _config(writable: bool = False) -> AccountSpec:
    return AccountSpec("config", writable=writable, seeds=_CONFIG_SEEDS, account_type=GlobalConfig)


def _market(writable: bool = True) -> AccountSpec:
    return AccountSpec("market", writable=writable, seeds=_MARKET_SEEDS, account_type=MarketAccount)


_SYSTEM = AccountSpec("system_program", address=SYSTEM_PROGRAM_ID)


def _vote_record(kind: int) -> AccountSpec:
    return AccountSpec(
        "vote_record",
        writable=True,
        seeds=(const(VOTE_SEED), acct("market"), acct("voter"), const(bytes([kind]))),
        account_type=VoteRecord,
        init="init",
        payer="voter",
    )


def _position(owner: str, init: Init) -> AccountSpec:
    return AccountSpec(
        "position",
        writable=True,
        seeds=(const(POSITION_SEED), acct("market"), acct(owner)),
        account_type=UserPosition,
        init=init,
        payer=owner if init else "",
    )


INSTRUCTIONS: tuple[InstructionDef, ...] = (
    InstructionDef(
        "initialize_config",
        InitializeConfigArgs,
        (
            AccountSpec(
                "config",
                writable=True,
                seeds=_CONFIG_SEEDS,
                account_type=GlobalConfig,
                init="init",
                payer="admin",
            ),
            AccountSpec("admin", writable=True, signer=True),
            _SYSTEM,
        ),
        8_000,
        "Create the GlobalConfig; the signer becomes the admin.",
    ),
    InstructionDef(
        "update_config",
        UpdateConfigArgs,
        (_config(True), AccountSpec("admin", signer=True)),
        4_000,
        "Replace the protocol parameters (admin only).",
    ),
    InstructionDef(
        "set_paused",
        SetPausedArgs,
        (_config(True), AccountSpec("admin", signer=True)),
        3_000,
        "Pause or unpause trading, voting and market creation (admin only).",
    ),
    InstructionDef(
        "propose_market",
        ProposeMarketArgs,
        (
            _config(),
            AccountSpec(
                "market",
                writable=True,
                seeds=(const(MARKET_SEED), arg("market_id")),
                account_type=MarketAccount,
                init="init",
                payer="creator",
            ),
            AccountSpec("creator", writable=True, signer=True),
            _SYSTEM,
        ),
        12_000,
        "Create a market in Proposed; market_id is the sha256 of its canonical metadata.",
    ),
    InstructionDef(
        "submit_proposal_vote",
        VoteArgs,
        (
            _config(),
            _market(),
            _vote_record(0),
            AccountSpec("voter", writable=True, signer=True),
            _SYSTEM,
        ),
        9_000,
        "Record one like (true) or dislike (false) per wallet on a proposed market.",
    ),
    InstructionDef(
        "approve_market",
        ApproveMarketArgs,
        (_config(), _market(), AccountSpec("backend", signer=True)),
        5_000,
        "Post the proposal tally; approves only if quorum and threshold hold (backend only).",
    ),
    InstructionDef(
        "activate_market",
        NoArgs,
        (_config(), _market(), AccountSpec("creator", writable=True, signer=True), _SYSTEM),
        7_000,
        "The creator deposits the initial liquidity and opens trading.",
    ),
    InstructionDef(
        "buy_shares",
        BuySharesArgs,
        (
            _config(),
            _market(),
            _position("trader", "init_if_needed"),
            AccountSpec("trader", writable=True, signer=True),
            AccountSpec("protocol_fee_wallet", writable=True),
            _SYSTEM,
        ),
        30_000,
        "Buy shares of an outcome; fails if cost plus fees exceed max_cost.",
    ),
    InstructionDef(
        "sell_shares",
        SellSharesArgs,
        (
            _config(),
            _market(),
            _position("trader", ""),
            AccountSpec("trader", writable=True, signer=True),
            AccountSpec("protocol_fee_wallet", writable=True),
        ),
        28_000,
        "Sell shares of an outcome; fails if proceeds after fees fall below min_proceeds.",
    ),
    InstructionDef(
        "resolve_market",
        ResolveMarketArgs,
        (_config(), _market(), AccountSpec("resolver", signer=True)),
        6_000,
        "The resolver proposes the outcome (None = INVALID) with an evidence CID.",
    ),
    InstructionDef(
        "initiate_dispute",
        NoArgs,
        (_config(), _market(), AccountSpec("initiator", signer=True)),
        5_000,
        "Any wallet disputes a proposed resolution within the dispute period.",
    ),
    InstructionDef(
        "submit_dispute_vote",
        VoteArgs,
        (
            _config(),
            _market(),
            _vote_record(1),
            AccountSpec("voter", writable=True, signer=True),
            _SYSTEM,
        ),
        9_000,
        "Record one dispute vote per wallet (true = the proposed outcome is wrong).",
    ),
    InstructionDef(
        "finalize_market",
        FinalizeMarketArgs,
        (
            _config(),
            _market(),
            AccountSpec("backend", signer=True),
            AccountSpec("resolver", writable=True),
        ),
        8_000,
        "Finalize after the dispute period (no counts) or the dispute vote (counts given).",
    ),
    InstructionDef(
        "cancel_market",
        NoArgs,
        (_config(), _market(), AccountSpec("authority", signer=True)),
        5_000,
        "Cancel a market in any non-terminal state (backend or admin).",
    ),
    InstructionDef(
        "claim_winnings",
        NoArgs,
        (_market(), _position("owner", ""), AccountSpec("owner", writable=True, signer=True)),
        10_000,
        "Pay a position out once after finalization or cancellation.",
    ),
    InstructionDef(
        "withdraw_liquidity",
        NoArgs,
        (_market(), AccountSpec("creator", writable=True, signer=True)),
        8_000,
        "Pay the creator what the market holds above its outstanding claims.",
    ),
)

BY_NAME: dict[str, InstructionDef] = {ix.name: ix for ix in INSTRUCTIONS}
BY_DISCRIMINATOR: dict[bytes, InstructionDef] = {ix.discriminator: ix for ix in INSTRUCTIONS}
