"""Every instruction of the program model: its success path and each of its refusals."""

from __future__ import annotations

import pytest

from hybridmarket.program import builders as b
from hybridmarket.program import lmsr
from hybridmarket.program.accounts import GlobalConfig, MarketState, VoteKind
from hybridmarket.program.errors import AnchorCode, MarketError
from hybridmarket.program.events import (
    MarketFinalized,
    SharesBought,
    SharesSold,
    decode_event_log,
)
from hybridmarket.program.ids import PROGRAM_ID, market_pda
from hybridmarket.program.runtime import rent_exempt_minimum

from .bank import SOL
from .conftest import EVIDENCE, World, new_key

pytestmark = pytest.mark.unit
E = MarketError


def _events(result):  # type: ignore[no-untyped-def]
    return [e for line in result.logs if (e := decode_event_log(line)) is not None]


# ---- config ----------------------------------------------------------------------------------


def test_initialize_config_sets_admin_and_defaults(world: World) -> None:
    cfg = world.bank.config()
    assert cfg.admin == world.admin
    assert cfg.backend_authority == world.backend
    assert (cfg.protocol_fee_bps, cfg.resolver_fee_bps, cfg.lp_fee_bps) == (300, 200, 500)
    assert not cfg.is_paused


def test_initialize_config_twice_fails(world: World) -> None:
    params = world.bank.config().params()
    world.bank.fails(E.AlreadyInitialized, b.initialize_config(world.admin, params), world.admin)


def test_initialize_config_rejects_invalid_params(world: World) -> None:
    from .bank import Bank, default_params

    bank = Bank(runner=world.bank.runner)
    admin = new_key()
    bank.fund(admin, SOL)
    bad = default_params(world.backend, world.fee_wallet, protocol_fee_bps=9000, lp_fee_bps=1000)
    bank.fails(E.InvalidConfig, b.initialize_config(admin, bad), admin)


def test_update_config_admin_only(world: World) -> None:
    params = world.bank.config().params().with_changes(min_proposal_votes=3)
    world.bank.fails(E.Unauthorized, b.update_config(world.creator, params), world.creator)
    world.bank.ok(b.update_config(world.admin, params), world.admin)
    assert world.bank.config().min_proposal_votes == 3


def test_unsigned_admin_is_rejected_with_anchor_error(world: World) -> None:
    r = world.bank.fails(AnchorCode.AccountNotSigner, b.set_paused(world.admin, True))
    assert any("AnchorError caused by account: admin" in line for line in r.logs)


def test_set_paused_blocks_user_actions(world: World) -> None:
    mid = world.active()
    trader = world.user()
    world.bank.ok(b.set_paused(world.admin, True), world.admin)
    assert world.bank.config().is_paused
    world.bank.fails(
        E.ProtocolPaused,
        b.propose_market(world.creator, world.market_id(), 100 * SOL, 70 * SOL, world.resolver),
        world.creator,
    )
    world.bank.fails(
        E.ProtocolPaused,
        b.buy_shares(trader, mid, True, SOL, 10 * SOL, world.fee_wallet),
        trader,
    )
    world.bank.ok(b.set_paused(world.admin, False), world.admin)
    world.buy(mid, trader, True, SOL)


# ---- proposal ---------------------------------------------------------------------------------


def test_propose_creates_market_and_charges_rent(world: World) -> None:
    before = world.bank.balance(world.creator)
    mid = world.propose()
    m = world.bank.market(mid)
    assert m.state == MarketState.Proposed and m.creator == world.creator
    rent = rent_exempt_minimum(440)
    assert world.bank.balance(market_pda(mid)[0]) == rent
    assert world.bank.balance(world.creator) == before - rent


def test_propose_same_market_twice_fails(world: World) -> None:
    mid = world.propose()
    ix = b.propose_market(world.creator, mid, 100 * SOL, 70 * SOL, world.resolver)
    world.bank.fails(E.AlreadyInitialized, ix, world.creator)


