"""The program binary in Agave's SVM: the upgradeable loader's instructions and a whole deploy
with real signed transactions, and `SvmRunner` / `DifferentialRunner` behind the model's
interface (checked against programs LiteSVM bundles: SPL Token and Memo)."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import struct
from collections.abc import Sequence

import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

from hybridmarket.program import builders as b
from hybridmarket.program.accounts import GlobalConfig, MarketAccount, MarketState
from hybridmarket.program.errors import MarketError
from hybridmarket.program.ids import config_pda, market_pda
from hybridmarket.program.processor import process_instruction
from hybridmarket.program.runtime import (
    SYSTEM_PROGRAM_ID,
    AccountInfo,
    Clock,
    ProcessResult,
    rent_exempt_minimum,
)
from hybridmarket.sbf import loader
from hybridmarket.sbf.svm import (
    DifferenceError,
    DifferentialRunner,
    SvmRunner,
    UnrepresentableInput,
)

from .bank import NATIVE_LOADER_ID as NATIVE_LOADER
from .bank import SOL, default_params, program_elf
from .conftest import EVIDENCE, World

pytestmark = pytest.mark.unit
E = MarketError

TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
CLOCK = Clock(slot=5, unix_timestamp=1_700_000_000)


def _elf_length(data: bytes) -> int:
    """Where an ELF ends: its section header table is last."""
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    return int(shoff + shentsize * shnum)


@pytest.fixture(scope="module")
def token_elf() -> bytes:
    """SPL Token's ELF, from the program-data account LiteSVM ships it in."""
    svm = LiteSVM()
    acc = svm.get_account(loader.programdata_address(TOKEN))
    assert acc is not None
    data = bytes(acc.data[loader.PROGRAMDATA_METADATA_SIZE :])
    return data[: _elf_length(data)]


@pytest.fixture(scope="module")
def memo_elf() -> bytes:
    acc = LiteSVM().get_account(MEMO)
    assert acc is not None
    return bytes(acc.data)


def send(svm: LiteSVM, ixs: Sequence[Instruction], payer: Keypair, *signers: Keypair) -> object:
    msg = Message.new_with_blockhash(list(ixs), payer.pubkey(), svm.latest_blockhash())
    return svm.send_transaction(VersionedTransaction(msg, [payer, *signers]))


def deploy(svm: LiteSVM, elf: bytes, payer: Keypair, **kw: int) -> Keypair:
    """Deploy `elf` at a fresh program id through the loader with signed transactions."""
    program, buffer = Keypair(), Keypair()
    plan = loader.plan_deploy(
        elf, payer=payer.pubkey(), program_id=program.pubkey(), buffer=buffer.pubkey(), **kw
    )
    keys = {k.pubkey(): k for k in (payer, program, buffer)}
    for step in plan.steps:
        msg = Message.new_with_blockhash(
            list(step.instructions), payer.pubkey(), svm.latest_blockhash()
        )
        tx = VersionedTransaction(msg, [keys[k] for k in step.signers])
        assert len(bytes(tx)) <= loader.PACKET_DATA_SIZE
        result = svm.send_transaction(tx)
        assert isinstance(result, TransactionMetadata), (step.label, result)
    return program


# ---- loader instructions ----------------------------------------------------------------------


