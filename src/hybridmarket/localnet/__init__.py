"""The embedded local Solana validator.

It runs the project's Python model of the on-chain program behind Solana's own interfaces
(JSON-RPC over HTTP, PubSub over WebSocket), so the backend talks to it exactly as it would to
a real cluster, with solana-py's `AsyncClient` and `SolanaWsClient` unchanged. Layout:

- `executor`: wire parsing, fees, the system program, the market program, rent checks.
- `bank`: accounts, slots, commitment levels, status cache (in memory).
- `store`: the ledger on disk (SQLite, WAL, one transaction per slot).
- `rpc`: the JSON-RPC methods; `httpserver`: a lean HTTP/1.1 server for them.
- `pubsub`: WebSocket subscriptions. `faults`: test-only fault injection.
- `genesis`: key files, genesis accounts, GlobalConfig initialisation.
- `validator`: `LocalValidator`, the in-process object; `process`: `ValidatorProcess`.
- `cli`: `hybridmarket localnet` (`app`, `localnet`, `run_localnet`).
"""

from hybridmarket.localnet.process import ValidatorProcess
from hybridmarket.localnet.validator import LocalValidator

__all__ = ["LocalValidator", "ValidatorProcess"]
