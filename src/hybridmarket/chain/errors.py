"""Typed errors for everything that can go wrong talking to the chain.

Callers catch these, never httpx or solders exceptions: the gateway maps transport failures,
HTTP statuses, JSON-RPC errors and on-chain failures onto this small hierarchy.
"""

from __future__ import annotations

from typing import Any

from hybridmarket.program.errors import error_info


class ChainError(Exception):
    """Base class for chain errors."""


class RpcUnavailable(ChainError):
    """The RPC node could not be reached or kept failing (timeouts, 5xx) past the retry budget."""


class RateLimited(RpcUnavailable):
    """The node kept answering 429 past the retry budget."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RpcError(ChainError):
    """The node answered with a JSON-RPC error that retrying will not fix."""

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


def _describe(err: Any, logs: list[str]) -> tuple[int | None, str | None, str]:
    """(custom code, error name, readable message) of a TransactionError JSON value."""
    code: int | None = None
    name: str | None = None
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        if isinstance(inner, dict) and "Custom" in inner:
            code = int(inner["Custom"])
            info = error_info(code)
            name = info.name if info else None
            detail = f"{info.name}: {info.message}" if info else f"custom program error {code}"
            return code, name, f"instruction {index} failed: {detail}"
        return None, str(inner), f"instruction {index} failed: {inner}"
    return None, str(err), f"transaction failed: {err}"


class TransactionFailed(ChainError):
    """A transaction was executed and failed (it still paid its fee), or failed simulation."""

    def __init__(self, err: Any, logs: list[str] | None = None, signature: str | None = None):
        self.err = err
        self.logs = list(logs or [])
        self.signature = signature
        self.code, self.name, message = _describe(err, self.logs)
        super().__init__(message)


class PreflightFailed(TransactionFailed):
    """sendTransaction's simulation failed (-32002); nothing was executed or charged."""


class TransactionExpired(ChainError):
    """The transaction's blockhash expired before it was confirmed: it can no longer land."""