def test_loader_instructions_are_bincode_with_agave_account_lists() -> None:
    payer, program, buffer, auth = (Keypair().pubkey() for _ in range(4))
    pd = loader.programdata_address(program)
    assert pd == Pubkey.find_program_address([bytes(program)], loader.LOADER_ID)[0]

    init = loader.initialize_buffer(buffer, auth)
    assert bytes(init.data) == b"\0\0\0\0"
    assert [(m.pubkey, m.is_signer, m.is_writable) for m in init.accounts] == [
        (buffer, False, True),
        (auth, False, False),
    ]
    w = loader.write(buffer, auth, 0x0102, b"abc")
    assert bytes(w.data) == bytes([1, 0, 0, 0, 2, 1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]) + b"abc"
    assert [(m.is_signer, m.is_writable) for m in w.accounts] == [(False, True), (True, False)]

    d = loader.deploy_with_max_data_len(payer, program, buffer, auth, 5000)
    assert bytes(d.data) == struct.pack("<IQ", 2, 5000)
    assert [m.pubkey for m in d.accounts] == [
        payer,
        pd,
        program,
        buffer,
        Pubkey.from_string("SysvarRent111111111111111111111111111111111"),
        Pubkey.from_string("SysvarC1ock11111111111111111111111111111111"),
        SYSTEM_PROGRAM_ID,
        auth,
    ]
    assert [m.is_signer for m in d.accounts] == [True, *[False] * 6, True]
    assert [m.is_writable for m in d.accounts] == [True] * 4 + [False] * 4

    up = loader.upgrade(program, buffer, auth, payer)
    assert bytes(up.data) == struct.pack("<I", 3) and len(up.accounts) == 7
    assert bytes(loader.set_upgrade_authority(program, auth, None).data) == struct.pack("<I", 4)
    assert len(loader.set_upgrade_authority(program, auth, None).accounts) == 2
    assert bytes(loader.close_buffer(buffer, payer, auth).data) == struct.pack("<I", 5)
    assert [m.pubkey for m in loader.close_program(program, payer, auth).accounts] == [
        pd,
        payer,
        auth,
        program,
    ]
    assert bytes(loader.extend_program(program, payer, 10_240).data) == struct.pack(
        "<II", 6, 10_240
    )

    assert (loader.buffer_size(100), loader.programdata_size(100)) == (137, 145)
    assert loader.PROGRAM_SIZE == 36
    with pytest.raises(ValueError):
        loader.write(buffer, auth, 2**32, b"")


def test_deploy_plan_writes_every_byte_once_in_packet_sized_chunks() -> None:
    elf = bytes(range(256)) * 80 + b"tail"
    payer, program, buffer = (Keypair().pubkey() for _ in range(3))
    plan = loader.plan_deploy(elf, payer=payer, program_id=program, buffer=buffer)
    assert plan.max_data_len == 2 * len(elf) and plan.authority == payer
    assert plan.chunk_size == loader.MAX_WRITE_CHUNK
    labels = [s.label for s in plan.steps]
    assert labels[0] == "create buffer" and labels[-1] == "deploy"
    written = bytearray(len(elf))
    for step in plan.steps[1:-1]:
        (ix,) = step.instructions
        tag, offset, n = struct.unpack_from("<IIQ", bytes(ix.data))
        assert tag == 1 and n <= loader.MAX_WRITE_CHUNK
        written[offset : offset + n] = bytes(ix.data)[16:]
        assert step.signers == (payer,)
    assert bytes(written) == elf
    assert len(plan.steps) == 2 + -(-len(elf) // loader.MAX_WRITE_CHUNK)
    assert plan.steps[0].signers == (payer, buffer)
    assert plan.steps[-1].signers == (payer, program)
    for step in plan.steps:
        assert loader.transaction_size(payer, step.instructions) <= loader.PACKET_DATA_SIZE
    assert plan.program_lamports == rent_exempt_minimum(36)
    assert plan.programdata_lamports == rent_exempt_minimum(45 + 2 * len(elf))
    # A separate authority signs the writes and the deploy, and still fits the packet.
    auth = Keypair().pubkey()
    plan = loader.plan_deploy(
        elf, payer=payer, program_id=program, buffer=buffer, authority=auth, max_data_len=len(elf)
    )
    assert plan.steps[1].signers == (payer, auth) and plan.steps[-1].signers == (
        payer,
        program,
        auth,
    )
    assert loader.write_chunk_size(payer, buffer, auth) == loader.MAX_WRITE_CHUNK
    with pytest.raises(ValueError, match="smaller than the program"):
        loader.plan_deploy(elf, payer=payer, program_id=program, buffer=buffer, max_data_len=10)
    with pytest.raises(ValueError, match="fit a packet"):
        loader.plan_deploy(elf, payer=payer, program_id=program, buffer=buffer, chunk_size=2000)


def test_deploy_through_the_upgradeable_loader_with_signed_transactions(token_elf: bytes) -> None:
    svm = LiteSVM().with_mainnet_features()
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 100 * 10**9)
    before = svm.get_balance(payer.pubkey())
    program = deploy(svm, token_elf, payer)
    svm.warp_to_slot(svm.get_clock().slot + 1)

    acc = svm.get_account(program.pubkey())
    assert acc is not None and acc.executable and acc.owner == loader.LOADER_ID
    state = loader.decode_state(bytes(acc.data))
    assert state == loader.ProgramState(loader.programdata_address(program.pubkey()))
    pd = svm.get_account(state.programdata_address)
    assert pd is not None and pd.owner == loader.LOADER_ID
    pds = loader.decode_state(bytes(pd.data))
    assert isinstance(pds, loader.ProgramDataState)
    assert pds.upgrade_authority == payer.pubkey()
    assert pds.elf == token_elf + bytes(len(token_elf))  # max_data_len is twice the ELF
    assert svm.get_account(Keypair().pubkey()) is None
    spent = before - (svm.get_balance(payer.pubkey()) or 0)
    assert spent > rent_exempt_minimum(36) + rent_exempt_minimum(45 + 2 * len(token_elf))

    # It runs: an unknown instruction is SPL Token's InvalidInstruction (12).
    ix = Instruction(program.pubkey(), bytes([99]), [])
    result = send(svm, [ix], payer)
    assert "custom program error: 0xc" in str(result)


