"""The program binary against the model over random histories on the embedded validator.

The validator runs the shipped binary in Agave's SVM; this test watches every transaction it
records (a `BankListener`) and replays each program instruction in the Python model from the
same accounts and clock the SVM started from. A workload of thousands of transactions over
real sockets (trades, votes, resolutions, disputes, cancellations, claims, withdrawals and
deliberate failures) must show no difference at all (accounts, error, logs, events), and
exactly the instructions the report says executed must have been compared.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.localnet.bank import SlotState, TxRecord
from hybridmarket.localnet.executor import EMPTY_ACCOUNT
from hybridmarket.program.ids import PROGRAM_ID
from hybridmarket.program.instructions import BY_NAME
from hybridmarket.program.processor import process_instruction
from hybridmarket.program.runtime import AccountInfo, Clock, InstructionError, ProcessResult
from hybridmarket.sbf.svm import Difference, _events, compare_results, instruction_name
from hybridmarket.sim import TxStatus, WorkloadConfig, clock_advancer, run_workload, verify_report
from tests.integration.localnet_fixtures import running_validator

pytestmark = pytest.mark.integration


class ModelReplay:
    """Replays every recorded single-program-instruction transaction in the model and keeps
    what differs from what the SVM committed."""

    def __init__(self, block_time: Callable[[], int]) -> None:
        self.block_time = block_time
        self.calls: Counter[str] = Counter()
        self.differences: list[Difference] = []

    def on_transaction(self, rec: TxRecord) -> None:
        ptx, o = rec.ptx, rec.outcome
        program = [
            (i, ix) for i, ix in enumerate(ptx.instructions) if ptx.keys[ix[0]] == PROGRAM_ID
        ]
        if not program:
            return
        assert len(ptx.instructions) == 1, "the workload sends one instruction per transaction"
        index, (_pidx, accts, data) = program[0]
        infos = []
        for i in accts:
            pre = o.pre_accounts[i] or EMPTY_ACCOUNT
            infos.append(
                AccountInfo(
                    key=ptx.keys[i],
                    # Instructions run after the fee payer has paid.
                    lamports=pre.lamports - (o.fee if i == 0 else 0),
                    owner=pre.owner,
                    data=pre.data,
                    is_signer=i < ptx.num_signers,
                    is_writable=ptx.writable[i] and not pre.executable,
                    executable=pre.executable,
                )
            )
        clock = Clock(slot=rec.slot, unix_timestamp=self.block_time())
        reference = process_instruction(PROGRAM_ID, infos, data, clock)
        if o.err is None:
            posts = []
            for info in infos:
                if info.key in o.writes:
                    state = o.writes[info.key] or EMPTY_ACCOUNT
                    posts.append(
                        info.with_state(lamports=state.lamports, owner=state.owner, data=state.data)
                    )
                else:
                    posts.append(info)
            error = None
        else:
            assert o.err["InstructionError"][0] == index, o.err
            inner = o.err["InstructionError"][1]
            error = (
                InstructionError(custom=inner["Custom"])
                if isinstance(inner, dict)
                else InstructionError(builtin=inner)
            )
            posts = list(infos)
        candidate = ProcessResult(
            tuple(posts),
            tuple(o.logs),
            o.compute_units,
            error,
            _events(o.logs) if not error else (),
        )
        if reference.error is not None:
            reference = ProcessResult(reference.accounts, reference.logs, 0, reference.error, ())
        name = instruction_name(data)
        self.calls[name] += 1
        aspects = compare_results(data, reference, candidate)
        if aspects:
            self.differences.append(
                Difference(
                    sum(self.calls.values()), name, PROGRAM_ID, aspects, tuple(infos), data, clock
                )
            )

    def on_new_slot(self, slot: int, parent: int, root: int) -> None:
        pass

    def on_slot_confirmed(self, st: SlotState) -> None:
        pass

    def on_slots_finalized(self, slots: list[SlotState]) -> None:
        pass


async def test_random_histories_run_identically_in_the_model_and_the_binary(
    tmp_path: Path,
) -> None:
    started = time.perf_counter()
    async with (
        running_validator(tmp_path / "ledger", slot_ms=50, finalize_depth=3) as validator,
        ChainClient(validator.rpc_url) as client,
    ):
        replay = ModelReplay(lambda: validator.bank.current.block_time)
        validator.bank.listeners.append(replay)
        paths = validator.key_paths
        report = await run_workload(
            client,
            admin=load_keypair(paths["admin"]),
            backend=load_keypair(paths["backend_authority"]),
            faucet=load_keypair(paths["faucet"]),
            config=WorkloadConfig(
                markets=40, wallets=60, trades=4_000, seed=20261202, failed_fraction=0.05
            ),
            advance_clock=clock_advancer(validator.rpc_url),
        )
        assert report.unexpected() == []
        assert await verify_report(client, report) == []
    elapsed = time.perf_counter() - started

    assert replay.differences == [], "\n".join(d.describe() for d in replay.differences[:10])
    program = [t for t in report.transactions if t.program]
    assert all(t.landed for t in program), report.summary()
    landed = Counter(t.instruction for t in program)
    assert replay.calls == landed, (replay.calls, landed)
    assert sum(replay.calls.values()) >= 5_000, report.summary()
    # Every instruction ran, and failed on purpose as well as succeeded.
    assert set(replay.calls) == set(BY_NAME)
    failed = [t for t in program if t.status is TxStatus.FAILED]
    assert {t.failure for t in failed} == {t.failure for t in program if t.failure is not None}
    assert len(failed) >= sum(replay.calls.values()) // 50
    print(
        f"\ncompared {sum(replay.calls.values())} instructions in {elapsed:.1f}s\n{report.summary()}"
    )