def test_propose_checks_b_and_liquidity(world: World) -> None:
    c = world.creator
    world.bank.fails(
        E.InvalidBParameter,
        b.propose_market(c, world.market_id(), SOL - 1, 70 * SOL, world.resolver),
        c,
    )
    # b·ln2 for b = 100 SOL is 69.31… SOL: one lamport short of the ceiling is refused.
    need = lmsr.min_initial_liquidity(100 * SOL)
    world.bank.fails(
        E.InsufficientInitialLiquidity,
        b.propose_market(c, world.market_id(), 100 * SOL, need - 1, world.resolver),
        c,
    )
    world.bank.ok(b.propose_market(c, world.market_id(), 100 * SOL, need, world.resolver), c)


def test_propose_with_wrong_pda_fails_seeds(world: World) -> None:
    from solders.instruction import AccountMeta, Instruction

    ix = b.propose_market(world.creator, world.market_id(), 100 * SOL, 70 * SOL, world.resolver)
    metas = list(ix.accounts)
    metas[1] = AccountMeta(new_key(), False, True)
    bad = Instruction(PROGRAM_ID, bytes(ix.data), metas)
    r = world.bank.fails(AnchorCode.ConstraintSeeds, bad, world.creator)
    assert "Program log: Left:" in r.logs


def test_propose_without_enough_lamports_fails_in_system_program(world: World) -> None:
    poor = world.user(lamports=1000)
    ix = b.propose_market(poor, world.market_id(), 100 * SOL, 70 * SOL, world.resolver)
    r = world.bank.fails(1, ix, poor)
    assert any(line.startswith("Transfer: insufficient lamports 1000") for line in r.logs)


def test_proposal_vote_once_per_wallet(world: World) -> None:
    mid = world.propose()
    v = world.user()
    r = world.bank.ok(b.submit_proposal_vote(v, mid, True), v)
    assert world.bank.vote(mid, v, 0).vote is True
    assert world.bank.vote(mid, v, 0).kind == VoteKind.Proposal
    assert world.bank.market(mid).proposal_total_votes == 1
    assert _events(r)[0].proposal_total_votes == 1  # type: ignore[attr-defined]
    world.bank.fails(E.AlreadyVoted, b.submit_proposal_vote(v, mid, False), v)


def test_proposal_vote_only_while_proposed(world: World) -> None:
    mid = world.active()
    v = world.user()
    world.bank.fails(E.InvalidMarketState, b.submit_proposal_vote(v, mid, True), v)


def _votes(world: World, mid: bytes, likes: int, dislikes: int) -> None:
    for i in range(likes + dislikes):
        v = world.user()
        world.bank.ok(b.submit_proposal_vote(v, mid, i < likes), v)


def test_approve_exactly_at_threshold_and_quorum(world: World) -> None:
    mid = world.propose()
    _votes(world, mid, 7, 3)  # 70 % of 10 votes
    world.bank.ok(b.approve_market(world.backend, mid, 7, 3), world.backend)
    m = world.bank.market(mid)
    assert (m.state, m.proposal_likes, m.proposal_dislikes) == (MarketState.Approved, 7, 3)


def test_approve_one_vote_below_threshold(world: World) -> None:
    mid = world.propose()
    _votes(world, mid, 6, 4)
    world.bank.fails(
        E.ApprovalThresholdNotMet, b.approve_market(world.backend, mid, 6, 4), world.backend
    )


def test_approve_one_vote_below_quorum(world: World) -> None:
    mid = world.propose()
    _votes(world, mid, 9, 0)
    world.bank.fails(E.QuorumNotReached, b.approve_market(world.backend, mid, 9, 0), world.backend)


def test_approve_cannot_post_more_votes_than_recorded(world: World) -> None:
    mid = world.propose()
    _votes(world, mid, 10, 0)
    world.bank.fails(
        E.VoteCountsExceedRecords, b.approve_market(world.backend, mid, 11, 0), world.backend
    )


def test_approve_backend_only(world: World) -> None:
    mid = world.propose()
    _votes(world, mid, 10, 0)
    world.bank.fails(E.Unauthorized, b.approve_market(world.admin, mid, 10, 0), world.admin)


