"""The program's accounts: borsh layouts behind Anchor discriminators, at fixed allocated sizes.

Fixed-size fields come first so that `getProgramAccounts` memcmp filters work on stable offsets
(the discriminator at 0, then `market` or `market_id` at 8); `Option` fields come last.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import ClassVar, Self

from solders.pubkey import Pubkey

from hybridmarket.codec.anchor import DISCRIMINATOR_LEN, account_discriminator
from hybridmarket.codec.borsh import (
    BOOL,
    I64,
    PUBKEY,
    U8,
    U16,
    U32,
    U64,
    BorshError,
    BorshStruct,
    FixedBytes,
    Option,
    UnitEnum,
)

EVIDENCE_CID_LEN = 46
ZERO_PUBKEY = Pubkey.default()


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while i < len(buf) and shift < 63:
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7
    raise ValueError("truncated varint")


def binary_cid_length(buf: bytes) -> int | None:
    """Length of the binary CID at the start of `buf` (CIDv0 or CIDv1), None if it is not one.

    A CID is self-delimiting (version, codec, multihash code and digest length are prefixes),
    which is how the zero-padded `[u8; 46]` field gives back the exact CID even when its digest
    ends in zero bytes.
    """
    try:
        if buf[:2] == b"\x12\x20":  # CIDv0: a bare sha2-256 multihash
            return 34 if len(buf) >= 34 else None
        version, i = _varint(buf, 0)
        if version != 1:
            return None
        _codec, i = _varint(buf, i)
        _mh_code, i = _varint(buf, i)
        digest_len, i = _varint(buf, i)
    except ValueError:
        return None
    if digest_len == 0 or i + digest_len > min(len(buf), EVIDENCE_CID_LEN):
        return None
    return i + digest_len


class MarketState(IntEnum):
    Proposed = 0
    Approved = 1
    Active = 2
    Resolving = 3
    Disputed = 4
    Finalized = 5
    Cancelled = 6


TERMINAL_STATES = frozenset({MarketState.Finalized, MarketState.Cancelled})


class VoteKind(IntEnum):
    Proposal = 0
    Dispute = 1


MARKET_STATE = UnitEnum(MarketState)
VOTE_KIND = UnitEnum(VoteKind)


class AccountState(BorshStruct):
    """An account type: `sha256("account:<Name>")[:8]` + borsh, zero-padded to `SPACE`."""

    RESERVED: ClassVar[int] = 0
    SPACE: ClassVar[int]
    DISCRIMINATOR: ClassVar[bytes]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.DISCRIMINATOR = account_discriminator(cls.__name__)

    @classmethod
    def finalize_layout(cls) -> None:
        cls.validate_schema()
        cls.SPACE = DISCRIMINATOR_LEN + cls.max_size()

    def to_account_data(self) -> bytes:
        body = self.DISCRIMINATOR + self.encode()
        return body + bytes(self.SPACE - len(body))

    @classmethod
    def from_account_data(cls, data: bytes) -> Self:
        """Decode account data: checks the discriminator; padding after the body is ignored."""
        if len(data) < DISCRIMINATOR_LEN:
            raise BorshError(f"{cls.__name__}: account data shorter than its discriminator")
        if data[:DISCRIMINATOR_LEN] != cls.DISCRIMINATOR:
            raise BorshError(f"{cls.__name__}: account discriminator mismatch")
        value, _ = cls.decode_from(data, DISCRIMINATOR_LEN)
        return value


@dataclass(frozen=True, slots=True)
class ConfigParams(BorshStruct):
    """The tunable protocol parameters (argument of initialize_config / update_config)."""

    backend_authority: Pubkey
    protocol_fee_wallet: Pubkey
    protocol_fee_bps: int
    resolver_fee_bps: int
    lp_fee_bps: int
    proposal_approval_threshold_bps: int
    min_proposal_votes: int
    dispute_success_threshold_bps: int
    min_dispute_votes: int
    min_resolution_delay: int
    dispute_period: int
    dispute_voting_period: int
    min_b_parameter: int
    min_initial_liquidity: int

    SCHEMA = (
        ("backend_authority", PUBKEY),
        ("protocol_fee_wallet", PUBKEY),
        ("protocol_fee_bps", U16),
        ("resolver_fee_bps", U16),
        ("lp_fee_bps", U16),
        ("proposal_approval_threshold_bps", U16),
        ("min_proposal_votes", U32),
        ("dispute_success_threshold_bps", U16),
        ("min_dispute_votes", U32),
        ("min_resolution_delay", I64),
        ("dispute_period", I64),
        ("dispute_voting_period", I64),
        ("min_b_parameter", U64),
        ("min_initial_liquidity", U64),
    )

    @classmethod
    def default(cls, backend_authority: Pubkey, protocol_fee_wallet: Pubkey) -> ConfigParams:
        """DESIGN.md §2's defaults: fees 3/2/5 %, 70 % of ≥10 votes, 60 % of ≥5, 1 d / 3 d / 3 d."""
        return cls(
            backend_authority=backend_authority,
            protocol_fee_wallet=protocol_fee_wallet,
            protocol_fee_bps=300,
            resolver_fee_bps=200,
            lp_fee_bps=500,
            proposal_approval_threshold_bps=7000,
            min_proposal_votes=10,
            dispute_success_threshold_bps=6000,
            min_dispute_votes=5,
            min_resolution_delay=86_400,
            dispute_period=259_200,
            dispute_voting_period=259_200,
            min_b_parameter=1_000_000_000,  # one whole share
            min_initial_liquidity=10_000_000,  # 0.01 SOL
        )

    def with_changes(self, **changes: object) -> ConfigParams:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class GlobalConfig(AccountState):
    admin: Pubkey
    backend_authority: Pubkey
    protocol_fee_wallet: Pubkey
    protocol_fee_bps: int
    resolver_fee_bps: int
    lp_fee_bps: int
    proposal_approval_threshold_bps: int
    min_proposal_votes: int
    dispute_success_threshold_bps: int
    min_dispute_votes: int
    min_resolution_delay: int
    dispute_period: int
    dispute_voting_period: int
    min_b_parameter: int
    min_initial_liquidity: int
    is_paused: bool
    bump: int
    reserved: bytes

    RESERVED = 64
    SCHEMA = (
        ("admin", PUBKEY),
        *ConfigParams.SCHEMA,
        ("is_paused", BOOL),
        ("bump", U8),
        ("reserved", FixedBytes(64)),
    )

    @classmethod
    def from_params(cls, admin: Pubkey, params: ConfigParams, bump: int) -> GlobalConfig:
        return cls(
            admin=admin,
            **{n: getattr(params, n) for n, _ in ConfigParams.SCHEMA},
            is_paused=False,
            bump=bump,
            reserved=bytes(64),
        )

    def params(self) -> ConfigParams:
        return ConfigParams(**{n: getattr(self, n) for n, _ in ConfigParams.SCHEMA})


