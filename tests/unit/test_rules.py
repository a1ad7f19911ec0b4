"""The approval and dispute rules (`program.rules`) at their exact boundaries, and the program
(model and binary) deciding exactly as they do: every split of the recorded votes, every
deadline to the second."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from hybridmarket.program import builders as b
from hybridmarket.program import rules
from hybridmarket.program.accounts import GlobalConfig, MarketAccount, MarketState
from hybridmarket.program.errors import MarketError
from hybridmarket.program.events import MarketFinalized, decode_event_log
from hybridmarket.program.runtime import ProcessResult

from .bank import Bank, default_params
from .conftest import EVIDENCE, World

pytestmark = pytest.mark.unit
E = MarketError
RESERVED = 64


def _cfg(**changes: int) -> GlobalConfig:
    p = default_params(Pubkey.default(), Pubkey.default(), **changes)
    fields = {f.name: getattr(p, f.name) for f in dataclasses.fields(p)}
    return GlobalConfig(
        admin=Pubkey.default(), **fields, is_paused=False, bump=255, reserved=bytes(RESERVED)
    )


def _market(**kw: object) -> MarketAccount:
    base: dict[str, object] = {f.name: 0 for f in dataclasses.fields(MarketAccount)}
    base.update(
        market_id=bytes(32),
        creator=Pubkey.default(),
        resolver=Pubkey.default(),
        dispute_initiator=Pubkey.default(),
        state=MarketState.Proposed,
        ipfs_evidence_hash=bytes(46),
        reserved=bytes(RESERVED),
        proposed_outcome=None,
        final_outcome=None,
    )
    base.update(kw)
    return MarketAccount(**base)  # type: ignore[arg-type]


# ---- the counts --------------------------------------------------------------------------------


def test_approval_at_exactly_70_percent_and_not_at_69_99() -> None:
    cfg = _cfg()
    assert cfg.proposal_approval_threshold_bps == 7000 and cfg.min_proposal_votes == 10
    assert rules.approves(cfg, 7, 3) and rules.approves(cfg, 7000, 3000)
    assert not rules.approves(cfg, 6999, 3001)  # 69.99 %
    assert not rules.approves(cfg, 6, 4)
    assert rules.approves(cfg, 10, 0) and not rules.approves(cfg, 9, 0)  # quorum exactly
    assert rules.approves(cfg, 8, 3)  # 72.7 % of 11
    assert not rules.approves(cfg, 0, 0)
    assert not rules.approves(dataclasses.replace(cfg, min_proposal_votes=0), 0, 0)


def test_quorum_and_threshold_apart_as_the_program_reports_them() -> None:
    cfg = _cfg()
    assert not rules.proposal_quorum_reached(cfg, 9) and rules.proposal_quorum_reached(cfg, 10)
    assert rules.proposal_threshold_met(cfg, 7, 10) and not rules.proposal_threshold_met(cfg, 6, 10)
    assert rules.proposal_threshold_met(cfg, 0, 0)  # 0 >= 0: the quorum is what refuses no votes


def test_dispute_flips_at_exactly_60_percent_and_quorum() -> None:
    cfg = _cfg()
    assert cfg.dispute_success_threshold_bps == 6000 and cfg.min_dispute_votes == 5
    assert rules.dispute_flips(cfg, 3, 2) and rules.dispute_flips(cfg, 6000, 4000)
    assert not rules.dispute_flips(cfg, 5999, 4001)  # 59.99 %
    assert not rules.dispute_flips(cfg, 5, 4)  # 55.6 %
    assert not rules.dispute_flips(cfg, 4, 0) and rules.dispute_flips(cfg, 5, 0)
    assert not rules.dispute_flips(dataclasses.replace(cfg, min_dispute_votes=0), 0, 0)


@given(
    yes=st.integers(0, 10**6),
    no=st.integers(0, 10**6),
    bps=st.integers(1, 10_000),
)
def test_threshold_is_the_exact_fraction(yes: int, no: int, bps: int) -> None:
    total = yes + no
    exact = total == 0 or Fraction(yes, total) >= Fraction(bps, 10_000)
    assert rules.meets_threshold(yes, total, bps) is exact


@given(total=st.integers(0, 10**6), bps=st.integers(1, 10_000))
def test_yes_votes_needed_is_the_fewest(total: int, bps: int) -> None:
    k = rules.yes_votes_needed(bps, total)
    assert 0 <= k <= total
    assert rules.meets_threshold(k, total, bps)
    assert k == 0 or not rules.meets_threshold(k - 1, total, bps)


# ---- the times ---------------------------------------------------------------------------------


def test_deadlines_end_exactly_on_the_second() -> None:
    cfg = _cfg()
    m = _market(
        created_at=1_000,
        activated_at=2_000,
        resolution_proposed_at=5_000,
        dispute_initiated_at=9_000,
    )
    opens = 2_000 + cfg.min_resolution_delay
    assert rules.resolution_opens_at(cfg, m) == opens
    assert not rules.resolution_allowed(cfg, m, opens - 1) and rules.resolution_allowed(
        cfg, m, opens
    )

    ends = 5_000 + cfg.dispute_period
    assert rules.dispute_period_ends_at(cfg, m) == ends
    assert rules.dispute_window_open(cfg, m, ends - 1) and not rules.dispute_window_open(
        cfg, m, ends
    )
    assert not rules.dispute_period_over(cfg, m, ends - 1) and rules.dispute_period_over(
        cfg, m, ends
    )

    voting = 9_000 + cfg.dispute_voting_period
    assert rules.dispute_voting_ends_at(cfg, m) == voting
    assert rules.dispute_voting_open(cfg, m, voting - 1)
    assert not rules.dispute_voting_open(cfg, m, voting)
    assert not rules.dispute_voting_over(cfg, m, voting - 1)
    assert rules.dispute_voting_over(cfg, m, voting)


def test_proposal_decision_waits_until_the_window_closes() -> None:
    cfg, m, window = _cfg(), _market(created_at=1_000), 3_600
    assert rules.proposal_decision(cfg, m, 6, 4, 1_000 + window - 1, window) is None
    assert rules.proposal_decision(cfg, m, 6, 4, 1_000 + window, window) == "cancel"
    assert rules.proposal_decision(cfg, m, 7, 3, 1_000, window) == "approve"
    assert rules.proposal_decision(cfg, m, 7, 3, 1_000 + 10 * window, window) == "approve"


# ---- the program decides as the rules do -------------------------------------------------------


def _try(bank: Bank, ix: Instruction, signer: Pubkey) -> ProcessResult:
    """Run an instruction, then put every account back (to try the next one from here)."""
    saved = dict(bank.accounts)  # a success replaces Acc objects, it never mutates them
    now = bank.now
    result = bank.run(ix, signer)
    bank.accounts, bank.now = saved, now
    return result


def test_program_approves_exactly_when_the_rules_do(world: World) -> None:
    cfg = world.bank.config()
    mid = world.propose()
    recorded = 14
    for i in range(recorded):
        v = world.user()
        world.bank.ok(b.submit_proposal_vote(v, mid, i % 3 != 0), v)
    for total in range(recorded + 1):
        for likes in range(total + 1):
            r = _try(
                world.bank,
                b.approve_market(world.backend, mid, likes, total - likes),
                world.backend,
            )
            want = rules.approves(cfg, likes, total - likes)
            assert r.ok is want, (likes, total)
            if not want:
                assert r.error is not None
                expected = (
                    E.QuorumNotReached
                    if not rules.proposal_quorum_reached(cfg, total)
                    else E.ApprovalThresholdNotMet
                )
                assert r.error.custom == expected, (likes, total)


def _resolved(world: World) -> bytes:
    mid = world.active()
    world.resolve(mid, True)
    return mid


def test_program_flips_exactly_when_the_rules_do(world: World) -> None:
    cfg = world.bank.config()
    mid = _resolved(world)
    x = world.user()
    world.bank.ok(b.initiate_dispute(x, mid), x)
    recorded = 9
    for i in range(recorded):
        v = world.user()
        world.bank.ok(b.submit_dispute_vote(v, mid, i % 2 == 0), v)
    world.bank.now = rules.dispute_voting_ends_at(cfg, world.bank.market(mid))
    for total in range(recorded + 1):
        for agree in range(total + 1):
            ix = b.finalize_market(world.backend, mid, world.resolver, agree, total - agree)
            r = _try(world.bank, ix, world.backend)
            assert r.ok, r.logs
            events = [e for line in r.logs if (e := decode_event_log(line)) is not None]
            final = [e for e in events if isinstance(e, MarketFinalized)]
            assert len(final) == 1
            assert final[0].flipped is rules.dispute_flips(cfg, agree, total - agree)
            assert final[0].final_outcome is (not final[0].flipped)


def test_program_deadlines_are_the_rules_to_the_second(world: World) -> None:
    bank, cfg = world.bank, world.bank.config()
    mid = world.active()
    opens = rules.resolution_opens_at(cfg, bank.market(mid))
    resolve = b.resolve_market(world.resolver, mid, True, EVIDENCE)
    bank.now = opens - 1
    assert _try(bank, resolve, world.resolver).error.custom == E.ResolutionTooEarly  # type: ignore[union-attr]
    bank.now = opens
    bank.ok(resolve, world.resolver)

    ends = rules.dispute_period_ends_at(cfg, bank.market(mid))
    x = world.user()
    dispute = b.initiate_dispute(x, mid)
    undisputed = b.finalize_market(world.backend, mid, world.resolver)
    bank.now = ends - 1
    assert _try(bank, dispute, x).ok
    assert _try(bank, undisputed, world.backend).error.custom == E.FinalizeTooEarly  # type: ignore[union-attr]
    bank.now = ends
    assert _try(bank, dispute, x).error.custom == E.DisputeWindowClosed  # type: ignore[union-attr]
    assert _try(bank, undisputed, world.backend).ok

    bank.now = ends - 1
    bank.ok(dispute, x)
    voting = rules.dispute_voting_ends_at(cfg, bank.market(mid))
    voter = world.user()
    vote = b.submit_dispute_vote(voter, mid, True)
    finalize = b.finalize_market(world.backend, mid, world.resolver, 0, 0)
    bank.now = voting - 1
    assert _try(bank, vote, voter).ok
    assert _try(bank, finalize, world.backend).error.custom == E.FinalizeTooEarly  # type: ignore[union-attr]
    bank.now = voting
    assert _try(bank, vote, voter).error.custom == E.DisputeVotingClosed  # type: ignore[union-attr]
    assert _try(bank, finalize, world.backend).ok
