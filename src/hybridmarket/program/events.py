"""The program's events, emitted as Anchor's `emit!` does: `Program data: base64(disc + borsh)`.

Every market event carries `market_id`, the market address, the actor and `timestamp`, and the
market's state after the instruction wherever it changed, so an indexer never needs to read
accounts to keep its cache exact.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import ClassVar

from solders.pubkey import Pubkey

from hybridmarket.codec.anchor import DISCRIMINATOR_LEN, event_discriminator
from hybridmarket.codec.borsh import (
    BOOL,
    I64,
    PUBKEY,
    U32,
    U64,
    BorshError,
    BorshStruct,
    Bytes,
    FixedBytes,
    Option,
    Struct,
)
from hybridmarket.program.accounts import (
    EVIDENCE_CID_LEN,
    MARKET_STATE,
    ConfigParams,
    MarketState,
)

PROGRAM_DATA_PREFIX = "Program data: "


class Event(BorshStruct):
    DISCRIMINATOR: ClassVar[bytes]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.DISCRIMINATOR = event_discriminator(cls.__name__)

    def to_bytes(self) -> bytes:
        return self.DISCRIMINATOR + self.encode()

    def to_log_line(self) -> str:
        return PROGRAM_DATA_PREFIX + base64.b64encode(self.to_bytes()).decode()


_M = (("market_id", FixedBytes(32)), ("market", PUBKEY))


@dataclass(frozen=True, slots=True)
class ConfigInitialized(Event):
    admin: Pubkey
    params: ConfigParams
    timestamp: int
    SCHEMA = (("admin", PUBKEY), ("params", Struct(ConfigParams)), ("timestamp", I64))


@dataclass(frozen=True, slots=True)
class ConfigUpdated(Event):
    admin: Pubkey
    params: ConfigParams
    is_paused: bool
    timestamp: int
    SCHEMA = (
        ("admin", PUBKEY),
        ("params", Struct(ConfigParams)),
        ("is_paused", BOOL),
        ("timestamp", I64),
    )


@dataclass(frozen=True, slots=True)
class MarketProposed(Event):
    market_id: bytes
    market: Pubkey
    creator: Pubkey
    resolver: Pubkey
    b_parameter: int
    initial_liquidity: int
    state: MarketState
    timestamp: int
    SCHEMA = (
        *_M,
        ("creator", PUBKEY),
        ("resolver", PUBKEY),
        ("b_parameter", U64),
        ("initial_liquidity", U64),
        ("state", MARKET_STATE),
        ("timestamp", I64),
    )


@dataclass(frozen=True, slots=True)
class ProposalVoteSubmitted(Event):
    market_id: bytes
    market: Pubkey
    voter: Pubkey
    vote_record: Pubkey
    vote: bool
    proposal_total_votes: int
    timestamp: int
    SCHEMA = (
        *_M,
        ("voter", PUBKEY),
        ("vote_record", PUBKEY),
        ("vote", BOOL),
        ("proposal_total_votes", U32),
        ("timestamp", I64),
    )


@dataclass(frozen=True, slots=True)
class MarketApproved(Event):
    market_id: bytes
    market: Pubkey
    backend: Pubkey
    likes: int
    dislikes: int
    state: MarketState
    timestamp: int
    SCHEMA = (
        *_M,
        ("backend", PUBKEY),
        ("likes", U32),
        ("dislikes", U32),
        ("state", MARKET_STATE),
        ("timestamp", I64),
    )


@dataclass(frozen=True, slots=True)
class MarketActivated(Event):
    market_id: bytes
    market: Pubkey
    creator: Pubkey
    initial_liquidity: int
    current_liquidity: int
    price_yes: int
    state: MarketState
    timestamp: int
    SCHEMA = (
        *_M,
        ("creator", PUBKEY),
        ("initial_liquidity", U64),
        ("current_liquidity", U64),
        ("price_yes", U64),
        ("state", MARKET_STATE),
        ("timestamp", I64),
    )


_TRADE = (
    ("trader", PUBKEY),
    ("outcome", BOOL),
    ("shares", U64),
    ("amount", U64),
    ("protocol_fee", U64),
    ("resolver_fee", U64),
    ("lp_fee", U64),
    ("total", U64),
    ("shares_yes", U64),
    ("shares_no", U64),
    ("price_yes", U64),
    ("current_liquidity", U64),
    ("total_volume", U64),
    ("accumulated_resolver_fees", U64),
    ("accumulated_lp_fees", U64),
    ("position_shares_yes", U64),
    ("position_shares_no", U64),
    ("timestamp", I64),
)


@dataclass(frozen=True, slots=True)
class TradeEvent(Event):
    """The layout both trade events share (each keeps its own discriminator)."""

    market_id: bytes
    market: Pubkey
    trader: Pubkey
    outcome: bool
    shares: int
    amount: int
    protocol_fee: int
    resolver_fee: int
    lp_fee: int
    total: int
    shares_yes: int
    shares_no: int
    price_yes: int
    current_liquidity: int
    total_volume: int
    accumulated_resolver_fees: int
    accumulated_lp_fees: int
    position_shares_yes: int
    position_shares_no: int
    timestamp: int
    SCHEMA = (*_M, *_TRADE)


@dataclass(frozen=True, slots=True)
class SharesBought(TradeEvent):
    """`amount` is the LMSR cost; `total` = amount + fees, what the trader paid."""


@dataclass(frozen=True, slots=True)
class SharesSold(TradeEvent):
    """`amount` is the gross LMSR proceeds; `total` = amount − fees, what the trader received."""


@dataclass(frozen=True, slots=True)
class MarketResolved(Event):
    market_id: bytes
    market: Pubkey
    resolver: Pubkey
    proposed_outcome: bool | None
    evidence_cid: bytes
    state: MarketState
    timestamp: int
    SCHEMA = (
        *_M,
        ("resolver", PUBKEY),
        ("proposed_outcome", Option(BOOL)),
        ("evidence_cid", Bytes(EVIDENCE_CID_LEN)),
        ("state", MARKET_STATE),
        ("timestamp", I64),
    )


@dataclass(frozen=True, slots=True)
class MarketDisputed(Event):
    market_id: bytes
    market: Pubkey
    initiator: Pubkey
    state: MarketState
    timestamp: int
    SCHEMA = (*_M, ("initiator", PUBKEY), ("state", MARKET_STATE), ("timestamp", I64))


@dataclass(frozen=True, slots=True)
class DisputeVoteSubmitted(Event):
    market_id: bytes
    market: Pubkey
    voter: Pubkey
    vote_record: Pubkey
    vote: bool
    dispute_total_votes: int
    timestamp: int
    SCHEMA = (
        *_M,
        ("voter", PUBKEY),
        ("vote_record", PUBKEY),
        ("vote", BOOL),
        ("dispute_total_votes", U32),
        ("timestamp", I64),
    )


@dataclass(frozen=True, slots=True)
class MarketFinalized(Event):
    market_id: bytes
    market: Pubkey
    backend: Pubkey
    proposed_outcome: bool | None
    final_outcome: bool | None
    dispute_agree: int | None
    dispute_disagree: int | None
    flipped: bool
    resolver_fee_paid: int
    state: MarketState
    timestamp: int
    SCHEMA = (
        *_M,
        ("backend", PUBKEY),
        ("proposed_outcome", Option(BOOL)),
        ("final_outcome", Option(BOOL)),
        ("dispute_agree", Option(U32)),
        ("dispute_disagree", Option(U32)),
        ("flipped", BOOL),
        ("resolver_fee_paid", U64),
        ("state", MARKET_STATE),
        ("timestamp", I64),
    )


@dataclass(frozen=True, slots=True)
class MarketCancelled(Event):
    market_id: bytes
    market: Pubkey
    authority: Pubkey
    previous_state: MarketState
    price_yes: int
    state: MarketState
    timestamp: int
    SCHEMA = (
        *_M,
        ("authority", PUBKEY),
        ("previous_state", MARKET_STATE),
        ("price_yes", U64),
        ("state", MARKET_STATE),
        ("timestamp", I64),
    )


@dataclass(frozen=True, slots=True)
class WinningsClaimed(Event):
    market_id: bytes
    market: Pubkey
    user: Pubkey
    amount: int
    shares_yes: int
    shares_no: int
    total_claimed: int
    timestamp: int
    SCHEMA = (
        *_M,
        ("user", PUBKEY),
        ("amount", U64),
        ("shares_yes", U64),
        ("shares_no", U64),
        ("total_claimed", U64),
        ("timestamp", I64),
    )


@dataclass(frozen=True, slots=True)
class LiquidityWithdrawn(Event):
    market_id: bytes
    market: Pubkey
    creator: Pubkey
    amount: int
    total_withdrawn: int
    timestamp: int
    SCHEMA = (
        *_M,
        ("creator", PUBKEY),
        ("amount", U64),
        ("total_withdrawn", U64),
        ("timestamp", I64),
    )


EVENT_TYPES: tuple[type[Event], ...] = (
    ConfigInitialized,
    ConfigUpdated,
    MarketProposed,
    ProposalVoteSubmitted,
    MarketApproved,
    MarketActivated,
    SharesBought,
    SharesSold,
    MarketResolved,
    MarketDisputed,
    DisputeVoteSubmitted,
    MarketFinalized,
    MarketCancelled,
    WinningsClaimed,
    LiquidityWithdrawn,
)
for _cls in EVENT_TYPES:
    _cls.validate_schema()

_BY_DISC = {cls.DISCRIMINATOR: cls for cls in EVENT_TYPES}


def decode_event(raw: bytes) -> Event:
    """Decode `disc + borsh` of any of the program's events (strict: no trailing bytes)."""
    cls = _BY_DISC.get(bytes(raw[:DISCRIMINATOR_LEN]))
    if cls is None:
        raise BorshError(f"unknown event discriminator {bytes(raw[:DISCRIMINATOR_LEN]).hex()}")
    return cls.decode(bytes(raw[DISCRIMINATOR_LEN:]))


def decode_event_log(line: str) -> Event | None:
    """Decode a `Program data: …` log line; None for other lines or foreign events."""
    if not line.startswith(PROGRAM_DATA_PREFIX):
        return None
    try:
        raw = base64.b64decode(line[len(PROGRAM_DATA_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    if bytes(raw[:DISCRIMINATOR_LEN]) not in _BY_DISC:
        return None
    return decode_event(raw)
