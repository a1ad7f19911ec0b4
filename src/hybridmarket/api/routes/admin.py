"""Admin actions: `POST /api/admin/approve/{id}`, `/finalize/{id}`, `/cancel/{id}`.

Who may: only wallets in the admin list (`ADMIN_WALLETS`), each request proven by a
Sign-In-With-Solana message (`GET /api/auth/nonce?action=approve_market|finalize_market|
cancel_market&subject=<id>`) whose statement names the action and the market, and which lists
the reason's hash (`content_sha256`) when a reason is given. Rate limited ("admin": per wallet
and per IP).

What they do: the same as the worker's jobs, for one market, now: the transaction is signed by
the backend authority and sent through `AuthoritySender`, so it is audit-logged like every
backend transaction (actor: the backend key; the reason names the admin who asked and why).
The decisions are the worker's own functions (`worker.jobs`): approve counts the votes with the
SQL tally and publishes the tally document; finalize passes no counts for an undisputed
resolution and the SQL counts for a disputed one. The chain decides states and deadlines (its
account and clock), the database only counts votes.

The backend key is loaded once per app, on the first admin request (`backend_key_source`; the
key file is never created here). No key, or a key that is not the program's backend authority:
503 with a code that says which.

Refusals: 401 (SIWS code: bad signature, expired, replayed nonce...), 403 not an admin, 404
unknown market, 409 wrong state, too early (with the deadline), votes not indexed yet, or a
transaction the program refused; 429; 503 chain or key unavailable.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hybridmarket import bootstrap
from hybridmarket.api import siws
from hybridmarket.api.common import (
    MarketIdPath,
    Signature,
    StoredText,
    Wallet,
    check_signed,
    iso,
    program_config,
    rate_limit,
)
from hybridmarket.api.errors import ApiError, chain_unavailable, not_found
from hybridmarket.api.models import AdminResult
from hybridmarket.api.routes import error_responses
from hybridmarket.api.state import ApiState, state
from hybridmarket.authority import FileKeySource, KeySourceError, Signer, backend_key_source
from hybridmarket.chain.errors import ChainError
from hybridmarket.db.queries import votes as q_votes
from hybridmarket.program import builders as b
from hybridmarket.program import rules
from hybridmarket.program.accounts import TERMINAL_STATES, MarketAccount, MarketState
from hybridmarket.worker import jobs
from hybridmarket.worker.sender import Outcome, in_state

log = structlog.get_logger(__name__)


router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    responses=error_responses(400, 401, 403, 404, 409, 422, 429, 503),
)


class AdminBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wallet: Wallet = Field(description="An admin wallet (ADMIN_WALLETS)")
    message: str = Field(
        min_length=1,
        max_length=siws.MAX_TEXT_CHARS,
        description="The SIWS text from GET /api/auth/nonce for this action and market",
    )
    signature: Signature = Field(description="base58 or base64")
    reason: StoredText | None = Field(
        None,
        max_length=1000,
        description="Why; kept in the audit log. The signed message must list "
        "sha256:<hex of the reason> as a resource",
    )


_APP_KEY = "admin_services"
_APP_LOCK = "admin_services_lock"


def _load_signer(st: ApiState) -> Signer:
    source = backend_key_source(st.settings)
    if isinstance(source, FileKeySource):
        source = dataclasses.replace(source, create=False)  # a new key could sign nothing
    return source.load()


async def _services(request: Request, st: ApiState) -> jobs.Services:
    """The worker's services with the backend key, built on the first admin request."""
    app_state = request.app.state
    services: jobs.Services | None = getattr(app_state, _APP_KEY, None)
    if services is not None:
        return services
    lock: asyncio.Lock | None = getattr(app_state, _APP_LOCK, None)
    if lock is None:
        lock = asyncio.Lock()
        setattr(app_state, _APP_LOCK, lock)
    async with lock:
        services = getattr(app_state, _APP_KEY, None)
        if services is None:
            try:
                signer = await asyncio.to_thread(_load_signer, st)
            except KeySourceError as e:
                log.error("backend key unavailable", error=str(e))
                raise ApiError(
                    503,
                    "backend_key_unavailable",
                    "the backend authority key is not available to this API server",
                ) from None
            services = bootstrap.services(st.settings, st.pool, st.client, st.ipfs, signer)
            setattr(app_state, _APP_KEY, services)
    return services


