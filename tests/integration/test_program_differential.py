"""The program binary against the model over random histories on the embedded validator.

The validator's market program is a `DifferentialRunner(model, SvmRunner(binary))`: every
instruction the validator executes runs in the model (whose result the chain commits) and in
the shipped binary in Agave's SVM, from the same accounts and clock. A workload of thousands
of transactions over real sockets (trades, votes, resolutions, disputes, cancellations, claims,
withdrawals and deliberate failures) must show no difference at all, and exactly the
instructions the report says executed must have been compared.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.program.instructions import BY_NAME
from hybridmarket.program.processor import process_instruction
from hybridmarket.sbf.svm import DifferentialRunner, SvmRunner
from hybridmarket.sim import TxStatus, WorkloadConfig, clock_advancer, run_workload, verify_report
from tests.integration.localnet_fixtures import running_validator
from tests.unit.bank import program_elf

pytestmark = pytest.mark.integration


async def test_random_histories_run_identically_in_the_model_and_the_binary(
    tmp_path: Path,
) -> None:
    diff = DifferentialRunner(process_instruction, SvmRunner(program_elf()))
    started = time.perf_counter()
    async with (
        running_validator(
            tmp_path / "ledger", slot_ms=50, finalize_depth=3, market_runner=diff
        ) as validator,
        ChainClient(validator.rpc_url) as client,
    ):
        assert diff.calls == Counter({"initialize_config": 1})  # the genesis configuration
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

    diff.assert_no_differences()
    program = [t for t in report.transactions if t.program]
    assert all(t.landed for t in program), report.summary()
    landed = Counter(t.instruction for t in program)
    assert diff.calls == landed + Counter({"initialize_config": 1}), (diff.calls, landed)
    assert diff.compared == len(program) + 1
    assert diff.compared >= 5_000, report.summary()
    # Every instruction ran, and failed on purpose as well as succeeded.
    assert set(diff.calls) == set(BY_NAME)
    failed = [t for t in program if t.status is TxStatus.FAILED]
    assert {t.failure for t in failed} == {t.failure for t in program if t.failure is not None}
    assert len(failed) >= diff.compared // 50
    print(f"\n{diff.report()} in {elapsed:.1f}s\n{report.summary()}")