# ---- SvmRunner --------------------------------------------------------------------------------


def _token_account(mint: Pubkey, owner: Pubkey) -> bytes:
    """An initialized, empty SPL Token account (165 bytes)."""
    return (
        bytes(mint)
        + bytes(owner)
        + bytes(8)
        + bytes(36)
        + b"\x01"
        + bytes(12)
        + bytes(8)
        + bytes(36)
    )


def test_svm_runner_commits_what_the_runtime_commits(token_elf: bytes) -> None:
    runner = SvmRunner(token_elf, Keypair().pubkey())
    pid = runner.program_id
    owner, mint, account, dest = (Keypair().pubkey() for _ in range(4))
    rent = rent_exempt_minimum(165)
    infos = [
        AccountInfo(account, rent, pid, _token_account(mint, owner), False, True),
        AccountInfo(dest, 5 * 10**9, SYSTEM_PROGRAM_ID, b"", False, True),
        AccountInfo(owner, 0, SYSTEM_PROGRAM_ID, b"", True, False),
    ]
    close = bytes([9])  # CloseAccount
    r = runner(pid, infos, close, CLOCK)
    assert r.ok and r.events == ()
    assert [(a.key, a.lamports, a.owner, a.data) for a in r.accounts] == [
        (account, 0, SYSTEM_PROGRAM_ID, b""),
        (dest, 5 * 10**9 + rent, SYSTEM_PROGRAM_ID, b""),
        (owner, 0, SYSTEM_PROGRAM_ID, b""),
    ]
    assert [(a.is_signer, a.is_writable) for a in r.accounts] == [
        (False, True),
        (False, True),
        (True, False),
    ]
    assert r.logs[0] == f"Program {pid} invoke [1]" and r.logs[-1] == f"Program {pid} success"
    assert r.logs[-2] == f"Program {pid} consumed {r.compute_units} of 200000 compute units"
    assert r.compute_units > 0
    # The absent signer does not exist in the SVM, and a closed account is gone from it.
    assert runner.svm.get_account(owner) is None and runner.svm.get_account(account) is None

    # The same input again runs again (no AlreadyProcessed), from the input, not the SVM's state.
    again = runner(pid, infos, close, CLOCK)
    assert again == r

    # Unsigned: a builtin error; the inputs come back unchanged.
    unsigned = [*infos[:2], AccountInfo(owner, 0, SYSTEM_PROGRAM_ID, b"", False, False)]
    r = runner(pid, unsigned, close, CLOCK)
    assert r.error is not None and r.error.builtin == "MissingRequiredSignature"
    assert r.error.to_json() == "MissingRequiredSignature" and r.accounts == tuple(unsigned)
    assert r.logs[-1] == f"Program {pid} failed: missing required signature for instruction"

    # A program's custom code.
    r = runner(pid, infos, bytes([99]), CLOCK)
    assert r.error is not None and r.error.to_json() == {"Custom": 12}
    assert r.logs[-1] == f"Program {pid} failed: custom program error: 0xc"

    # A program id the runner has not seen yet is deployed on first use.
    other = Keypair().pubkey()
    infos2 = [AccountInfo(account, rent, other, _token_account(mint, owner), False, True)]
    r = runner(other, [*infos2, *infos[1:]], close, CLOCK)
    assert r.ok and r.logs[0] == f"Program {other} invoke [1]"