def _state_name(acc: MarketAccount) -> str:
    return acc.state.name.upper()


def _wrong_state(acc: MarketAccount, action: str, needs: str) -> ApiError:
    return ApiError(
        409,
        "invalid_market_state",
        f"market is {_state_name(acc)}; {action} needs {needs}",
        {"state": _state_name(acc)},
    )


def _too_early(what: str, deadline: int, now: int) -> ApiError:
    at = iso(datetime.fromtimestamp(deadline, UTC))
    return ApiError(
        409,
        "too_early",
        f"{what} ends at {at} (chain time); {deadline - now} s to go",
        {"deadline": at, "deadline_unix": deadline, "chain_time": now, "wait_s": deadline - now},
    )


def _not_indexed(kind: str, indexed: int, on_chain: int) -> ApiError:
    return ApiError(
        409,
        "votes_not_indexed",
        f"{on_chain} {kind} votes on chain, {indexed} indexed so far; retry in a moment",
        {"on_chain": on_chain, "indexed": indexed},
    )


async def _authorize(
    request: Request,
    response: Response,
    st: ApiState,
    body: AdminBody,
    action: str,
    market_id: str,
) -> tuple[jobs.Services, MarketAccount, int]:
    """Rate limit, check the signed message (401) and the admin list (403), load the market
    from the chain (404); returns the services, the market account and the chain's time."""
    await rate_limit(st, request, response, "admin", body.wallet)
    async with st.pool.connection() as conn:
        await check_signed(
            conn,
            st,
            message=body.message,
            signature=body.signature,
            wallet=body.wallet,
            action=action,
            subject=market_id,
            # The audit log keeps the reason: it must be the one the admin signed.
            resources=(siws.content_resource(body.reason),) if body.reason is not None else (),
        )
    if body.wallet not in st.admins:
        raise ApiError(403, "not_admin", "this wallet is not in the admin list")
    services = await _services(request, st)
    try:
        cfg = await program_config(st)
        acc = await st.client.get_market(bytes.fromhex(market_id))
        now = await st.client.chain_time()
    except ChainError as e:
        raise chain_unavailable(e) from None
    if acc is None:
        raise not_found("market", market_id)
    if services.sender.signer.pubkey() != cfg.backend_authority:
        raise ApiError(
            503,
            "backend_key_mismatch",
            "this API server's backend key is not the program's backend authority",
            {"key": str(services.sender.signer.pubkey())},
        )
    return services, acc, now


def _requested(body: AdminBody) -> dict[str, Any]:
    return {"requested_by": body.wallet, "reason": body.reason}


async def _send(coro: Any) -> Outcome | None:
    try:
        result: Outcome | None = await coro
    except ChainError as e:
        # Unknown whether it landed: the audit row stays `sent`; the worker settles it.
        raise chain_unavailable(e) from None
    return result


def _result(action: str, market_id: str, r: Outcome | None) -> AdminResult:
    if r is None:
        raise ApiError(
            409, "votes_changed", "votes were indexed while counting; retry", {"retry": True}
        )
    if r.outcome != "confirmed":
        raise ApiError(
            409,
            "already_done" if r.outcome == "skipped" else "transaction_failed",
            f"{action} was not applied: {r.error or r.outcome}",
            {
                "outcome": r.outcome,
                "signature": r.signature,
                "audit_id": r.audit_id,
                "error": r.error,
            },
        )
    return AdminResult(
        action=action,
        market_id=market_id,
        outcome=r.outcome,
        signature=r.signature,
        audit_id=r.audit_id,
    )


