"""`GET /ipfs/{cid}` as an IPFS trustless gateway, over a real socket, fetched and verified the
way an IPFS client does: every block of a CAR hashed to its CID, raw blocks hashed, files
reassembled from verified blocks. Multi-block files (dag-pb root, raw leaves), CIDv0 and
CIDv1, content negotiation, caching headers, and every refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from hybridmarket.ipfs import CID, EmbeddedBackend, KuboBackend, cat, read_car
from hybridmarket.ipfs.dagpb import PBNode
from hybridmarket.ipfs.multiformats import DAG_PB, RAW
from hybridmarket.localnet.validator import LocalValidator

from .api_fixtures import api_settings
from .discussion_fixtures import Served, serving

pytestmark = pytest.mark.integration

CHUNK = 262_144
BIG = (bytes(range(251)) * (3 * CHUNK // 251 + 1))[: 2 * CHUNK + 1000]  # three leaves
IMMUTABLE = "public, max-age=29030400, immutable"


@pytest.fixture
async def api(validator: LocalValidator, db_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with serving(
        api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path / "data")
    ) as s:
        yield s


def store_of(api: Served) -> EmbeddedBackend:
    ipfs = api.st.ipfs
    assert isinstance(ipfs, EmbeddedBackend)  # the default: DATA_DIR/ipfs
    return ipfs


def verified_car(body: bytes, root: str) -> dict[CID, bytes]:
    car = read_car(body)  # verify=True: each block must hash to its CID
    assert [str(r) for r in car.roots] == [root]
    assert car.blocks[0][0] == CID.parse(root)  # the root comes first
    for cid, block in car.blocks:
        assert CID.for_block(block, cid.codec, cid.version) == cid
    assert len({c for c, _ in car.blocks}) == len(car.blocks)  # dups=n
    return car.block_map()


def error(r: httpx2.Response) -> str:
    code: str = r.json()["error"]["code"]
    return code


async def test_a_multi_block_file_fetched_and_verified_by_cid(api: Served) -> None:
    for version in (1, 0):
        cid = store_of(api).add(BIG, cid_version=version)
        root = CID.parse(cid)
        assert root.codec == DAG_PB and root.version == version

        r = await api.http.get(f"/ipfs/{cid}", params={"format": "car"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/vnd.ipld.car; version=1; order=dfs; dups=n"
        assert r.headers["etag"] == f'"{cid}.car"' and r.headers["cache-control"] == IMMUTABLE
        assert r.headers["x-ipfs-path"] == f"/ipfs/{cid}" and r.headers["x-ipfs-roots"] == cid
        blocks = verified_car(r.content, cid)
        links = PBNode.decode(blocks[root]).links
        assert len(blocks) == 4 and len(links) == 3
        assert [c for c, _ in read_car(r.content).blocks][1:] == [link.cid for link in links]
        assert cat(root, blocks.__getitem__) == BIG

        raw = await api.http.get(f"/ipfs/{cid}", params={"format": "raw"})
        assert raw.status_code == 200 and raw.headers["content-type"] == "application/vnd.ipld.raw"
        assert CID.for_block(raw.content, DAG_PB, version) == root
        assert raw.headers["etag"] == f'"{cid}.raw"'
        leaf = links[0].cid
        r = await api.http.get(f"/ipfs/{leaf}", params={"format": "raw"})
        assert CID.for_block(r.content, leaf.codec, leaf.version) == leaf

        r = await api.http.get(f"/ipfs/{cid}")
        assert r.status_code == 200 and r.content == BIG
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["etag"] == f'"{cid}"' and r.headers["cache-control"] == IMMUTABLE


async def test_content_negotiation_and_caching(api: Served) -> None:
    text = '{"hello": "wörld", "html": "<script>alert(1)</script>"}'.encode()
    cid = store_of(api).add(text)
    assert CID.parse(cid).codec == RAW  # one raw leaf
    cases = [
        ({"Accept": "application/vnd.ipld.raw"}, "application/vnd.ipld.raw"),
        ({"Accept": "application/vnd.ipld.car"}, "application/vnd.ipld.car"),
        ({"Accept": "application/vnd.ipld.car; version=1; order=dfs"}, "application/vnd.ipld.car"),
        (
            {"Accept": "text/html;q=0.9, application/vnd.ipld.raw;q=0.5"},
            "application/json",  # what the client prefers is the file itself
        ),
        (
            {"Accept": "application/vnd.ipld.car;q=0.2, application/vnd.ipld.raw"},
            "application/vnd.ipld.raw",
        ),
        ({"Accept": "application/vnd.ipld.car; version=2"}, "application/json"),  # only CARv1
        ({}, "application/json"),
    ]
    for headers, media in cases:
        r = await api.http.get(f"/ipfs/{cid}", headers=headers)
        assert r.status_code == 200, (headers, r.text)
        assert r.headers["content-type"].split(";")[0] == media, headers
        assert r.headers["vary"] == "Accept"
        if media == "application/vnd.ipld.car":
            verified_car(r.content, cid)
        else:
            assert r.content == text
    r = await api.http.get(f"/ipfs/{cid}")
    # User-written content is never served as HTML from the API's origin.
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in r.headers["content-security-policy"]
    # ?format wins over Accept.
    r = await api.http.get(
        f"/ipfs/{cid}", params={"format": "car"}, headers={"Accept": "application/vnd.ipld.raw"}
    )
    verified_car(r.content, cid)
    # Revalidation: the CID names the bytes, so a client holding this ETag has them.
    for params, etag in (({}, f'"{cid}"'), ({"format": "raw"}, f'"{cid}.raw"')):
        r = await api.http.get(f"/ipfs/{cid}", params=params, headers={"If-None-Match": etag})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
    r = await api.http.get(
        f"/ipfs/{cid}", params={"format": "raw"}, headers={"If-None-Match": f'"{cid}"'}
    )
    assert r.status_code == 200 and r.content == text  # another representation's ETag
    r = await api.http.head(f"/ipfs/{cid}", params={"format": "raw"})
    assert r.status_code == 200 and r.content == b"" and r.headers["etag"] == f'"{cid}.raw"'
    # dag-scope=block: the root block alone.
    big = store_of(api).add(BIG)
    r = await api.http.get(f"/ipfs/{big}", params={"format": "car", "dag-scope": "block"})
    assert list(verified_car(r.content, big)) == [CID.parse(big)]


async def test_refusals(api: Served, tmp_path: Path) -> None:
    stored = store_of(api).add(b"x")
    absent = EmbeddedBackend(tmp_path / "elsewhere").add(b"not stored by the API")
    cases = [
        (f"/ipfs/{absent}", {}, 404, "not_found"),
        (f"/ipfs/{absent}?format=car", {}, 404, "not_found"),
        (f"/ipfs/{absent}?format=raw", {}, 404, "not_found"),
        ("/ipfs/not-a-cid", {}, 400, "invalid_cid"),
        ("/ipfs/Qm123", {}, 400, "invalid_cid"),
        (f"/ipfs/{stored}?format=tar", {}, 400, "unsupported_format"),
        (f"/ipfs/{stored}?format=car&dag-scope=nope", {}, 422, "invalid_request"),
        (f"/ipfs/{stored}?format=car&entity-bytes=0:10", {}, 501, "not_implemented"),
        # A dag-cbor CID: its block could be served raw, but it cannot be walked as a file.
        (
            "/ipfs/bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
            {},
            501,
            "unsupported_dag",
        ),
    ]
    for path, headers, status, code in cases:
        r = await api.http.get(path, headers=headers)
        assert (r.status_code, error(r)) == (status, code), (path, r.text)
    # A Kubo node that is down: 503; a backend that cannot serve blocks at all: 501.
    with KuboBackend("http://127.0.0.1:9", timeout=2) as down:
        api.st.ipfs = down
        r = await api.http.get(f"/ipfs/{stored}")
        assert r.status_code == 503 and error(r) == "ipfs_unavailable", r.text

    class WriteOnly:
        def add(self, data: bytes, *, cid_version: int = 1) -> str:
            raise NotImplementedError

    api.st.ipfs = WriteOnly()  # type: ignore[assignment]
    r = await api.http.get(f"/ipfs/{stored}")
    assert r.status_code == 501 and error(r) == "gateway_unsupported", r.text
