"""Simulation: drive the market program with realistic random load (see `sim.workload`)."""

from hybridmarket.canonical import canonical_json, market_id_of
from hybridmarket.sim.workload import (
    Failure,
    Fate,
    MarketRecord,
    SentTx,
    TrickleReport,
    TxStatus,
    WorkloadConfig,
    WorkloadReport,
    clock_advancer,
    fund_wallets,
    program_signatures,
    run_workload,
    trickle,
    verify_report,
)

__all__ = [
    "Failure",
    "Fate",
    "MarketRecord",
    "SentTx",
    "TrickleReport",
    "TxStatus",
    "WorkloadConfig",
    "WorkloadReport",
    "canonical_json",
    "clock_advancer",
    "fund_wallets",
    "market_id_of",
    "program_signatures",
    "run_workload",
    "trickle",
    "verify_report",
]