def test_svm_runner_reports_the_program_result_when_the_runtime_refuses_rent(
    token_elf: bytes,
) -> None:
    """A destination left rent-paying makes Agave refuse the transaction after the program
    succeeded; the runner still reports what the program did (the validator checks rent)."""
    runner = SvmRunner(token_elf, Keypair().pubkey())
    pid = runner.program_id
    owner, mint, account, dest = (Keypair().pubkey() for _ in range(4))
    rent = rent_exempt_minimum(165)
    infos = [
        AccountInfo(account, rent, pid, _token_account(mint, owner), False, True),
        AccountInfo(dest, 1, SYSTEM_PROGRAM_ID, bytes(10_000), False, True),
        AccountInfo(owner, 0, SYSTEM_PROGRAM_ID, b"", True, False),
    ]
    r = runner(pid, infos, bytes([9]), CLOCK)
    assert r.ok, r
    assert [a.lamports for a in r.accounts] == [0, 1 + rent, 0]
    assert r.logs[-1] == f"Program {pid} success" and len(r.logs) == 3


def test_svm_runner_maps_program_failures(memo_elf: bytes) -> None:
    runner = SvmRunner(memo_elf, Keypair().pubkey())
    pid = runner.program_id
    signer = Keypair().pubkey()
    r = runner(pid, [AccountInfo(signer, 10**9, SYSTEM_PROGRAM_ID, b"", True, False)], b"gm", CLOCK)
    assert r.ok and r.logs[1:3] == ("Program log: Signed by:", f"Program log: {signer}")
    r = runner(pid, [AccountInfo(signer, 10**9, SYSTEM_PROGRAM_ID, b"", False, True)], b"gm", CLOCK)
    assert r.error is not None and r.error.builtin == "MissingRequiredSignature"
    r = runner(pid, [], b"\xff", CLOCK)
    assert r.error is not None and r.error.builtin == "ProgramFailedToComplete"
    assert r.logs[-1].startswith(f"Program {pid} failed: invalid utf-8 sequence")
    # Every feature on (this Agave's pending ones too) runs the same program.
    every = SvmRunner(memo_elf, Keypair().pubkey(), feature_set="all")
    assert every(every.program_id, [], b"gm", CLOCK).ok
    with pytest.raises(ValueError):
        SvmRunner(memo_elf, feature_set="devnet")  # type: ignore[arg-type]


# ---- DifferentialRunner -----------------------------------------------------------------------


def test_differential_runner_records_every_difference(memo_elf: bytes) -> None:
    svm = SvmRunner(memo_elf, Keypair().pubkey())
    pid = svm.program_id
    payer = Keypair().pubkey()
    infos = [AccountInfo(payer, 10**9, SYSTEM_PROGRAM_ID, b"", True, True)]

    same = DifferentialRunner(svm, svm)
    same(pid, infos, b"a", CLOCK)
    assert same.compared == 1 and same.differences == []
    same.assert_no_differences()

    def wrong(p: Pubkey, i: Sequence[AccountInfo], d: bytes, c: Clock) -> ProcessResult:
        r = svm(p, i, d, c)
        moved = (r.accounts[0].with_state(lamports=r.accounts[0].lamports - 1, data=b"x"),)
        logs = (*r.logs[:1], "Program log: extra", *r.logs[1:])
        return ProcessResult(moved, logs, r.compute_units + 7, r.error, r.events)

    diff = DifferentialRunner(svm, wrong)
    ref = diff(pid, infos, b"a", CLOCK)
    assert ref.ok and ref.accounts == tuple(infos)
    (d,) = diff.differences
    assert set(d.aspects) == {f"account #0 {payer}", "logs"}
    text = diff.report()
    assert "lamports model=1000000000 binary=999999999 (-1)" in text
    assert "+Program log: extra" in text and "consumed" not in text
    with pytest.raises(DifferenceError, match="1 of 1 instructions differ"):
        diff.assert_no_differences()

    def boom(p: Pubkey, i: Sequence[AccountInfo], d: bytes, c: Clock) -> ProcessResult:
        raise RuntimeError("no binary")

    strict = DifferentialRunner(svm, boom, strict=True)
    with pytest.raises(DifferenceError, match="binary raised RuntimeError: no binary"):
        strict(pid, infos, b"a", CLOCK)
    assert strict.compared == 1 and len(strict.differences) == 1
    assert Hash.default() != svm.svm.latest_blockhash()


