"""What the simulator runs and reports: the run's configuration, the planned fates and
deliberate failures, and the record of every transaction sent and every market created."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from hybridmarket.program import lmsr
from hybridmarket.program.accounts import MarketState
from hybridmarket.program.errors import MarketError

SOL = 1_000_000_000
BPS = lmsr.BPS_DENOMINATOR
FEE_PER_SIGNATURE = 5_000
MIN_TRADE_SHARES = 1_000

Progress = Callable[[str, int, int], None]


def side_index(outcome: bool) -> int:
    """Index of an outcome in a [yes, no] holdings pair."""
    return 0 if outcome else 1


class TxStatus(StrEnum):
    PENDING = "pending"  # sent, not confirmed yet
    OK = "ok"  # confirmed, no error
    FAILED = "failed"  # confirmed with an error (it landed and paid its fee)
    REJECTED = "rejected"  # refused by the node (preflight or RPC error): never landed
    LOST = "lost"  # never seen confirmed: its blockhash expired or the wait timed out


class Failure(StrEnum):
    """The deliberate failures, each sent with skip_preflight so that it lands with its error."""

    SLIPPAGE = "slippage"  # max_cost one lamport too low / min_proceeds one lamport too high
    OVERSELL = "oversell"  # selling more shares than the position holds
    DOUBLE_VOTE = "double_vote"  # a second proposal or dispute vote by the same wallet
    PAUSED = "paused"  # proposing while the protocol is paused
    REINITIALIZE = "reinitialize"  # initialize_config a second time
    BAD_COUNTS = "bad_counts"  # approve_market with more votes than were recorded
    UNAUTHORIZED = "unauthorized"  # activate_market signed by someone else than the creator
    TOO_EARLY_RESOLVE = "too_early_resolve"  # before min_resolution_delay
    TOO_EARLY_FINALIZE = "too_early_finalize"  # before the dispute (voting) period ends
    NOT_DISPUTABLE = "not_disputable"  # disputing an INVALID resolution
    DOUBLE_CLAIM = "double_claim"
    NOTHING_TO_CLAIM = "nothing_to_claim"  # a claim by a position that is owed nothing
    DOUBLE_WITHDRAW = "double_withdraw"
    CANCEL_TERMINAL = "cancel_terminal"  # cancelling a Finalized or Cancelled market


EXPECTED_ERROR: dict[Failure, MarketError] = {
    Failure.SLIPPAGE: MarketError.SlippageExceeded,
    Failure.OVERSELL: MarketError.InsufficientShares,
    Failure.DOUBLE_VOTE: MarketError.AlreadyVoted,
    Failure.PAUSED: MarketError.ProtocolPaused,
    Failure.REINITIALIZE: MarketError.AlreadyInitialized,
    Failure.BAD_COUNTS: MarketError.VoteCountsExceedRecords,
    Failure.UNAUTHORIZED: MarketError.Unauthorized,
    Failure.TOO_EARLY_RESOLVE: MarketError.ResolutionTooEarly,
    Failure.TOO_EARLY_FINALIZE: MarketError.FinalizeTooEarly,
    Failure.NOT_DISPUTABLE: MarketError.InvalidOutcomeNotDisputable,
    Failure.DOUBLE_CLAIM: MarketError.AlreadyClaimed,
    Failure.NOTHING_TO_CLAIM: MarketError.NothingToClaim,
    Failure.DOUBLE_WITHDRAW: MarketError.NothingToWithdraw,
    Failure.CANCEL_TERMINAL: MarketError.InvalidMarketState,
}


class Fate(StrEnum):
    """Where a market's life is planned to end in a run."""

    PROPOSED = "proposed"  # votes still coming in
    CANCELLED_PROPOSED = "cancelled_proposed"  # missed quorum or threshold
    APPROVED = "approved"  # approved, the creator has not activated it
    CANCELLED_APPROVED = "cancelled_approved"
    ACTIVE = "active"  # trading
    CANCELLED_ACTIVE = "cancelled_active"  # traded, cancelled, paid out at its last price
    RESOLVING = "resolving"  # resolved at the end of the run: dispute window open
    DISPUTED = "disputed"  # resolved and disputed at the end of the run: voting open
    FINALIZED_YES = "finalized_yes"  # undisputed
    FINALIZED_NO = "finalized_no"
    FINALIZED_INVALID = "finalized_invalid"
    DISPUTE_UPHELD = "dispute_upheld"  # disputed, the votes keep the proposed outcome
    DISPUTE_FLIPPED = "dispute_flipped"  # disputed, the votes flip it

    @property
    def approved(self) -> bool:
        return self not in (Fate.PROPOSED, Fate.CANCELLED_PROPOSED)

    @property
    def activated(self) -> bool:
        return self.approved and self not in (Fate.APPROVED, Fate.CANCELLED_APPROVED)

    @property
    def needs_clock(self) -> bool:
        return self.resolves_early or self in (Fate.RESOLVING, Fate.DISPUTED)

    @property
    def resolves_early(self) -> bool:
        """Resolved, (maybe) disputed and finalized in the main time-travel phases."""
        return self in _FINALIZED_FATES

    @property
    def disputed(self) -> bool:
        return self in (Fate.DISPUTE_UPHELD, Fate.DISPUTE_FLIPPED, Fate.DISPUTED)

    @property
    def terminal(self) -> bool:
        return self in _FINALIZED_FATES or self.name.startswith("CANCELLED")