@dataclass(frozen=True, slots=True)
class MarketAccount(AccountState):
    market_id: bytes
    creator: Pubkey
    state: MarketState
    resolver: Pubkey
    b_parameter: int
    shares_yes: int
    shares_no: int
    current_liquidity: int
    initial_liquidity: int
    total_volume: int
    accumulated_resolver_fees: int
    accumulated_lp_fees: int
    proposal_likes: int
    proposal_dislikes: int
    proposal_total_votes: int
    dispute_agree: int
    dispute_disagree: int
    dispute_total_votes: int
    dispute_initiator: Pubkey
    ipfs_evidence_hash: bytes
    created_at: int
    approved_at: int
    activated_at: int
    resolution_proposed_at: int
    dispute_initiated_at: int
    finalized_at: int
    cancelled_at: int
    claimed_shares_yes: int
    claimed_shares_no: int
    total_claimed: int
    total_withdrawn: int
    resolver_fee_paid: int
    trades_count: int
    bump: int
    reserved: bytes
    proposed_outcome: bool | None
    final_outcome: bool | None

    SCHEMA = (
        ("market_id", FixedBytes(32)),
        ("creator", PUBKEY),
        ("state", MARKET_STATE),
        ("resolver", PUBKEY),
        ("b_parameter", U64),
        ("shares_yes", U64),
        ("shares_no", U64),
        ("current_liquidity", U64),
        ("initial_liquidity", U64),
        ("total_volume", U64),
        ("accumulated_resolver_fees", U64),
        ("accumulated_lp_fees", U64),
        ("proposal_likes", U32),
        ("proposal_dislikes", U32),
        ("proposal_total_votes", U32),
        ("dispute_agree", U32),
        ("dispute_disagree", U32),
        ("dispute_total_votes", U32),
        ("dispute_initiator", PUBKEY),
        ("ipfs_evidence_hash", FixedBytes(EVIDENCE_CID_LEN)),
        ("created_at", I64),
        ("approved_at", I64),
        ("activated_at", I64),
        ("resolution_proposed_at", I64),
        ("dispute_initiated_at", I64),
        ("finalized_at", I64),
        ("cancelled_at", I64),
        ("claimed_shares_yes", U64),
        ("claimed_shares_no", U64),
        ("total_claimed", U64),
        ("total_withdrawn", U64),
        ("resolver_fee_paid", U64),
        ("trades_count", U32),
        ("bump", U8),
        ("reserved", FixedBytes(64)),
        ("proposed_outcome", Option(BOOL)),
        ("final_outcome", Option(BOOL)),
    )

    # Offsets of fixed fields, for memcmp filters.
    OFFSET_MARKET_ID: ClassVar[int] = 8
    OFFSET_CREATOR: ClassVar[int] = 40
    OFFSET_STATE: ClassVar[int] = 72
    OFFSET_RESOLVER: ClassVar[int] = 73

    def evidence_cid_bytes(self) -> bytes:
        """The binary CID without its zero padding (b'' if none)."""
        n = binary_cid_length(self.ipfs_evidence_hash)
        return self.ipfs_evidence_hash[:n] if n else b""


