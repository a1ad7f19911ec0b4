"""`POST /api/evidence`: a resolver's evidence (text, a link written as text, or a file) stored
on this deployment's IPFS, answered with its CID, which goes into the resolve transaction; the
market page links it through the gateway (`/ipfs/{cid}`, served as text, JSON or bytes, never
as HTML). The CID is what `ipfs add --cid-version=1` gives for the same bytes.

The body is the document's bytes as they are (any content type), at most EVIDENCE_MAX_BYTES
(413 beyond; the request-body limit allows this route that much, whatever API_MAX_BODY_BYTES
says for the small JSON bodies of the others). Uploads count against the `markets`
rate limit per IP, the one on writing market documents. Nothing here is signed: content named
by its CID cannot be passed off as other content, and only the market's resolver can put a
CID on chain."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from hybridmarket.api.common import rate_limit
from hybridmarket.api.errors import ApiError
from hybridmarket.api.routes import error_responses
from hybridmarket.api.state import ApiState, state
from hybridmarket.ipfs.errors import BackendError, IpfsError

router = APIRouter(prefix="/api", tags=["evidence"], responses=error_responses(413, 422, 429, 503))

EVIDENCE_MAX_BYTES = 1 << 20  # 1 MiB
EVIDENCE_PATH = "/api/evidence"


class Evidence(BaseModel):
    cid: str = Field(description="CIDv1 of the stored bytes, for resolve's evidence_cid")
    size: int = Field(description="Bytes stored")
    url: str = Field(description="Where this API serves it (the IPFS gateway)")


@router.post(
    EVIDENCE_PATH.removeprefix("/api"),
    summary="Store a resolution's evidence on IPFS; returns its CID",
    status_code=201,
    response_model=Evidence,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The evidence document's bytes (text, or any file)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def store_evidence(
    request: Request, response: Response, st: Annotated[ApiState, Depends(state)]
) -> Evidence:
    await rate_limit(st, request, response, "markets")
    data = await request.body()  # at most EVIDENCE_MAX_BYTES: BodyLimit refused more
    if not data:
        raise ApiError(422, "evidence_empty", "the evidence is empty")
    try:
        cid = await asyncio.to_thread(st.ipfs.add, data, cid_version=1)
    except BackendError as e:
        raise ApiError(503, "ipfs_unavailable", f"the IPFS node failed: {e}") from None
    except IpfsError as e:
        raise ApiError(503, "ipfs_unavailable", f"IPFS: {type(e).__name__}: {e}") from None
    return Evidence(cid=cid, size=len(data), url=f"/ipfs/{cid}")