@router.post(
    "/approve/{market_id}",
    summary="Approve a PROPOSED market with its indexed votes (quorum and threshold met)",
)
async def approve(
    market_id: MarketIdPath,
    body: AdminBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> AdminResult:
    action = "approve_market"
    s, acc, _now = await _authorize(request, response, st, body, action, market_id)
    if acc.state != MarketState.Proposed:
        raise _wrong_state(acc, "approval", "PROPOSED")
    cfg = await program_config(st)
    async with st.pool.connection() as conn:
        likes, dislikes = await q_votes.tally(conn, "proposal", market_id)
    if likes + dislikes < acc.proposal_total_votes:
        raise _not_indexed("proposal", likes + dislikes, acc.proposal_total_votes)
    if not rules.approves(cfg, likes, dislikes):
        raise ApiError(
            409,
            "approval_rule_not_met",
            f"{likes} likes / {dislikes} dislikes: approval needs at least "
            f"{cfg.min_proposal_votes} votes and {cfg.proposal_approval_threshold_bps / 100:g} % "
            "likes",
            rules.proposal_rule(cfg, likes, dislikes),
        )
    r = await _send(
        jobs.approve_with_tally(s, cfg, market_id, likes, dislikes, extra=_requested(body))
    )
    return _result(action, market_id, r)


@router.post(
    "/finalize/{market_id}",
    summary="Finalize a RESOLVING market after its dispute period, or a DISPUTED one after "
    "its voting period (with the indexed dispute votes)",
)
async def finalize(
    market_id: MarketIdPath,
    body: AdminBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> AdminResult:
    action = "finalize_market"
    s, acc, now = await _authorize(request, response, st, body, action, market_id)
    cfg = await program_config(st)
    if acc.state == MarketState.Resolving:
        if not rules.dispute_period_over(cfg, acc, now):
            raise _too_early(
                "the dispute period", acc.resolution_proposed_at + cfg.dispute_period, now
            )
        r = await _send(
            jobs.finalize_undisputed(s, cfg, acc, market_id, now, extra=_requested(body))
        )
    elif acc.state == MarketState.Disputed:
        if not rules.dispute_voting_over(cfg, acc, now):
            raise _too_early(
                "the dispute voting period",
                acc.dispute_initiated_at + cfg.dispute_voting_period,
                now,
            )
        async with st.pool.connection() as conn:
            agree, disagree = await q_votes.tally(conn, "dispute", market_id)
        if agree + disagree < acc.dispute_total_votes:
            raise _not_indexed("dispute", agree + disagree, acc.dispute_total_votes)
        r = await _send(
            jobs.finalize_disputed(
                s, cfg, acc, market_id, agree, disagree, now, extra=_requested(body)
            )
        )
    else:
        raise _wrong_state(acc, "finalization", "RESOLVING or DISPUTED")
    return _result(action, market_id, r)


@router.post("/cancel/{market_id}", summary="Cancel a market in any state but a final one")
async def cancel(
    market_id: MarketIdPath,
    body: AdminBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> AdminResult:
    action = "cancel_market"
    s, acc, now = await _authorize(request, response, st, body, action, market_id)
    if acc.state in TERMINAL_STATES:
        raise _wrong_state(acc, "cancellation", "a state that is not FINALIZED or CANCELLED")
    r = await _send(
        s.sender.execute(
            b.cancel_market(
                s.sender.signer.pubkey(), bytes.fromhex(market_id), program_id=s.client.program_id
            ),
            action=action,
            market_id=market_id,
            arguments={},
            reason={
                "rule": "cancelled by an admin",
                "chain_state": _state_name(acc),
                "chain_time": now,
                **_requested(body),
            },
            done=in_state(MarketState.Cancelled, MarketState.Finalized),
        )
    )
    return _result(action, market_id, r)
