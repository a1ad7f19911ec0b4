"""Following markets and notifications.

- `POST /api/follows` / `DELETE /api/follows`: follow or stop following a market, signed with
  Sign-In-With-Solana like a comment (`GET /api/auth/nonce?action=follow_market&subject=<market
  id>`, or `unfollow_market`; statement "Follow market <id>" / "Unfollow market <id>").
- `GET /api/users/{wallet}/follows`: the markets a wallet follows.
- `GET /api/users/{wallet}/notifications[?unread=true]`: what happened to the markets it follows
  or holds, newest first (cursor pages). The database generates them (migration 0012's
  triggers) in the transaction of the write they are about: resolution proposed (with the
  dispute deadline), dispute opened, finalized, claimable, and comments on those markets; so
  they persist while the wallet is away.
- `POST /api/notifications/read`: mark them read up to an id (signed: `read_notifications`, the
  id as subject), so nobody else can mark a wallet's notifications read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hybridmarket.api import siws
from hybridmarket.api.common import (
    Signature,
    Wallet,
    check_signed,
    iso,
    present,
    rate_limit,
)
from hybridmarket.api.errors import ApiError, not_found
from hybridmarket.api.models import (
    Follow,
    FollowedMarket,
    Follows,
    Notification,
    Notifications,
    NotificationsRead,
    Unfollowed,
)
from hybridmarket.api.routes import error_responses
from hybridmarket.api.routes.discussions import _normalise_signature as normalise_signature
from hybridmarket.api.routes.users import _wallet as wallet_path
from hybridmarket.api.state import ApiState, state
from hybridmarket.db.queries import discussions as q_discussions
from hybridmarket.db.queries import follows as q

router = APIRouter(tags=["follows"], responses=error_responses(400, 401, 403, 404, 422, 429))

_BIGINT = 2**63 - 1


class SignedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wallet: Wallet
    message: str = Field(
        min_length=1, max_length=siws.MAX_TEXT_CHARS, description="The SIWS text the wallet signed"
    )
    signature: Signature = Field(description="ed25519 signature, base58 or base64")


class FollowBody(SignedBody):
    market_id: str = Field(pattern="^[0-9a-f]{64}$", description="The market (64 hex digits)")


class ReadBody(SignedBody):
    up_to: int = Field(ge=0, le=_BIGINT, description="Mark read every notification up to this id")


def _follow_model(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "wallet": r["wallet"],
        "market_id": r["market_id"],
        "question": r["question"],
        "followed_at": present(iso(r["created_at"])),
        "signed_message": r["signed_message"],
        "signature": r["signature"],
    }


@router.post("/api/follows", summary="Follow a market (signed with Sign-In-With-Solana)")
async def follow(
    body: FollowBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> Follow:
    await rate_limit(st, request, response, "reads", body.wallet)
    async with st.pool.connection() as conn, conn.transaction():
        if await q_discussions.market_state(conn, body.market_id) is None:
            raise not_found("market", body.market_id)
        await check_signed(
            conn,
            st,
            message=body.message,
            signature=body.signature,
            wallet=body.wallet,
            action="follow_market",
            subject=body.market_id,
        )
        row = await q.follow(
            conn,
            body.wallet,
            body.market_id,
            signed_message=body.message,
            signature=normalise_signature(body.signature),
        )
    return Follow(**_follow_model(row))


@router.delete("/api/follows", summary="Stop following a market (signed)")
async def unfollow(
    body: FollowBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> Unfollowed:
    await rate_limit(st, request, response, "reads", body.wallet)
    async with st.pool.connection() as conn, conn.transaction():
        await check_signed(
            conn,
            st,
            message=body.message,
            signature=body.signature,
            wallet=body.wallet,
            action="unfollow_market",
            subject=body.market_id,
        )
        was = await q.unfollow(conn, body.wallet, body.market_id)
    return Unfollowed(
        wallet=body.wallet, market_id=body.market_id, following=False, was_following=was
    )


@router.get("/api/users/{wallet}/follows", summary="The markets a wallet follows")
async def get_follows(
    wallet: Annotated[str, Depends(wallet_path)],
    st: Annotated[ApiState, Depends(state)],
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: Annotated[
        str | None,
        Query(pattern="^[0-9a-f]{64}$", description="`next_cursor` of the previous page"),
    ] = None,
) -> Follows:
    async with st.pool.connection() as conn:
        rows = await q.of_wallet(conn, wallet, after=cursor, limit=limit)
    return Follows(
        wallet=wallet,
        follows=[FollowedMarket(**_follow_model(r), state=r["state"]) for r in rows],
        next_cursor=rows[-1]["market_id"] if len(rows) == limit else None,
    )


def notification_model(r: dict[str, Any]) -> Notification:
    return Notification(
        id=r["id"],
        market_id=r["market_id"],
        question=r["question"],
        kind=r["kind"],
        deadline=iso(r["deadline"]),
        outcome=r["outcome"],
        comment_id=None if r["comment_id"] is None else str(r["comment_id"]),
        author=r["author"],
        created_at=present(iso(r["created_at"])),
        read=r["read_at"] is not None,
    )


@router.get(
    "/api/users/{wallet}/notifications",
    summary="A wallet's notifications, newest first",
    description="About the markets it follows or holds: resolution_proposed (with the dispute "
    "deadline), dispute_opened (with the voting deadline), finalized, claimable, comment. "
    "Generated by the database with the indexed change they are about, kept until read "
    "(POST /api/notifications/read) and after.",
)
async def get_notifications(
    wallet: Annotated[str, Depends(wallet_path)],
    st: Annotated[ApiState, Depends(state)],
    unread: Annotated[bool, Query(description="Only the unread ones")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None,
        Query(pattern="^[0-9]{1,19}$", description="`next_cursor` of the previous page"),
    ] = None,
) -> Notifications:
    before = None if cursor is None else int(cursor)
    if before is not None and before > _BIGINT:
        raise ApiError(422, "invalid_request", "cursor: not a cursor returned by this API")
    async with st.pool.connection() as conn:
        rows = await q.notifications(conn, wallet, unread=unread, before=before, limit=limit)
        count = await q.unread_count(conn, wallet)
    return Notifications(
        wallet=wallet,
        unread=count,
        notifications=[notification_model(r) for r in rows],
        next_cursor=str(rows[-1]["id"]) if len(rows) == limit else None,
    )


@router.post(
    "/api/notifications/read",
    summary="Mark a wallet's notifications read up to an id (signed)",
)
async def mark_read(
    body: ReadBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> NotificationsRead:
    await rate_limit(st, request, response, "reads", body.wallet)
    async with st.pool.connection() as conn, conn.transaction():
        await check_signed(
            conn,
            st,
            message=body.message,
            signature=body.signature,
            wallet=body.wallet,
            action="read_notifications",
            subject=str(body.up_to),
        )
        marked = await q.mark_read(conn, body.wallet, body.up_to)
        left = await q.unread_count(conn, body.wallet)
    return NotificationsRead(wallet=body.wallet, up_to=body.up_to, marked=marked, unread=left)