# ---- the shipped program, deployed and used with real keys --------------------------------------


class Chain:
    """Signed transactions against the deployed program in a LiteSVM; before each one the model
    runs on the same accounts and clock, and the chain must commit exactly what it returns."""

    def __init__(self, svm: LiteSVM, program_id: Pubkey) -> None:
        self.svm = svm
        self.program_id = program_id
        self.relayer = Keypair()  # pays every fee, so tested accounts move only by the program
        svm.airdrop(self.relayer.pubkey(), 1_000 * SOL)
        self.instructions = 0

    def fund(self, lamports: int = 1_000 * SOL) -> Keypair:
        kp = Keypair()
        self.svm.airdrop(kp.pubkey(), lamports)
        return kp

    def balance(self, key: Pubkey) -> int:
        return self.svm.get_balance(key) or 0

    def advance(self, seconds: int) -> None:
        c = self.svm.get_clock()
        c.unix_timestamp += seconds
        c.slot += max(1, seconds * 5 // 2)
        self.svm.set_clock(c)

    def _infos(self, ix: Instruction) -> list[AccountInfo]:
        out = []
        for m in ix.accounts:
            acc = self.svm.get_account(m.pubkey)
            out.append(
                AccountInfo(m.pubkey, 0, SYSTEM_PROGRAM_ID, b"", m.is_signer, m.is_writable)
                if acc is None
                else AccountInfo(
                    m.pubkey,
                    acc.lamports,
                    acc.owner,
                    bytes(acc.data),
                    m.is_signer,
                    m.is_writable,
                    acc.executable,
                )
            )
        return out

    def run(self, ix: Instruction, *signers: Keypair) -> ProcessResult:
        assert ix.program_id == self.program_id
        infos = self._infos(ix)
        c = self.svm.get_clock()
        model = process_instruction(
            self.program_id, infos, bytes(ix.data), Clock(c.slot, c.unix_timestamp)
        )
        self.svm.expire_blockhash()
        result = send(self.svm, [ix], self.relayer, *signers)
        self.instructions += 1
        after = self._infos(ix)
        if model.ok:
            assert isinstance(result, TransactionMetadata), (model.logs, result)
            assert after == list(model.accounts)
            assert _without_cu(result.logs()) == _without_cu(model.logs)
        else:
            assert isinstance(result, FailedTransactionMetadata), model.logs
            assert after == infos
            assert model.error is not None
            err = result.err()
            assert isinstance(err, TransactionErrorInstructionError), err
            assert isinstance(err.err, InstructionErrorCustom), err
            assert err.err.code == model.error.custom
            assert _without_cu(result.meta().logs()) == _without_cu(model.logs)
        return model

    def ok(self, ix: Instruction, *signers: Keypair) -> ProcessResult:
        r = self.run(ix, *signers)
        assert r.ok, r.logs
        return r

    def fails(self, code: MarketError, ix: Instruction, *signers: Keypair) -> None:
        r = self.run(ix, *signers)
        assert r.error is not None and r.error.custom == code, r.logs


def _without_cu(logs: Sequence[str]) -> list[str]:
    return [line for line in logs if " consumed " not in line]


def test_shipped_program_deploys_and_runs_a_market_lifecycle_with_real_signatures() -> None:
    elf = program_elf()
    svm = LiteSVM().with_mainnet_features()
    assert svm.get_sigverify()
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 100 * SOL)
    program = deploy(svm, elf, payer)
    pid = program.pubkey()
    svm.warp_to_slot(svm.get_clock().slot + 1)
    acc = svm.get_account(pid)
    assert acc is not None and acc.executable and acc.owner == loader.LOADER_ID
    state = loader.decode_state(bytes(acc.data))
    assert isinstance(state, loader.ProgramState)
    assert state.programdata_address == loader.programdata_address(pid)
    pd = svm.get_account(state.programdata_address)
    assert pd is not None and bytes(pd.data[loader.PROGRAMDATA_METADATA_SIZE :]).startswith(elf)
    c = svm.get_clock()
    c.unix_timestamp = 1_700_000_000
    svm.set_clock(c)

    chain = Chain(svm, pid)
    admin, backend, creator, resolver = (chain.fund() for _ in range(4))
    fee_wallet = chain.fund(SOL)
    params = default_params(backend.pubkey(), fee_wallet.pubkey(), min_proposal_votes=3)
    chain.ok(b.initialize_config(admin.pubkey(), params, pid), admin)
    cfg_key = config_pda(pid)[0]
    cfg = GlobalConfig.from_account_data(bytes(svm.get_account(cfg_key).data))  # type: ignore[union-attr]
    assert cfg.admin == admin.pubkey() and cfg.params() == params
    chain.fails(E.AlreadyInitialized, b.initialize_config(admin.pubkey(), params, pid), admin)

    mid = hashlib.sha256(b"deployed market").digest()
    market = market_pda(mid, pid)[0]
    liquidity = 70 * SOL
    chain.ok(
        b.propose_market(creator.pubkey(), mid, 100 * SOL, liquidity, resolver.pubkey(), pid),
        creator,
    )
    voters = [chain.fund(SOL) for _ in range(4)]
    for i, v in enumerate(voters):
        chain.ok(b.submit_proposal_vote(v.pubkey(), mid, i < 3, pid), v)
    chain.fails(
        E.AlreadyVoted, b.submit_proposal_vote(voters[0].pubkey(), mid, True, pid), voters[0]
    )
    chain.ok(b.approve_market(backend.pubkey(), mid, 3, 1, pid), backend)
    chain.ok(b.activate_market(creator.pubkey(), mid, pid), creator)

    def market_state() -> MarketAccount:
        return MarketAccount.from_account_data(bytes(svm.get_account(market).data))  # type: ignore[union-attr]

    assert market_state().state == MarketState.Active
    yes, no = chain.fund(), chain.fund()
    fw = fee_wallet.pubkey()
    chain.ok(b.buy_shares(yes.pubkey(), mid, True, 30 * SOL, 2**64 - 1, fw, pid), yes)
    chain.ok(b.buy_shares(no.pubkey(), mid, False, 10 * SOL, 2**64 - 1, fw, pid), no)
    chain.ok(b.buy_shares(yes.pubkey(), mid, True, 5 * SOL, 2**64 - 1, fw, pid), yes)
    chain.ok(b.sell_shares(yes.pubkey(), mid, True, 3 * SOL, 0, fw, pid), yes)
    chain.fails(
        E.InsufficientShares, b.sell_shares(no.pubkey(), mid, False, 11 * SOL, 0, fw, pid), no
    )
    chain.fails(E.SlippageExceeded, b.buy_shares(no.pubkey(), mid, True, SOL, 1, fw, pid), no)
    m = market_state()
    assert (m.shares_yes, m.shares_no, m.trades_count) == (32 * SOL, 10 * SOL, 4)

    res = resolver.pubkey()
    chain.fails(E.ResolutionTooEarly, b.resolve_market(res, mid, True, EVIDENCE, pid), resolver)
    chain.advance(params.min_resolution_delay)
    chain.ok(b.resolve_market(res, mid, True, EVIDENCE, pid), resolver)
    early = b.finalize_market(backend.pubkey(), mid, res, program_id=pid)
    chain.fails(E.FinalizeTooEarly, early, backend)
    chain.advance(params.dispute_period)
    before = chain.balance(res)
    chain.ok(b.finalize_market(backend.pubkey(), mid, res, program_id=pid), backend)
    m = market_state()
    assert m.state == MarketState.Finalized and m.final_outcome is True
    assert chain.balance(res) == before + m.resolver_fee_paid > before

    before = chain.balance(yes.pubkey())
    chain.ok(b.claim_winnings(yes.pubkey(), mid, pid), yes)
    assert chain.balance(yes.pubkey()) == before + 32 * SOL
    chain.fails(E.AlreadyClaimed, b.claim_winnings(yes.pubkey(), mid, pid), yes)
    chain.fails(E.NothingToClaim, b.claim_winnings(no.pubkey(), mid, pid), no)
    chain.ok(b.withdraw_liquidity(creator.pubkey(), mid, pid), creator)
    assert chain.balance(market) == rent_exempt_minimum(MarketAccount.SPACE)
    assert chain.instructions == 24


