"""`GET /ipfs/{cid}`: the content this deployment stores on IPFS (discussion snapshots, vote
tallies), served as an IPFS trustless gateway serves it
(https://specs.ipfs.tech/http-gateways/trustless-gateway/), so any IPFS client can fetch it
from here and verify it block by block, trusting nothing but the CID.

- `?format=raw` or `Accept: application/vnd.ipld.raw`: the one block named by the CID
  (`application/vnd.ipld.raw`).
- `?format=car` or `Accept: application/vnd.ipld.car`: a CARv1 of the DAG, root first then
  depth-first in link order, each block once (`application/vnd.ipld.car; version=1;
  order=dfs; dups=n`). `dag-scope=block` gives the root block alone; `all` and `entity` (the
  same thing for a file) the whole DAG. `entity-bytes` ranges are not implemented (501).
- Otherwise the file's content (UnixFS), as `application/json` when it looks like JSON,
  `text/plain; charset=utf-8` when it is UTF-8 text, else `application/octet-stream`; never
  as HTML (the content is user-written), with `nosniff` and a sandboxing CSP.

Responses carry `ETag` (`"<cid>"` for the file; `"<cid>.raw"` / `"<cid>.car"` for the other
representations, as Kubo's gateway names them, so caches keep them apart), `Cache-Control:
public, max-age=29030400, immutable`, `X-Ipfs-Path`, `X-Ipfs-Roots` and `Vary: Accept`;
`If-None-Match` gives 304. An invalid CID is 400; an unknown one 404 (JSON envelope).

Blocks come from the configured backend: the embedded block store (also behind a pinning
service) on local disk, or a Kubo node through its RPC (`block/get`, every block verified).
Any other backend is answered with 501; a failing remote node with 503.
"""

from __future__ import annotations

import asyncio
import codecs
import itertools
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from hybridmarket.api.common import rate_limit
from hybridmarket.api.errors import ApiError
from hybridmarket.api.routes import error_responses
from hybridmarket.api.state import ApiState, state
from hybridmarket.ipfs.backends import EmbeddedBackend, KuboBackend, PinningServiceBackend
from hybridmarket.ipfs.car import CAR_CONTENT_TYPE, export_car, write_car
from hybridmarket.ipfs.cid import CID
from hybridmarket.ipfs.errors import (
    BackendError,
    BlockCorruptError,
    BlockNotFoundError,
    DecodeError,
    IpfsError,
    NotAFileError,
    UnsupportedError,
)
from hybridmarket.ipfs.exporter import iter_cat
from hybridmarket.ipfs.multiformats import DAG_PB, RAW

router = APIRouter(tags=["ipfs"], responses=error_responses(400, 404, 422, 429, 501, 502, 503))

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = f"{CAR_CONTENT_TYPE}; version=1; order=dfs; dups=n"
IMMUTABLE = "public, max-age=29030400, immutable"
GetBlock = Callable[[CID], bytes]


def block_source(st: ApiState) -> GetBlock:
    """How to read verified blocks from the configured backend, or 501 if it cannot."""
    ipfs = st.ipfs
    if isinstance(ipfs, EmbeddedBackend):
        return ipfs.store.get
    if isinstance(ipfs, PinningServiceBackend):
        return ipfs.local.store.get  # a pinning service has no read API; blocks are kept here
    if isinstance(ipfs, KuboBackend):
        return ipfs.get_block  # block/get, checked against the CID
    raise ApiError(
        501,
        "gateway_unsupported",
        f"the configured IPFS backend ({type(ipfs).__name__}) cannot serve blocks",
    )


def _parse_cid(text: str) -> CID:
    try:
        return CID.parse(text)
    except (IpfsError, ValueError):
        raise ApiError(400, "invalid_cid", f"not a CID: {text[:100]!r}") from None


def _media_ranges(accept: str) -> list[tuple[float, str, dict[str, str]]]:
    """(q, type, params) of each media range of an Accept header, best first."""
    out = []
    for i, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        params: dict[str, str] = {}
        for f in fields[1:]:
            k, _, v = f.partition("=")
            params[k.strip().lower()] = v.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 0.0
        out.append((q, -i, fields[0].lower(), params))
    out.sort(reverse=True)
    return [(q, t, p) for q, _, t, p in out if q > 0]


def _negotiate(fmt: str | None, accept: str) -> str:
    """'raw', 'car' or 'file'."""
    if fmt is not None:
        if fmt in ("raw", "car"):
            return fmt
        raise ApiError(
            400, "unsupported_format", f"format={fmt!r} is not served here; use raw or car"
        )
    for _, media, params in _media_ranges(accept):  # the client's preferred range decides
        if media == RAW_TYPE:
            return "raw"
        if media == CAR_CONTENT_TYPE:
            if params.get("version", "1") != "1":
                continue  # only CARv1 is produced
            return "car"
        return "file"
    return "file"


