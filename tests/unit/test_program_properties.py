"""Properties of the program model over random histories, and its state machine.

After any sequence of trades, resolutions, disputes, cancellations, claims and withdrawals:
lamports are conserved across all accounts, the market account always equals rent + pool +
accumulated fees and covers every claim still outstanding, and every claim is paid in full.
"""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from hybridmarket.program import builders as b
from hybridmarket.program import lmsr
from hybridmarket.program.accounts import MarketAccount, MarketState
from hybridmarket.program.ids import market_pda
from hybridmarket.program.processor import outstanding_claims
from hybridmarket.program.runtime import rent_exempt_minimum

from .bank import SOL, Bank, Runner, default_params
from .conftest import EVIDENCE, World, new_key

pytestmark = pytest.mark.unit


def _fresh_world(fees: tuple[int, int, int], runner: Runner) -> World:
    bank = Bank(runner=runner)
    admin, backend, fee_wallet, creator, resolver = (new_key() for _ in range(5))
    for k in (admin, backend, creator, resolver):
        bank.fund(k, 10**9 * SOL)
    bank.fund(fee_wallet, SOL)
    params = default_params(
        backend,
        fee_wallet,
        protocol_fee_bps=fees[0],
        resolver_fee_bps=fees[1],
        lp_fee_bps=fees[2],
        min_proposal_votes=1,
        min_dispute_votes=1,
        min_b_parameter=lmsr.MIN_B,
        min_initial_liquidity=0,
    )
    bank.ok(b.initialize_config(admin, params), admin)
    return World(bank, admin, backend, fee_wallet, creator, resolver)


def _check_market_invariants(w: World, mid: bytes) -> MarketAccount:
    m = w.bank.market(mid)
    lamports = w.bank.balance(market_pda(mid)[0])
    rent = rent_exempt_minimum(MarketAccount.SPACE)
    assert (
        lamports == rent + m.current_liquidity + m.accumulated_resolver_fees + m.accumulated_lp_fees
    )
    if m.state in (MarketState.Active, MarketState.Resolving, MarketState.Disputed):
        # Solvent whatever the outcome: YES, NO, or INVALID at the current price.
        assert m.current_liquidity >= max(m.shares_yes, m.shares_no)
    else:
        assert lamports - rent >= outstanding_claims(m)
    return m