def test_approve_twice_is_rejected(world: World) -> None:
    mid = world.propose()
    world.approve(mid)
    world.bank.fails(
        E.InvalidMarketState, b.approve_market(world.backend, mid, 10, 0), world.backend
    )


# ---- activation and trading ------------------------------------------------------------------


def test_activate_deposits_liquidity(world: World) -> None:
    mid = world.propose()
    world.approve(mid)
    other = world.user()
    world.bank.fails(E.Unauthorized, b.activate_market(other, mid), other)
    before = world.bank.balance(world.creator)
    world.bank.ok(b.activate_market(world.creator, mid), world.creator)
    m = world.bank.market(mid)
    assert m.state == MarketState.Active and m.current_liquidity == 70 * SOL
    assert world.bank.balance(world.creator) == before - 70 * SOL


def test_activate_before_approval_fails(world: World) -> None:
    mid = world.propose()
    world.bank.fails(E.InvalidMarketState, b.activate_market(world.creator, mid), world.creator)


def test_buy_moves_exact_lamports_and_emits_event(world: World) -> None:
    mid = world.active()
    trader = world.user()
    cfg = world.bank.config()
    fees = lmsr.FeeSchedule(cfg.protocol_fee_bps, cfg.resolver_fee_bps, cfg.lp_fee_bps)
    q = lmsr.quote_buy(0, 0, 100 * SOL, True, 10 * SOL, fees)
    t0, f0 = world.bank.balance(trader), world.bank.balance(world.fee_wallet)
    r = world.bank.ok(b.buy_shares(trader, mid, True, 10 * SOL, q.total, world.fee_wallet), trader)
    pos_rent = rent_exempt_minimum(158)
    assert world.bank.balance(trader) == t0 - q.total - pos_rent
    assert world.bank.balance(world.fee_wallet) == f0 + q.protocol_fee
    m = world.bank.market(mid)
    assert m.shares_yes == 10 * SOL and m.current_liquidity == 70 * SOL + q.amount
    assert m.accumulated_lp_fees == q.lp_fee and m.accumulated_resolver_fees == q.resolver_fee
    assert world.bank.balance(market_pda(mid)[0]) == (
        rent_exempt_minimum(440) + m.current_liquidity + q.lp_fee + q.resolver_fee
    )
    ev = _events(r)[0]
    assert isinstance(ev, SharesBought)
    assert (ev.total, ev.shares_yes, ev.price_yes) == (q.total, 10 * SOL, q.price_yes_after)
    pos = world.bank.position(mid, trader)
    assert (pos.shares_yes, pos.total_invested, pos.trades_count) == (10 * SOL, q.total, 1)


def test_buy_slippage_exceeded_by_one_lamport(world: World) -> None:
    mid = world.active()
    trader = world.user()
    fees = lmsr.FeeSchedule(300, 200, 500)
    q = lmsr.quote_buy(0, 0, 100 * SOL, False, 5 * SOL, fees)
    ix = b.buy_shares(trader, mid, False, 5 * SOL, q.total - 1, world.fee_wallet)
    world.bank.fails(E.SlippageExceeded, ix, trader)


def test_buy_zero_shares_and_wrong_fee_wallet(world: World) -> None:
    mid = world.active()
    trader = world.user()
    world.bank.fails(
        E.InvalidShareAmount, b.buy_shares(trader, mid, True, 0, SOL, world.fee_wallet), trader
    )
    world.bank.fails(
        E.InvalidFeeWallet, b.buy_shares(trader, mid, True, SOL, 2 * SOL, new_key()), trader
    )