def _sniff(head: bytes) -> str:
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head[:4096], final=False)
    except UnicodeDecodeError:
        return "application/octet-stream"
    if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
        return "application/octet-stream"
    if text.lstrip()[:1] in ("{", "["):
        return "application/json"
    return "text/plain; charset=utf-8"


def _ipfs_error(cid: CID, e: Exception) -> ApiError:
    if isinstance(e, BlockNotFoundError):
        return ApiError(404, "not_found", f"no content with CID {cid} is stored here")
    if isinstance(e, NotAFileError):
        return ApiError(501, "not_a_file", f"{cid} is not a file; use ?format=raw or ?format=car")
    if isinstance(e, UnsupportedError):
        return ApiError(501, "unsupported_dag", str(e))
    if isinstance(e, BackendError):
        return ApiError(503, "ipfs_unavailable", f"the IPFS node failed: {e}")
    if isinstance(e, BlockCorruptError | DecodeError):
        return ApiError(502, "corrupt_content", f"stored content of {cid} is corrupt")
    return ApiError(502, "ipfs_error", f"{type(e).__name__}: {e}")


@router.api_route(
    "/ipfs/{cid}",
    methods=["GET"],
    summary="IPFS trustless gateway: the file, ?format=raw (a block) or ?format=car",
    response_class=Response,
    responses={
        200: {
            "content": {
                RAW_TYPE: {},
                CAR_CONTENT_TYPE: {},
                "application/json": {},
                "application/octet-stream": {},
            }
        },
        304: {"description": "Not modified (If-None-Match)"},
    },
)
async def gateway(
    cid: Annotated[str, Path(max_length=200, description="CIDv0 or CIDv1")],
    request: Request,
    st: Annotated[ApiState, Depends(state)],
    format_: Annotated[
        str | None, Query(alias="format", max_length=20, description="raw or car")
    ] = None,
    dag_scope: Annotated[
        str, Query(alias="dag-scope", pattern="^(all|entity|block)$", description="For CARs")
    ] = "all",
    entity_bytes: Annotated[str | None, Query(alias="entity-bytes", max_length=60)] = None,
) -> Response:
    await rate_limit(st, request, None, "reads")
    root = _parse_cid(cid)
    kind = _negotiate(format_, request.headers.get("accept", ""))
    if entity_bytes is not None:
        raise ApiError(501, "not_implemented", "entity-bytes ranges are not supported")
    get_block = block_source(st)
    etag = {"raw": f'"{root}.raw"', "car": f'"{root}.car"', "file": f'"{root}"'}[kind]
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE,
        "X-Ipfs-Path": f"/ipfs/{cid}",
        "X-Ipfs-Roots": str(root),
        "Vary": "Accept",
        "X-Content-Type-Options": "nosniff",
    }
    inm = request.headers.get("if-none-match")
    if inm and (inm.strip() == "*" or etag in [t.strip() for t in inm.split(",")]):
        # Content named by a CID never changes: the client's copy is this one, if we have it.
        try:
            await asyncio.to_thread(get_block, root)
        except Exception as e:
            raise _ipfs_error(root, e) from None
        return Response(status_code=304, headers=headers)
    head = request.method == "HEAD"

    if kind == "raw":
        try:
            block = await asyncio.to_thread(get_block, root)
        except Exception as e:
            raise _ipfs_error(root, e) from None
        headers["Content-Disposition"] = f'attachment; filename="{root}.bin"'
        return Response(content=b"" if head else block, media_type=RAW_TYPE, headers=headers)

    if root.codec not in (RAW, DAG_PB):
        raise ApiError(
            501, "unsupported_dag", f"{root} is {root.codec_name}; only ?format=raw serves it"
        )

    if kind == "car":
        headers["Content-Disposition"] = f'attachment; filename="{root}.car"'
        try:
            if dag_scope == "block":
                block = await asyncio.to_thread(get_block, root)
                chunks: Iterator[bytes] = write_car([root], [(root, block)])
            else:
                chunks = await asyncio.to_thread(export_car, root, get_block)
        except Exception as e:
            raise _ipfs_error(root, e) from None
        if head:
            return Response(media_type=CAR_TYPE, headers=headers)
        return StreamingResponse(chunks, media_type=CAR_TYPE, headers=headers)

    content = iter_cat(root, get_block)
    try:
        first = await asyncio.to_thread(next, content, b"")
    except Exception as e:
        raise _ipfs_error(root, e) from None
    media = _sniff(first)
    headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if head:
        return Response(media_type=media, headers=headers)
    return StreamingResponse(itertools.chain([first], content), media_type=media, headers=headers)


# HEAD answers like GET without a body; documented once (two methods on one function would give
# the OpenAPI document a duplicate operation id).
router.add_api_route("/ipfs/{cid}", gateway, methods=["HEAD"], include_in_schema=False)