def test_svm_runner_refuses_inputs_it_cannot_reproduce(memo_elf: bytes) -> None:
    runner = SvmRunner(memo_elf, Keypair().pubkey())
    pid = runner.program_id
    k = Keypair().pubkey()
    fake_system = AccountInfo(SYSTEM_PROGRAM_ID, 0, SYSTEM_PROGRAM_ID, b"", executable=True)
    with pytest.raises(UnrepresentableInput, match="the SVM's own account"):
        runner(pid, [fake_system], b"gm", CLOCK)
    real = AccountInfo(SYSTEM_PROGRAM_ID, 1, NATIVE_LOADER, b"system_program", executable=True)
    assert runner(pid, [real], b"gm", CLOCK).accounts == (real,)
    with pytest.raises(UnrepresentableInput, match="read-only"):
        runner(pid, [dataclasses.replace(real, is_writable=True)], b"gm", CLOCK)
    one = AccountInfo(k, SOL, SYSTEM_PROGRAM_ID, b"", True, True)
    with pytest.raises(UnrepresentableInput, match="passed twice"):
        runner(pid, [one, AccountInfo(k, SOL, SYSTEM_PROGRAM_ID, b"", True, False)], b"gm", CLOCK)
    assert runner(pid, [one, one], b"gm", CLOCK).ok


