"""The program built as SBPFv3 (`--sbpf-version 3`) behaves exactly like the shipped SBPFv0
binary: should Agave retire v0, moving is a flag change. Built from `onchain/` with the pinned
compiler, run in the SVM with the mainnet feature set against the model on every instruction."""

from __future__ import annotations

import pytest

from hybridmarket.program import builders as b
from hybridmarket.program.accounts import MarketState
from hybridmarket.program.processor import process_instruction
from hybridmarket.sbf.build import build_shipped
from hybridmarket.sbf.svm import DifferentialRunner, SvmRunner

from .bank import SOL, Bank, default_params
from .conftest import World, new_key

pytestmark = pytest.mark.unit


def test_v3_build_runs_a_market_lifecycle_identical_to_the_model() -> None:
    elf = build_shipped(version=3)
    assert elf[:4] == b"\x7fELF"
    diff = DifferentialRunner(process_instruction, SvmRunner(elf), names=("model", "v3"))
    bank = Bank(runner=diff)
    admin, backend, fee, creator, resolver = (new_key() for _ in range(5))
    for k in (admin, backend, creator, resolver):
        bank.fund(k, 1_000 * SOL)
    bank.fund(fee, SOL)
    bank.ok(b.initialize_config(admin, default_params(backend, fee)), admin)
    world = World(bank, admin, backend, fee, creator, resolver)
    mid = world.active()
    yes, no = world.user(), world.user()
    world.buy(mid, yes, True, 5 * SOL)
    world.buy(mid, no, False, 2 * SOL)
    bank.ok(b.sell_shares(yes, mid, True, SOL, 0, fee), yes)
    bank.fails(6012, b.sell_shares(no, mid, False, SOL, 10 * SOL, fee), no)  # slippage
    world.resolve(mid, True)
    bank.advance(bank.config().dispute_period)
    bank.ok(b.finalize_market(backend, mid, resolver), backend)
    assert world.state(mid) == MarketState.Finalized
    bank.ok(b.claim_winnings(yes, mid), yes)
    bank.fails(6025, b.claim_winnings(no, mid), no)  # NO lost: nothing to claim
    bank.ok(b.withdraw_liquidity(creator, mid), creator)
    diff.assert_no_differences()
    assert diff.compared == 23  # config, propose, 10 votes, approve, activate and the rest
