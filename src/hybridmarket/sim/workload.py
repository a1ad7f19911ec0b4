"""A reusable random workload driver for the market program, over real Solana JSON-RPC.

What it is for:

- the indexer's exactness test: thousands of random transactions across many markets and
  wallets, every instruction and every market state, successes and deliberate on-chain failures,
  after which a PostgreSQL copy must equal the chain;
- the benchmarks: fill a validator with 100,000+ events (`run_workload`), then hold a steady
  trade rate with the send time of every signature recorded (`trickle`), to measure lag;
- a demo that seeds a believable world: each market's metadata (question, category, resolution
  criteria, close date) is kept in the report, and its market id is the sha256 of that metadata's
  canonical JSON, so a demo can post it to the API.

How it works. `run_workload` plans everything first from `random.Random(seed)` (each market's
fate, its votes and trades, which transactions are to fail on purpose), funds the wallets the
plan needs, then runs the phases in order: admin, propose, vote, approve, activate, trade,
cancel, resolve, dispute, finalize, claim, withdraw, late. Within a phase every market runs
concurrently and independent transactions of a market (votes, claims) too; transactions that
depend on each other (the trades of one market) go one after another, each sent once the
node has answered the previous one (on the embedded validator that answer means it executed).
A local LMSR model of each market gives exact quotes, so slippage bounds are tight and a
deliberate "one lamport too low" really fails. Confirmations are awaited in bulk, 256
signatures per `getSignatureStatuses`, by one poller, never one by one; each phase ends when
everything it sent is confirmed, which is also when the next phase can read the chain.

Deliberate failures are sent with `skip_preflight=True`, so the validator executes them,
charges their fee and records them with their error, as a leader would. Transactions expected
to succeed go with preflight: if one does not, it is refused before it lands and the report
lists it as rejected (`WorkloadReport.unexpected()`).

Time: resolution and finalization need the clock moved forward, which only a validator with
test controls can do. `advance_clock` is an async callable (`clock_advancer(rpc_url)` makes one
for the embedded validator); with None, only the phases that need no time run, and every market
ends Proposed, Approved, Active or Cancelled.

Determinism: the plan and every choice made while running depend only on the seed (keypairs
are random, so market ids, which include the creator, differ between runs). Other writers on
the same program during a run make `verify_report`'s signature comparison meaningless.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx2
import structlog
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer

from hybridmarket.canonical import canonical_json, market_id_of
from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.errors import ChainError, PreflightFailed, RpcError
from hybridmarket.ipfs.cid import CID
from hybridmarket.program import builders as ix
from hybridmarket.program import lmsr
from hybridmarket.program.accounts import (
    GlobalConfig,
    MarketAccount,
    MarketState,
    UserPosition,
    VoteRecord,
)
from hybridmarket.program.errors import MarketError
from hybridmarket.program.ids import market_pda
from hybridmarket.program.processor import outstanding_claims, payout
from hybridmarket.program.runtime import rent_exempt_minimum

log = structlog.get_logger(__name__)

SOL = 1_000_000_000
BPS = lmsr.BPS_DENOMINATOR
FEE_PER_SIGNATURE = 5_000
TRANSFERS_PER_TX = 20  # 20 system transfers fit a 1232-byte transaction
STATUS_BATCH = 256  # getSignatureStatuses' limit
BLOCKHASH_MAX_AGE = 1.0  # seconds a fetched blockhash is reused (valid for 150 slots)
MIN_TRADE_SHARES = 1_000
RAW_CODEC = 0x55

AdvanceClock = Callable[[int], Awaitable[object]]
Progress = Callable[[str, int, int], None]


# ---- public records ---------------------------------------------------------------------------


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
# The first markets take these fates in this order, so that even a small run covers every
# instruction and state; the rest are drawn with `_FATE_WEIGHTS`.
_COVERAGE_WITH_CLOCK = (
    Fate.FINALIZED_YES,
    Fate.DISPUTE_FLIPPED,
    Fate.CANCELLED_ACTIVE,
    Fate.FINALIZED_INVALID,
    Fate.CANCELLED_PROPOSED,
    Fate.FINALIZED_NO,
    Fate.ACTIVE,
    Fate.DISPUTE_UPHELD,
    Fate.RESOLVING,
    Fate.DISPUTED,
    Fate.APPROVED,
    Fate.CANCELLED_APPROVED,
    Fate.PROPOSED,
)
_COVERAGE_WITHOUT_CLOCK = (
    Fate.ACTIVE,
    Fate.CANCELLED_ACTIVE,
    Fate.CANCELLED_PROPOSED,
    Fate.APPROVED,
    Fate.PROPOSED,
    Fate.CANCELLED_APPROVED,
)
_FATE_WEIGHTS: dict[Fate, int] = {
    Fate.ACTIVE: 30,
    Fate.FINALIZED_YES: 10,
    Fate.FINALIZED_NO: 10,
    Fate.PROPOSED: 8,
    Fate.RESOLVING: 6,
    Fate.CANCELLED_PROPOSED: 6,
    Fate.CANCELLED_ACTIVE: 4,
    Fate.DISPUTED: 3,
    Fate.DISPUTE_UPHELD: 3,
    Fate.DISPUTE_FLIPPED: 3,
    Fate.FINALIZED_INVALID: 3,
    Fate.APPROVED: 3,
    Fate.CANCELLED_APPROVED: 2,
}


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


# ---- metadata ---------------------------------------------------------------------------------


_CITIES = (
    "Lisbon",
    "Nairobi",
    "Osaka",
    "Toronto",
    "Buenos Aires",
    "Oslo",
    "Mumbai",
    "Sydney",
    "Cairo",
    "Vancouver",
    "Seoul",
    "Dublin",
)
_COINS = (("BTC", 40_000, 160_000, 5_000), ("ETH", 1_500, 8_000, 250), ("SOL", 50, 500, 10))
_TEAMS = (
    ("Benfica", "Primeira Liga"),
    ("Arsenal", "Premier League"),
    ("Real Madrid", "La Liga"),
    ("Boston Celtics", "NBA Finals"),
    ("Kansas City Chiefs", "Super Bowl"),
    ("India", "Cricket World Cup"),
    ("New Zealand", "Rugby Championship"),
    ("Boca Juniors", "Copa Libertadores"),
)
_BANKS = (
    "the Federal Reserve",
    "the European Central Bank",
    "the Bank of England",
    "the Bank of Japan",
    "the Reserve Bank of Australia",
)
_LAUNCHES = (
    "Artemis III",
    "the next Starship orbital test",
    "ESA's PLATO space telescope",
    "the Lunar Gateway's first module",
    "a crewed Gaganyaan flight",
)
_FILMS = ("The Last Lighthouse", "Neon Harbor", "Paper Satellites", "A Quiet Orbit", "Saltwater")


def _metadata(rng: random.Random, start_ts: int, creator: Pubkey) -> dict[str, Any]:
    closes = datetime.fromtimestamp(start_ts, UTC).replace(hour=0, minute=0, second=0)
    closes += timedelta(days=rng.randint(3, 120))
    day = f"{closes:%B} {closes.day}, {closes.year}"
    kind = rng.randrange(7)
    if kind == 0:
        coin, lo, hi, step = rng.choice(_COINS)
        price = rng.randrange(lo, hi, step)
        category = "crypto"
        question = f"Will {coin} close above ${price:,} on {day}?"
        description = f"{coin} against the US dollar, daily close in UTC."
        criteria = (
            f"Resolves YES if the {coin}/USD daily close for {day} (UTC) published by "
            f"CoinGecko is above ${price:,}, NO otherwise."
        )
    elif kind == 1:
        city = rng.choice(_CITIES)
        category = "weather"
        question = f"Will it rain in {city} on {day}?"
        description = f"Precipitation at {city}'s main weather station."
        criteria = (
            f"Resolves YES if the national weather service records at least 1 mm of rain "
            f"in {city} on {day}, NO otherwise."
        )
    elif kind == 2:
        team, competition = rng.choice(_TEAMS)
        category = "sports"
        question = f"Will {team} win the {closes.year} {competition}?"
        description = f"The {closes.year} edition of the {competition}."
        criteria = f"Resolves YES if {team} are the official winners, NO otherwise."
    elif kind == 3:
        bank = rng.choice(_BANKS)
        category = "economics"
        question = f"Will {bank} cut its policy rate at its {closes:%B} {closes.year} meeting?"
        description = f"The next scheduled monetary policy decision of {bank}."
        criteria = (
            f"Resolves YES if {bank} announces a lower policy rate at its {closes:%B} "
            "meeting, NO if it holds or raises; INVALID if no meeting takes place."
        )
    elif kind == 4:
        mission = rng.choice(_LAUNCHES)
        category = "science"
        question = f"Will {mission} launch before {day}?"
        description = f"Launch date of {mission}."
        criteria = f"Resolves YES if {mission} lifts off before {day} (UTC), NO otherwise."
    elif kind == 5:
        film = rng.choice(_FILMS)
        gross = rng.randrange(20, 200, 5)
        category = "entertainment"
        question = f"Will '{film}' gross more than ${gross}M in its opening weekend?"
        description = f"Domestic opening-weekend box office of '{film}'."
        criteria = f"Resolves YES if Box Office Mojo reports more than ${gross}M, NO otherwise."
    else:
        city = rng.choice(_CITIES)
        temp = rng.randint(18, 42)
        category = "weather"
        question = f"Will {city} reach {temp}°C on {day}?"
        description = f"Daily maximum temperature in {city}."
        criteria = f"Resolves YES if the official daily maximum in {city} is at least {temp}°C."
    return {
        "question": question,
        "description": description,
        "category": category,
        "resolution_criteria": criteria,
        "closes_at": closes.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "creator": str(creator),
    }


# ---- sending and confirming -------------------------------------------------------------------


def _accepted(rec: SentTx) -> bool:
    """The node took it (with preflight on the embedded validator: it executed and succeeded)."""
    return rec.status in (TxStatus.PENDING, TxStatus.OK)


class _Sender:
    """Signs and sends with bounded concurrency; one background poller confirms in bulk."""

    def __init__(
        self,
        client: ChainClient,
        *,
        concurrency: int,
        confirm_timeout: float = 60.0,
        poll_interval: float = 0.05,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.confirm_timeout = confirm_timeout
        self.poll_interval = poll_interval
        self.progress = progress
        self.phase = "setup"
        self.records: list[SentTx] = []
        self._sem = asyncio.Semaphore(concurrency)
        self._pending: dict[str, SentTx] = {}
        self._seen: set[str] = set()
        self._sent: dict[str, int] = {}
        self._settled: dict[str, int] = {}
        self._blockhash: tuple[Hash, int] | None = None
        self._blockhash_at = 0.0
        self._blockhash_lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None

    def _cached_blockhash(self, stale: Hash | None) -> tuple[Hash, int] | None:
        cached = self._blockhash
        if (
            cached is not None
            and time.monotonic() - self._blockhash_at < BLOCKHASH_MAX_AGE
            and cached[0] != stale
        ):
            return cached
        return None

    async def _recent_blockhash(self, stale: Hash | None = None) -> tuple[Hash, int]:
        # Without the lock when the cache serves, so that one sender waiting for the next
        # slot's blockhash (after a duplicate) holds up no one else.
        cached = self._cached_blockhash(stale)
        if cached is not None:
            return cached
        async with self._blockhash_lock:
            cached = self._cached_blockhash(stale)
            if cached is not None:
                return cached
            while True:
                got = await self.client.latest_blockhash()
                if got[0] != stale:
                    break
                await asyncio.sleep(self.poll_interval)  # wait for the next slot's blockhash
            self._blockhash, self._blockhash_at = got, time.monotonic()
            return got

    def _add(self, rec: SentTx) -> None:
        self.records.append(rec)
        self._sent[rec.phase] = self._sent.get(rec.phase, 0) + 1

    async def send(
        self,
        instruction: str,
        instructions: Sequence[Instruction],
        payer: Keypair,
        signers: Sequence[Keypair] = (),
        *,
        market_id: bytes | None = None,
        failure: Failure | None = None,
        program: bool = True,
    ) -> SentTx:
        """Send one transaction; returns once the node has answered (not confirmed)."""
        expected = int(EXPECTED_ERROR[failure]) if failure is not None else None
        async with self._sem:
            blockhash, last_valid = await self._recent_blockhash()
            tx = ChainClient.build_signed(instructions, payer, signers, blockhash)
            while str(tx.signatures[0]) in self._seen:
                # The same message under the same blockhash is the same transaction, which the
                # node would drop as a duplicate: sign it again under the next blockhash.
                blockhash, last_valid = await self._recent_blockhash(stale=blockhash)
                tx = ChainClient.build_signed(instructions, payer, signers, blockhash)
            sig = str(tx.signatures[0])
            self._seen.add(sig)
            rec = SentTx(
                signature=sig,
                instruction=instruction,
                phase=self.phase,
                payer=payer.pubkey(),
                market_id=market_id,
                program=program,
                failure=failure,
                expected_error=expected,
                sent_at=time.time(),
                last_valid_block_height=last_valid,
            )
            self._add(rec)
            try:
                await self.client.send_raw(bytes(tx), skip_preflight=failure is not None)
            except PreflightFailed as e:
                if e.err == "AlreadyProcessed":  # a retried send whose first attempt landed
                    self._track(rec)
                else:
                    rec.status, rec.err = TxStatus.REJECTED, e.err
            except RpcError as e:
                rec.status, rec.err = TxStatus.REJECTED, str(e)
            except ChainError:  # unreachable node: it may have landed, the poller finds out
                self._track(rec)
            else:
                self._track(rec)
            rec.acked_at = time.time()
            return rec

    async def airdrop(self, key: Pubkey, lamports: int) -> SentTx:
        async with self._sem:
            rec = SentTx("", "airdrop", self.phase, key, program=False, sent_at=time.time())
            self._add(rec)
            try:
                rec.signature = await self.client.request_airdrop(key, lamports, confirm=False)
            except ChainError as e:
                rec.status, rec.err = TxStatus.REJECTED, str(e)
            else:
                self._track(rec)
            rec.acked_at = time.time()
            return rec

    def _track(self, rec: SentTx) -> None:
        self._pending[rec.signature] = rec
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="workload-confirmations")

    async def settle(self) -> None:
        """Wait until everything sent so far is confirmed, failed or given up."""
        while self._poller is not None:
            task = self._poller
            await task  # re-raises the poller's error, if it had one
            if task is self._poller:
                break
        self.report_progress(self.phase)

    async def aclose(self) -> None:
        if self._poller is not None and not self._poller.done():
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller

    def report_progress(self, phase: str) -> None:
        if self.progress is not None:
            self.progress(phase, self._settled.get(phase, 0), self._sent.get(phase, 0))

    async def _poll(self) -> None:
        while self._pending:
            await asyncio.sleep(self.poll_interval)
            try:
                await self._poll_once()
            except ChainError as e:  # keep polling: the timeout bounds how long
                log.warning("workload.poll_failed", error=str(e))
                self._give_up(time.time())
            for phase in {r.phase for r in self._pending.values()} | {self.phase}:
                self.report_progress(phase)

    def _done(self, rec: SentTx, status: TxStatus) -> None:
        rec.status = status
        del self._pending[rec.signature]
        self._settled[rec.phase] = self._settled.get(rec.phase, 0) + 1

    def _give_up(self, now: float) -> None:
        """A node that does not answer cannot confirm: what it was sent before the timeout is
        lost (else an unreachable node is polled for ever)."""
        for rec in list(self._pending.values()):
            if now - rec.sent_at > self.confirm_timeout:
                self._done(rec, TxStatus.LOST)

    async def _poll_once(self) -> None:
        sigs = list(self._pending)
        unseen: list[SentTx] = []
        for i in range(0, len(sigs), STATUS_BATCH):
            chunk = sigs[i : i + STATUS_BATCH]
            for sig, st in zip(chunk, await self._statuses(chunk), strict=True):
                rec = self._pending.get(sig)
                if rec is None:
                    continue
                if st is None:
                    unseen.append(rec)
                elif st.get("confirmationStatus") in ("confirmed", "finalized"):
                    rec.slot, rec.err = int(st["slot"]), st.get("err")
                    self._done(rec, TxStatus.OK if rec.err is None else TxStatus.FAILED)
        if not unseen:
            return
        height = await self._block_height()
        now = time.time()
        for rec in unseen:
            expired = rec.last_valid_block_height is not None and (
                height > rec.last_valid_block_height
            )
            if expired or now - rec.sent_at > self.confirm_timeout:
                self._done(rec, TxStatus.LOST)

    async def _statuses(self, sigs: Sequence[str]) -> list[dict[str, Any] | None]:
        objs = [Signature.from_string(s) for s in sigs]
        rpc = self.client.rpc
        resp = await self.client.gateway.call(
            "getSignatureStatuses", lambda: rpc.get_signature_statuses(objs, True)
        )
        values: list[dict[str, Any] | None] = json.loads(resp.to_json())["result"]["value"]
        return values

    async def _block_height(self) -> int:
        rpc = self.client.rpc
        resp = await self.client.gateway.call(
            "getBlockHeight", lambda: rpc.get_block_height(self.client.commitment)
        )
        return int(resp.value)


async def _fund_with(
    sender: _Sender, faucet: Keypair | None, amounts: Sequence[tuple[Pubkey, int]]
) -> list[SentTx]:
    if faucet is None:
        return list(await asyncio.gather(*(sender.airdrop(k, n) for k, n in amounts)))
    src = faucet.pubkey()
    batches = [amounts[i : i + TRANSFERS_PER_TX] for i in range(0, len(amounts), TRANSFERS_PER_TX)]
    return list(
        await asyncio.gather(
            *(
                sender.send(
                    "transfer",
                    [
                        transfer(TransferParams(from_pubkey=src, to_pubkey=k, lamports=n))
                        for k, n in batch
                    ],
                    faucet,
                    program=False,
                )
                for batch in batches
            )
        )
    )


async def fund_wallets(
    client: ChainClient,
    faucet: Keypair | None,
    amounts: Sequence[tuple[Pubkey, int]],
    *,
    concurrency: int = 32,
) -> list[SentTx]:
    """Fund keys, confirmed: faucet transfers 20 to a transaction, or (no faucet) one
    requestAirdrop each. Raises RuntimeError if any funding transaction did not land."""
    sender = _Sender(client, concurrency=concurrency)
    sender.phase = "funding"
    try:
        sent = await _fund_with(sender, faucet, amounts)
        await sender.settle()
    finally:
        await sender.aclose()
    bad = [t for t in sent if t.status != TxStatus.OK]
    if bad:
        raise RuntimeError(f"{len(bad)} funding transactions failed: {bad[0]}")
    return sent


def clock_advancer(rpc_url: str) -> AdvanceClock:
    """`advance_clock` for the embedded validator: its `hybridmarket_advanceClock` test control
    (the validator must run with test controls enabled)."""

    async def advance(seconds: int) -> object:
        async with httpx2.AsyncClient() as http:
            body = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "hybridmarket_advanceClock",
                "params": [{"seconds": seconds}],
            }
            resp = (await http.post(rpc_url, json=body)).json()
        if "error" in resp:
            raise RpcError(f"hybridmarket_advanceClock: {resp['error']}")
        return resp["result"]

    return advance


async def program_signatures(
    client: ChainClient, *, until: str | None = None
) -> dict[str, tuple[int, Any]]:
    """Every confirmed signature of the program newer than `until` (all if None), paging
    getSignaturesForAddress back 1000 at a time: signature → (slot, err)."""
    out: dict[str, tuple[int, Any]] = {}
    before: str | None = None
    while True:
        page = await client.signatures_for_program(before=before, until=until, limit=1000)
        for sig, slot, err, _block_time in page:
            out[sig] = (slot, err)
        if len(page) < 1000:
            return out
        before = page[-1][0]


# ---- the plan ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _TradeOp:
    wallet: int
    outcome: bool
    shares: int  # the size of a buy; a sell takes `sell_frac` of what the wallet holds
    sell: bool
    sell_frac: float
    failure: Failure | None = None  # a failing attempt sent before the trade itself


@dataclass(slots=True)
class _MarketPlan:
    index: int
    fate: Fate
    creator: int
    resolver: int
    initiator: int
    intruder: int  # signs the unauthorized activation
    b: int
    liquidity: int
    metadata: dict[str, Any]
    belief: float  # the crowd's probability of YES, which drives the trades
    outcome: bool | None  # what the resolver proposes
    proposal_votes: list[tuple[int, bool]] = field(default_factory=list)
    double_votes: list[int] = field(default_factory=list)
    dispute_votes: list[tuple[int, bool]] = field(default_factory=list)  # True: outcome wrong
    double_dispute_votes: list[int] = field(default_factory=list)
    trades: list[_TradeOp] = field(default_factory=list)
    failures: set[Failure] = field(default_factory=set)


def _needed(bps: int, total: int) -> int:
    """The fewest yes votes of `total` that meet a threshold in basis points."""
    return -(-bps * total // BPS)


def _votes(rng: random.Random, voters: int, yes: int, wallets: int) -> list[tuple[int, bool]]:
    chosen = rng.sample(range(wallets), voters)
    flags = [True] * yes + [False] * (voters - yes)
    rng.shuffle(flags)
    return list(zip(chosen, flags, strict=True))


def _fates(rng: random.Random, cfg: WorkloadConfig, clock: bool) -> list[Fate]:
    if cfg.fates is not None:
        fates = [cfg.fates[i % len(cfg.fates)] for i in range(cfg.markets)]
        if not clock and any(f.needs_clock for f in fates):
            raise ValueError("these fates need advance_clock")
        return fates
    cover = _COVERAGE_WITH_CLOCK if clock else _COVERAGE_WITHOUT_CLOCK
    pool = [f for f in Fate if clock or not f.needs_clock]
    weights = [_FATE_WEIGHTS[f] for f in pool]
    return [
        cover[i] if i < len(cover) else rng.choices(pool, weights)[0] for i in range(cfg.markets)
    ]


def _plan(
    cfg: WorkloadConfig, params: GlobalConfig, wallets: Sequence[Pubkey], clock: bool, now: int
) -> list[_MarketPlan]:
    rng = random.Random(cfg.seed)
    n_wallets = len(wallets)
    ff = cfg.failed_fraction
    fates = _fates(rng, cfg, clock)
    min_votes, min_dispute = params.min_proposal_votes, params.min_dispute_votes
    if any(f.approved for f in fates) and n_wallets < min_votes:
        raise ValueError(f"approving a market needs {min_votes} voters: use that many wallets")
    if Fate.DISPUTE_FLIPPED in fates and n_wallets < min_dispute:
        raise ValueError(f"flipping an outcome needs {min_dispute} dispute voters")

    plans: list[_MarketPlan] = []
    questions: set[str] = set()
    for i, fate in enumerate(fates):
        creator = rng.randrange(n_wallets)
        others = [w for w in range(n_wallets) if w != creator] or [creator]
        resolver, initiator, intruder = (rng.choice(others) for _ in range(3))
        b = max(rng.randint(*cfg.b_range_sol) * SOL, params.min_b_parameter, lmsr.MIN_B)
        floor = max(lmsr.min_initial_liquidity(b), params.min_initial_liquidity)
        liquidity = -(-floor // 10**7) * 10**7  # rounded up to 0.01 SOL
        metadata = _metadata(rng, now, wallets[creator])
        for _ in range(20):
            if metadata["question"] not in questions:
                break
            metadata = _metadata(rng, now, wallets[creator])
        else:
            metadata["question"] += f" (#{i})"
        questions.add(metadata["question"])

        outcome: bool | None
        if fate is Fate.FINALIZED_YES:
            outcome, belief = True, rng.uniform(0.6, 0.85)
        elif fate is Fate.FINALIZED_NO:
            outcome, belief = False, rng.uniform(0.15, 0.4)
        elif fate is Fate.FINALIZED_INVALID:
            outcome, belief = None, rng.uniform(0.3, 0.7)
        elif fate is Fate.RESOLVING:
            outcome, belief = rng.choice((True, False, None)), rng.uniform(0.25, 0.75)
        elif fate.disputed:
            outcome = rng.random() < 0.5
            # The crowd believes the final outcome: for a flip, the opposite of the proposal.
            truth = (not outcome) if fate is Fate.DISPUTE_FLIPPED else outcome
            belief = rng.uniform(0.6, 0.8) if truth else rng.uniform(0.2, 0.4)
        else:
            outcome, belief = None, rng.uniform(0.25, 0.75)
        p = _MarketPlan(
            i, fate, creator, resolver, initiator, intruder, b, liquidity, metadata, belief, outcome
        )

        # Proposal votes: quorum and threshold met exactly when the market is to be approved.
        thr = params.proposal_approval_threshold_bps
        top = min(n_wallets, min_votes + max(2, min_votes // 2))
        if fate.approved:
            k = rng.randint(min_votes, top)
            p.proposal_votes = _votes(rng, k, rng.randint(_needed(thr, k), k), n_wallets)
        elif fate is Fate.CANCELLED_PROPOSED and n_wallets >= min_votes and rng.random() < 0.5:
            k = rng.randint(min_votes, top)  # a quorum that votes it down
            p.proposal_votes = _votes(rng, k, rng.randint(0, _needed(thr, k) - 1), n_wallets)
        else:  # short of the quorum
            k = rng.randint(0, min(min_votes - 1, n_wallets))
            p.proposal_votes = _votes(rng, k, rng.randint(0, k), n_wallets)
        p.double_votes = [j for j in range(len(p.proposal_votes)) if rng.random() < ff]

        # Dispute votes (True = the proposed outcome is wrong).
        dthr = params.dispute_success_threshold_bps
        dtop = min(n_wallets, min_dispute + 4)
        if fate is Fate.DISPUTE_FLIPPED:
            k = rng.randint(min_dispute, dtop)
            p.dispute_votes = _votes(rng, k, rng.randint(_needed(dthr, k), k), n_wallets)
        elif fate is Fate.DISPUTE_UPHELD and n_wallets >= min_dispute and rng.random() < 0.7:
            k = rng.randint(min_dispute, dtop)  # a quorum that keeps the outcome
            p.dispute_votes = _votes(rng, k, rng.randint(0, _needed(dthr, k) - 1), n_wallets)
        elif fate is Fate.DISPUTE_UPHELD:  # short of the quorum
            k = rng.randint(0, min(min_dispute - 1, n_wallets))
            p.dispute_votes = _votes(rng, k, rng.randint(0, k), n_wallets)
        elif fate is Fate.DISPUTED:
            k = rng.randint(0, dtop)
            p.dispute_votes = _votes(rng, k, rng.randint(0, k), n_wallets)
        p.double_dispute_votes = [j for j in range(len(p.dispute_votes)) if rng.random() < ff]

        # Market-level deliberate failures, drawn in a fixed order.
        candidates: list[Failure] = []
        if fate.approved:
            candidates.append(Failure.BAD_COUNTS)
        if fate.activated and n_wallets > 1:
            candidates.append(Failure.UNAUTHORIZED)
        if fate.resolves_early and params.min_resolution_delay > 0:
            candidates.append(Failure.TOO_EARLY_RESOLVE)
        if fate is Fate.FINALIZED_INVALID:
            candidates.append(Failure.NOT_DISPUTABLE)
        if fate.resolves_early:
            candidates.append(Failure.TOO_EARLY_FINALIZE)
        if fate.activated and fate.terminal:
            candidates.append(Failure.DOUBLE_WITHDRAW)
        if fate.terminal:
            candidates.append(Failure.CANCEL_TERMINAL)
        p.failures = {f for f in candidates if rng.random() < ff}
        plans.append(p)

    _plan_trades(rng, cfg, plans, n_wallets)
    if ff > 0:
        _guarantee_failures(plans)
    return plans


def _plan_trades(
    rng: random.Random, cfg: WorkloadConfig, plans: list[_MarketPlan], n_wallets: int
) -> None:
    traded = [p for p in plans if p.fate.activated]
    if not traded or cfg.trades == 0:
        return
    base = min(2, cfg.trades // len(traded))
    counts = [base] * len(traded)
    popularity = [rng.paretovariate(1.2) for _ in traded]
    for k in rng.choices(range(len(traded)), popularity, k=cfg.trades - base * len(traded)):
        counts[k] += 1
    lo, hi = math.log(cfg.trade_size[0]), math.log(cfg.trade_size[1])
    for p, n in zip(traded, counts, strict=True):
        crowd = rng.sample(range(n_wallets), min(n_wallets, rng.randint(3, 30)))
        for j in range(n):
            op = _TradeOp(
                wallet=rng.choice(crowd),
                outcome=rng.random() < p.belief,
                shares=max(MIN_TRADE_SHARES, int(p.b * math.exp(rng.uniform(lo, hi)))),
                sell=j > 0 and rng.random() < cfg.sell_probability,
                sell_frac=rng.uniform(0.25, 1.0),
            )
            if rng.random() < cfg.failed_fraction:
                op.failure = rng.choice((Failure.SLIPPAGE, Failure.OVERSELL))
            p.trades.append(op)


def _guarantee_failures(plans: list[_MarketPlan]) -> None:
    """At least one of the failures every consumer relies on: slippage, oversell, double vote.
    They go on a trade after a market's first (so that a position exists to oversell)."""
    ops = [op for p in plans for op in p.trades[1:]]
    for kind in (Failure.SLIPPAGE, Failure.OVERSELL):
        if not any(op.failure is kind for p in plans for op in p.trades):
            free = [op for op in ops if op.failure is None]
            if free:
                free[0].failure = kind
    if not any(p.double_votes for p in plans):
        for p in plans:
            if p.proposal_votes:
                p.double_votes = [0]
                break