def test_binary_matches_the_model_on_malformed_instructions(world: World) -> None:
    """Valid instructions with mutated data and substituted accounts: every refusal (and the
    odd success) must be the same, byte for byte, in the model and the binary (the `binary`
    parametrization compares them; `model` only checks the bank's invariants)."""
    w = world
    mid = w.active()
    w.buy(mid, w.creator, True, SOL)
    fw = w.fee_wallet
    ixs = [
        (b.buy_shares(w.creator, mid, True, SOL, 2**64 - 1, fw), w.creator),
        (b.sell_shares(w.creator, mid, True, SOL // 2, 0, fw), w.creator),
        (b.set_paused(w.admin, False), w.admin),
        (b.update_config(w.admin, default_params(w.backend, fw)), w.admin),
        (b.resolve_market(w.resolver, mid, True, EVIDENCE), w.resolver),
        (b.approve_market(w.backend, mid, 1, 0), w.backend),
        (b.propose_market(w.creator, w.market_id(), 100 * SOL, 70 * SOL, w.resolver), w.creator),
        (b.submit_proposal_vote(w.creator, w.propose(), True), w.creator),
        (b.cancel_market(w.backend, w.propose()), w.backend),
        (b.claim_winnings(w.creator, mid), w.creator),
    ]
    swaps = [config_pda()[0], market_pda(mid)[0], SYSTEM_PROGRAM_ID, w.creator, w.fee_wallet]
    rng = random.Random(7)
    for _ in range(600):
        ix, signer = rng.choice(ixs)
        data = bytearray(ix.data)
        op = rng.randrange(4)
        if op == 0:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 1:
            data = data[: rng.randrange(len(data) + 1)]
        elif op == 2:
            data.append(rng.randrange(256))
        else:
            data[rng.randrange(8, len(data)) if len(data) > 8 else 0] ^= 1 << rng.randrange(8)
        metas = list(ix.accounts)
        if rng.random() < 0.3:
            i = rng.randrange(len(metas))
            key = rng.choice([*swaps, Keypair().pubkey()])
            metas[i] = AccountMeta(key, rng.random() < 0.5, rng.random() < 0.5)
        if rng.random() < 0.1:
            metas = metas[: rng.randrange(len(metas) + 1)]
        w.bank.run(Instruction(ix.program_id, bytes(data), metas), signer)
