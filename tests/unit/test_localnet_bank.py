"""The validator's bank on Agave's SVM, without sockets: what is recorded, dropped and undone,
fees, rent, compute budgets, the deployed binary, blockhash expiry and a restore from disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from hybridmarket.localnet.bank import MAX_PROCESSING_AGE, Bank
from hybridmarket.localnet.errors import transaction_error_text
from hybridmarket.localnet.executor import SvmExecutor, inner_instructions_json, parse_wire
from hybridmarket.localnet.genesis import (
    FAUCET_LAMPORTS,
    GenesisKeys,
    config_transaction,
    deploy_transactions,
    genesis_accounts,
)
from hybridmarket.localnet.store import LedgerStore, LedgerVersionError
from hybridmarket.program import builders
from hybridmarket.program.accounts import ConfigParams
from hybridmarket.program.ids import PROGRAM_ID, config_pda
from hybridmarket.program.runtime import rent_exempt_minimum
from hybridmarket.sbf import loader, program_binary

pytestmark = pytest.mark.unit
SOL = 1_000_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LedgerStore]:
    s = LedgerStore(tmp_path / "ledger.sqlite")
    yield s
    s.close()


def _keys() -> GenesisKeys:
    return GenesisKeys(Keypair(), Keypair(), Keypair(), Keypair(), {})


def _bank(store: LedgerStore, keys: GenesisKeys, program: bool = False) -> Bank:
    bank = Bank(store, SvmExecutor(), finalize_depth=2)
    pid = PROGRAM_ID if program else None
    bank.create_genesis(genesis_accounts(keys.faucet.pubkey(), pid), Hash.new_unique())
    return bank


def _tx(bank: Bank, ixs: list[Instruction], payer: Keypair, *signers: Keypair):
    msg = Message.new_with_blockhash(ixs, payer.pubkey(), bank.current.blockhash)
    return parse_wire(bytes(VersionedTransaction(msg, [payer, *signers])))


def _pay(src: Keypair, dst: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=src.pubkey(), to_pubkey=dst, lamports=lamports))


def _svm_lamports(bank: Bank, pk: Pubkey) -> int:
    return bank.executor.svm.get_balance(pk) or 0


def test_transfer_is_recorded_with_the_svm_fee_units_and_balances(store: LedgerStore) -> None:
    keys = _keys()
    bank = _bank(store, keys)
    dest = Pubkey.new_unique()
    outcome, rec = bank.process(_tx(bank, [_pay(keys.faucet, dest, SOL)], keys.faucet))
    assert rec is not None and outcome.err is None
    assert outcome.fee == 5000 and outcome.compute_units == 150
    assert outcome.pre_balances == [FAUCET_LAMPORTS, 0, 1]
    assert outcome.post_balances == [FAUCET_LAMPORTS - SOL - 5000, SOL, 1]
    assert outcome.logs == [
        "Program 11111111111111111111111111111111 invoke [1]",
        "Program 11111111111111111111111111111111 success",
    ]
    assert set(outcome.writes) == {keys.faucet.pubkey(), dest}
    # The bank's copy and the SVM agree; the previous slot still sees the old state.
    assert bank.accounts[dest].lamports == SOL == _svm_lamports(bank, dest)
    assert bank.account_at(dest, bank.current.slot - 1) is None
    # The builtins are the SVM's own.
    system = bank.account(Pubkey.default())
    assert system is not None and system.executable


def test_unloadable_transactions_are_dropped_and_change_nothing(store: LedgerStore) -> None:
    keys = _keys()
    bank = _bank(store, keys)
    broke, stranger = Keypair(), Pubkey.new_unique()
    outcome, rec = bank.process(_tx(bank, [_pay(broke, stranger, 1)], broke))
    assert (outcome.loaded, outcome.err, rec) == (False, "AccountNotFound", None)
    # A payer that would fall below the rent-exempt minimum by paying the fee cannot pay it
    # (a system account holding less than the fee cannot exist: rent).
    held = rent_exempt_minimum(0) + 4999
    bank.process(_tx(bank, [_pay(keys.faucet, broke.pubkey(), held)], keys.faucet))
    outcome, rec = bank.process(_tx(bank, [_pay(broke, stranger, 1)], broke))
    assert (outcome.loaded, rec) == (False, None)
    assert outcome.err == {"InsufficientFundsForRent": {"account_index": 0}}
    assert _svm_lamports(bank, broke.pubkey()) == held == bank.accounts[broke.pubkey()].lamports
    # A forged signature: the SVM verifies signatures, and refuses it before the fee.
    tx = _tx(bank, [_pay(keys.faucet, stranger, SOL)], keys.faucet)
    forged = bytearray(tx.raw)
    forged[1] ^= 1
    outcome, rec = bank.process(parse_wire(bytes(forged)))
    assert (outcome.loaded, outcome.err, rec) == (False, "SignatureFailure", None)
    # Replays and stale blockhashes are the bank's checks.
    assert bank.process(tx)[1] is not None
    assert bank.process(tx)[0].err == "AlreadyProcessed"
    assert (
        transaction_error_text("AlreadyProcessed") == "This transaction has already been processed"
    )


def test_a_failed_transaction_keeps_only_its_fee_and_preflight_undoes_even_that(
    store: LedgerStore,
) -> None:
    keys = _keys()
    bank = _bank(store, keys)
    payer = Keypair()
    bank.process(_tx(bank, [_pay(keys.faucet, payer.pubkey(), SOL)], keys.faucet))
    too_much = _tx(bank, [_pay(payer, Pubkey.new_unique(), 2 * SOL)], payer)
    outcome, rec = bank.preflight(too_much)
    assert rec is None and outcome.err == {"InstructionError": [0, {"Custom": 1}]}
    assert _svm_lamports(bank, payer.pubkey()) == SOL == bank.accounts[payer.pubkey()].lamports
    outcome, rec = bank.process(too_much)
    assert rec is not None and outcome.err == {"InstructionError": [0, {"Custom": 1}]}
    assert outcome.logs[1] == f"Transfer: insufficient lamports {SOL - 5000}, need {2 * SOL}"
    assert outcome.post_balances[:2] == [SOL - 5000, 0]
    assert (
        bank.accounts[payer.pubkey()].lamports == SOL - 5000 == _svm_lamports(bank, payer.pubkey())
    )
    assert transaction_error_text(outcome.err) == (
        "Error processing Instruction 0: custom program error: 0x1"
    )
    # Rent: a new account below the rent-exempt minimum is refused by the runtime.
    outcome, _ = bank.process(_tx(bank, [_pay(payer, Pubkey.new_unique(), 1000)], payer))
    assert outcome.err == {"InsufficientFundsForRent": {"account_index": 1}}


def test_priority_fees_are_what_get_fee_for_message_says(store: LedgerStore) -> None:
    keys = _keys()
    bank = _bank(store, keys)
    for ixs in (
        [set_compute_unit_price(1_000_000)],
        [set_compute_unit_limit(10_000), set_compute_unit_price(3_333)],
        [],
    ):
        msg = Message.new_with_blockhash(
            [*ixs, _pay(keys.faucet, Pubkey.new_unique(), SOL)],
            keys.faucet.pubkey(),
            bank.current.blockhash,
        )
        outcome, rec = bank.process(parse_wire(bytes(VersionedTransaction(msg, [keys.faucet]))))
        assert rec is not None and outcome.err is None
        charged = outcome.pre_balances[0] - outcome.post_balances[0] - SOL
        assert outcome.fee == bank.executor.fee_for_message(msg) == charged


def _deployed(store: LedgerStore, keys: GenesisKeys) -> Bank:
    bank = _bank(store, keys, program=True)
    for tx in deploy_transactions(keys, PROGRAM_ID, program_binary(), bank.current.blockhash):
        outcome, rec = bank.process(parse_wire(bytes(tx)))
        assert rec is not None and outcome.err is None, outcome.logs
    bank.process(_tx(bank, [_pay(keys.faucet, keys.admin.pubkey(), 10 * SOL)], keys.faucet))
    bank.close_slot()
    return bank


def test_the_binary_runs_under_the_compute_budget_it_is_given(store: LedgerStore) -> None:
    keys = _keys()
    bank = _deployed(store, keys)
    program = bank.account(PROGRAM_ID)
    assert program is not None and program.executable and program.owner == loader.LOADER_ID
    params = ConfigParams.default(keys.backend.pubkey(), keys.fee_wallet.pubkey())
    config_ix = builders.initialize_config(keys.admin.pubkey(), params, PROGRAM_ID)
    # Too few units: the SVM's meter stops the program, the fee is kept, nothing else.
    starved = _tx(bank, [set_compute_unit_limit(1_000), config_ix], keys.admin)
    outcome, rec = bank.process(starved)
    assert rec is not None
    assert outcome.err == {"InstructionError": [1, "ComputationalBudgetExceeded"]}
    assert f"Program {PROGRAM_ID} consumed 850 of 850 compute units" in outcome.logs
    assert outcome.logs[-1] == f"Program {PROGRAM_ID} failed: Computational budget exceeded"
    assert bank.account(config_pda()[0]) is None
    # A raised limit shows in the program's own `consumed N of M` line.
    raised = _tx(bank, [set_compute_unit_limit(1_400_000), config_ix], keys.admin)
    outcome, rec = bank.process(raised)
    assert rec is not None and outcome.err is None, outcome.logs
    consumed = [line for line in outcome.logs if " consumed " in line]
    assert consumed and consumed[0].endswith(f" of {1_400_000 - 150} compute units")
    assert outcome.compute_units > 150
    config = bank.account(config_pda()[0])
    assert config is not None and config.owner == PROGRAM_ID
    # The CPI (the system program creating the config account), as getTransaction shows it.
    (inner,) = inner_instructions_json(outcome.inner_instructions)
    assert inner["index"] == 1 and inner["instructions"][0]["stackHeight"] == 2


def test_restore_from_the_store_runs_the_deployed_program(tmp_path: Path) -> None:
    keys = _keys()
    store = LedgerStore(tmp_path / "ledger.sqlite")
    bank = _deployed(store, keys)
    init = config_transaction(keys, PROGRAM_ID, {}, bank.current.blockhash)
    assert init is not None
    assert bank.process(parse_wire(bytes(init)))[0].err is None
    bank.close_slot()
    store.close()
    store = LedgerStore(tmp_path / "ledger.sqlite")
    try:
        again = Bank(store, SvmExecutor(), finalize_depth=2)
        again.load()
        assert again.account(config_pda()[0]) == bank.account(config_pda()[0])
        # The restored SVM runs the restored program: a second initialize_config is refused
        # by the program itself (AlreadyInitialized), not by the loader.
        init = config_transaction(keys, PROGRAM_ID, {}, again.current.blockhash)
        assert init is not None
        outcome, _ = again.process(parse_wire(bytes(init)))
        assert outcome.err == {"InstructionError": [0, {"Custom": 6003}]}
    finally:
        store.close()


def test_blockhash_expiry(store: LedgerStore) -> None:
    bank = _bank(store, _keys())
    h = bank.current.blockhash
    for _ in range(MAX_PROCESSING_AGE):
        bank.close_slot()
    assert bank.blockhash_valid(h)
    bank.close_slot()
    assert not bank.blockhash_valid(h)
    assert bank.account_at(Pubkey.new_unique(), 0) is None
    assert rent_exempt_minimum(0) == bank.executor.svm.minimum_balance_for_rent_exemption(0)


def test_a_ledger_of_another_version_is_refused_with_what_to_do(store: LedgerStore) -> None:
    store.check_version()  # a new ledger is stamped with this version
    _bank(store, _keys())
    store.check_version()
    store.set_meta("ledger_version", "1")
    with pytest.raises(LedgerVersionError, match=r"version 1 .* start a fresh one with --reset"):
        store.check_version()