_FINALIZED_FATES = frozenset(
    {
        Fate.FINALIZED_YES,
        Fate.FINALIZED_NO,
        Fate.FINALIZED_INVALID,
        Fate.DISPUTE_UPHELD,
        Fate.DISPUTE_FLIPPED,
    }
)


@dataclass(frozen=True, slots=True)
class WorkloadConfig:
    """What to run. Sizes are counts; `trades` counts successful-path trades (deliberately
    failing attempts come on top, about `failed_fraction` of all operations)."""

    markets: int
    wallets: int
    trades: int
    seed: int
    concurrency: int = 32  # transactions in flight (sendTransaction calls)
    failed_fraction: float = 0.03
    fates: tuple[Fate, ...] | None = None  # explicit fates, cycled over the markets
    admin_instructions: bool = True  # update_config + a brief set_paused(true/false)
    b_range_sol: tuple[int, int] = (20, 400)  # LMSR b, whole SOL, uniform
    trade_size: tuple[float, float] = (0.002, 0.05)  # buy size as a fraction of b, log-uniform
    sell_probability: float = 0.3
    slippage_bps: int = 100  # tolerance on quoted totals for max_cost / min_proceeds
    extra_lamports: int = 10 * SOL  # funded to every wallet beyond what the plan needs
    confirm_timeout: float = 60.0
    poll_interval: float = 0.05

    def __post_init__(self) -> None:
        if self.markets < 0 or self.trades < 0:
            raise ValueError("markets and trades must be non-negative")
        if self.wallets < 1:
            raise ValueError("at least one wallet is needed")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if not 0.0 <= self.failed_fraction <= 1.0:
            raise ValueError("failed_fraction must be in [0, 1]")
        if not 0 < self.trade_size[0] <= self.trade_size[1]:
            raise ValueError("trade_size must be an increasing pair of positive fractions")
        if not 0 < self.b_range_sol[0] <= self.b_range_sol[1]:
            raise ValueError("b_range_sol must be an increasing pair of positive whole SOL")
        if not 0 <= self.slippage_bps < BPS:
            raise ValueError("slippage_bps must be in [0, 10000)")
        if self.fates is not None and not self.fates:
            raise ValueError("fates, when given, must not be empty")


@dataclass(slots=True)
class SentTx:
    """One transaction the driver sent, and what became of it."""

    signature: str
    instruction: str  # the program instruction's name, or "transfer" / "airdrop" for funding
    phase: str
    payer: Pubkey
    market_id: bytes | None = None
    program: bool = True  # False for funding (system transfers, airdrops)
    failure: Failure | None = None  # set for deliberate failures
    expected_error: int | None = None  # the program error a deliberate failure must hit
    sent_at: float = 0.0  # time.time() just before sendTransaction
    acked_at: float | None = None  # time.time() when the node answered
    last_valid_block_height: int | None = None
    status: TxStatus = TxStatus.PENDING
    slot: int | None = None
    err: Any = None  # the TransactionError JSON (or the RPC error text for rejections)

    @property
    def landed(self) -> bool:
        return self.status in (TxStatus.OK, TxStatus.FAILED)

    @property
    def error_code(self) -> int | None:
        """The custom program error code of a failed transaction, if it has one."""
        err = self.err
        if isinstance(err, dict) and "InstructionError" in err:
            inner = err["InstructionError"][1]
            if isinstance(inner, dict) and "Custom" in inner:
                return int(inner["Custom"])
        return None

    @property
    def as_expected(self) -> bool:
        if self.expected_error is None:
            return self.status == TxStatus.OK
        return self.status == TxStatus.FAILED and self.error_code == self.expected_error


