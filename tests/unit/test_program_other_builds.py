"""Other builds of the program behave exactly like the shipped one (zig's clang, SBPFv0):

- SBPFv3 (`--sbpf-version 3`): should Agave retire v0, moving is a flag change;
- Debian's clang-19, the verified alternative compiler (other bytes, the same behaviour).

Each is built from `onchain/` and run in the SVM with the mainnet feature set against the model
on every instruction of a market's lifecycle."""

from __future__ import annotations

import shutil

import pytest

from hybridmarket.program import builders as b
from hybridmarket.program.accounts import MarketState
from hybridmarket.program.processor import process_instruction
from hybridmarket.sbf.build import build_shipped
from hybridmarket.sbf.svm import DifferentialRunner, SvmRunner
from hybridmarket.sbf.toolchain import find_compiler

from .bank import SOL, Bank, default_params
from .conftest import World, new_key

pytestmark = pytest.mark.unit


BUILDS = [
    pytest.param("zig", 3, id="sbpf-v3"),
    pytest.param(
        "clang-19",
        0,
        id="clang-19",
        marks=pytest.mark.skipif(
            shutil.which("clang-19") is None, reason="Debian's clang-19 is not installed"
        ),
    ),
]


@pytest.mark.parametrize(("compiler", "version"), BUILDS)
def test_build_runs_a_market_lifecycle_identical_to_the_model(compiler: str, version: int) -> None:
    elf = build_shipped(version=version, compiler=find_compiler(compiler))
    assert elf[:4] == b"\x7fELF"
    diff = DifferentialRunner(process_instruction, SvmRunner(elf), names=("model", compiler))
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
