"""The indexer's event rules (pure, no database): over random histories run by the program
model, applying the emitted events, in batches of any size, yields exactly the rows computed
from the final accounts, for every market field and every position."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from hybridmarket.chain.events import parse_program_events
from hybridmarket.indexer.model import (
    BatchState,
    ChainTx,
    evidence_text,
    market_row_from_account,
    position_row_from_account,
    to_json,
)
from hybridmarket.program import builders as b
from hybridmarket.program import lmsr
from hybridmarket.program.accounts import ConfigParams
from hybridmarket.program.ids import PROGRAM_ID, market_pda

from .bank import SOL, Bank, default_params
from .conftest import EVIDENCE, World, new_key

pytestmark = pytest.mark.unit


class Recorder:
    """Runs instructions on the bank and keeps each successful one as a ChainTx."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.txs: list[ChainTx] = []

    def run(self, ix: Instruction, *signers: Pubkey) -> bool:
        r = self.w.bank.run(ix, *signers)
        n = len(self.txs)
        events = parse_program_events(list(r.logs), PROGRAM_ID).events if r.ok else ()
        err: Any = None if r.ok else {"InstructionError": [0, "failed"]}
        self.txs.append(ChainTx(f"sig{n}", self.w.bank.slot, None, err, events))
        return r.ok


def _world() -> World:
    bank = Bank()
    admin, backend, fee_wallet, creator, resolver = (new_key() for _ in range(5))
    for k in (admin, backend, creator, resolver):
        bank.fund(k, 10**9 * SOL)
    bank.fund(fee_wallet, SOL)
    params = default_params(backend, fee_wallet, min_proposal_votes=1, min_dispute_votes=1)
    bank.ok(b.initialize_config(admin, params), admin)
    return World(bank, admin, backend, fee_wallet, creator, resolver)


OP = st.tuples(
    st.sampled_from(["buy", "sell"]), st.integers(0, 3), st.booleans(), st.integers(1, 10**5)
)


@given(
    ops=st.lists(OP, max_size=20),
    ending=st.sampled_from(
        ["yes", "no", "invalid", "cancel", "dispute-flip", "dispute-keep", "open"]
    ),
    cuts=st.lists(st.integers(1, 8), min_size=1, max_size=10),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_events_rebuild_the_accounts_exactly(
    ops: list[tuple[str, int, bool, int]], ending: str, cuts: list[int]
) -> None:
    w = _world()
    rec = Recorder(w)
    mid = w.market_id()
    rec.run(b.propose_market(w.creator, mid, 100 * SOL, 70 * SOL, w.resolver), w.creator)
    voters = [w.user() for _ in range(4)]
    for i, v in enumerate(voters):
        rec.run(b.submit_proposal_vote(v, mid, i != 1), v)
    assert rec.run(b.approve_market(w.backend, mid, 3, 1), w.backend)
    assert rec.run(b.activate_market(w.creator, mid), w.creator)
    traders = [w.user(10**6 * SOL) for _ in range(4)]
    for kind, ti, outcome, size in ops:
        t = traders[ti]
        if kind == "buy":
            rec.run(b.buy_shares(t, mid, outcome, size * 10**5, 2**64 - 1, w.fee_wallet), t)
        else:
            rec.run(b.sell_shares(t, mid, outcome, size * 10**5, 0, w.fee_wallet), t)
    if ending == "cancel":
        rec.run(b.cancel_market(w.backend, mid), w.backend)
    elif ending != "open":
        w.bank.advance(w.bank.config().min_resolution_delay)
        outcome = {"yes": True, "no": False, "invalid": None}.get(ending, True)
        assert rec.run(b.resolve_market(w.resolver, mid, outcome, EVIDENCE), w.resolver)
        if ending.startswith("dispute"):
            assert rec.run(b.initiate_dispute(voters[0], mid), voters[0])
            agree = ending == "dispute-flip"
            rec.run(b.submit_dispute_vote(voters[0], mid, agree), voters[0])
            w.bank.advance(w.bank.config().dispute_voting_period)
            assert rec.run(
                b.finalize_market(w.backend, mid, w.resolver, int(agree), int(not agree)), w.backend
            )
        else:
            w.bank.advance(w.bank.config().dispute_period)
            assert rec.run(b.finalize_market(w.backend, mid, w.resolver), w.backend)
    if ending != "open":
        for t in traders:
            rec.run(b.claim_winnings(t, mid), t)
        rec.run(b.withdraw_liquidity(w.creator, mid), w.creator)

    # Apply in batches of random sizes, carrying the rows across batches as the database would.
    markets: dict[str, Any] = {}
    positions: dict[tuple[str, str], Any] = {}
    i = 0
    k = 0
    while i < len(rec.txs):
        n = cuts[k % len(cuts)]
        k += 1
        state = BatchState(PROGRAM_ID)
        state.markets = {m: dataclasses.replace(r) for m, r in markets.items()}
        state.positions = {p: dataclasses.replace(r) for p, r in positions.items()}
        for tx in rec.txs[i : i + n]:
            state.apply_tx(tx)
        assert state.failed == []
        markets.update({m: state.markets[m] for m in state.changed_markets})
        positions.update({p: state.positions[p] for p in state.changed_positions})
        i += n

    acc = w.bank.market(mid)
    expected = market_row_from_account(acc, market_pda(mid)[0], 0)
    got = markets[expected.id]
    got.last_slot = 0
    assert got == expected
    for t in traders:
        try:
            pos = w.bank.position(mid, t)
        except KeyError:
            assert (expected.id, str(t)) not in positions
            continue
        p = positions[(expected.id, str(t))]
        ref = position_row_from_account(pos, expected.id, 0)
        p.last_slot = 0
        assert p == ref


def test_an_event_for_an_unknown_market_is_refused_not_applied() -> None:
    w = _world()
    rec = Recorder(w)
    mid = w.market_id()
    rec.run(b.propose_market(w.creator, mid, 100 * SOL, 70 * SOL, w.resolver), w.creator)
    v = w.user()
    rec.run(b.submit_proposal_vote(v, mid, True), v)
    state = BatchState(PROGRAM_ID)
    state.apply_tx(rec.txs[1])  # the vote, without its market
    assert len(state.failed) == 1 and "not indexed" in state.failed[0].error
    assert state.proposal_votes == [] and state.changed_markets == set()
    assert state.transactions[0][4] == 0  # recorded, with no event applied


def test_conversions() -> None:
    assert evidence_text(bytes(46)) is None
    assert evidence_text(EVIDENCE + bytes(10)).startswith("bafkrei")
    assert evidence_text(b"\x07" * 3) == "0x070707"
    params = default_params(Pubkey.default(), Pubkey.default())
    j = to_json(params)
    assert isinstance(params, ConfigParams) and j["backend_authority"] == str(Pubkey.default())
    assert lmsr.PRICE_SCALE == 10**9
