"""The one place that owns network policy for Solana JSON-RPC: timeouts, retries with
exponential backoff and jitter, `Retry-After`, and the mapping of every failure to a typed error.

Callers pass a zero-argument coroutine factory (usually a bound solana-py `AsyncClient` call);
the gateway runs it under the policy. solana-py surfaces failures in several shapes, all handled
here (SOLANA.md §2.4): `SolanaRpcException` wrapping an httpx2 status or transport error,
`RPCException` for JSON-RPC errors, a bare `int` for error codes it does not know, and
pyo3's `PanicException` (a BaseException) for -32002/-32005 errors sent without `data`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
import structlog
from solana.exceptions import SolanaRpcException
from solana.rpc.core import RPCException
from solders.rpc.errors import (
    NodeUnhealthyMessage,
    SendTransactionPreflightFailureMessage,
)

from hybridmarket.chain.errors import (
    ChainError,
    PreflightFailed,
    RateLimited,
    RpcError,
    RpcUnavailable,
)

T = TypeVar("T")
log = structlog.get_logger(__name__)

TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: attempts, backoff bounds, and an overall deadline per call."""

    max_attempts: int = 6
    base_delay: float = 0.1
    max_delay: float = 3.0
    deadline: float = 30.0
    timeout: float = 10.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff (AWS architecture blog), capped."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def api_rpc_policy(deadline: float) -> RetryPolicy:
    """For calls made while a client waits (the API): everything, retries included, ends within
    about `deadline` seconds, so a hung or rate-limiting node is an answer (503) in time rather
    than a request held for the default 30 s. Two attempts of deadline/2 fit a hung node."""
    return RetryPolicy(
        max_attempts=4, base_delay=0.1, max_delay=1.0, deadline=deadline, timeout=deadline / 2
    )


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None, rate_limited: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _classify(exc: BaseException, what: str) -> BaseException:
    """Turn a raw failure into `_Transient` (retry) or a final ChainError."""
    if isinstance(exc, SolanaRpcException):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, httpx2.HTTPStatusError):
            status = cause.response.status_code
            if status in TRANSIENT_STATUS:
                return _Transient(
                    f"{what}: HTTP {status}",
                    retry_after=_retry_after(cause.response),
                    rate_limited=status == 429,
                )
            return RpcError(f"{what}: HTTP {status}", code=status)
        if isinstance(cause, httpx2.TimeoutException | httpx2.TransportError):
            return _Transient(f"{what}: {type(cause).__name__}: {cause}")
        return _Transient(f"{what}: {exc}")
    if isinstance(exc, httpx2.HTTPStatusError):  # raw JSON-RPC calls (batches)
        status = exc.response.status_code
        if status in TRANSIENT_STATUS:
            return _Transient(
                f"{what}: HTTP {status}",
                retry_after=_retry_after(exc.response),
                rate_limited=status == 429,
            )
        return RpcError(f"{what}: HTTP {status}", code=status)
    if isinstance(exc, httpx2.TimeoutException | httpx2.TransportError | asyncio.TimeoutError):
        return _Transient(f"{what}: {type(exc).__name__}")
    if isinstance(exc, RPCException):
        err = exc.args[0] if exc.args else None
        if isinstance(err, SendTransactionPreflightFailureMessage):
            sim = err.data
            return PreflightFailed(_tx_error_json(sim), list(sim.logs or []))
        if isinstance(err, NodeUnhealthyMessage):
            return _Transient(f"{what}: node unhealthy")
        message = getattr(err, "message", str(err))
        code = getattr(err, "code", None)
        return RpcError(f"{what}: {message}", code=code)
    if type(exc).__name__ == "PanicException":
        return RpcError(f"{what}: malformed error response from the node ({exc})")
    return exc


def _tx_error_json(sim: Any) -> Any:
    """The `err` of a solders simulation result in Solana's JSON shape."""
    return json.loads(sim.to_json())["err"]


class RpcGateway:
    """Runs RPC calls under one `RetryPolicy` and reports what happened in metrics-ready counters."""

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()
        self.retries = 0
        self.failures = 0

    async def call(self, what: str, fn: Callable[[], Awaitable[T]]) -> T:
        policy = self.policy
        start = time.monotonic()
        attempt = 0
        while True:
            try:
                result = await asyncio.wait_for(fn(), timeout=policy.timeout)
            except BaseException as raw:  # PanicException derives from BaseException
                if isinstance(raw, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                    raise
                exc = _classify(raw, what)
                if not isinstance(exc, _Transient):
                    self.failures += 1
                    if isinstance(exc, ChainError):
                        raise exc from raw
                    raise
                attempt += 1
                delay = policy.backoff(attempt)
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                elapsed = time.monotonic() - start
                if attempt >= policy.max_attempts or elapsed + delay > policy.deadline:
                    self.failures += 1
                    err_cls = RateLimited if exc.rate_limited else RpcUnavailable
                    message = f"{exc} (gave up after {attempt} attempts, {elapsed:.1f}s)"
                    if err_cls is RateLimited:
                        raise RateLimited(message, exc.retry_after) from raw
                    raise RpcUnavailable(message) from raw
                self.retries += 1
                log.debug(
                    "rpc.retry", what=what, attempt=attempt, delay=round(delay, 3), error=str(exc)
                )
                await asyncio.sleep(delay)
                continue
            if isinstance(result, int) and not isinstance(result, bool):
                # solana-py returns the bare code for JSON-RPC errors it does not recognise.
                if result in TRANSIENT_STATUS:
                    attempt += 1
                    if attempt < policy.max_attempts:
                        self.retries += 1
                        await asyncio.sleep(policy.backoff(attempt))
                        continue
                    raise (
                        RateLimited(f"{what}: error {result}")
                        if result == 429
                        else RpcUnavailable(f"{what}: error {result}")
                    )
                raise RpcError(f"{what}: node returned error code {result}", code=result)
            return result
