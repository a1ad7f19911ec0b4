"""Fixtures for the program's unit tests: a bank with an initialized config, run by the model
and by the binary.

`runner` is parametrized: `model` is the reference model's `process_instruction`; `binary` is
the shipped program (`bank.program_elf()`) run in Agave's SVM. The binary
runs behind a strict `DifferentialRunner`: each of its instructions runs in the model too, on
the same input, and the first difference (error, account bytes and lamports, logs apart from
the compute-unit line, events) fails the test with a readable diff. The bank goes on with the
model's result, so every binary instruction is checked from exactly the model's state. Every
program test that takes `world`, `runner` or `bank` is therefore a differential test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from hybridmarket.program import builders as b
from hybridmarket.program.accounts import MarketState
from hybridmarket.program.processor import process_instruction
from hybridmarket.sbf.svm import DifferentialRunner, SvmRunner

from .bank import SOL, Bank, Runner, default_params, program_elf

# A real CIDv1 (raw, sha2-256) in binary form: 0x01 0x55 0x12 0x20 + digest.
EVIDENCE = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"evidence").digest()


def new_key() -> Pubkey:
    return Keypair().pubkey()


@dataclass
class World:
    bank: Bank
    admin: Pubkey
    backend: Pubkey
    fee_wallet: Pubkey
    creator: Pubkey
    resolver: Pubkey
    counter: int = 0
    users: list[Pubkey] = field(default_factory=list)

    def user(self, lamports: int = 100 * SOL) -> Pubkey:
        k = new_key()
        self.bank.fund(k, lamports)
        self.users.append(k)
        return k

    def market_id(self) -> bytes:
        self.counter += 1
        return hashlib.sha256(f"market-{self.counter}".encode()).digest()

    def propose(self, b_param: int = 100 * SOL, liquidity: int | None = None) -> bytes:
        mid = self.market_id()
        liq = liquidity if liquidity is not None else 70 * SOL
        self.bank.ok(b.propose_market(self.creator, mid, b_param, liq, self.resolver), self.creator)
        return mid

    def approve(self, mid: bytes, likes: int = 10, dislikes: int = 0) -> None:
        for i in range(likes + dislikes):
            v = self.user()
            self.bank.ok(b.submit_proposal_vote(v, mid, i < likes), v)
        self.bank.ok(b.approve_market(self.backend, mid, likes, dislikes), self.backend)

    def active(self, **kw: int) -> bytes:
        mid = self.propose(**kw)
        self.approve(mid)
        self.bank.ok(b.activate_market(self.creator, mid), self.creator)
        return mid

    def buy(self, mid: bytes, trader: Pubkey, outcome: bool, shares: int) -> None:
        self.bank.ok(b.buy_shares(trader, mid, outcome, shares, 2**64 - 1, self.fee_wallet), trader)

    def resolve(self, mid: bytes, outcome: bool | None) -> None:
        self.bank.advance(self.bank.config().min_resolution_delay)
        self.bank.ok(b.resolve_market(self.resolver, mid, outcome, EVIDENCE), self.resolver)

    def state(self, mid: bytes) -> MarketState:
        return self.bank.market(mid).state


@pytest.fixture(scope="session")
def binary_runner() -> DifferentialRunner:
    """The binary in the SVM, checked against the model on every instruction (one per run)."""
    return DifferentialRunner(process_instruction, SvmRunner(program_elf()), strict=True)


@pytest.fixture(scope="session", params=["model", "binary"])
def runner(request: pytest.FixtureRequest) -> Runner:
    if request.param == "model":
        return process_instruction
    diff: DifferentialRunner = request.getfixturevalue("binary_runner")
    return diff


@pytest.fixture(autouse=True)
def _binary_agrees_with_the_model(request: pytest.FixtureRequest) -> Iterator[None]:
    """A difference the test swallowed (an exception caught around a bank call) still fails."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or callspec.params.get("runner") != "binary":
        yield
        return
    diff: DifferentialRunner = request.getfixturevalue("binary_runner")
    seen = len(diff.differences)
    yield
    new = diff.differences[seen:]
    assert not new, "model and binary differ:\n" + "\n".join(d.describe() for d in new)


@pytest.fixture
def bank(runner: Runner) -> Bank:
    """An empty bank run by `runner`."""
    return Bank(runner=runner)


@pytest.fixture
def world(bank: Bank) -> Iterator[World]:
    admin, backend, fee_wallet, creator, resolver = (new_key() for _ in range(5))
    for k in (admin, backend, creator, resolver):
        bank.fund(k, 1_000 * SOL)
    bank.fund(fee_wallet, SOL)
    bank.ok(b.initialize_config(admin, default_params(backend, fee_wallet)), admin)
    yield World(bank, admin, backend, fee_wallet, creator, resolver)
