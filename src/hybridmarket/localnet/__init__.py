"""The embedded local Solana validator.

Agave's own SVM (LiteSVM) runs every transaction and the program binary; around it, Solana's
own interfaces (JSON-RPC over HTTP, PubSub over WebSocket), so the backend talks to it exactly
as it would to a real cluster, with solana-py's `AsyncClient` and `SolanaWsClient` unchanged.
Layout:

- `executor`: wire parsing, and the SVM that executes and simulates transactions.
- `bank`: slots, commitment levels, status cache, the accounts transactions wrote (in memory).
- `store`: the ledger on disk (SQLite, WAL, one transaction per slot, written by its own
  process while the validator runs).
- `rpc`: the JSON-RPC methods; `httpserver`: a lean HTTP/1.1 server for them; `parsed`: the
  `jsonParsed` encoding.
- `pubsub`: WebSocket subscriptions. `faults`: test-only fault injection.
- `genesis`: key files, genesis accounts, the program's deploy, GlobalConfig initialisation.
- `validator`: `LocalValidator`, the in-process object; `process`: `ValidatorProcess`.
- `cli`: `hybridmarket localnet` (`app`, `localnet`, `run_localnet`).

`LocalValidator` and `ValidatorProcess` are imported on first use, so that a submodule (the
ledger writer's process imports `store`) loads only what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybridmarket.localnet.process import ValidatorProcess
    from hybridmarket.localnet.validator import LocalValidator

__all__ = ["LocalValidator", "ValidatorProcess"]


def __getattr__(name: str) -> Any:
    if name == "LocalValidator":
        from hybridmarket.localnet.validator import LocalValidator

        return LocalValidator
    if name == "ValidatorProcess":
        from hybridmarket.localnet.process import ValidatorProcess

        return ValidatorProcess
    raise AttributeError(name)