def _funding(
    cfg: WorkloadConfig, params: GlobalConfig, plans: Sequence[_MarketPlan], n_wallets: int
) -> list[int]:
    """What each wallet can spend in the plan, bounded from above, plus `extra_lamports`."""
    fee = 4 * FEE_PER_SIGNATURE  # per operation: the transaction and a possible failing twin
    need = [cfg.extra_lamports + 100 * FEE_PER_SIGNATURE] * n_wallets
    fee_bps = params.protocol_fee_bps + params.resolver_fee_bps + params.lp_fee_bps
    vote_rent = rent_exempt_minimum(VoteRecord.SPACE)
    position_rent = rent_exempt_minimum(UserPosition.SPACE)
    for p in plans:
        need[p.creator] += rent_exempt_minimum(MarketAccount.SPACE) + p.liquidity + 4 * fee
        for w in (p.resolver, p.initiator, p.intruder):
            need[w] += 2 * fee
        for w, _ in (*p.proposal_votes, *p.dispute_votes):
            need[w] += vote_rent + fee
        for w in {op.wallet for op in p.trades}:
            need[w] += position_rent + 2 * fee  # the position, a claim and its twin
        for op in p.trades:
            # A buy costs less than its shares (every price is below 1) plus fees and slippage.
            bound = op.shares * (BPS + fee_bps) // BPS * (BPS + cfg.slippage_bps) // BPS + 10
            need[op.wallet] += bound + fee
    return need


