"""Shared by the routes: validated path/body types, JSON shapes of markets, the program config
(cached), quotes, and rate-limit enforcement."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import Path, Request, Response
from pydantic import AfterValidator, StringConstraints

from hybridmarket.api import siws
from hybridmarket.api.cache import PROGRAM_CONFIG
from hybridmarket.api.errors import ApiError
from hybridmarket.api.state import ApiState
from hybridmarket.program.accounts import GlobalConfig

MarketIdPath = Annotated[
    str, Path(pattern="^[0-9a-f]{64}$", description="Market id: 64 lowercase hex digits")
]


def _check_wallet(v: str) -> str:
    try:
        siws.decode_address(v)
    except siws.SiwsError as e:
        raise ValueError(e.message) from None
    return v


# Lengths first (pydantic checks them before the validator runs), then base58 of 32 bytes.
Wallet = Annotated[
    str,
    StringConstraints(min_length=siws.ADDRESS_CHARS[0], max_length=siws.ADDRESS_CHARS[1]),
    AfterValidator(_check_wallet),
]
# An ed25519 signature, base58 or base64; decoded (and checked) by `siws.decode_signature`.
Signature = Annotated[
    str,
    StringConstraints(min_length=siws.SIGNATURE_CHARS[0], max_length=siws.SIGNATURE_CHARS[1]),
]


def _storable(v: str) -> str:
    if "\x00" in v:
        raise ValueError("contains a NUL character")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode (a lone surrogate)") from None
    return v


# Text that PostgreSQL can store (text and jsonb hold neither NUL nor lone surrogates): checked
# with the request, so a write refused for it has used nothing up (a nonce, a rate limit).
StoredText = Annotated[str, AfterValidator(_storable)]

# What `iso` and `datetime.isoformat` write, in ASCII digits: Python's parser alone also reads
# ISO week dates and non-ASCII digits, which PostgreSQL does not.
_ISO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_DECIMAL = re.compile(r"[0-9]{1,40}(?:\.[0-9]{1,40})?")


def parse_time(text: str) -> datetime:
    """A timezone-aware timestamp from a client (a cursor), in the form this API writes; else
    ValueError."""
    if not _ISO_TIME.fullmatch(text):
        raise ValueError(f"not an ISO 8601 timestamp: {text[:40]!r}")
    return datetime.fromisoformat(text)


def parse_decimal(text: str) -> Decimal:
    """A non-negative decimal from a client (a cursor): ASCII digits, at most one point; else
    ValueError. (`Decimal` alone also reads `1_000`, `NaN`, exponents and non-ASCII digits.)"""
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"not a decimal number: {text[:40]!r}")
    return Decimal(text)


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def dec(v: Decimal | None) -> str | None:
    return None if v is None else format(v, "f")


_T = TypeVar("_T")


def present(value: _T | None) -> _T:
    """`value`, known not to be None (`iso` or `dec` of a column that is NOT NULL)."""
    assert value is not None
    return value


def outcome_text(v: bool | None, *, resolved: bool) -> str | None:
    if v is None:
        return "invalid" if resolved else None
    return "yes" if v else "no"


async def program_config(st: ApiState) -> GlobalConfig:
    async def load() -> GlobalConfig:
        cfg = await st.client.get_config()
        if cfg is None:
            raise ApiError(503, "chain_not_ready", "the program's config is not initialised")
        return cfg

    cfg: GlobalConfig = await st.cache.get(PROGRAM_CONFIG, load, ttl=60.0)
    return cfg


async def check_signed(
    conn: Any,
    st: ApiState,
    *,
    message: str,
    signature: str,
    wallet: str,
    action: str,
    subject: str,
    resources: tuple[str, ...] = (),
) -> None:
    """Accept a SIWS-signed write for `action` on `subject` (this deployment's domain and
    cluster, the action's statement, a single-use nonce issued for it) or answer 401, or 403 when the
    message is about someone else's wallet. Runs in the caller's transaction: a rollback
    leaves the nonce unused."""
    try:
        await siws.check(
            conn,
            text=message,
            signature=signature,
            expected_domain=st.settings.domain(),
            expected_chain_id=st.settings.chain_id,
            expected_address=wallet,
            expected_statement=siws.statement_for(action, subject),
            required_resources=resources,
            purpose=action,
        )
    except siws.SiwsError as e:
        raise ApiError(403 if e.code == "wrong_wallet" else 401, e.code, e.message) from None


RATE_LIMITER_RETRY_AFTER_S = 5


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def rate_limit(
    st: ApiState, request: Request, response: Response | None, name: str, wallet: str | None = None
) -> None:
    """Count this request against the `name` limits per IP (and per wallet); 429 when over,
    503 when the limiter cannot count (Redis down)."""
    from hybridmarket.api import ratelimit

    limit = st.limits[name]
    keys = [(limit, ratelimit.ip_key(client_ip(request)))]
    if wallet:
        keys.append((limit, ratelimit.wallet_key(wallet)))
    try:
        decision = await ratelimit.check_all(st.limiter, keys)
    except ratelimit.LimiterUnavailable:
        # Fail closed: without the shared counts every replica would let through its own limit.
        raise ApiError(
            503,
            "rate_limiter_unavailable",
            "the rate limiter's store (Redis) is not answering; retry shortly",
            {"retry_after_s": RATE_LIMITER_RETRY_AFTER_S},
            headers={"Retry-After": str(RATE_LIMITER_RETRY_AFTER_S)},
        ) from None
    headers = ratelimit.headers(decision)
    if not decision.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"too many {name} requests: {limit.limit} per {limit.window_s} s",
            {"retry_after_s": decision.retry_after_s},
            headers=headers,
        )
    if response is not None:
        response.headers.update(headers)


def market_json(row: dict[str, Any], cfg: GlobalConfig | None) -> dict[str, Any]:
    """The public shape of a market (row: markets joined with market_metadata), in Python: the
    reference the API's JSON is held to. The API builds the same bytes in PostgreSQL
    (`db.queries.markets.items_json` / `bodies_json`), and tests/integration/test_market_json_sql.py
    checks them against this on markets in every state."""
    resolved = row["resolution_proposed_at"] is not None
    price_yes = row["current_price"]
    dispute_deadline = voting_deadline = None
    if cfg is not None and row["resolution_proposed_at"] is not None:
        dispute_deadline = row["resolution_proposed_at"].timestamp() + cfg.dispute_period
    if cfg is not None and row["dispute_initiated_at"] is not None:
        voting_deadline = row["dispute_initiated_at"].timestamp() + cfg.dispute_voting_period
    mid = row["id"]
    return {
        "id": mid,
        "address": row["on_chain_address"],
        "question": row["question"],
        "description": row["description"],
        "category": row["category"],
        "resolution_criteria": row.get("resolution_criteria"),
        "closes_at": iso(row.get("closes_at")),
        "creator": row["creator_wallet"],
        "resolver": row["resolver_wallet"],
        "state": row["state"],
        "b_parameter": int(row["b_parameter"]),
        "shares_yes": int(row["shares_yes"]),
        "shares_no": int(row["shares_no"]),
        "price_yes": dec(price_yes),
        "price_no": dec(Decimal(1) - price_yes),
        "liquidity": int(row["current_liquidity"]),
        "initial_liquidity": int(row["initial_liquidity"]),
        "volume": int(row["total_volume"]),
        "trades_count": int(row["trades_count"]),
        "votes": {
            "proposal": {
                "total": int(row["proposal_total_votes"]),
                "likes": int(row["proposal_likes"]),
                "dislikes": int(row["proposal_dislikes"]),
            },
            "dispute": {
                "total": int(row["dispute_total_votes"]),
                "agree": int(row["dispute_agree"]),
                "disagree": int(row["dispute_disagree"]),
            },
        },
        "resolution": {
            "proposed_outcome": outcome_text(row["proposed_outcome"], resolved=resolved),
            "final_outcome": outcome_text(
                row["final_outcome"], resolved=row["finalized_at"] is not None
            ),
            "evidence_cid": row["evidence_cid"],
            "resolution_proposed_at": iso(row["resolution_proposed_at"]),
            "dispute_deadline": None
            if dispute_deadline is None
            else iso(datetime.fromtimestamp(dispute_deadline, row["created_at"].tzinfo)),
            "dispute_initiator": row["dispute_initiator"],
            "dispute_initiated_at": iso(row["dispute_initiated_at"]),
            "dispute_voting_deadline": None
            if voting_deadline is None
            else iso(datetime.fromtimestamp(voting_deadline, row["created_at"].tzinfo)),
            "finalized_at": iso(row["finalized_at"]),
            "cancelled_at": iso(row["cancelled_at"]),
        },
        "created_at": iso(row["created_at"]),
        "approved_at": iso(row["approved_at"]),
        "activated_at": iso(row["activated_at"]),
        "updated_at": iso(row["updated_at"]),
        "links": {
            "self": f"/api/markets/{mid}",
            "price": f"/api/markets/{mid}/price",
            "history": f"/api/markets/{mid}/history",
            "votes": f"/api/markets/{mid}/votes",
            "discussions": f"/api/discussions/{mid}",
        },
    }
