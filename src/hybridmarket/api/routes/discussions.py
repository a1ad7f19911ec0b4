"""Discussions (the seed's "Option B"): flat comments in PostgreSQL, signed by their authors'
wallets with Sign-In-With-Solana, archived daily on IPFS (`hybridmarket.worker.snapshots`).

- `POST /api/discussions`: post a comment. The body carries the SIWS text the wallet signed
  (from `GET /api/auth/nonce?action=post_comment&subject=<market id>&content_sha256=<hex>`)
  and its signature: domain = this deployment, statement "Post a comment on market <id>", a
  single-use nonce, at most 10 minutes of validity, `sha256:<hex of the content>` as a
  resource. Content is 1-1000 characters (Unicode code points, not bytes), stored and returned
  exactly as sent; `content_html` is the same text escaped for HTML.
- `GET /api/discussions/{market_id}`: newest or oldest first, keyset cursor pagination,
  soft-deleted comments left out, plus the market's IPFS snapshots.
- `DELETE /api/discussions/{id}`: soft delete by the author or a moderator
  (MODERATOR_WALLETS), with a signed "Delete comment <id>" message; a reason, if given, must be
  covered by the message (`sha256:<hex of the reason>` resource). Who, why and the signed
  request are recorded.
- `GET /api/discussions/ipfs/{cid}`: a snapshot document, served only after its bytes were
  checked to hash to the CID.

Each comment keeps its signed message and signature, returned here and archived in snapshots,
so anyone can check who wrote it without trusting this server.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import base58
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hybridmarket.api import siws
from hybridmarket.api.common import (
    MarketIdPath,
    Signature,
    Wallet,
    check_signed,
    parse_time,
    rate_limit,
)
from hybridmarket.api.errors import ApiError, not_found
from hybridmarket.api.models import (
    Comment,
    DeletedComment,
    Discussion,
    Snapshot,
    SnapshotDocument,
    SnapshotLinks,
)
from hybridmarket.api.routes import error_responses
from hybridmarket.api.state import ApiState, state
from hybridmarket.db.queries import discussions as q
from hybridmarket.ipfs.cid import CID
from hybridmarket.ipfs.errors import BackendError, BlockNotFoundError, IpfsError
from hybridmarket.ipfs.importer import compute_cid
from hybridmarket.signals import comment_change
from hybridmarket.worker.snapshots import format_time

router = APIRouter(
    prefix="/api/discussions",
    tags=["discussions"],
    responses=error_responses(400, 401, 403, 404, 422, 429, 502, 503),
)

MAX_CONTENT_CHARS = 1000
MAX_REASON_CHARS = 500
SNAPSHOTS_LISTED = 1000
IMMUTABLE = "public, max-age=29030400, immutable"


def _check_text(name: str, value: str, max_chars: int) -> None:
    """1..max_chars code points of encodable, NUL-free text with something besides spaces."""
    if "\x00" in value:
        raise ApiError(422, f"invalid_{name}", f"{name} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            422, f"invalid_{name}", f"{name} is not valid Unicode (a lone surrogate)"
        ) from None
    if not value.strip():
        raise ApiError(422, f"empty_{name}", f"{name} must not be empty or only spaces")
    if len(value) > max_chars:
        raise ApiError(
            422,
            f"{name}_too_long",
            f"{name} is {len(value)} characters; at most {max_chars} are allowed",
            {"max_chars": max_chars, "chars": len(value)},
        )


def comment_model(row: dict[str, Any]) -> Comment:
    """The public shape of a comment: content as sent, content_html escaped, and the signed
    message and signature that prove its author."""
    content = row["content"]
    return Comment(
        id=str(row["id"]),
        market_id=row["market_id"],
        user_wallet=row["user_wallet"],
        content=content,
        content_html=html.escape(content, quote=True),
        created_at=format_time(row["created_at"]),
        signed_message=row["signed_message"],
        signature=row["signature"],
    )


def _normalise_signature(signature: str) -> str:
    """The verified 64-byte signature, base58 (one encoding for every stored signature)."""
    return base58.b58encode(siws.decode_signature(signature)).decode()


class PostComment(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    market_id: str = Field(
        alias="marketId",
        pattern="^[0-9a-f]{64}$",
        description="The market (64 hex digits); `market_id` is accepted too",
    )
    content: str = Field(description="1-1000 characters, stored and returned exactly as sent")
    wallet: Wallet
    message: str = Field(
        min_length=1, max_length=siws.MAX_TEXT_CHARS, description="The SIWS text the wallet signed"
    )
    signature: Signature = Field(description="ed25519 signature, base58 or base64")


@router.post("", summary="Post a comment (signed with Sign-In-With-Solana)", status_code=201)
async def post_comment(
    body: PostComment,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> Comment:
    _check_text("content", body.content, MAX_CONTENT_CHARS)
    await rate_limit(st, request, response, "comments", body.wallet)
    market_id = body.market_id
    async with st.pool.connection() as conn, st.signals.transaction(conn) as announce:
        if await q.market_state(conn, market_id) is None:
            raise not_found("market", market_id)
        await check_signed(
            conn,
            st,
            message=body.message,
            signature=body.signature,
            wallet=body.wallet,
            action="post_comment",
            subject=market_id,
            resources=(siws.content_resource(body.content),),
        )
        await q.lock_for_comment(conn)
        row = await q.insert_comment(
            conn,
            market_id=market_id,
            user_wallet=body.wallet,
            content=body.content,
            signed_message=body.message,
            signature=_normalise_signature(body.signature),
        )
        out = comment_model(row)
        comment = out.model_dump(include={"id", "user_wallet", "created_at"})
        announce.append(comment_change(market_id, comment))
    st.cache.invalidate([market_id])
    response.headers["Location"] = f"/api/discussions/{market_id}"
    return out


def _encode_cursor(created_at: datetime, cid: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(cid)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, ident = json.loads(raw)
        if not isinstance(at, str) or not isinstance(ident, str):
            raise ValueError
        parse_time(at)
        uuid.UUID(ident)
        return at, ident
    except (ValueError, binascii.Error, TypeError):
        raise ApiError(
            422, "invalid_request", "cursor: not a cursor returned by this API"
        ) from None


def snapshot_model(row: dict[str, Any]) -> Snapshot:
    cid = row["ipfs_hash"]
    return Snapshot(
        cid=cid,
        snapshot_date=row["snapshot_date"].isoformat(),
        discussions_count=int(row["discussions_count"]),
        size_bytes=None if row["size_bytes"] is None else int(row["size_bytes"]),
        created_at=format_time(row["created_at"]),
        links=SnapshotLinks(document=f"/api/discussions/ipfs/{cid}", gateway=f"/ipfs/{cid}"),
    )


@router.get("/{market_id}", summary="A market's comments (cursor pages) and IPFS snapshots")
async def list_discussions(
    market_id: MarketIdPath,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
    order: Literal["newest", "oldest"] = "newest",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
) -> Discussion:
    await rate_limit(st, request, response, "reads")
    after = _decode_cursor(cursor) if cursor else None

    async def load() -> Discussion:
        async with st.pool.connection() as conn:
            if await q.market_state(conn, market_id) is None:
                raise not_found("market", market_id)
            rows = await q.list_comments(
                conn, market_id, newest_first=order == "newest", limit=limit + 1, after=after
            )
            anchors = await q.list_anchors(conn, market_id, limit=SNAPSHOTS_LISTED)
        page = rows[:limit]
        nxt = None
        if len(rows) > limit:
            nxt = _encode_cursor(page[-1]["created_at"], page[-1]["id"])
        return Discussion(
            market_id=market_id,
            order=order,
            discussions=[comment_model(r) for r in page],
            next_cursor=nxt,
            ipfs_snapshots=[snapshot_model(a) for a in anchors],
        )

    result: Discussion = await st.cache.get(
        f"discussions:{market_id}:{order}:{limit}:{cursor}", load, tags=[market_id]
    )
    return result


class DeleteComment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wallet: Wallet = Field(description="The author, or a moderator")
    message: str = Field(min_length=1, max_length=siws.MAX_TEXT_CHARS)
    signature: Signature
    reason: str | None = Field(
        None,
        description="Why (at most 500 characters); the signed message must list "
        "sha256:<hex of the reason> as a resource",
    )


@router.delete("/{comment_id}", summary="Soft-delete a comment (its author or a moderator)")
async def delete_comment(
    comment_id: Annotated[uuid.UUID, Path(description="The comment's id")],
    body: DeleteComment,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> DeletedComment:
    if body.reason is not None:
        _check_text("reason", body.reason, MAX_REASON_CHARS)
    moderator = body.wallet in st.moderators
    await rate_limit(st, request, response, "admin" if moderator else "comments", body.wallet)
    async with st.pool.connection() as conn, st.signals.transaction(conn) as announce:
        row = await q.comment_for_update(conn, comment_id)
        if row is None:
            raise not_found("comment", str(comment_id))
        await check_signed(
            conn,
            st,
            message=body.message,
            signature=body.signature,
            wallet=body.wallet,
            action="delete_comment",
            subject=str(comment_id),
            resources=(siws.content_resource(body.reason),) if body.reason is not None else (),
        )
        if body.wallet != row["user_wallet"] and not moderator:
            raise ApiError(
                403, "not_allowed", "only the comment's author or a moderator may delete it"
            )
        deleted = await q.soft_delete(
            conn,
            comment_id,
            deleted_by=body.wallet,
            reason=body.reason,
            delete_message=body.message,
            delete_signature=_normalise_signature(body.signature),
        )
        if deleted is None:  # unreachable: the row is locked and was not deleted
            raise not_found("comment", str(comment_id))
        market_id = deleted["market_id"]
        announce.append(
            comment_change(
                market_id,
                {
                    "id": str(comment_id),
                    "user_wallet": deleted["user_wallet"],
                    "created_at": format_time(deleted["created_at"]),
                    "deleted_at": format_time(deleted["deleted_at"]),
                },
            )
        )
    st.cache.invalidate([market_id])
    return DeletedComment(
        id=str(comment_id),
        market_id=market_id,
        deleted=True,
        deleted_at=format_time(deleted["deleted_at"]),
        deleted_by=deleted["deleted_by"],
        delete_reason=deleted["delete_reason"],
        by_moderator=body.wallet != deleted["user_wallet"],
    )


def _parse_cid(text: str) -> CID:
    try:
        return CID.parse(text)
    except (IpfsError, ValueError):
        raise ApiError(400, "invalid_cid", f"not a CID: {text[:100]!r}") from None


def _verified_content(st: ApiState, cid: CID) -> bytes:
    data = st.ipfs.cat(cid)
    if compute_cid(data, cid_version=cid.version) != str(cid):
        raise ApiError(502, "snapshot_corrupt", f"the content stored for {cid} does not hash to it")
    return data


@router.get(
    "/ipfs/{cid}",
    summary="A discussion snapshot from IPFS, checked against its CID",
    response_class=Response,
    responses={
        200: {
            "description": "The document's bytes as stored (canonical JSON)",
            "content": {"application/json": {}},
            "model": SnapshotDocument,
        }
    },
)
async def get_snapshot(
    cid: Annotated[str, Path(max_length=200)],
    request: Request,
    st: Annotated[ApiState, Depends(state)],
) -> Response:
    await rate_limit(st, request, None, "reads")
    parsed = _parse_cid(cid)
    async with st.pool.connection() as conn:
        anchor = await q.anchor_by_cid(conn, str(parsed))
    if anchor is None:
        raise ApiError(404, "snapshot_not_found", f"no discussion snapshot has CID {parsed}")
    try:
        data = await asyncio.to_thread(_verified_content, st, parsed)
    except BlockNotFoundError:
        raise ApiError(
            404, "snapshot_unavailable", f"snapshot {parsed} is recorded but not in the IPFS store"
        ) from None
    except BackendError as e:
        raise ApiError(503, "ipfs_unavailable", f"the IPFS backend failed: {e}") from None
    except IpfsError as e:
        raise ApiError(502, "snapshot_corrupt", f"snapshot {parsed} cannot be read: {e}") from None
    return Response(
        content=data,
        media_type="application/json",
        headers={
            "ETag": f'"{parsed}"',
            "Cache-Control": IMMUTABLE,
            "X-Ipfs-Path": f"/ipfs/{parsed}",
            "X-Content-Type-Options": "nosniff",
        },
    )
