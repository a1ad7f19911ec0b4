"""Fixtures for the program model's unit tests: a bank with an initialized config."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from hybridmarket.program import builders as b
from hybridmarket.program.accounts import MarketState

from .bank import SOL, Bank, default_params

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


@pytest.fixture
def world() -> Iterator[World]:
    bank = Bank()
    admin, backend, fee_wallet, creator, resolver = (new_key() for _ in range(5))
    for k in (admin, backend, creator, resolver):
        bank.fund(k, 1_000 * SOL)
    bank.fund(fee_wallet, SOL)
    bank.ok(b.initialize_config(admin, default_params(backend, fee_wallet)), admin)
    yield World(bank, admin, backend, fee_wallet, creator, resolver)
