"""The database's row types: the `markets` and `positions` rows in database units (field
names are the column names) and what a reconciliation run records. Plain data, no I/O; the
indexer computes these rows, the queries read and write them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(slots=True)
class MarketRow:
    """One row of `markets` in database units (field names are the column names)."""

    id: str
    on_chain_address: str
    creator_wallet: str
    resolver_wallet: str
    state: str
    b_parameter: int
    shares_yes: int
    shares_no: int
    current_price: Decimal
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
    dispute_initiator: str | None
    proposed_outcome: bool | None
    final_outcome: bool | None
    evidence_cid: str | None
    claimed_shares_yes: int
    claimed_shares_no: int
    total_claimed: int
    total_withdrawn: int
    resolver_fee_paid: int
    trades_count: int
    created_at: datetime | None
    approved_at: datetime | None
    activated_at: datetime | None
    resolution_proposed_at: datetime | None
    dispute_initiated_at: datetime | None
    finalized_at: datetime | None
    cancelled_at: datetime | None
    last_slot: int


MARKET_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(MarketRow))
# Every column that mirrors the chain (all but the bookkeeping slot): what the reconciler checks.
MARKET_CHAIN_FIELDS: tuple[str, ...] = tuple(c for c in MARKET_COLUMNS if c != "last_slot")


@dataclass(slots=True)
class PositionRow:
    market_id: str
    user_wallet: str
    shares_yes: int
    shares_no: int
    total_invested: int
    total_withdrawn: int
    trades_count: int
    last_trade_at: datetime | None
    has_claimed: bool
    claimed_amount: int
    last_slot: int


POSITION_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(PositionRow))
POSITION_CHAIN_FIELDS: tuple[str, ...] = POSITION_COLUMNS[2:-1]


# ---- reconciliation ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Discrepancy:
    market_id: str
    field: str  # a column of markets, "position:<wallet>:<column>", or "row"
    cached: str | None
    chain: str | None


@dataclass
class ReconcileReport:
    run_id: int = 0
    chain_slot: int = 0
    markets_checked: int = 0
    positions_checked: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)
    repaired: int = 0
    busy: list[str] = field(default_factory=list)  # still changing after every round

    def summary(self) -> dict[str, Any]:
        by_field: dict[str, int] = {}
        for d in self.discrepancies:
            key = d.field.split(":")[0] if d.field.startswith("position:") else d.field
            by_field[key] = by_field.get(key, 0) + 1
        return {
            "run_id": self.run_id,
            "chain_slot": self.chain_slot,
            "markets_checked": self.markets_checked,
            "positions_checked": self.positions_checked,
            "discrepancies": len(self.discrepancies),
            "by_field": by_field,
            "repaired": self.repaired,
            "busy": len(self.busy),
        }
