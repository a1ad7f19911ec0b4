"""The importer against vectors made by ipfs-unixfs-importer with Kubo's settings."""

from __future__ import annotations

import hashlib
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from hybridmarket.ipfs import CID, compute_cid, import_bytes, import_chunks, import_file
from hybridmarket.ipfs.dagpb import PBNode, UnixFSData, UnixFSType
from hybridmarket.ipfs.importer import Block, chunk_bytes, chunk_stream
from hybridmarket.ipfs.multiformats import DAG_PB, RAW

pytestmark = pytest.mark.unit

VECTORS_FILE = Path(__file__).parents[1] / "vectors" / "ipfs" / "unixfs.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text())["vectors"]


@cache
def pattern(size: int) -> bytes:
    """The vectors' deterministic content: byte i is i % 251."""
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def vector_id(v: dict[str, Any]) -> str:
    return f"{v['name']}-v{v['cid_version']}"


@cache
def imported(size: int, version: int, chunk_size: int, max_children: int) -> Any:
    return import_bytes(
        pattern(size), cid_version=version, chunk_size=chunk_size, max_children=max_children
    )


def _import(v: dict[str, Any]) -> Any:
    return imported(v["size"], v["cid_version"], v["chunk_size"], v["max_children"])


def test_vectors_cover_the_required_cases() -> None:
    sizes = {(v["size"], v["chunk_size"]) for v in VECTORS}
    chunk = 262_144
    for size in (0, 1, chunk, chunk + 1, 1 << 20, 175 * chunk + 1):
        assert (size, chunk) in sizes
    assert {v["cid_version"] for v in VECTORS} == {0, 1}
    assert max(v["depth"] for v in VECTORS if v["chunk_size"] == chunk) == 2
    assert max(v["depth"] for v in VECTORS) >= 4


@pytest.mark.parametrize("v", VECTORS, ids=vector_id)
def test_root_cid_matches_reference(v: dict[str, Any]) -> None:
    result = _import(v)
    assert result.cid == v["cid"]
    assert result.file_size == v["size"]
    assert result.dag_size == v["dag_size"]
    assert len(result.blocks) == v["block_count"]
    root_block = result.blocks[-1]
    assert root_block.cid == result.root
    assert hashlib.sha256(root_block.data).hexdigest() == v["root_block_sha256"]
    if v["root_block_hex"] is not None:
        assert root_block.data.hex() == v["root_block_hex"]


@pytest.mark.parametrize("v", VECTORS, ids=vector_id)
def test_blocks_are_well_formed(v: dict[str, Any]) -> None:
    result = _import(v)
    version = v["cid_version"]
    by_cid = {b.cid: b.data for b in result.blocks}
    for block in result.blocks:
        block.cid.verify(block.data)
        assert block.cid.version == version or block.cid.codec == RAW
        if block.cid.codec == RAW:
            assert version == 1
            assert len(block.data) <= v["chunk_size"]
            continue
        node = PBNode.decode(block.data)
        assert node.encode() == block.data  # canonical encoding round-trips
        assert node.data is not None
        unixfs = UnixFSData.decode(node.data)
        assert unixfs.type is UnixFSType.FILE
        assert len(node.links) <= v["max_children"]
        for link in node.links:
            assert link.cid in by_cid
            assert link.name == ""


def test_chunking() -> None:
    assert list(chunk_bytes(b"")) == [b""]
    assert list(chunk_bytes(b"abcde", 2)) == [b"ab", b"cd", b"e"]
    assert [len(c) for c in chunk_bytes(pattern(600_000))] == [262_144, 262_144, 75_712]


class Trickle(io.RawIOBase):
    """A stream returning at most 1000 bytes per read, like a pipe."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.inner.read(min(size, 1000) if size >= 0 else 1000)


@pytest.mark.parametrize("size", [0, 1, 262_144, 600_000])
def test_chunk_stream_coalesces_short_reads(size: int) -> None:
    data = pattern(size)
    assert list(chunk_stream(Trickle(data))) == list(chunk_bytes(data))  # type: ignore[arg-type]


def test_import_file_and_compute_cid(tmp_path: Path) -> None:
    v = next(x for x in VECTORS if x["name"] == "one-mib" and x["cid_version"] == 0)
    path = tmp_path / "f.bin"
    path.write_bytes(pattern(v["size"]))
    assert import_file(path, cid_version=0).cid == v["cid"]
    assert compute_cid(pattern(v["size"]), cid_version=0) == v["cid"]


def test_sink_receives_every_block_in_order() -> None:
    seen: list[Block] = []
    data = pattern(5 * 262_144 + 3)
    result = import_bytes(data, cid_version=1, sink=seen.append)
    assert result.blocks == ()
    assert seen[-1].cid == result.root
    assert [b.cid for b in seen] == [b.cid for b in import_bytes(data).blocks]


def test_duplicate_chunks_are_stored_once() -> None:
    data = b"\x00" * (3 * 262_144)
    result = import_bytes(data, cid_version=1)
    assert len(result.blocks) == 2  # one zero leaf + the root
    root = PBNode.decode(result.blocks[-1].data)
    assert len(root.links) == 3
    assert len({link.cid for link in root.links}) == 1


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError):
        import_bytes(b"", cid_version=2)
    with pytest.raises(ValueError):
        import_chunks([b"a"], max_children=1)


def test_codecs_per_version() -> None:
    v1 = import_bytes(pattern(262_145), cid_version=1)
    v0 = import_bytes(pattern(262_145), cid_version=0)
    assert {b.cid.codec for b in v1.blocks} == {RAW, DAG_PB}
    assert {(b.cid.codec, b.cid.version) for b in v0.blocks} == {(DAG_PB, 0)}
    assert isinstance(v1.root, CID)
