"""The API's routers, one module per part (listed in `hybridmarket.api.app.ROUTERS`).

`error_responses(...)` documents, in the OpenAPI spec, the error statuses a router's routes can
answer with, all in the one JSON envelope of `hybridmarket.api.errors`; the spec is fuzzed
against the running app (tests/integration/test_api_fuzz.py), which fails on an undocumented
status code."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel

_WHY = {
    400: "The body could not be read, or the chain refused the transaction",
    401: "The signed (SIWS) message or its signature is refused; the code says why",
    403: "This wallet may not do this",
    404: "No such market, position or route",
    409: "The market is not in a state (or not yet at a time) where this applies",
    413: "The body is too large",
    422: "A field is invalid; the details name it",
    429: "Rate limited: see Retry-After and the RateLimit-* headers",
    501: "Not supported by the configured IPFS backend, or not a file",
    502: "Content stored for a CID is corrupt, or the IPFS node answered wrongly",
    503: "A dependency (database, chain RPC, IPFS, key, Redis) is unavailable; see Retry-After",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """Every failure: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the error envelope's schema."""
    return {s: {"model": ErrorBody, "description": _WHY[s]} for s in statuses}


def encoded_as(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` of a route that sends a body encoded once (kept in the cache, or
    built by PostgreSQL) as it is, without validating and serializing a model per request:
    documented as the model it matches (the tests validate the bytes with it)."""
    return {200: {"description": "Successful Response", "model": model}}


def encoded(body: bytes) -> Response:
    """A JSON body sent as it is (see `encoded_as`)."""
    return Response(body, media_type="application/json")
