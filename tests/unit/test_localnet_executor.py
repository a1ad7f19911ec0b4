"""The validator's runtime rules without sockets: system program, fees, rent, program-result
checks, log truncation, blockhash expiry."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import (
    AssignParams,
    CreateAccountParams,
    TransferParams,
    assign,
    create_account,
    transfer,
)
from solders.transaction import VersionedTransaction

from hybridmarket.localnet.bank import MAX_PROCESSING_AGE, Bank
from hybridmarket.localnet.errors import transaction_error_text
from hybridmarket.localnet.executor import (
    EMPTY_ACCOUNT,
    Account,
    Executor,
    LogCollector,
    _verify_program_result,
    compute_fee,
    parse_wire,
)
from hybridmarket.localnet.genesis import genesis_accounts
from hybridmarket.localnet.store import LedgerStore
from hybridmarket.program.runtime import SYSTEM_PROGRAM_ID, AccountInfo, Clock, rent_exempt_minimum

pytestmark = pytest.mark.unit
SOL = 1_000_000_000
CLOCK = Clock(slot=1, unix_timestamp=1_700_000_000)


def _tx(ixs: list, payer: Keypair, *signers: Keypair) -> VersionedTransaction:
    return VersionedTransaction(
        Message.new_with_blockhash(ixs, payer.pubkey(), Hash.default()), [payer, *signers]
    )


def _run(state: dict[Pubkey, Account], tx: VersionedTransaction):
    ex = Executor(None, None)
    accounts = {SYSTEM_PROGRAM_ID: Account(1, Pubkey.default(), b"", True), **state}
    return ex.execute(parse_wire(bytes(tx), ex.builtin_programs), accounts.get, CLOCK)


def test_transfer_and_fee() -> None:
    a, b = Keypair(), Keypair()
    out = _run(
        {a.pubkey(): Account(2 * SOL, SYSTEM_PROGRAM_ID, b"")},
        _tx(
            [transfer(TransferParams(from_pubkey=a.pubkey(), to_pubkey=b.pubkey(), lamports=SOL))],
            a,
        ),
    )
    assert out.err is None and out.fee == 5000 and out.compute_units == 150
    assert out.writes[a.pubkey()].lamports == SOL - 5000
    assert out.writes[b.pubkey()].lamports == SOL


def test_fee_payer_rules() -> None:
    a = Keypair()
    ix = transfer(TransferParams(from_pubkey=a.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=1))
    assert _run({}, _tx([ix], a)).err == "AccountNotFound"
    assert (
        _run({a.pubkey(): Account(4999, SYSTEM_PROGRAM_ID, b"")}, _tx([ix], a)).err
        == "InsufficientFundsForFee"
    )
    owned = Account(SOL, Pubkey.new_unique(), b"")
    assert _run({a.pubkey(): owned}, _tx([ix], a)).err == "InvalidAccountForFee"
    low = _run({a.pubkey(): Account(890_880 + 4000, SYSTEM_PROGRAM_ID, b"")}, _tx([ix], a))
    assert not low.loaded and low.err == {"InsufficientFundsForRent": {"account_index": 0}}


def test_create_account_assign_and_rent() -> None:
    a, new = Keypair(), Keypair()
    owner = Pubkey.new_unique()
    ok = create_account(
        CreateAccountParams(
            from_pubkey=a.pubkey(),
            to_pubkey=new.pubkey(),
            lamports=rent_exempt_minimum(10),
            space=10,
            owner=owner,
        )
    )
    out = _run({a.pubkey(): Account(SOL, SYSTEM_PROGRAM_ID, b"")}, _tx([ok], a, new))
    assert out.err is None and out.writes[new.pubkey()] == Account(
        rent_exempt_minimum(10), owner, bytes(10)
    )
    short = create_account(
        CreateAccountParams(
            from_pubkey=a.pubkey(),
            to_pubkey=new.pubkey(),
            lamports=rent_exempt_minimum(10) - 1,
            space=10,
            owner=owner,
        )
    )
    out = _run({a.pubkey(): Account(SOL, SYSTEM_PROGRAM_ID, b"")}, _tx([short], a, new))
    assert out.err == {"InsufficientFundsForRent": {"account_index": 1}}
    assert out.writes == {a.pubkey(): Account(SOL - 10_000, SYSTEM_PROGRAM_ID, b"")}  # fee only
    taken = _run(
        {
            a.pubkey(): Account(SOL, SYSTEM_PROGRAM_ID, b""),
            new.pubkey(): Account(SOL, SYSTEM_PROGRAM_ID, b""),
        },
        _tx([ok], a, new),
    )
    assert taken.err == {"InstructionError": [0, {"Custom": 0}]}
    assert (
        taken.logs[1]
        == f"Create Account: account Address {{ address: {new.pubkey()}, base: None }} already in use"
    )
    out = _run(
        {a.pubkey(): Account(SOL, SYSTEM_PROGRAM_ID, b"")},
        _tx([assign(AssignParams(pubkey=a.pubkey(), owner=owner))], a),
    )
    assert out.err is None and out.writes[a.pubkey()].owner == owner


def test_missing_signature_and_priority_fee() -> None:
    a, other = Keypair(), Keypair()
    data = bytes(
        transfer(TransferParams(from_pubkey=other.pubkey(), to_pubkey=a.pubkey(), lamports=1)).data
    )
    steal = Instruction(
        SYSTEM_PROGRAM_ID,
        data,
        [AccountMeta(other.pubkey(), False, True), AccountMeta(a.pubkey(), False, True)],
    )
    out = _run(
        {
            a.pubkey(): Account(SOL, SYSTEM_PROGRAM_ID, b""),
            other.pubkey(): Account(SOL, SYSTEM_PROGRAM_ID, b""),
        },
        _tx([steal], a),
    )
    assert out.err == {"InstructionError": [0, "MissingRequiredSignature"]}
    assert out.logs[1] == f"Transfer: `from` account {other.pubkey()} must sign"
    assert out.logs[2].endswith("failed: missing required signature for instruction")
    ixs = [
        set_compute_unit_limit(100_000),
        set_compute_unit_price(10_000),
        transfer(TransferParams(from_pubkey=a.pubkey(), to_pubkey=other.pubkey(), lamports=1)),
    ]
    assert compute_fee(parse_wire(bytes(_tx(ixs, a)))) == 5000 + 1000


def test_program_result_checks() -> None:
    pid = Pubkey.new_unique()
    mine = AccountInfo(Pubkey.new_unique(), 100, pid, b"x", is_writable=True)
    other = AccountInfo(Pubkey.new_unique(), 100, Pubkey.new_unique(), b"", is_writable=True)
    ro = AccountInfo(Pubkey.new_unique(), 100, pid, b"x")
    signer = AccountInfo(
        Pubkey.new_unique(), 100, SYSTEM_PROGRAM_ID, b"", is_signer=True, is_writable=True
    )
    assert (
        _verify_program_result(
            pid, [mine, signer], [mine.with_state(lamports=150), signer.with_state(lamports=50)]
        )
        is None
    )
    assert (
        _verify_program_result(pid, [mine], [mine.with_state(lamports=99)])
        == "UnbalancedInstruction"
    )
    assert (
        _verify_program_result(
            pid, [ro, mine], [ro.with_state(lamports=90), mine.with_state(lamports=110)]
        )
        == "ReadonlyLamportChange"
    )
    assert _verify_program_result(pid, [ro], [ro.with_state(data=b"y")]) == "ReadonlyDataModified"
    assert (
        _verify_program_result(
            pid, [other, mine], [other.with_state(lamports=90), mine.with_state(lamports=110)]
        )
        == "ExternalAccountLamportSpend"
    )
    assert (
        _verify_program_result(pid, [other], [other.with_state(data=b"z")])
        == "ExternalAccountDataModified"
    )
    assert (
        _verify_program_result(pid, [other], [other.with_state(owner=pid)]) == "ModifiedProgramId"
    )
    fresh = AccountInfo(Pubkey.new_unique(), 0, SYSTEM_PROGRAM_ID, b"", is_writable=True)
    assert (
        _verify_program_result(
            pid,
            [fresh, mine],
            [fresh.with_state(lamports=10, owner=pid, data=b"new"), mine.with_state(lamports=90)],
        )
        is None
    )


def test_log_truncation() -> None:
    logs = LogCollector()
    for _ in range(200):
        logs.add("x" * 99)
    assert logs.lines[-1] == "Log truncated" and logs.lines.count("Log truncated") == 1
    assert sum(len(line) for line in logs.lines[:-1]) < 10_000


def test_error_texts() -> None:
    assert transaction_error_text({"InstructionError": [2, {"Custom": 6012}]}) == (
        "Error processing Instruction 2: custom program error: 0x177c"
    )
    assert transaction_error_text("BlockhashNotFound") == "Blockhash not found"


def test_blockhash_expiry(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "l.sqlite")
    try:
        bank = Bank(store, Executor(None, None), finalize_depth=2)
        bank.create_genesis(genesis_accounts(Pubkey.new_unique(), None), Hash.new_unique())
        h = bank.current.blockhash
        for _ in range(MAX_PROCESSING_AGE):
            bank.close_slot()
        assert bank.blockhash_valid(h)
        bank.close_slot()
        assert not bank.blockhash_valid(h)
        assert bank.account_at(Pubkey.new_unique(), 0) is None
        assert EMPTY_ACCOUNT.lamports == 0
    finally:
        store.close()