OP = st.tuples(
    st.sampled_from(["buy", "sell"]),
    st.integers(0, 3),  # trader index
    st.booleans(),  # outcome
    st.integers(1, 10**6),  # size, scaled below
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fees=st.tuples(st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 1000)),
    b_param=st.sampled_from([lmsr.MIN_B, 10**6, SOL, 100 * SOL, 10**15]),
    ops=st.lists(OP, max_size=25),
    ending=st.sampled_from(["yes", "no", "invalid", "cancel", "dispute-flip", "dispute-keep"]),
    withdraw_first=st.booleans(),
)
def test_random_histories_conserve_and_cover_every_claim(
    fees: tuple[int, int, int],
    b_param: int,
    ops: list[tuple[str, int, bool, int]],
    ending: str,
    withdraw_first: bool,
    runner: Runner,
) -> None:
    w = _fresh_world(fees, runner)
    total = w.bank.total_lamports()
    mid = w.market_id()
    liq = lmsr.min_initial_liquidity(b_param)
    w.bank.ok(b.propose_market(w.creator, mid, b_param, liq, w.resolver), w.creator)
    v = w.user()
    w.bank.ok(b.submit_proposal_vote(v, mid, True), v)
    w.bank.ok(b.approve_market(w.backend, mid, 1, 0), w.backend)
    w.bank.ok(b.activate_market(w.creator, mid), w.creator)
    traders = [w.user(10**9 * SOL) for _ in range(4)]
    disputer = w.user()
    total = w.bank.total_lamports()

    for kind, ti, outcome, size in ops:
        t = traders[ti]
        shares = max(1, size * b_param // 10**5)
        if kind == "buy":
            if shares > lmsr.MAX_SHARES // 4:
                continue
            r = w.bank.run(b.buy_shares(t, mid, outcome, shares, 2**64 - 1, w.fee_wallet), t)
            # Acceptable refusals: the trader cannot pay (system error 1), or the range limit.
            assert r.ok or (r.error is not None and r.error.custom in (1, 6014)), r.logs
        else:
            try:
                held = w.bank.position(mid, t)
            except KeyError:
                continue
            have = held.shares_yes if outcome else held.shares_no
            sell = min(have, shares)
            if sell == 0:
                continue
            r = w.bank.run(b.sell_shares(t, mid, outcome, sell, 0, w.fee_wallet), t)
            # The only acceptable refusal: a sale too small to cover its own fees.
            assert r.ok or (r.error is not None and r.error.name == "TradeOutOfRange")
        _check_market_invariants(w, mid)
        assert w.bank.total_lamports() == total

    if ending == "cancel":
        w.bank.ok(b.cancel_market(w.backend, mid), w.backend)
    else:
        outcome_arg = {"yes": True, "no": False, "invalid": None}.get(ending, True)
        w.resolve(mid, outcome_arg)
        if ending.startswith("dispute"):
            x = disputer
            w.bank.ok(b.initiate_dispute(x, mid), x)
            agree = ending == "dispute-flip"
            w.bank.ok(b.submit_dispute_vote(x, mid, agree), x)
            w.bank.advance(w.bank.config().dispute_voting_period)
            w.bank.ok(
                b.finalize_market(w.backend, mid, w.resolver, int(agree), int(not agree)),
                w.backend,
            )
        else:
            w.bank.advance(w.bank.config().dispute_period)
            w.bank.ok(b.finalize_market(w.backend, mid, w.resolver), w.backend)
    _check_market_invariants(w, mid)

    if withdraw_first:
        w.bank.run(b.withdraw_liquidity(w.creator, mid), w.creator)
        _check_market_invariants(w, mid)
    for t in traders:
        try:
            w.bank.position(mid, t)
        except KeyError:
            continue
        r = w.bank.run(b.claim_winnings(t, mid), t)
        assert r.ok or (r.error is not None and r.error.name == "NothingToClaim"), r.logs
        _check_market_invariants(w, mid)
    w.bank.run(b.withdraw_liquidity(w.creator, mid), w.creator)
    m = _check_market_invariants(w, mid)
    assert w.bank.total_lamports() == total
    # Everything above rent has gone to claimants, the resolver and the creator.
    assert w.bank.balance(market_pda(mid)[0]) - rent_exempt_minimum(MarketAccount.SPACE) <= (
        outstanding_claims(m)
    )


# ---- state machine ---------------------------------------------------------------------------

S = MarketState
ALLOWED = {
    (S.Proposed, S.Approved),
    (S.Approved, S.Active),
    (S.Active, S.Resolving),
    (S.Resolving, S.Disputed),
    (S.Resolving, S.Finalized),
    (S.Disputed, S.Finalized),
    *((s, S.Cancelled) for s in (S.Proposed, S.Approved, S.Active, S.Resolving, S.Disputed)),
}


def _market_in(w: World, state: MarketState) -> bytes:
    mid = w.propose()
    if state == S.Proposed:
        return mid
    if state == S.Cancelled:
        w.bank.ok(b.cancel_market(w.backend, mid), w.backend)
        return mid
    w.approve(mid)
    if state == S.Approved:
        return mid
    w.bank.ok(b.activate_market(w.creator, mid), w.creator)
    if state == S.Active:
        return mid
    w.resolve(mid, True)
    if state == S.Resolving:
        return mid
    x = w.user()
    w.bank.ok(b.initiate_dispute(x, mid), x)
    if state == S.Disputed:
        return mid
    w.bank.advance(w.bank.config().dispute_voting_period)
    w.bank.ok(b.finalize_market(w.backend, mid, w.resolver, 0, 0), w.backend)
    assert state == S.Finalized
    return mid


def _attempt(w: World, mid: bytes, target: MarketState, voters: list[Pubkey]) -> bool:
    """Try to move the market to `target` with the one instruction that does so, timed right."""
    m = w.bank.market(mid)
    cfg = w.bank.config()
    if target == S.Approved:
        for v in voters:
            w.bank.run(b.submit_proposal_vote(v, mid, True), v)
        r = w.bank.run(b.approve_market(w.backend, mid, 10, 0), w.backend)
    elif target == S.Active:
        r = w.bank.run(b.activate_market(w.creator, mid), w.creator)
    elif target == S.Resolving:
        w.bank.advance(cfg.min_resolution_delay)
        r = w.bank.run(b.resolve_market(w.resolver, mid, True, EVIDENCE), w.resolver)
    elif target == S.Disputed:
        r = w.bank.run(b.initiate_dispute(voters[0], mid), voters[0])
    elif target == S.Finalized:
        w.bank.advance(max(cfg.dispute_period, cfg.dispute_voting_period))
        counts = (0, 0) if m.state == S.Disputed else (None, None)
        r = w.bank.run(b.finalize_market(w.backend, mid, w.resolver, *counts), w.backend)
    elif target == S.Cancelled:
        r = w.bank.run(b.cancel_market(w.backend, mid), w.backend)
    else:
        return False
    if r.ok:
        assert w.state(mid) == target
    else:
        assert w.state(mid) == m.state
    return r.ok


@pytest.mark.parametrize(
    ("source", "target"), list(itertools.product(MarketState, MarketState)), ids=str
)
def test_state_machine_allows_exactly_the_designed_transitions(
    world: World, source: MarketState, target: MarketState
) -> None:
    mid = _market_in(world, source)
    assert world.state(mid) == source
    voters = [world.user() for _ in range(10)]
    assert _attempt(world, mid, target, voters) == ((source, target) in ALLOWED)


def test_market_ids_bind_distinct_accounts() -> None:
    a = hashlib.sha256(b"a").digest()
    c = hashlib.sha256(b"b").digest()
    assert market_pda(a)[0] != market_pda(c)[0]
