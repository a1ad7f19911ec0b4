"""The simulator's plan, pure: the same seed gives the same plan, and each market's planned
votes meet the protocol's rules (`program.rules`) exactly when its fate needs them to."""

from __future__ import annotations

import dataclasses

import pytest
from solders.keypair import Keypair

from hybridmarket.program import rules
from hybridmarket.sim import Fate, WorkloadConfig
from hybridmarket.sim.plan import MarketPlan, funding_needs, plan_markets

from .test_rules import _cfg

pytestmark = pytest.mark.unit
WALLETS = [Keypair().pubkey() for _ in range(24)]
NOW = 1_700_000_000


def _plan(seed: int, *, clock: bool = True, markets: int = 60) -> list[MarketPlan]:
    cfg = WorkloadConfig(markets=markets, wallets=len(WALLETS), trades=400, seed=seed)
    return plan_markets(cfg, _cfg(), WALLETS, clock, NOW)


def _counts(votes: list[tuple[int, bool]]) -> tuple[int, int]:
    yes = sum(1 for _, v in votes if v)
    return yes, len(votes) - yes


@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_planned_votes_meet_the_rules_exactly_when_the_fate_needs_it(seed: int) -> None:
    cfg = _cfg()
    plans = _plan(seed)
    assert {p.fate for p in plans} == set(Fate)  # a run of 60 covers every fate
    for p in plans:
        likes, dislikes = _counts(p.proposal_votes)
        assert rules.approves(cfg, likes, dislikes) is p.fate.approved, (p.index, p.fate)
        assert len({w for w, _ in p.proposal_votes}) == len(p.proposal_votes)  # one per wallet
        if p.fate is Fate.DISPUTE_FLIPPED:
            assert rules.dispute_flips(cfg, *_counts(p.dispute_votes))
        elif p.fate is Fate.DISPUTE_UPHELD:
            assert not rules.dispute_flips(cfg, *_counts(p.dispute_votes))
        elif not p.fate.disputed:
            assert p.dispute_votes == []


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    def shape(plans: list[MarketPlan]) -> list[tuple[object, ...]]:
        return [dataclasses.astuple(p) for p in plans]

    assert shape(_plan(5)) == shape(_plan(5))
    assert shape(_plan(5)) != shape(_plan(6))


def test_without_a_clock_no_fate_needs_one() -> None:
    plans = _plan(3, clock=False)
    assert plans and not any(p.fate.needs_clock for p in plans)
    with pytest.raises(ValueError, match="advance_clock"):
        cfg = WorkloadConfig(markets=2, wallets=24, trades=0, seed=0, fates=(Fate.RESOLVING,))
        plan_markets(cfg, _cfg(), WALLETS, False, NOW)


def test_funding_covers_every_creator_deposit() -> None:
    cfg = WorkloadConfig(markets=30, wallets=len(WALLETS), trades=200, seed=11)
    plans = plan_markets(cfg, _cfg(), WALLETS, True, NOW)
    need = funding_needs(cfg, _cfg(), plans, len(WALLETS))
    for w in range(len(WALLETS)):
        deposits = sum(p.liquidity for p in plans if p.creator == w)
        assert need[w] >= cfg.extra_lamports + deposits