# ---- the run ----------------------------------------------------------------------------------


def _side(outcome: bool) -> int:
    return 0 if outcome else 1


@dataclass(slots=True)
class _Live:
    """A market as the driver knows it while running: the plan, the record and an LMSR model."""

    plan: _MarketPlan
    rec: MarketRecord
    q_yes: int = 0
    q_no: int = 0
    holdings: dict[int, list[int]] = field(default_factory=dict)  # wallet → [yes, no]
    likes: int = 0
    dislikes: int = 0
    agree: int = 0
    disagree: int = 0

    def apply(self, wallet: int, outcome: bool, delta: int) -> None:
        if outcome:
            self.q_yes += delta
        else:
            self.q_no += delta
        self.holdings.setdefault(wallet, [0, 0])[_side(outcome)] += delta
        self.rec.trades += 1


class _Engine:
    def __init__(
        self,
        client: ChainClient,
        *,
        admin: Keypair,
        backend: Keypair,
        faucet: Keypair | None,
        config: WorkloadConfig,
        advance_clock: AdvanceClock | None,
        progress: Progress | None,
    ) -> None:
        self.client = client
        self.program_id = client.program_id
        self.admin = admin
        self.backend = backend
        self.faucet = faucet
        self.cfg = config
        self.advance_clock = advance_clock
        self.wallets = [Keypair() for _ in range(config.wallets)]
        self.sender = _Sender(
            client,
            concurrency=config.concurrency,
            confirm_timeout=config.confirm_timeout,
            poll_interval=config.poll_interval,
            progress=progress,
        )
        self.phase_seconds: dict[str, float] = {}
        self.live: list[_Live] = []
        self.params: GlobalConfig | None = None

    # -- helpers -------------------------------------------------------------------------------

    @property
    def program_config(self) -> GlobalConfig:
        assert self.params is not None
        return self.params

    @property
    def fees(self) -> lmsr.FeeSchedule:
        c = self.program_config
        return lmsr.FeeSchedule(c.protocol_fee_bps, c.resolver_fee_bps, c.lp_fee_bps)

    def _in(self, states: Iterable[MarketState], fates: Callable[[Fate], bool]) -> list[_Live]:
        wanted = set(states)
        return [lm for lm in self.live if lm.rec.state in wanted and fates(lm.plan.fate)]

    @staticmethod
    async def _each(markets: Iterable[_Live], fn: Callable[[_Live], Awaitable[None]]) -> None:
        await asyncio.gather(*(fn(lm) for lm in markets))

    async def _send(
        self,
        name: str,
        instruction: Instruction,
        payer: Keypair,
        lm: _Live | None = None,
        failure: Failure | None = None,
    ) -> SentTx:
        mid = lm.rec.market_id if lm is not None else None
        return await self.sender.send(name, [instruction], payer, market_id=mid, failure=failure)

    async def _phase(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        t0 = time.perf_counter()
        self.sender.phase = name
        await body()
        await self.sender.settle()
        self.phase_seconds[name] = time.perf_counter() - t0

    async def _cancel(self, lm: _Live, failure: Failure | None = None) -> None:
        authority = self.backend if lm.plan.index % 2 == 0 else self.admin
        mid = lm.rec.market_id
        rec = await self._send(
            "cancel_market",
            ix.cancel_market(authority.pubkey(), mid, program_id=self.program_id),
            authority,
            lm,
            failure,
        )
        if failure is None and _accepted(rec):
            lm.rec.state = MarketState.Cancelled

    # -- the run -------------------------------------------------------------------------------

    async def run(self) -> WorkloadReport:
        started = time.time()
        client = self.client
        params = await client.get_config()
        if params is None:
            raise RuntimeError("the program's GlobalConfig is not initialised")
        if params.is_paused:
            raise RuntimeError("the protocol is paused")
        self.params = params
        newest = await client.signatures_for_program(limit=1)
        cursor = newest[0][0] if newest else None
        start_slot = await client.get_slot()
        clock = self.advance_clock is not None
        keys = [kp.pubkey() for kp in self.wallets]
        plans = _plan(self.cfg, params, keys, clock, await self._chain_time(start_slot))
        for p in plans:
            record = MarketRecord(
                market_id=market_id_of(p.metadata),
                metadata=p.metadata,
                fate=p.fate,
                creator=keys[p.creator],
                resolver=keys[p.resolver],
                b_parameter=p.b,
                initial_liquidity=p.liquidity,
            )
            self.live.append(_Live(p, record))
        needs = _funding(self.cfg, params, plans, len(keys))
        try:
            await self._phase("funding", lambda: self._fund(list(zip(keys, needs, strict=True))))
            if self.cfg.admin_instructions:
                await self._phase("admin", self._admin)
            await self._phase("propose", self._propose)
            await self._phase("vote", self._vote)
            await self._phase("approve", self._approve)
            await self._phase("activate", self._activate)
            await self._phase("trade", self._trade)
            await self._phase("cancel", self._cancel_active)
            if clock:
                await self._phase("resolve", self._resolve)
                await self._phase("dispute", self._dispute)
                await self._phase("finalize", self._finalize)
            await self._phase("claim", self._claim)
            await self._phase("withdraw", self._withdraw)
            if clock:
                await self._phase("late", self._late)
        finally:
            await self.sender.aclose()
        return WorkloadReport(
            config=self.cfg,
            transactions=self.sender.records,
            markets=[lm.rec for lm in self.live],
            wallets=keys,
            keypairs=self.wallets,
            phase_seconds=self.phase_seconds,
            started_at=started,
            finished_at=time.time(),
            start_slot=start_slot,
            end_slot=await client.get_slot(),
            cursor_before=cursor,
            used_clock=clock,
        )

    async def _chain_time(self, slot: int) -> int:
        rpc = self.client.rpc
        try:
            resp = await self.client.gateway.call("getBlockTime", lambda: rpc.get_block_time(slot))
        except ChainError:
            return int(time.time())
        return int(resp.value) if resp.value is not None else int(time.time())

    async def _fund(self, amounts: list[tuple[Pubkey, int]]) -> None:
        sent = await _fund_with(self.sender, self.faucet, amounts)
        await self.sender.settle()
        bad = [t for t in sent if t.status != TxStatus.OK]
        if bad:
            raise RuntimeError(f"{len(bad)} funding transactions failed, e.g. {bad[0]}")

    async def _admin(self) -> None:
        admin, pk = self.admin, self.admin.pubkey()
        ff = self.cfg.failed_fraction > 0
        await self._send(
            "update_config",
            ix.update_config(pk, self.program_config.params(), program_id=self.program_id),
            admin,
        )
        paused = await self._send(
            "set_paused", ix.set_paused(pk, True, program_id=self.program_id), admin
        )
        try:
            if ff and _accepted(paused):
                probe = hashlib.sha256(b"paused-probe" + os.urandom(16)).digest()
                b = max(self.program_config.min_b_parameter, 100 * SOL)
                liquidity = max(
                    lmsr.min_initial_liquidity(b), self.program_config.min_initial_liquidity
                )
                propose = ix.propose_market(pk, probe, b, liquidity, pk, program_id=self.program_id)
                await self._send("propose_market", propose, admin, failure=Failure.PAUSED)
        finally:
            if _accepted(paused):
                await self._send(
                    "set_paused", ix.set_paused(pk, False, program_id=self.program_id), admin
                )
        if ff:
            init = ix.initialize_config(
                pk, self.program_config.params(), program_id=self.program_id
            )
            await self._send("initialize_config", init, admin, failure=Failure.REINITIALIZE)

    async def _propose(self) -> None:
        async def one(lm: _Live) -> None:
            p = lm.plan
            creator = self.wallets[p.creator]
            propose = ix.propose_market(
                creator.pubkey(),
                lm.rec.market_id,
                p.b,
                p.liquidity,
                lm.rec.resolver,
                program_id=self.program_id,
            )
            if _accepted(await self._send("propose_market", propose, creator, lm)):
                lm.rec.state = MarketState.Proposed

        await self._each(self.live, one)

    async def _vote(self) -> None:
        async def one(lm: _Live) -> None:
            mid, votes = lm.rec.market_id, lm.plan.proposal_votes

            async def cast(w: int, like: bool, failure: Failure | None = None) -> None:
                kp = self.wallets[w]
                vote = ix.submit_proposal_vote(kp.pubkey(), mid, like, program_id=self.program_id)
                rec = await self._send("submit_proposal_vote", vote, kp, lm, failure)
                if failure is None and _accepted(rec):
                    lm.likes += like
                    lm.dislikes += not like

            await asyncio.gather(*(cast(w, like) for w, like in votes))
            # A change of mind: the same wallet votes again, the other way.
            again = [votes[j] for j in lm.plan.double_votes]
            await asyncio.gather(*(cast(w, not v, Failure.DOUBLE_VOTE) for w, v in again))

        await self._each(self._in([MarketState.Proposed], lambda f: True), one)

    async def _approve(self) -> None:
        cfg = self.program_config
        backend, pk = self.backend, self.backend.pubkey()

        async def one(lm: _Live) -> None:
            p, mid = lm.plan, lm.rec.market_id
            if p.fate is Fate.CANCELLED_PROPOSED:
                await self._cancel(lm)
                return
            if not p.fate.approved:
                return
            if Failure.BAD_COUNTS in p.failures:
                bad = ix.approve_market(
                    pk, mid, lm.likes + lm.dislikes + 1, 0, program_id=self.program_id
                )
                await self._send("approve_market", bad, backend, lm, Failure.BAD_COUNTS)
            total = lm.likes + lm.dislikes
            if total < cfg.min_proposal_votes or lm.likes * BPS < (
                cfg.proposal_approval_threshold_bps * total
            ):
                log.warning("workload.not_approvable", market=mid.hex(), likes=lm.likes)
                return
            approve = ix.approve_market(pk, mid, lm.likes, lm.dislikes, program_id=self.program_id)
            if _accepted(await self._send("approve_market", approve, backend, lm)):
                lm.rec.state = MarketState.Approved
                lm.rec.proposal_likes, lm.rec.proposal_dislikes = lm.likes, lm.dislikes

        await self._each(self._in([MarketState.Proposed], lambda f: True), one)

    async def _activate(self) -> None:
        async def one(lm: _Live) -> None:
            p, mid = lm.plan, lm.rec.market_id
            if p.fate is Fate.CANCELLED_APPROVED:
                await self._cancel(lm)
                return
            if not p.fate.activated:
                return
            if Failure.UNAUTHORIZED in p.failures:
                intruder = self.wallets[p.intruder]
                bad = ix.activate_market(intruder.pubkey(), mid, program_id=self.program_id)
                await self._send("activate_market", bad, intruder, lm, Failure.UNAUTHORIZED)
            creator = self.wallets[p.creator]
            activate = ix.activate_market(creator.pubkey(), mid, program_id=self.program_id)
            if _accepted(await self._send("activate_market", activate, creator, lm)):
                lm.rec.state = MarketState.Active

        await self._each(self._in([MarketState.Approved], lambda f: True), one)

    # -- trading -------------------------------------------------------------------------------

    async def _trade(self) -> None:
        async def script(lm: _Live) -> None:
            rng = random.Random(f"{self.cfg.seed}:trade:{lm.plan.index}")
            for op in lm.plan.trades:
                if lm.rec.state is not MarketState.Active:
                    return
                if op.failure is not None:
                    await self._failing_trade(lm, op, rng)
                await self._trade_once(lm, op)

        await self._each(self._in([MarketState.Active], lambda f: True), script)

    def _sell_quote(self, lm: _Live, side: bool, shares: int) -> lmsr.Quote | None:
        try:
            q = lmsr.quote_sell(lm.q_yes, lm.q_no, lm.plan.b, side, shares, self.fees)
        except lmsr.LmsrError:
            return None
        return q if q.total > 0 else None

    def _sell_choice(self, lm: _Live, op: _TradeOp) -> tuple[bool, int, lmsr.Quote] | None:
        """(side, shares, quote) if this op sells: it wants to and the wallet holds shares."""
        hold = lm.holdings.get(op.wallet)
        if not op.sell or hold is None or not (hold[0] or hold[1]):
            return None
        side = op.outcome if hold[_side(op.outcome)] else not op.outcome
        shares = max(1, int(hold[_side(side)] * op.sell_frac))
        q = self._sell_quote(lm, side, shares)
        return None if q is None else (side, shares, q)

    async def _trade_once(self, lm: _Live, op: _TradeOp) -> None:
        kp, mid, fee_wallet = (
            self.wallets[op.wallet],
            lm.rec.market_id,
            self.program_config.protocol_fee_wallet,
        )
        slip = self.cfg.slippage_bps
        sell = self._sell_choice(lm, op)
        if sell is not None:
            side, shares, q = sell
            floor = q.total * (BPS - slip) // BPS
            order = ix.sell_shares(
                kp.pubkey(), mid, side, shares, floor, fee_wallet, program_id=self.program_id
            )
            if _accepted(await self._send("sell_shares", order, kp, lm)):
                lm.apply(op.wallet, side, -shares)
            return
        q = lmsr.quote_buy(lm.q_yes, lm.q_no, lm.plan.b, op.outcome, op.shares, self.fees)
        cap = q.total + -(-q.total * slip // BPS)
        order = ix.buy_shares(
            kp.pubkey(), mid, op.outcome, op.shares, cap, fee_wallet, program_id=self.program_id
        )
        if _accepted(await self._send("buy_shares", order, kp, lm)):
            lm.apply(op.wallet, op.outcome, op.shares)

    async def _failing_trade(self, lm: _Live, op: _TradeOp, rng: random.Random) -> None:
        mid, fee_wallet = lm.rec.market_id, self.program_config.protocol_fee_wallet
        if op.failure is Failure.OVERSELL and lm.holdings:
            w = op.wallet if op.wallet in lm.holdings else rng.choice(sorted(lm.holdings))
            kp = self.wallets[w]
            held = lm.holdings[w][_side(op.outcome)]
            shares = held + 1 + rng.randrange(max(1, lm.plan.b // 100))
            order = ix.sell_shares(
                kp.pubkey(), mid, op.outcome, shares, 0, fee_wallet, program_id=self.program_id
            )
            await self._send("sell_shares", order, kp, lm, Failure.OVERSELL)
            return
        # Slippage: the exact quote, one lamport short (or an oversell with no position yet).
        kp = self.wallets[op.wallet]
        sell = self._sell_choice(lm, op)
        if sell is not None:
            side, shares, q = sell
            order = ix.sell_shares(
                kp.pubkey(), mid, side, shares, q.total + 1, fee_wallet, program_id=self.program_id
            )
            await self._send("sell_shares", order, kp, lm, Failure.SLIPPAGE)
            return
        q = lmsr.quote_buy(lm.q_yes, lm.q_no, lm.plan.b, op.outcome, op.shares, self.fees)
        order = ix.buy_shares(
            kp.pubkey(),
            mid,
            op.outcome,
            op.shares,
            q.total - 1,
            fee_wallet,
            program_id=self.program_id,
        )
        await self._send("buy_shares", order, kp, lm, Failure.SLIPPAGE)

    async def _cancel_active(self) -> None:
        markets = self._in([MarketState.Active], lambda f: f is Fate.CANCELLED_ACTIVE)
        await self._each(markets, self._cancel)

    # -- resolution, disputes, finalization ----------------------------------------------------

    async def _advance(self, seconds: int) -> None:
        assert self.advance_clock is not None
        await self.advance_clock(seconds)

    def _evidence(self, lm: _Live) -> tuple[bytes, bytes]:
        outcome = lm.plan.outcome
        doc = {
            "market_id": lm.rec.market_id.hex(),
            "question": lm.rec.metadata["question"],
            "proposed_outcome": "INVALID" if outcome is None else ("YES" if outcome else "NO"),
            "resolver": str(lm.rec.resolver),
            "sources": [lm.rec.metadata["resolution_criteria"]],
        }
        body = canonical_json(doc)
        return body, CID.for_block(body, RAW_CODEC).to_bytes()

    async def _resolve_one(self, lm: _Live, failure: Failure | None = None) -> None:
        kp = self.wallets[lm.plan.resolver]
        evidence, cid = self._evidence(lm)
        resolve = ix.resolve_market(
            kp.pubkey(), lm.rec.market_id, lm.plan.outcome, cid, program_id=self.program_id
        )
        rec = await self._send("resolve_market", resolve, kp, lm, failure)
        if failure is None and _accepted(rec):
            lm.rec.state = MarketState.Resolving
            lm.rec.proposed_outcome = lm.plan.outcome
            lm.rec.evidence, lm.rec.evidence_cid = evidence, cid

    async def _resolve(self) -> None:
        markets = self._in([MarketState.Active], lambda f: f.resolves_early)
        early = [lm for lm in markets if Failure.TOO_EARLY_RESOLVE in lm.plan.failures]
        await asyncio.gather(*(self._resolve_one(lm, Failure.TOO_EARLY_RESOLVE) for lm in early))
        await self._advance(self.program_config.min_resolution_delay + 1)
        await self._each(markets, self._resolve_one)

    async def _open_dispute(self, lm: _Live) -> None:
        p, mid = lm.plan, lm.rec.market_id
        initiator = self.wallets[p.initiator]
        dispute = ix.initiate_dispute(initiator.pubkey(), mid, program_id=self.program_id)
        if not _accepted(await self._send("initiate_dispute", dispute, initiator, lm)):
            return
        lm.rec.state = MarketState.Disputed

        async def cast(w: int, wrong: bool, failure: Failure | None = None) -> None:
            kp = self.wallets[w]
            vote = ix.submit_dispute_vote(kp.pubkey(), mid, wrong, program_id=self.program_id)
            rec = await self._send("submit_dispute_vote", vote, kp, lm, failure)
            if failure is None and _accepted(rec):
                lm.agree += wrong
                lm.disagree += not wrong

        await asyncio.gather(*(cast(w, v) for w, v in p.dispute_votes))
        again = [p.dispute_votes[j] for j in p.double_dispute_votes]
        await asyncio.gather(*(cast(w, not v, Failure.DOUBLE_VOTE) for w, v in again))

    async def _dispute(self) -> None:
        async def one(lm: _Live) -> None:
            p = lm.plan
            if p.fate.disputed:
                await self._open_dispute(lm)
            elif Failure.NOT_DISPUTABLE in p.failures:
                kp = self.wallets[p.initiator]
                dispute = ix.initiate_dispute(
                    kp.pubkey(), lm.rec.market_id, program_id=self.program_id
                )
                await self._send("initiate_dispute", dispute, kp, lm, Failure.NOT_DISPUTABLE)

        await self._each(self._in([MarketState.Resolving], lambda f: f.resolves_early), one)
        early = [
            lm
            for lm in self._in([MarketState.Resolving, MarketState.Disputed], lambda f: True)
            if Failure.TOO_EARLY_FINALIZE in lm.plan.failures
        ]
        await asyncio.gather(*(self._finalize_one(lm, Failure.TOO_EARLY_FINALIZE) for lm in early))

    def _flips(self, agree: int, disagree: int) -> bool:
        cfg, total = self.program_config, agree + disagree
        return (
            total > 0
            and total >= cfg.min_dispute_votes
            and agree * BPS >= cfg.dispute_success_threshold_bps * total
        )

    async def _finalize_one(self, lm: _Live, failure: Failure | None = None) -> None:
        backend = self.backend
        agree: int | None = None
        disagree: int | None = None
        if lm.rec.state is MarketState.Disputed:
            agree, disagree = lm.agree, lm.disagree
        finalize = ix.finalize_market(
            backend.pubkey(),
            lm.rec.market_id,
            lm.rec.resolver,
            agree,
            disagree,
            program_id=self.program_id,
        )
        rec = await self._send("finalize_market", finalize, backend, lm, failure)
        if failure is None and _accepted(rec):
            flipped = agree is not None and disagree is not None and self._flips(agree, disagree)
            final = lm.rec.proposed_outcome
            if flipped and final is not None:
                final = not final
            lm.rec.state = MarketState.Finalized
            lm.rec.final_outcome, lm.rec.flipped = final, flipped
            lm.rec.dispute_agree, lm.rec.dispute_disagree = agree or 0, disagree or 0

    async def _finalize(self) -> None:
        cfg = self.program_config
        await self._advance(max(cfg.dispute_period, cfg.dispute_voting_period) + 1)
        states = [MarketState.Resolving, MarketState.Disputed]
        await self._each(self._in(states, lambda f: f.resolves_early), self._finalize_one)

    # -- payouts -------------------------------------------------------------------------------

    def _ended(self) -> list[_Live]:
        ended = [MarketState.Finalized, MarketState.Cancelled]
        return self._in(ended, lambda f: f.activated)

    async def _claim(self) -> None:
        markets = self._ended()
        accounts = await self.client.get_markets([lm.rec.market_id for lm in markets])
        index = {kp.pubkey(): i for i, kp in enumerate(self.wallets)}
        ff = self.cfg.failed_fraction

        async def one(lm: _Live, market: MarketAccount | None) -> None:
            if market is None:
                return
            rng = random.Random(f"{self.cfg.seed}:claim:{lm.plan.index}")
            listed = await self.client.list_positions(market_id=lm.rec.market_id)
            mine = sorted(
                ((index[pos.user], pos) for _, pos in listed if pos.user in index),
                key=lambda item: item[0],
            )
            todo = [(w, pos, payout(market, pos.shares_yes, pos.shares_no)) for w, pos in mine]
            draws = [rng.random() < ff for _ in todo]

            async def claim(w: int, pos: UserPosition, amount: int, twin: bool) -> None:
                if pos.has_claimed:
                    return
                kp = self.wallets[w]
                order = ix.claim_winnings(kp.pubkey(), lm.rec.market_id, program_id=self.program_id)
                if amount == 0:
                    if twin:
                        await self._send("claim_winnings", order, kp, lm, Failure.NOTHING_TO_CLAIM)
                    return
                rec = await self._send("claim_winnings", order, kp, lm)
                if twin and _accepted(rec):
                    await self._send("claim_winnings", order, kp, lm, Failure.DOUBLE_CLAIM)

            await asyncio.gather(
                *(claim(w, pos, n, d) for (w, pos, n), d in zip(todo, draws, strict=True))
            )

        await asyncio.gather(*(one(lm, m) for lm, m in zip(markets, accounts, strict=True)))

    async def _withdraw(self) -> None:
        markets = self._ended()
        raws = await self.client.get_multiple_raw(
            [market_pda(lm.rec.market_id, self.program_id)[0] for lm in markets]
        )

        async def one(lm: _Live, raw: tuple[int, Pubkey, bytes] | None) -> None:
            if raw is None:
                return
            lamports, _owner, data = raw
            market = MarketAccount.from_account_data(data)
            available = lamports - rent_exempt_minimum(len(data)) - outstanding_claims(market)
            if available <= 0:
                return
            creator = self.wallets[lm.plan.creator]
            order = ix.withdraw_liquidity(
                creator.pubkey(), lm.rec.market_id, program_id=self.program_id
            )
            rec = await self._send("withdraw_liquidity", order, creator, lm)
            if Failure.DOUBLE_WITHDRAW in lm.plan.failures and _accepted(rec):
                await self._send("withdraw_liquidity", order, creator, lm, Failure.DOUBLE_WITHDRAW)

        await asyncio.gather(*(one(lm, raw) for lm, raw in zip(markets, raws, strict=True)))
        ended = [MarketState.Finalized, MarketState.Cancelled]
        late = self._in(ended, lambda f: True)
        await asyncio.gather(
            *(
                self._cancel(lm, Failure.CANCEL_TERMINAL)
                for lm in late
                if Failure.CANCEL_TERMINAL in lm.plan.failures
            )
        )

    async def _late(self) -> None:
        async def one(lm: _Live) -> None:
            await self._resolve_one(lm)
            if lm.plan.fate is Fate.DISPUTED and lm.rec.state is MarketState.Resolving:
                await self._open_dispute(lm)

        fates = (Fate.RESOLVING, Fate.DISPUTED)
        await self._each(self._in([MarketState.Active], lambda f: f in fates), one)


async def run_workload(
    client: ChainClient,
    *,
    admin: Keypair,
    backend: Keypair,
    faucet: Keypair | None,
    config: WorkloadConfig,
    advance_clock: AdvanceClock | None,
    progress: Progress | None = None,
) -> WorkloadReport:
    """Plan and run a random workload (see the module docstring); returns what was sent.

    `admin` and `backend` are the program's admin and backend authority (they must be funded);
    `faucet` funds the wallets by transfer (None: by requestAirdrop). `progress(phase, done,
    total)` is called as confirmations come in.
    """
    engine = _Engine(
        client,
        admin=admin,
        backend=backend,
        faucet=faucet,
        config=config,
        advance_clock=advance_clock,
        progress=progress,
    )
    return await engine.run()


async def verify_report(client: ChainClient, report: WorkloadReport) -> list[str]:
    """What differs between the chain and the report (empty when they agree): every market's
    state, outcomes, posted counts and trade count; and the program's signatures since the run
    began against the landed program transactions, with their success or failure. Valid only
    if nothing else wrote to the program during the run."""
    problems: list[str] = []
    accounts = await client.get_markets([m.market_id for m in report.markets])
    for rec, acc in zip(report.markets, accounts, strict=True):
        name = f"market {rec.market_id.hex()[:12]} ({rec.fate})"
        if rec.state is None or acc is None:
            if (rec.state is None) != (acc is None):
                problems.append(f"{name}: report {rec.state}, chain {acc and acc.state}")
            continue
        expected = {
            "state": rec.state,
            "trades_count": rec.trades,
            "proposed_outcome": rec.proposed_outcome,
            "final_outcome": rec.final_outcome,
        }
        if rec.proposal_likes or rec.proposal_dislikes:
            expected |= {
                "proposal_likes": rec.proposal_likes,
                "proposal_dislikes": rec.proposal_dislikes,
            }
        if rec.state is MarketState.Finalized:
            expected |= {
                "dispute_agree": rec.dispute_agree,
                "dispute_disagree": rec.dispute_disagree,
            }
        for attr, want in expected.items():
            got = getattr(acc, attr)
            if got != want:
                problems.append(f"{name}: {attr} is {got!r} on chain, {want!r} in the report")
    chain = await program_signatures(client, until=report.cursor_before)
    ours = {t.signature: t for t in report.transactions if t.program and t.landed}
    for sig in sorted(chain.keys() - ours.keys()):
        problems.append(f"{sig}: on chain, not in the report")
    for sig in sorted(ours.keys() - chain.keys()):
        problems.append(f"{sig}: landed per the report, not on chain")
    for sig in sorted(chain.keys() & ours.keys()):
        slot, err = chain[sig]
        t = ours[sig]
        if (err is None) != (t.status == TxStatus.OK) or slot != t.slot:
            problems.append(f"{sig}: chain slot {slot} err {err}, report {t.slot} {t.err}")
    problems.extend(
        f"{t.signature}: {t.instruction} {t.status} {t.err}" for t in report.unexpected()
    )
    return problems


# ---- trickle ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Book:
    market_id: bytes
    b: int
    q_yes: int
    q_no: int


async def trickle(
    client: ChainClient,
    *,
    wallets: Sequence[Keypair],
    rate_per_s: float,
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
    markets: Sequence[bytes] | None = None,
    seed: int = 0,
    concurrency: int = 64,
    slippage_bps: int = 300,
    max_trade_fraction: float = 0.01,
    sell_probability: float = 0.5,
    confirm_timeout: float = 60.0,
    poll_interval: float = 0.05,
    progress: Progress | None = None,
) -> TrickleReport:
    """A steady stream of random buys and sells on the active markets at `rate_per_s`, until
    `duration_s` has passed or `stop` is set, then waits for every confirmation.

    Sends are scheduled on a fixed clock (send i at start + i/rate) with at most `concurrency`
    sendTransaction calls in flight; confirmations are polled in bulk in the background, so
    their latency never slows the sending. If the node cannot keep up and the schedule falls
    more than a second behind, the backlog is skipped (counted in `skipped`) rather than sent
    in a burst. Trades are small (at most `max_trade_fraction` of b) with a `slippage_bps`
    tolerance, so trades in flight together on one market do not fail each other; holdings
    are reserved when a sale is sent, so a wallet never sells the same shares twice.
    `wallets` must be funded; a buy that their balance (read at start) may not cover is not sent.
    """
    if rate_per_s <= 0:
        raise ValueError("rate_per_s must be positive")
    if duration_s is None and stop is None:
        raise ValueError("give duration_s, stop or both")
    if not wallets:
        raise ValueError("trickle needs wallets")
    params = await client.get_config()
    if params is None:
        raise RuntimeError("the program's GlobalConfig is not initialised")
    fees = lmsr.FeeSchedule(params.protocol_fee_bps, params.resolver_fee_bps, params.lp_fee_bps)
    fee_wallet = params.protocol_fee_wallet
    wanted = set(markets) if markets is not None else None
    books = {
        m.market_id: _Book(m.market_id, m.b_parameter, m.shares_yes, m.shares_no)
        for _, m in await client.list_markets(MarketState.Active)
        if wanted is None or m.market_id in wanted
    }
    if not books:
        raise ValueError("no active market to trade on")
    ids = sorted(books)
    index = {kp.pubkey(): i for i, kp in enumerate(wallets)}
    holdings: dict[tuple[bytes, int], list[int]] = {}
    for mid, listed in zip(
        ids,
        await asyncio.gather(*(client.list_positions(market_id=mid) for mid in ids)),
        strict=True,
    ):
        for _, pos in listed:
            if pos.user in index:
                holdings[(mid, index[pos.user])] = [pos.shares_yes, pos.shares_no]
    raw = await client.get_multiple_raw([kp.pubkey() for kp in wallets])
    balances = [r[0] if r is not None else 0 for r in raw]
    reserve = rent_exempt_minimum(UserPosition.SPACE) + 10 * FEE_PER_SIGNATURE

    sender = _Sender(
        client,
        concurrency=concurrency,
        confirm_timeout=confirm_timeout,
        poll_interval=poll_interval,
        progress=progress,
    )
    sender.phase = "trickle"
    rng = random.Random(seed)

    async def resync(book: _Book) -> None:
        with contextlib.suppress(ChainError):
            m = await client.get_market(book.market_id)
            if m is not None:
                book.q_yes, book.q_no = m.shares_yes, m.shares_no

    async def buy(w: int, book: _Book, outcome: bool, shares: int, cap: int) -> None:
        kp = wallets[w]
        order = ix.buy_shares(
            kp.pubkey(),
            book.market_id,
            outcome,
            shares,
            cap,
            fee_wallet,
            program_id=client.program_id,
        )
        rec = await sender.send("buy_shares", [order], kp, market_id=book.market_id)
        if _accepted(rec):
            if outcome:
                book.q_yes += shares
            else:
                book.q_no += shares
            holdings.setdefault((book.market_id, w), [0, 0])[_side(outcome)] += shares
        else:
            balances[w] += cap
            await resync(book)

    async def sell(w: int, book: _Book, outcome: bool, shares: int, floor: int) -> None:
        kp = wallets[w]
        order = ix.sell_shares(
            kp.pubkey(),
            book.market_id,
            outcome,
            shares,
            floor,
            fee_wallet,
            program_id=client.program_id,
        )
        rec = await sender.send("sell_shares", [order], kp, market_id=book.market_id)
        if _accepted(rec):
            if outcome:
                book.q_yes -= shares
            else:
                book.q_no -= shares
            balances[w] += floor
        else:
            holdings[(book.market_id, w)][_side(outcome)] += shares
            await resync(book)

    def pick() -> Coroutine[Any, Any, None] | None:
        for _ in range(4):
            book = books[rng.choice(ids)]
            w = rng.randrange(len(wallets))
            hold = holdings.get((book.market_id, w))
            if hold and (hold[0] or hold[1]) and rng.random() < sell_probability:
                side = rng.random() < 0.5
                if not hold[_side(side)]:
                    side = not side
                shares = max(1, int(hold[_side(side)] * rng.uniform(0.2, 1.0)))
                try:
                    q = lmsr.quote_sell(book.q_yes, book.q_no, book.b, side, shares, fees)
                except lmsr.LmsrError:
                    continue
                if q.total <= 0:
                    continue
                hold[_side(side)] -= shares  # reserved until the node answers
                return sell(w, book, side, shares, q.total * (BPS - slippage_bps) // BPS)
            outcome = rng.random() < 0.5
            frac = rng.uniform(max_trade_fraction / 10, max_trade_fraction)
            shares = max(MIN_TRADE_SHARES, int(book.b * frac))
            q = lmsr.quote_buy(book.q_yes, book.q_no, book.b, outcome, shares, fees)
            cap = q.total + -(-q.total * slippage_bps // BPS)
            if balances[w] < cap + reserve:
                continue
            balances[w] -= cap
            return buy(w, book, outcome, shares, cap)
        return None

    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()
    started = time.time()
    t0 = loop.time()
    end = t0 + duration_s if duration_s is not None else math.inf
    sent = skipped = 0

    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        gate.release()

    try:
        while not (stop is not None and stop.is_set()):
            now = loop.time()
            if now >= end:
                break
            due = t0 + sent / rate_per_s
            if due > now:
                wait = min(due, end) - now
                if stop is None:
                    await asyncio.sleep(wait)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), wait)
                continue
            if now - due > 1.0:  # fell behind by a second: skip the backlog, do not burst
                behind = int((now - due) * rate_per_s)
                t0 += behind / rate_per_s
                skipped += behind
            await gate.acquire()
            work = pick()
            sent += 1
            if work is None:
                gate.release()
                continue
            task = asyncio.create_task(work)
            tasks.add(task)
            task.add_done_callback(done)
        finished = time.time()
        if tasks:
            await asyncio.gather(*list(tasks))
        await sender.settle()
    finally:
        for task in list(tasks):
            task.cancel()
        await sender.aclose()
    return TrickleReport(
        target_rate=rate_per_s,
        transactions=sender.records,
        markets=ids,
        started_at=started,
        finished_at=finished,
        settled_at=time.time(),
        skipped=skipped,
    )
