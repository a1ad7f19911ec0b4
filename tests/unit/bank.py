"""An in-memory bank that runs the program the way a runtime would, for unit tests.

It is deliberately tiny: accounts in a dict, one instruction at a time, signer flags taken from
the keys that "signed", and the runtime's own checks (lamports conserved, read-only accounts
untouched) asserted on every call. The program is a runner with the model's signature: the
model's `process_instruction` by default; the conftest also hands it the binary (run in the SVM
and compared with the model on every instruction). The real runtime is the local validator.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from hybridmarket.program.accounts import (
    AccountState,
    ConfigParams,
    GlobalConfig,
    MarketAccount,
    UserPosition,
    VoteRecord,
)
from hybridmarket.program.ids import PROGRAM_ID, config_pda, market_pda, position_pda, vote_pda
from hybridmarket.program.processor import process_instruction
from hybridmarket.program.runtime import (
    SYSTEM_PROGRAM_ID,
    AccountInfo,
    Clock,
    ProcessResult,
)
from hybridmarket.sbf import program_binary

SOL = 1_000_000_000
NATIVE_LOADER_ID = Pubkey.from_string("NativeLoader1111111111111111111111111111111")
Runner = Callable[[Pubkey, Sequence[AccountInfo], bytes, Clock], ProcessResult]


@dataclass
class Acc:
    lamports: int = 0
    owner: Pubkey = SYSTEM_PROGRAM_ID
    data: bytes = b""


# The system program's account as a validator holds it (the SVM's own, byte for byte).
SYSTEM_PROGRAM_ACCOUNT = Acc(1, NATIVE_LOADER_ID, b"system_program")


@dataclass
class Bank:
    accounts: dict[Pubkey, Acc] = field(default_factory=dict)
    now: int = 1_700_000_000
    slot: int = 1
    runner: Runner = process_instruction

    def fund(self, key: Pubkey, lamports: int) -> None:
        self.accounts.setdefault(key, Acc()).lamports += lamports

    def balance(self, key: Pubkey) -> int:
        return self.accounts.get(key, Acc()).lamports

    def total_lamports(self) -> int:
        return sum(a.lamports for a in self.accounts.values())

    def advance(self, seconds: int) -> None:
        self.now += seconds
        self.slot += max(1, seconds * 5 // 2)

    def run(self, ix: Instruction, *signers: Pubkey) -> ProcessResult:
        # Flags are per key, as a transaction's message compiles them for every position.
        writable = {m.pubkey for m in ix.accounts if m.is_writable}
        signing = {m.pubkey for m in ix.accounts if m.is_signer and m.pubkey in signers}
        infos = []
        for meta in ix.accounts:
            builtin = meta.pubkey == SYSTEM_PROGRAM_ID
            a = SYSTEM_PROGRAM_ACCOUNT if builtin else self.accounts.get(meta.pubkey, Acc())
            infos.append(
                AccountInfo(
                    key=meta.pubkey,
                    lamports=a.lamports,
                    owner=a.owner,
                    data=a.data,
                    is_signer=meta.pubkey in signing,
                    is_writable=meta.pubkey in writable and not builtin,  # the runtime demotes it
                    executable=builtin,
                )
            )
        before = sum({i.key: i.lamports for i in infos}.values())
        result = self.runner(ix.program_id, infos, bytes(ix.data), Clock(self.slot, self.now))
        after = {a.key: a for a in result.accounts}
        assert sum(a.lamports for a in after.values()) == before, "lamports not conserved"
        for old in infos:
            new = after[old.key]
            if not old.is_writable:
                assert (new.lamports, new.owner, new.data) == (old.lamports, old.owner, old.data)
        if result.ok:
            for key, a in after.items():
                if not a.executable:
                    self.accounts[key] = Acc(a.lamports, a.owner, a.data)
        else:
            assert tuple(result.accounts) == tuple(infos), "a failed instruction changed state"
        self.slot += 1
        return result

    def ok(self, ix: Instruction, *signers: Pubkey) -> ProcessResult:
        r = self.run(ix, *signers)
        assert r.ok, "\n".join(r.logs)
        return r

    def fails(self, code: int, ix: Instruction, *signers: Pubkey) -> ProcessResult:
        r = self.run(ix, *signers)
        assert r.error is not None, f"expected error {code}, got success"
        assert r.error.custom == code, f"expected {code}, got {r.error}\n" + "\n".join(r.logs)
        return r

    def load(self, key: Pubkey, cls: type[AccountState]) -> AccountState:
        return cls.from_account_data(self.accounts[key].data)

    def config(self) -> GlobalConfig:
        c = self.load(config_pda()[0], GlobalConfig)
        assert isinstance(c, GlobalConfig)
        return c

    def market(self, market_id: bytes) -> MarketAccount:
        m = self.load(market_pda(market_id)[0], MarketAccount)
        assert isinstance(m, MarketAccount)
        return m

    def position(self, market_id: bytes, user: Pubkey) -> UserPosition:
        p = self.load(position_pda(market_pda(market_id)[0], user)[0], UserPosition)
        assert isinstance(p, UserPosition)
        return p

    def vote(self, market_id: bytes, user: Pubkey, kind: int) -> VoteRecord:
        v = self.load(vote_pda(market_pda(market_id)[0], user, kind)[0], VoteRecord)
        assert isinstance(v, VoteRecord)
        return v


def program_elf() -> bytes:
    """The binary under test: the shipped one, or the ELF at $HYBRIDMARKET_PROGRAM_SO (to test a
    build of onchain/ before shipping it)."""
    path = os.environ.get("HYBRIDMARKET_PROGRAM_SO")
    return Path(path).read_bytes() if path else program_binary()


def default_params(backend: Pubkey, fee_wallet: Pubkey, **changes: object) -> ConfigParams:
    return ConfigParams.default(backend, fee_wallet).with_changes(**changes)


__all__ = ["PROGRAM_ID", "SOL", "Bank", "Runner", "default_params", "program_elf"]