@dataclass(slots=True)
class MarketRecord:
    """A market the workload created, with what the chain must show for it at the end."""

    market_id: bytes
    metadata: dict[str, Any]  # its canonical JSON hashes to market_id
    fate: Fate
    creator: Pubkey
    resolver: Pubkey
    b_parameter: int
    initial_liquidity: int
    state: MarketState | None = None  # None: the proposal never landed
    proposal_likes: int = 0  # the counts posted with approve_market
    proposal_dislikes: int = 0
    proposed_outcome: bool | None = None
    final_outcome: bool | None = None
    dispute_agree: int = 0  # the counts posted with finalize_market
    dispute_disagree: int = 0
    flipped: bool = False
    trades: int = 0  # successful buys and sells
    evidence: bytes = b""  # the resolver's evidence document (canonical JSON)
    evidence_cid: bytes = b""  # its binary CIDv1 (raw, sha2-256), as put on chain


@dataclass(slots=True)
class WorkloadReport:
    config: WorkloadConfig
    transactions: list[SentTx]
    markets: list[MarketRecord]
    wallets: list[Pubkey]
    keypairs: list[Keypair] = field(repr=False)
    phase_seconds: dict[str, float]
    started_at: float
    finished_at: float
    start_slot: int
    end_slot: int
    cursor_before: str | None  # newest program signature before the run (None: there was none)
    used_clock: bool

    @property
    def elapsed(self) -> float:
        return self.finished_at - self.started_at

    @property
    def landed(self) -> list[SentTx]:
        return [t for t in self.transactions if t.landed]

    @property
    def tx_per_s(self) -> float:
        """Landed transactions (program and funding) per second of the whole run."""
        return len(self.landed) / self.elapsed if self.elapsed > 0 else 0.0

    def signatures(self, status: TxStatus, *, program_only: bool = True) -> set[str]:
        return {
            t.signature
            for t in self.transactions
            if t.status == status and (t.program or not program_only)
        }

    def counts(self) -> dict[str, dict[str, int]]:
        """instruction → {status → count}."""
        out: dict[str, dict[str, int]] = {}
        for t in self.transactions:
            row = out.setdefault(t.instruction, {s.value: 0 for s in TxStatus})
            row[t.status.value] += 1
        return out

    def failures(self) -> dict[str, int]:
        """Deliberate failures that landed as planned, by kind."""
        out: dict[str, int] = {}
        for t in self.transactions:
            if t.failure is not None and t.as_expected:
                out[t.failure.value] = out.get(t.failure.value, 0) + 1
        return out

    def unexpected(self) -> list[SentTx]:
        """Transactions whose outcome differs from the plan (none, on a healthy validator)."""
        return [t for t in self.transactions if not t.as_expected]

    def summary(self) -> str:
        lines = [
            f"{len(self.transactions)} transactions sent, {len(self.landed)} landed in "
            f"{self.elapsed:.2f}s ({self.tx_per_s:.0f} tx/s); {len(self.markets)} markets, "
            f"{len(self.wallets)} wallets; slots {self.start_slot}..{self.end_slot}"
        ]
        for name, row in sorted(self.counts().items()):
            shown = ", ".join(f"{k} {v}" for k, v in row.items() if v)
            lines.append(f"  {name}: {shown}")
        lines.append(
            "  phases: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.phase_seconds.items())
        )
        return "\n".join(lines)


@dataclass(slots=True)
class TrickleReport:
    target_rate: float
    transactions: list[SentTx]  # each with sent_at, for lag measurements
    markets: list[bytes]
    started_at: float
    finished_at: float  # when the schedule ended (the last send was issued)
    settled_at: float  # when every sent transaction was confirmed (or given up)
    skipped: int  # scheduled sends dropped because the schedule fell more than 1 s behind

    def count(self, status: TxStatus) -> int:
        return sum(1 for t in self.transactions if t.status == status)

    @property
    def achieved_rate(self) -> float:
        span = self.finished_at - self.started_at
        return len(self.transactions) / span if span > 0 else 0.0
