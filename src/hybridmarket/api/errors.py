"""One JSON error envelope for every failure: `{"error": {"code", "message", "details"}}` with
the right status. Validation errors name the field; nothing internal (no stack trace, no SQL,
no key material) ever reaches a client."""

from __future__ import annotations

import math
from typing import Any

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from hybridmarket.chain.errors import ChainError, RateLimited

log = structlog.get_logger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, f"{what}_not_found", f"no {what} {ident}")


# When to try again after the chain failed a request, unless the node said (Retry-After).
CHAIN_RETRY_AFTER_S = 5


def chain_unavailable(exc: ChainError) -> ApiError:
    """503 with Retry-After for a chain that is unreachable, hung or rate limiting beyond the
    gateway's retry budget (any ChainError a route does not handle itself)."""
    told = exc.retry_after if isinstance(exc, RateLimited) else None
    seconds = max(1, math.ceil(told)) if told else CHAIN_RETRY_AFTER_S
    return ApiError(
        503,
        "chain_unavailable",
        f"the Solana RPC is not answering: {type(exc).__name__}; retry in {seconds} s",
        {"retry_after_s": seconds},
        headers={"Retry-After": str(seconds)},
    )


# When to try again after the database could not be reached.
DATABASE_RETRY_AFTER_S = 5


def database_unavailable(exc: Exception) -> ApiError:
    """503 with Retry-After for a database that refuses connections, drops them or has none
    free within DB_TIMEOUT: the request can succeed later, it is not the server's bug."""
    seconds = DATABASE_RETRY_AFTER_S
    return ApiError(
        503,
        "database_unavailable",
        f"the database is not answering: {type(exc).__name__}; retry in {seconds} s",
        {"retry_after_s": seconds},
        headers={"Retry-After": str(seconds)},
    )


DATABASE_DOWN = (psycopg.OperationalError, PoolTimeout)


def database_response(path: str, exc: Exception) -> JSONResponse:
    """The answer to a request whose database could not be reached (`database_unavailable`),
    logged: the app's handler, and `CachedReads` for the reads it makes itself."""
    log.warning("database unavailable", path=path, error=type(exc).__name__)
    return error_response(database_unavailable(exc))


def error_response(e: ApiError) -> JSONResponse:
    """The envelope of `e`, with its status and headers."""
    return envelope(e.status, e.code, e.message, e.details, e.headers)


def envelope(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(ChainError)
    async def _chain(_req: Request, exc: ChainError) -> JSONResponse:
        return error_response(chain_unavailable(exc))

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database(req: Request, exc: Exception) -> JSONResponse:
        return database_response(req.url.path, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _loc(e.get("loc", ())),
                "message": str(e.get("msg", "invalid")),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        return envelope(422, "invalid_request", f"{first['field']}: {first['message']}", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return envelope(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", path=req.url.path, error=f"{type(exc).__name__}: {exc}")
        return envelope(500, "internal_error", "internal error; it has been logged")
