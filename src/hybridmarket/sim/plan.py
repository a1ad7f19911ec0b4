"""The workload's plan, drawn from `random.Random(seed)` before anything is sent: each
market's fate, its proposal and dispute votes (meeting the rules exactly when the fate needs
it), its trades, the deliberate failures, and what each wallet must be funded with."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from solders.pubkey import Pubkey

from hybridmarket.program import lmsr
from hybridmarket.program.accounts import GlobalConfig, MarketAccount, UserPosition, VoteRecord
from hybridmarket.program.rules import yes_votes_needed as needed
from hybridmarket.program.runtime import rent_exempt_minimum
from hybridmarket.sim.metadata import market_metadata
from hybridmarket.sim.records import (
    BPS,
    FEE_PER_SIGNATURE,
    MIN_TRADE_SHARES,
    SOL,
    Failure,
    Fate,
    WorkloadConfig,
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


@dataclass(slots=True)
class TradeOp:
    wallet: int
    outcome: bool
    shares: int  # the size of a buy; a sell takes `sell_frac` of what the wallet holds
    sell: bool
    sell_frac: float
    failure: Failure | None = None  # a failing attempt sent before the trade itself


@dataclass(slots=True)
class MarketPlan:
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
    trades: list[TradeOp] = field(default_factory=list)
    failures: set[Failure] = field(default_factory=set)


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


def plan_markets(
    cfg: WorkloadConfig, params: GlobalConfig, wallets: Sequence[Pubkey], clock: bool, now: int
) -> list[MarketPlan]:
    rng = random.Random(cfg.seed)
    n_wallets = len(wallets)
    ff = cfg.failed_fraction
    fates = _fates(rng, cfg, clock)
    min_votes, min_dispute = params.min_proposal_votes, params.min_dispute_votes
    if any(f.approved for f in fates) and n_wallets < min_votes:
        raise ValueError(f"approving a market needs {min_votes} voters: use that many wallets")
    if Fate.DISPUTE_FLIPPED in fates and n_wallets < min_dispute:
        raise ValueError(f"flipping an outcome needs {min_dispute} dispute voters")

    plans: list[MarketPlan] = []
    questions: set[str] = set()
    for i, fate in enumerate(fates):
        creator = rng.randrange(n_wallets)
        others = [w for w in range(n_wallets) if w != creator] or [creator]
        resolver, initiator, intruder = (rng.choice(others) for _ in range(3))
        b = max(rng.randint(*cfg.b_range_sol) * SOL, params.min_b_parameter, lmsr.MIN_B)
        floor = max(lmsr.min_initial_liquidity(b), params.min_initial_liquidity)
        liquidity = -(-floor // 10**7) * 10**7  # rounded up to 0.01 SOL
        metadata = market_metadata(rng, now, wallets[creator])
        for _ in range(20):
            if metadata["question"] not in questions:
                break
            metadata = market_metadata(rng, now, wallets[creator])
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
        p = MarketPlan(
            i, fate, creator, resolver, initiator, intruder, b, liquidity, metadata, belief, outcome
        )

        # Proposal votes: quorum and threshold met exactly when the market is to be approved.
        thr = params.proposal_approval_threshold_bps
        top = min(n_wallets, min_votes + max(2, min_votes // 2))
        if fate.approved:
            k = rng.randint(min_votes, top)
            p.proposal_votes = _votes(rng, k, rng.randint(needed(thr, k), k), n_wallets)
        elif fate is Fate.CANCELLED_PROPOSED and n_wallets >= min_votes and rng.random() < 0.5:
            k = rng.randint(min_votes, top)  # a quorum that votes it down
            p.proposal_votes = _votes(rng, k, rng.randint(0, needed(thr, k) - 1), n_wallets)
        else:  # short of the quorum
            k = rng.randint(0, min(min_votes - 1, n_wallets))
            p.proposal_votes = _votes(rng, k, rng.randint(0, k), n_wallets)
        p.double_votes = [j for j in range(len(p.proposal_votes)) if rng.random() < ff]

        # Dispute votes (True = the proposed outcome is wrong).
        dthr = params.dispute_success_threshold_bps
        dtop = min(n_wallets, min_dispute + 4)
        if fate is Fate.DISPUTE_FLIPPED:
            k = rng.randint(min_dispute, dtop)
            p.dispute_votes = _votes(rng, k, rng.randint(needed(dthr, k), k), n_wallets)
        elif fate is Fate.DISPUTE_UPHELD and n_wallets >= min_dispute and rng.random() < 0.7:
            k = rng.randint(min_dispute, dtop)  # a quorum that keeps the outcome
            p.dispute_votes = _votes(rng, k, rng.randint(0, needed(dthr, k) - 1), n_wallets)
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
    rng: random.Random, cfg: WorkloadConfig, plans: list[MarketPlan], n_wallets: int
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
            op = TradeOp(
                wallet=rng.choice(crowd),
                outcome=rng.random() < p.belief,
                shares=max(MIN_TRADE_SHARES, int(p.b * math.exp(rng.uniform(lo, hi)))),
                sell=j > 0 and rng.random() < cfg.sell_probability,
                sell_frac=rng.uniform(0.25, 1.0),
            )
            if rng.random() < cfg.failed_fraction:
                op.failure = rng.choice((Failure.SLIPPAGE, Failure.OVERSELL))
            p.trades.append(op)


def _guarantee_failures(plans: list[MarketPlan]) -> None:
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


def funding_needs(
    cfg: WorkloadConfig, params: GlobalConfig, plans: Sequence[MarketPlan], n_wallets: int
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