@dataclass(frozen=True, slots=True)
class UserPosition(AccountState):
    market: Pubkey
    user: Pubkey
    shares_yes: int
    shares_no: int
    total_invested: int
    total_withdrawn: int
    trades_count: int
    last_trade_at: int
    has_claimed: bool
    claimed_amount: int
    bump: int
    reserved: bytes

    SCHEMA = (
        ("market", PUBKEY),
        ("user", PUBKEY),
        ("shares_yes", U64),
        ("shares_no", U64),
        ("total_invested", U64),
        ("total_withdrawn", U64),
        ("trades_count", U32),
        ("last_trade_at", I64),
        ("has_claimed", BOOL),
        ("claimed_amount", U64),
        ("bump", U8),
        ("reserved", FixedBytes(32)),
    )
    OFFSET_MARKET: ClassVar[int] = 8
    OFFSET_USER: ClassVar[int] = 40


@dataclass(frozen=True, slots=True)
class VoteRecord(AccountState):
    market: Pubkey
    user: Pubkey
    kind: VoteKind
    vote: bool
    voted_at: int
    bump: int

    SCHEMA = (
        ("market", PUBKEY),
        ("user", PUBKEY),
        ("kind", VOTE_KIND),
        ("vote", BOOL),
        ("voted_at", I64),
        ("bump", U8),
    )
    OFFSET_MARKET: ClassVar[int] = 8
    OFFSET_USER: ClassVar[int] = 40
    OFFSET_KIND: ClassVar[int] = 72


ConfigParams.validate_schema()
for _cls in (GlobalConfig, MarketAccount, UserPosition, VoteRecord):
    _cls.finalize_layout()

ACCOUNT_TYPES: tuple[type[AccountState], ...] = (
    GlobalConfig,
    MarketAccount,
    UserPosition,
    VoteRecord,
)


def decode_any_account(data: bytes) -> AccountState:
    """Decode program-owned account data of any of the program's types."""
    disc = data[:DISCRIMINATOR_LEN]
    for cls in ACCOUNT_TYPES:
        if disc == cls.DISCRIMINATOR:
            return cls.from_account_data(data)
    raise BorshError(f"unknown account discriminator {disc.hex()}")
