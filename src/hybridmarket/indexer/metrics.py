"""Prometheus metrics of the indexer and the reconciler (default registry, served by the API's
/metrics and by `hybridmarket indexer --metrics-port`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INDEXED_SLOT = Gauge("hybridmarket_indexer_indexed_slot", "Slot of the last transaction applied")
SYNCED_SLOT = Gauge(
    "hybridmarket_indexer_synced_slot", "Every program transaction at or below it is applied"
)
CHAIN_SLOT = Gauge("hybridmarket_indexer_chain_slot", "Latest confirmed slot seen on the chain")
LAG_SLOTS = Gauge("hybridmarket_indexer_lag_slots", "Chain slot minus synced slot")
LAG_SECONDS = Gauge(
    "hybridmarket_indexer_lag_seconds", "Age of the chain state the database reflects"
)
EVENTS_APPLIED = Counter("hybridmarket_indexer_events_applied", "Program events applied", ["event"])
TRANSACTIONS_APPLIED = Counter(
    "hybridmarket_indexer_transactions_applied", "Program transactions applied", ["status"]
)
FAILURES = Counter("hybridmarket_indexer_failures", "Indexer failures by kind", ["kind"])
DEAD_LETTERS = Gauge("hybridmarket_indexer_dead_letters_pending", "Events waiting in dead letters")
NOTIFICATIONS = Counter(
    "hybridmarket_indexer_notifications", "logsSubscribe notifications received"
)
BATCH_SECONDS = Histogram(
    "hybridmarket_indexer_batch_seconds",
    "Time to apply one batch in the database",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RECONCILE_DISCREPANCIES = Counter(
    "hybridmarket_reconcile_discrepancies",
    "Cached fields found different from the chain",
    ["field"],
)
RECONCILE_RUNS = Counter("hybridmarket_reconcile_runs", "Reconciliation runs", ["outcome"])