def test_buy_without_funds_fails_atomically(world: World) -> None:
    mid = world.active()
    trader = world.user(lamports=SOL // 100)
    world.bank.fails(
        1, b.buy_shares(trader, mid, True, 10 * SOL, 100 * SOL, world.fee_wallet), trader
    )
    assert world.bank.market(mid).shares_yes == 0


def test_buy_beyond_supported_range(world: World) -> None:
    mid = world.active()
    whale = world.user(lamports=10**18)
    ix = b.buy_shares(whale, mid, True, lmsr.MAX_SHARES + 1, 2**64 - 1, world.fee_wallet)
    world.bank.fails(E.TradeOutOfRange, ix, whale)


def test_sell_returns_proceeds_minus_fees(world: World) -> None:
    mid = world.active()
    trader = world.user()
    world.buy(mid, trader, True, 10 * SOL)
    q = lmsr.quote_sell(10 * SOL, 0, 100 * SOL, True, 4 * SOL, lmsr.FeeSchedule(300, 200, 500))
    t0 = world.bank.balance(trader)
    r = world.bank.ok(b.sell_shares(trader, mid, True, 4 * SOL, q.total, world.fee_wallet), trader)
    assert world.bank.balance(trader) == t0 + q.total
    assert world.bank.position(mid, trader).shares_yes == 6 * SOL
    assert isinstance(_events(r)[0], SharesSold)


def test_sell_more_than_held_and_slippage(world: World) -> None:
    mid = world.active()
    a, c = world.user(), world.user()
    world.buy(mid, a, True, 10 * SOL)
    world.buy(mid, c, True, 10 * SOL)
    world.bank.fails(
        E.InsufficientShares, b.sell_shares(a, mid, True, 10 * SOL + 1, 0, world.fee_wallet), a
    )
    world.bank.fails(E.InsufficientShares, b.sell_shares(a, mid, False, 1, 0, world.fee_wallet), a)
    q = lmsr.quote_sell(20 * SOL, 0, 100 * SOL, True, SOL, lmsr.FeeSchedule(300, 200, 500))
    world.bank.fails(
        E.SlippageExceeded, b.sell_shares(a, mid, True, SOL, q.total + 1, world.fee_wallet), a
    )


def test_sell_without_position_is_not_initialized(world: World) -> None:
    mid = world.active()
    a = world.user()
    world.bank.fails(
        AnchorCode.AccountNotInitialized, b.sell_shares(a, mid, True, 1, 0, world.fee_wallet), a
    )


def test_trade_outside_active_fails(world: World) -> None:
    mid = world.propose()
    a = world.user()
    world.bank.fails(
        E.InvalidMarketState, b.buy_shares(a, mid, True, SOL, 10 * SOL, world.fee_wallet), a
    )


# ---- resolution, dispute, finalization -------------------------------------------------------


def test_resolve_too_early_then_on_time(world: World) -> None:
    mid = world.active()
    delay = world.bank.config().min_resolution_delay
    world.bank.advance(delay - 1)
    ix = b.resolve_market(world.resolver, mid, True, EVIDENCE)
    world.bank.fails(E.ResolutionTooEarly, ix, world.resolver)
    world.bank.advance(1)
    world.bank.ok(ix, world.resolver)
    m = world.bank.market(mid)
    assert m.state == MarketState.Resolving and m.proposed_outcome is True
    assert m.evidence_cid_bytes() == EVIDENCE


def test_resolve_only_by_resolver_with_valid_cid(world: World) -> None:
    mid = world.active()
    world.bank.advance(86_400)
    world.bank.fails(
        E.Unauthorized, b.resolve_market(world.creator, mid, True, EVIDENCE), world.creator
    )
    for bad in (b"", b"\x01\x55", EVIDENCE[:-1], b"\x02" + EVIDENCE[1:], EVIDENCE + b"\x00"):
        world.bank.fails(
            E.InvalidEvidenceCid, b.resolve_market(world.resolver, mid, True, bad), world.resolver
        )


def test_evidence_digest_ending_in_zero_bytes_round_trips(world: World) -> None:
    cid = bytes([0x12, 0x20]) + bytes(30) + b"\x07\x00"  # CIDv0 whose digest ends in 0x00
    mid = world.active()
    world.bank.advance(86_400)
    world.bank.ok(b.resolve_market(world.resolver, mid, None, cid), world.resolver)
    assert world.bank.market(mid).evidence_cid_bytes() == cid


def test_undisputed_finalization_exactly_after_dispute_period(world: World) -> None:
    mid = world.active()
    world.resolve(mid, True)
    period = world.bank.config().dispute_period
    ix = b.finalize_market(world.backend, mid, world.resolver)
    world.bank.advance(period - 1)
    world.bank.fails(E.FinalizeTooEarly, ix, world.backend)
    world.bank.advance(1)
    world.bank.ok(ix, world.backend)
    m = world.bank.market(mid)
    assert m.state == MarketState.Finalized and m.final_outcome is True


def test_finalize_counts_must_match_state(world: World) -> None:
    mid = world.active()
    world.resolve(mid, True)
    world.bank.advance(world.bank.config().dispute_period)
    world.bank.fails(
        E.InvalidVoteCounts,
        b.finalize_market(world.backend, mid, world.resolver, 1, 0),
        world.backend,
    )
    world.bank.fails(
        E.Unauthorized, b.finalize_market(world.admin, mid, world.resolver), world.admin
    )
    world.bank.fails(
        E.InvalidResolverAccount, b.finalize_market(world.backend, mid, new_key()), world.backend
    )


def test_dispute_window(world: World) -> None:
    mid = world.active()
    world.resolve(mid, True)
    world.bank.advance(world.bank.config().dispute_period)
    x = world.user()
    world.bank.fails(E.DisputeWindowClosed, b.initiate_dispute(x, mid), x)


def test_invalid_resolution_cannot_be_disputed(world: World) -> None:
    mid = world.active()
    world.resolve(mid, None)
    x = world.user()
    world.bank.fails(E.InvalidOutcomeNotDisputable, b.initiate_dispute(x, mid), x)


def _disputed(world: World, agree: int, disagree: int) -> bytes:
    mid = world.active()
    trader = world.user()
    world.buy(mid, trader, True, 10 * SOL)
    world.resolve(mid, True)
    x = world.user()
    world.bank.ok(b.initiate_dispute(x, mid), x)
    assert world.state(mid) == MarketState.Disputed
    for i in range(agree + disagree):
        v = world.user()
        world.bank.ok(b.submit_dispute_vote(v, mid, i < agree), v)
    return mid


def test_dispute_flips_outcome_at_exactly_sixty_percent(world: World) -> None:
    mid = _disputed(world, 3, 2)  # 60 % of the 5-vote quorum
    ix = b.finalize_market(world.backend, mid, world.resolver, 3, 2)
    world.bank.advance(world.bank.config().dispute_voting_period - 1)
    world.bank.fails(E.FinalizeTooEarly, ix, world.backend)
    world.bank.advance(1)
    r = world.bank.ok(ix, world.backend)
    m = world.bank.market(mid)
    assert m.final_outcome is False and (m.dispute_agree, m.dispute_disagree) == (3, 2)
    ev = _events(r)[0]
    assert isinstance(ev, MarketFinalized) and ev.flipped


def test_dispute_below_threshold_keeps_outcome(world: World) -> None:
    mid = _disputed(world, 5, 4)  # 55.6 %
    world.bank.advance(world.bank.config().dispute_voting_period)
    world.bank.ok(b.finalize_market(world.backend, mid, world.resolver, 5, 4), world.backend)
    assert world.bank.market(mid).final_outcome is True


def test_dispute_below_quorum_keeps_outcome(world: World) -> None:
    mid = _disputed(world, 4, 0)  # 100 % of 4 < 5 votes
    world.bank.advance(world.bank.config().dispute_voting_period)
    world.bank.ok(b.finalize_market(world.backend, mid, world.resolver, 4, 0), world.backend)
    assert world.bank.market(mid).final_outcome is True


def test_dispute_vote_rules(world: World) -> None:
    mid = _disputed(world, 1, 0)
    v = world.bank
    voter = world.users[-1]
    v.fails(E.AlreadyVoted, b.submit_dispute_vote(voter, mid, False), voter)
    v.advance(v.config().dispute_voting_period)
    late = world.user()
    v.fails(E.DisputeVotingClosed, b.submit_dispute_vote(late, mid, True), late)
    v.fails(
        E.VoteCountsExceedRecords,
        b.finalize_market(world.backend, mid, world.resolver, 2, 0),
        world.backend,
    )
    v.fails(
        E.InvalidVoteCounts, b.finalize_market(world.backend, mid, world.resolver), world.backend
    )


def test_resolver_fee_paid_on_yes_no_finalization(world: World) -> None:
    mid = world.active()
    world.buy(mid, world.user(), True, 10 * SOL)
    fee = world.bank.market(mid).accumulated_resolver_fees
    assert fee > 0
    world.resolve(mid, True)
    world.bank.advance(world.bank.config().dispute_period)
    r0 = world.bank.balance(world.resolver)
    world.bank.ok(b.finalize_market(world.backend, mid, world.resolver), world.backend)
    assert world.bank.balance(world.resolver) == r0 + fee
    assert world.bank.market(mid).resolver_fee_paid == fee


# ---- cancel, claim, withdraw -----------------------------------------------------------------


def test_cancel_by_backend_or_admin_only(world: World) -> None:
    m1, m2 = world.propose(), world.propose()
    x = world.user()
    world.bank.fails(E.Unauthorized, b.cancel_market(x, m1), x)
    world.bank.ok(b.cancel_market(world.backend, m1), world.backend)
    world.bank.ok(b.cancel_market(world.admin, m2), world.admin)
    assert world.state(m1) == world.state(m2) == MarketState.Cancelled
    world.bank.fails(E.InvalidMarketState, b.cancel_market(world.admin, m1), world.admin)


def test_claim_yes_winner_once_loser_gets_nothing(world: World) -> None:
    mid = world.active()
    win, lose = world.user(), world.user()
    world.buy(mid, win, True, 10 * SOL)
    world.buy(mid, lose, False, 5 * SOL)
    world.resolve(mid, True)
    world.bank.fails(E.InvalidMarketState, b.claim_winnings(win, mid), win)
    world.bank.advance(world.bank.config().dispute_period)
    world.bank.ok(b.finalize_market(world.backend, mid, world.resolver), world.backend)
    w0 = world.bank.balance(win)
    world.bank.ok(b.claim_winnings(win, mid), win)
    assert world.bank.balance(win) == w0 + 10 * SOL
    world.bank.fails(E.AlreadyClaimed, b.claim_winnings(win, mid), win)
    world.bank.fails(E.NothingToClaim, b.claim_winnings(lose, mid), lose)


def test_claim_invalid_pays_last_price(world: World) -> None:
    mid = world.active()
    a = world.user()
    world.buy(mid, a, True, 10 * SOL)
    world.buy(mid, a, False, 3 * SOL)
    world.resolve(mid, None)
    world.bank.advance(world.bank.config().dispute_period)
    world.bank.ok(b.finalize_market(world.backend, mid, world.resolver), world.backend)
    m = world.bank.market(mid)
    py = lmsr.price(m.shares_yes, m.shares_no, m.b_parameter, True)
    pn = lmsr.price(m.shares_yes, m.shares_no, m.b_parameter, False)
    a0 = world.bank.balance(a)
    world.bank.ok(b.claim_winnings(a, mid), a)
    assert world.bank.balance(a) == a0 + (10 * SOL * py + 3 * SOL * pn) // lmsr.PRICE_SCALE


def test_cancel_while_trading_pays_last_price_and_withdraw(world: World) -> None:
    mid = world.active()
    a = world.user()
    world.buy(mid, a, False, 7 * SOL)
    world.bank.ok(b.cancel_market(world.backend, mid), world.backend)
    world.bank.ok(b.claim_winnings(a, mid), a)
    x = world.user()
    world.bank.fails(E.Unauthorized, b.withdraw_liquidity(x, mid), x)
    c0 = world.bank.balance(world.creator)
    r = world.bank.ok(b.withdraw_liquidity(world.creator, mid), world.creator)
    assert world.bank.balance(world.creator) > c0
    assert world.bank.balance(market_pda(mid)[0]) == rent_exempt_minimum(440)
    assert r.ok
    world.bank.fails(E.NothingToWithdraw, b.withdraw_liquidity(world.creator, mid), world.creator)


def test_withdraw_keeps_outstanding_claims(world: World) -> None:
    mid = world.active()
    win = world.user()
    world.buy(mid, win, True, 30 * SOL)
    world.resolve(mid, True)
    world.bank.advance(world.bank.config().dispute_period)
    world.bank.ok(b.finalize_market(world.backend, mid, world.resolver), world.backend)
    world.bank.fails(
        E.InvalidMarketState, b.withdraw_liquidity(world.creator, world.propose()), world.creator
    )
    world.bank.ok(b.withdraw_liquidity(world.creator, mid), world.creator)
    # The winner can still be paid in full after the creator withdrew.
    w0 = world.bank.balance(win)
    world.bank.ok(b.claim_winnings(win, mid), win)
    assert world.bank.balance(win) == w0 + 30 * SOL
    assert world.bank.balance(market_pda(mid)[0]) == rent_exempt_minimum(440)


# ---- framework-level refusals ----------------------------------------------------------------


def test_unknown_discriminator_and_bad_args(world: World) -> None:
    from solders.instruction import Instruction

    ix = b.set_paused(world.admin, True)
    r = world.bank.fails(
        AnchorCode.InstructionFallbackNotFound,
        Instruction(PROGRAM_ID, b"\x00" * 8, ix.accounts),
        world.admin,
    )
    assert r.logs[-1].endswith("failed: custom program error: 0x65")
    # A bool byte of 2 is rejected, as Rust borsh rejects it.
    bad = Instruction(PROGRAM_ID, bytes(ix.data)[:8] + b"\x02", ix.accounts)
    world.bank.fails(AnchorCode.InstructionDidNotDeserialize, bad, world.admin)
    trailing = Instruction(PROGRAM_ID, bytes(ix.data) + b"\x00", ix.accounts)
    world.bank.fails(AnchorCode.InstructionDidNotDeserialize, trailing, world.admin)


def test_not_enough_accounts(world: World) -> None:
    from solders.instruction import Instruction

    ix = b.set_paused(world.admin, True)
    short = Instruction(PROGRAM_ID, bytes(ix.data), ix.accounts[:1])
    world.bank.fails(AnchorCode.AccountNotEnoughKeys, short, world.admin)


def test_wrong_account_type_is_discriminator_mismatch(world: World) -> None:
    from solders.instruction import AccountMeta, Instruction

    mid = world.propose()
    ix = b.set_paused(world.admin, True)
    metas = list(ix.accounts)
    metas[0] = AccountMeta(market_pda(mid)[0], False, True)
    world.bank.fails(
        AnchorCode.AccountDiscriminatorMismatch,
        Instruction(PROGRAM_ID, bytes(ix.data), metas),
        world.admin,
    )


def test_success_logs_have_runtime_frame(world: World) -> None:
    r = world.bank.ok(b.set_paused(world.admin, True), world.admin)
    assert r.logs[0] == f"Program {PROGRAM_ID} invoke [1]"
    assert r.logs[1] == "Program log: Instruction: SetPaused"
    assert r.logs[-2].startswith(f"Program {PROGRAM_ID} consumed ")
    assert r.logs[-1] == f"Program {PROGRAM_ID} success"
    assert GlobalConfig.from_account_data(world.bank.accounts[b.config_pda()[0]].data).is_paused  # type: ignore[attr-defined]


def test_error_log_matches_anchor_format(world: World) -> None:
    mid = world.propose()
    r = world.bank.fails(E.InvalidMarketState, b.activate_market(world.creator, mid), world.creator)
    line = next(x for x in r.logs if "AnchorError" in x)
    assert line.startswith("Program log: AnchorError thrown in programs/hybridmarket/src/")
    assert "Error Code: InvalidMarketState. Error Number: 6004." in line
    assert r.logs[-1] == f"Program {PROGRAM_ID} failed: custom program error: 0x1774"
