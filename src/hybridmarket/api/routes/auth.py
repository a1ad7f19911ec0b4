"""`GET /api/auth/nonce`: a single-use nonce and the exact Sign-In-With-Solana text to sign for
one action (post or delete a comment, publish market metadata, an admin action)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from hybridmarket.api import siws
from hybridmarket.api.common import Wallet, iso, present, rate_limit
from hybridmarket.api.errors import ApiError
from hybridmarket.api.models import Nonce
from hybridmarket.api.routes import error_responses
from hybridmarket.api.state import ApiState, state

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=error_responses(422, 429, 503))
NONCE_TTL_S = 300


@router.get("/nonce", summary="A nonce and the SIWS message to sign for an action")
async def nonce(
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
    wallet: Annotated[Wallet, Query()],
    action: Annotated[Literal[tuple(siws.ACTION_STATEMENTS)], Query()],  # type: ignore[valid-type]
    subject: Annotated[
        str, Query(min_length=1, max_length=128, description="Market or comment id")
    ],
    content_sha256: Annotated[
        str | None, Query(pattern="^[0-9a-f]{64}$", description="sha256 of the content to post")
    ] = None,
) -> Nonce:
    await rate_limit(st, request, response, "reads", wallet)
    try:
        statement = siws.statement_for(action, subject)
    except ValueError as e:
        raise ApiError(422, "invalid_request", f"subject: {e}") from None
    async with st.pool.connection() as conn:
        value, expires = await siws.issue_nonce(
            conn, wallet=wallet, purpose=action, ttl_seconds=NONCE_TTL_S
        )
    msg = siws.build_message(
        st.settings.domain(),
        wallet,
        statement,
        value,
        ttl_seconds=NONCE_TTL_S,
        resources=(f"sha256:{content_sha256}",) if content_sha256 else (),
        chain_id=st.settings.chain_id,
    )
    return Nonce(
        nonce=value, expires_at=present(iso(expires)), message=msg.to_text(), domain=msg.domain
    )
