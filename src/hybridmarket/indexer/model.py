"""How the program's events change the database's copy of the chain, as pure Python.

`BatchState` takes the current rows of the markets and positions a batch touches, applies the
batch's transactions in chain order exactly as the program changed its accounts, and collects
the rows to append (trades, votes, price points, transactions) and to upsert (markets,
positions, users). The database layer only loads and writes; every rule lives here, next to
`market_row_from_account`, the same row computed from an account read, which the reconciler
compares against.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast

from solders.pubkey import Pubkey

from hybridmarket.chain.events import ParsedEvent
from hybridmarket.codec.borsh import BorshStruct
from hybridmarket.db.rows import MarketRow, PositionRow
from hybridmarket.ipfs.cid import cid_from_bytes
from hybridmarket.program import events as ev
from hybridmarket.program import lmsr
from hybridmarket.program.accounts import MarketAccount, MarketState, UserPosition
from hybridmarket.program.ids import market_pda


class ApplyError(Exception):
    """An event that cannot be applied to the current rows (it goes to the dead letters)."""


# ---- conversions shared with the reconciler ---------------------------------------------------


def market_key(market_id: bytes) -> str:
    return bytes(market_id).hex()


def state_name(state: MarketState) -> str:
    return state.name.upper()


def price_decimal(price_yes: int) -> Decimal:
    """The exact decimal of a PRICE_SCALE (10^9) fixed-point price."""
    return Decimal(price_yes).scaleb(-9)


def chain_time(ts: int) -> datetime | None:
    """An on-chain unix timestamp; 0 means unset."""
    return None if ts == 0 else datetime.fromtimestamp(ts, UTC)


def evidence_text(raw: bytes) -> str | None:
    """The evidence CID as text (the program only accepts valid binary CIDs); None if unset."""
    raw = bytes(raw)
    if not any(raw):
        return None
    try:
        return cid_from_bytes(raw)
    except ValueError:
        return "0x" + raw.rstrip(b"\0").hex()


def to_json(value: Any) -> Any:
    """Event and account values as JSON (pubkeys base58, bytes hex, enums by name)."""
    if isinstance(value, BorshStruct):
        return {
            f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(cast(Any, value))
        }
    if isinstance(value, Pubkey):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Enum):
        return value.name
    return value


# ---- rows from accounts ------------------------------------------------------------------


def market_row_from_account(acc: MarketAccount, address: Pubkey, slot: int) -> MarketRow:
    """The row the indexer must hold for this account (the reconciler's reference)."""
    default = Pubkey.default()
    return MarketRow(
        id=market_key(acc.market_id),
        on_chain_address=str(address),
        creator_wallet=str(acc.creator),
        resolver_wallet=str(acc.resolver),
        state=state_name(acc.state),
        b_parameter=acc.b_parameter,
        shares_yes=acc.shares_yes,
        shares_no=acc.shares_no,
        current_price=price_decimal(
            lmsr.price(acc.shares_yes, acc.shares_no, acc.b_parameter, True)
        ),
        current_liquidity=acc.current_liquidity,
        initial_liquidity=acc.initial_liquidity,
        total_volume=acc.total_volume,
        accumulated_resolver_fees=acc.accumulated_resolver_fees,
        accumulated_lp_fees=acc.accumulated_lp_fees,
        proposal_likes=acc.proposal_likes,
        proposal_dislikes=acc.proposal_dislikes,
        proposal_total_votes=acc.proposal_total_votes,
        dispute_agree=acc.dispute_agree,
        dispute_disagree=acc.dispute_disagree,
        dispute_total_votes=acc.dispute_total_votes,
        dispute_initiator=None if acc.dispute_initiator == default else str(acc.dispute_initiator),
        proposed_outcome=acc.proposed_outcome,
        final_outcome=acc.final_outcome,
        evidence_cid=evidence_text(acc.ipfs_evidence_hash),
        claimed_shares_yes=acc.claimed_shares_yes,
        claimed_shares_no=acc.claimed_shares_no,
        total_claimed=acc.total_claimed,
        total_withdrawn=acc.total_withdrawn,
        resolver_fee_paid=acc.resolver_fee_paid,
        trades_count=acc.trades_count,
        created_at=chain_time(acc.created_at),
        approved_at=chain_time(acc.approved_at),
        activated_at=chain_time(acc.activated_at),
        resolution_proposed_at=chain_time(acc.resolution_proposed_at),
        dispute_initiated_at=chain_time(acc.dispute_initiated_at),
        finalized_at=chain_time(acc.finalized_at),
        cancelled_at=chain_time(acc.cancelled_at),
        last_slot=slot,
    )


def position_row_from_account(pos: UserPosition, market_id: str, slot: int) -> PositionRow:
    return PositionRow(
        market_id=market_id,
        user_wallet=str(pos.user),
        shares_yes=pos.shares_yes,
        shares_no=pos.shares_no,
        total_invested=pos.total_invested,
        total_withdrawn=pos.total_withdrawn,
        trades_count=pos.trades_count,
        last_trade_at=chain_time(pos.last_trade_at),
        has_claimed=pos.has_claimed,
        claimed_amount=pos.claimed_amount,
        last_slot=slot,
    )


# ---- transactions and batches -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainTx:
    """A program transaction to apply: from a log notification or `getTransaction`."""

    signature: str
    slot: int
    block_time: int | None
    err: Any
    events: tuple[ParsedEvent, ...]


@dataclass(frozen=True, slots=True)
class FailedEvent:
    tx: ChainTx
    event: ParsedEvent
    error: str


@dataclass
class BatchState:
    """Rows touched by one batch, before and after applying it.

    `markets` and `positions` hold the current rows (loaded from the database for the batch's
    markets and positions); applying mutates them and records which changed.
    """

    program_id: Pubkey
    markets: dict[str, MarketRow] = field(default_factory=dict)
    positions: dict[tuple[str, str], PositionRow] = field(default_factory=dict)
    changed_markets: set[str] = field(default_factory=set)
    new_markets: set[str] = field(default_factory=set)
    changed_positions: set[tuple[str, str]] = field(default_factory=set)
    trades: list[tuple[Any, ...]] = field(default_factory=list)
    price_points: list[tuple[Any, ...]] = field(default_factory=list)
    proposal_votes: list[tuple[Any, ...]] = field(default_factory=list)
    dispute_votes: list[tuple[Any, ...]] = field(default_factory=list)
    users: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    transactions: list[tuple[Any, ...]] = field(default_factory=list)
    config: tuple[Any, ...] | None = None
    failed: list[FailedEvent] = field(default_factory=list)
    events_applied: dict[str, int] = field(default_factory=dict)
    last: ChainTx | None = None

    # -- driving ---------------------------------------------------------------------------
    def apply_tx(self, tx: ChainTx) -> None:
        """Apply one transaction's events (none if it failed) and record the transaction."""
        applied = 0
        if tx.err is None:
            for pe in tx.events:
                try:
                    self._snapshot_then_apply(tx, pe)
                    applied += 1
                    name = type(pe.event).__name__
                    self.events_applied[name] = self.events_applied.get(name, 0) + 1
                except ApplyError as e:
                    self.failed.append(FailedEvent(tx, pe, str(e)))
        self.transactions.append(
            (
                tx.signature,
                tx.slot,
                None if tx.block_time is None else datetime.fromtimestamp(tx.block_time, UTC),
                None if tx.err is None else json.dumps(tx.err),
                applied,
            )
        )
        self.last = tx

    def _snapshot_then_apply(self, tx: ChainTx, pe: ParsedEvent) -> None:
        # An event either applies completely or not at all: handlers check before mutating.
        handler = _HANDLERS.get(type(pe.event))
        if handler is None:
            raise ApplyError(f"no handler for event {type(pe.event).__name__}")
        handler(self, tx, pe)

    # -- helpers ---------------------------------------------------------------------------
    def _market(self, market_id: bytes) -> MarketRow:
        key = market_key(market_id)
        row = self.markets.get(key)
        if row is None:
            raise ApplyError(f"market {key} is not indexed (its MarketProposed was not applied)")
        return row

    def _touch(self, row: MarketRow, tx: ChainTx) -> None:
        row.last_slot = max(row.last_slot, tx.slot)
        self.changed_markets.add(row.id)

    def _seen(self, wallet: Pubkey, ts: int) -> None:
        when = datetime.fromtimestamp(ts, UTC)
        key = str(wallet)
        cur = self.users.get(key)
        self.users[key] = (when, when) if cur is None else (min(cur[0], when), max(cur[1], when))

    def _position(self, market: MarketRow, user: Pubkey, slot: int) -> PositionRow:
        key = (market.id, str(user))
        pos = self.positions.get(key)
        if pos is None:
            pos = PositionRow(market.id, str(user), 0, 0, 0, 0, 0, None, False, 0, slot)
            self.positions[key] = pos
        return pos

    def _key(self, tx: ChainTx, pe: ParsedEvent) -> tuple[int, str, int, int]:
        return (tx.slot, tx.signature, pe.instruction_index, pe.event_index)


# ---- handlers (one per event; each mirrors the program's state change) -------------------------


def _config(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.ConfigInitialized | ev.ConfigUpdated)
    paused = e.is_paused if isinstance(e, ev.ConfigUpdated) else False
    b.config = (
        str(b.program_id),
        str(e.admin),
        json.dumps(to_json(e.params)),
        paused,
        tx.slot,
        datetime.fromtimestamp(e.timestamp, UTC),
    )
    b._seen(e.admin, e.timestamp)


def _proposed(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.MarketProposed)
    key = market_key(e.market_id)
    if key in b.markets:
        raise ApplyError(f"market {key} proposed twice")
    if e.market != market_pda(e.market_id, b.program_id)[0]:
        raise ApplyError(f"market {key}: address {e.market} is not its PDA")
    b.markets[key] = MarketRow(
        id=key,
        on_chain_address=str(e.market),
        creator_wallet=str(e.creator),
        resolver_wallet=str(e.resolver),
        state=state_name(e.state),
        b_parameter=e.b_parameter,
        shares_yes=0,
        shares_no=0,
        current_price=price_decimal(lmsr.price(0, 0, e.b_parameter, True)),
        current_liquidity=0,
        initial_liquidity=e.initial_liquidity,
        total_volume=0,
        accumulated_resolver_fees=0,
        accumulated_lp_fees=0,
        proposal_likes=0,
        proposal_dislikes=0,
        proposal_total_votes=0,
        dispute_agree=0,
        dispute_disagree=0,
        dispute_total_votes=0,
        dispute_initiator=None,
        proposed_outcome=None,
        final_outcome=None,
        evidence_cid=None,
        claimed_shares_yes=0,
        claimed_shares_no=0,
        total_claimed=0,
        total_withdrawn=0,
        resolver_fee_paid=0,
        trades_count=0,
        created_at=chain_time(e.timestamp),
        approved_at=None,
        activated_at=None,
        resolution_proposed_at=None,
        dispute_initiated_at=None,
        finalized_at=None,
        cancelled_at=None,
        last_slot=tx.slot,
    )
    b.new_markets.add(key)
    b.changed_markets.add(key)
    b._seen(e.creator, e.timestamp)


def _vote(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.ProposalVoteSubmitted | ev.DisputeVoteSubmitted)
    m = b._market(e.market_id)
    row = (
        m.id,
        str(e.voter),
        e.vote,
        datetime.fromtimestamp(e.timestamp, UTC),
        str(e.vote_record),
        tx.slot,
        tx.signature,
        pe.instruction_index,
        pe.event_index,
    )
    if isinstance(e, ev.ProposalVoteSubmitted):
        m.proposal_total_votes = e.proposal_total_votes
        b.proposal_votes.append(row)
    else:
        m.dispute_total_votes = e.dispute_total_votes
        b.dispute_votes.append(row)
    b._touch(m, tx)
    b._seen(e.voter, e.timestamp)


def _approved(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.MarketApproved)
    m = b._market(e.market_id)
    m.proposal_likes, m.proposal_dislikes = e.likes, e.dislikes
    m.state = state_name(e.state)
    m.approved_at = chain_time(e.timestamp)
    b._touch(m, tx)


def _price_point(b: BatchState, m: MarketRow, tx: ChainTx, pe: ParsedEvent, ts: int) -> None:
    b.price_points.append(
        (
            m.id,
            datetime.fromtimestamp(ts, UTC),
            m.current_price,
            tx.slot,
            tx.signature,
            pe.instruction_index,
            pe.event_index,
        )
    )


def _activated(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.MarketActivated)
    m = b._market(e.market_id)
    m.current_liquidity = e.current_liquidity
    m.current_price = price_decimal(e.price_yes)
    m.state = state_name(e.state)
    m.activated_at = chain_time(e.timestamp)
    b._touch(m, tx)
    _price_point(b, m, tx, pe, e.timestamp)


def _trade(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.TradeEvent)
    buy = isinstance(e, ev.SharesBought)
    m = b._market(e.market_id)
    m.shares_yes, m.shares_no = e.shares_yes, e.shares_no
    m.current_price = price_decimal(e.price_yes)
    m.current_liquidity = e.current_liquidity
    m.total_volume = e.total_volume
    m.accumulated_resolver_fees = e.accumulated_resolver_fees
    m.accumulated_lp_fees = e.accumulated_lp_fees
    m.trades_count += 1
    b._touch(m, tx)
    pos = b._position(m, e.trader, tx.slot)
    pos.shares_yes, pos.shares_no = e.position_shares_yes, e.position_shares_no
    if buy:
        pos.total_invested += e.total
    else:
        pos.total_withdrawn += e.total
    pos.trades_count += 1
    pos.last_trade_at = chain_time(e.timestamp)
    pos.last_slot = max(pos.last_slot, tx.slot)
    b.changed_positions.add((pos.market_id, pos.user_wallet))
    b.trades.append(
        (
            m.id,
            str(e.trader),
            "buy" if buy else "sell",
            e.outcome,
            e.shares,
            e.amount,
            e.protocol_fee,
            e.resolver_fee,
            e.lp_fee,
            e.total,
            m.current_price,
            e.shares_yes,
            e.shares_no,
            tx.slot,
            tx.signature,
            pe.instruction_index,
            pe.event_index,
            datetime.fromtimestamp(e.timestamp, UTC),
        )
    )
    _price_point(b, m, tx, pe, e.timestamp)
    b._seen(e.trader, e.timestamp)


def _resolved(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.MarketResolved)
    m = b._market(e.market_id)
    m.state = state_name(e.state)
    m.proposed_outcome = e.proposed_outcome
    m.evidence_cid = evidence_text(e.evidence_cid)
    m.resolution_proposed_at = chain_time(e.timestamp)
    b._touch(m, tx)
    b._seen(e.resolver, e.timestamp)


def _disputed(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.MarketDisputed)
    m = b._market(e.market_id)
    m.state = state_name(e.state)
    m.dispute_initiator = str(e.initiator)
    m.dispute_initiated_at = chain_time(e.timestamp)
    b._touch(m, tx)
    b._seen(e.initiator, e.timestamp)


def _finalized(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.MarketFinalized)
    m = b._market(e.market_id)
    if e.resolver_fee_paid > m.accumulated_resolver_fees:
        raise ApplyError(f"market {m.id}: resolver fee paid exceeds the accumulated fees")
    m.state = state_name(e.state)
    m.final_outcome = e.final_outcome
    m.dispute_agree = e.dispute_agree or 0
    m.dispute_disagree = e.dispute_disagree or 0
    m.accumulated_resolver_fees -= e.resolver_fee_paid
    m.resolver_fee_paid = e.resolver_fee_paid
    m.finalized_at = chain_time(e.timestamp)
    b._touch(m, tx)


def _cancelled(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.MarketCancelled)
    m = b._market(e.market_id)
    m.state = state_name(e.state)
    m.cancelled_at = chain_time(e.timestamp)
    b._touch(m, tx)


def _claimed(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.WinningsClaimed)
    m = b._market(e.market_id)
    if e.amount > m.current_liquidity:
        raise ApplyError(f"market {m.id}: claim of {e.amount} exceeds the cached liquidity")
    pos = b._position(m, e.user, tx.slot)
    m.current_liquidity -= e.amount
    m.claimed_shares_yes += e.shares_yes
    m.claimed_shares_no += e.shares_no
    m.total_claimed = e.total_claimed
    b._touch(m, tx)
    pos.has_claimed = True
    pos.claimed_amount = e.amount
    pos.last_slot = max(pos.last_slot, tx.slot)
    b.changed_positions.add((pos.market_id, pos.user_wallet))
    b._seen(e.user, e.timestamp)


def _withdrawn(b: BatchState, tx: ChainTx, pe: ParsedEvent) -> None:
    e = pe.event
    assert isinstance(e, ev.LiquidityWithdrawn)
    m = b._market(e.market_id)
    # The program pays LP fees first, then the resolver fees left in the pool, then liquidity.
    from_lp = min(e.amount, m.accumulated_lp_fees)
    from_resolver = min(e.amount - from_lp, m.accumulated_resolver_fees)
    from_pool = e.amount - from_lp - from_resolver
    if from_pool > m.current_liquidity:
        raise ApplyError(f"market {m.id}: withdrawal exceeds the cached liquidity")
    m.accumulated_lp_fees -= from_lp
    m.accumulated_resolver_fees -= from_resolver
    m.current_liquidity -= from_pool
    m.total_withdrawn = e.total_withdrawn
    b._touch(m, tx)
    b._seen(e.creator, e.timestamp)


_HANDLERS: dict[type[ev.Event], Any] = {
    ev.ConfigInitialized: _config,
    ev.ConfigUpdated: _config,
    ev.MarketProposed: _proposed,
    ev.ProposalVoteSubmitted: _vote,
    ev.MarketApproved: _approved,
    ev.MarketActivated: _activated,
    ev.SharesBought: _trade,
    ev.SharesSold: _trade,
    ev.MarketResolved: _resolved,
    ev.MarketDisputed: _disputed,
    ev.DisputeVoteSubmitted: _vote,
    ev.MarketFinalized: _finalized,
    ev.MarketCancelled: _cancelled,
    ev.WinningsClaimed: _claimed,
    ev.LiquidityWithdrawn: _withdrawn,
}
assert set(_HANDLERS) == set(ev.EVENT_TYPES), "every program event needs a handler"


def market_ids_of(tx: ChainTx) -> set[str]:
    """The markets a transaction's events touch."""
    out: set[str] = set()
    for pe in tx.events:
        mid = getattr(pe.event, "market_id", None)
        if isinstance(mid, bytes):
            out.add(market_key(mid))
    return out


def position_keys_of(tx: ChainTx) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for pe in tx.events:
        e = pe.event
        if isinstance(e, ev.TradeEvent):
            out.add((market_key(e.market_id), str(e.trader)))
        elif isinstance(e, ev.WinningsClaimed):
            out.add((market_key(e.market_id), str(e.user)))
    return out
