"""`GET /api/markets/{id}/archive`: the head of a market's discussion archive on IPFS.

Each daily snapshot names the CID of the market's previous one (`previous`,
`hybridmarket.worker.snapshots`), so the latest CID published here is all anyone needs to walk
the whole archive back and prove that no day was dropped or rewritten
(`hybridmarket verify-archive MARKET_ID` does it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hybridmarket.api.common import MarketIdPath, rate_limit
from hybridmarket.api.errors import not_found
from hybridmarket.api.models import MarketId, SnapshotLinks
from hybridmarket.api.routes import error_responses
from hybridmarket.api.state import ApiState, state
from hybridmarket.db.queries import discussions as q

router = APIRouter(
    prefix="/api/markets", tags=["discussions"], responses=error_responses(404, 422, 429, 503)
)


class ArchiveHead(BaseModel):
    """The latest snapshot of a market's discussion: the start of the chain back to its first."""

    model_config = ConfigDict(extra="forbid")
    market_id: MarketId
    latest_cid: str | None = Field(
        description="CID of the latest daily snapshot; null before the first"
    )
    latest_date: str | None = Field(description="Its UTC day (YYYY-MM-DD)")
    first_date: str | None = Field(description="The UTC day of the first snapshot")
    days: int = Field(ge=0, description="Days archived (one snapshot per day with comments)")
    links: SnapshotLinks | None = Field(description="The latest document, and its gateway file")


@router.get("/{market_id}/archive", summary="The latest CID of a market's discussion archive")
async def archive_head(
    market_id: MarketIdPath,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> ArchiveHead:
    await rate_limit(st, request, response, "reads")
    async with st.pool.connection() as conn:
        if await q.market_state(conn, market_id) is None:
            raise not_found("market", market_id)
        head = await q.archive_head(conn, market_id)
    if head is None:
        return ArchiveHead(
            market_id=market_id,
            latest_cid=None,
            latest_date=None,
            first_date=None,
            days=0,
            links=None,
        )
    cid = head["ipfs_hash"]
    return ArchiveHead(
        market_id=market_id,
        latest_cid=cid,
        latest_date=head["snapshot_date"].isoformat(),
        first_date=head["first_date"].isoformat(),
        days=int(head["days"]),
        links=SnapshotLinks(document=f"/api/discussions/ipfs/{cid}", gateway=f"/ipfs/{cid}"),
    )
