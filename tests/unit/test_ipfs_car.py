"""CARv1 export: byte-identical to @ipld/car's for the vectors, parseable, verified."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from hybridmarket.ipfs import (
    CID,
    BlockCorruptError,
    BlockNotFoundError,
    DecodeError,
    UnsupportedError,
    export_car,
    import_bytes,
    read_car,
    walk_dag,
)
from hybridmarket.ipfs.car import car_section, encode_header, write_car
from hybridmarket.ipfs.dagpb import PBLink, PBNode
from hybridmarket.ipfs.multiformats import DAG_CBOR, DAG_PB, RAW, encode_varint

pytestmark = pytest.mark.unit

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "ipfs" / "unixfs.json").read_text()
)["vectors"]


@cache
def pattern(size: int) -> bytes:
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def store_for(
    data: bytes, version: int, chunk_size: int = 262_144, max_children: int = 174
) -> tuple[CID, dict[CID, bytes]]:
    result = import_bytes(
        data, cid_version=version, chunk_size=chunk_size, max_children=max_children
    )
    return result.root, {b.cid: b.data for b in result.blocks}


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: f"{v['name']}-v{v['cid_version']}")
def test_car_matches_reference_bytes(v: dict[str, Any]) -> None:
    root, blocks = store_for(
        pattern(v["size"]),
        v["cid_version"],
        chunk_size=v["chunk_size"],
        max_children=v["max_children"],
    )
    car = b"".join(export_car(root, blocks.__getitem__))
    assert len(car) == v["car_length"]
    assert hashlib.sha256(car).hexdigest() == v["car_sha256"]
    if v["dfs_block_cids"] is not None:
        assert [str(c) for c, _ in walk_dag(root, blocks.__getitem__)] == v["dfs_block_cids"]


def test_car_round_trip() -> None:
    root, blocks = store_for(pattern(3 * 262_144 + 5), 0)
    car = b"".join(export_car(str(root), blocks.__getitem__))
    parsed = read_car(car)
    assert parsed.roots == (root,)
    assert parsed.block_map() == blocks
    assert parsed.blocks[0][0] == root
    empty_header_car = b"".join(write_car([], []))
    assert read_car(empty_header_car).roots == ()


def test_header_encoding() -> None:
    root = CID.for_block(b"", RAW)
    header = encode_header([root])
    assert header.startswith(b"\xa2eroots\x81\xd8\x2a\x58\x25\x00")
    assert header.endswith(b"gversion\x01")


def test_corrupt_block_is_detected() -> None:
    root, blocks = store_for(b"hello world", 1)
    car = bytearray(b"".join(export_car(root, blocks.__getitem__)))
    car[-1] ^= 0xFF
    with pytest.raises(BlockCorruptError):
        read_car(bytes(car))
    assert read_car(bytes(car), verify=False).blocks[0][1].endswith(bytes([ord("d") ^ 0xFF]))


@pytest.mark.parametrize(
    "car",
    [
        b"",
        b"\x00",
        b"\x05\xa1",  # truncated header
        encode_varint(3) + b"\xa1ax",  # map value missing
        encode_varint(1) + b"\x01",  # not a map
        encode_varint(12) + b"\xa1gversion\x02",  # version 2
        encode_varint(15) + b"\xa2eroots\x80gversion",  # truncated value
        encode_varint(17) + b"\xa2eroots\x81\x01gversion\x01",  # root is not a CID
        b"".join(write_car([], [])) + b"\x05\x01",  # truncated section
        b"".join(write_car([], [])) + b"\x03\x01\x55\x12",  # bad CID in section
        b"".join(write_car([], [])) + b"\x00",  # empty section
    ],
)
def test_malformed_car_is_rejected(car: bytes) -> None:
    with pytest.raises(DecodeError):
        read_car(car)


def test_walk_refuses_other_codecs_and_missing_blocks() -> None:
    cbor = CID.for_block(b"\xa0", DAG_CBOR)
    node = PBNode(data=b"\x08\x02", links=(PBLink(cbor, "", 1),)).encode()
    root = CID.for_block(node, DAG_PB)
    blocks = {root: node, cbor: b"\xa0"}
    with pytest.raises(UnsupportedError):
        list(walk_dag(root, blocks.__getitem__))

    def missing(cid: CID) -> bytes:
        raise BlockNotFoundError(str(cid))

    with pytest.raises(BlockNotFoundError):
        b"".join(export_car(root, missing))


def test_car_section_framing() -> None:
    cid = CID.for_block(b"abc", RAW)
    section = car_section(cid, b"abc")
    assert section[0] == 36 + 3
    assert section[1:37] == cid.to_bytes()


def test_missing_root_raises_before_any_byte() -> None:
    calls: list[CID] = []

    def missing(cid: CID) -> bytes:
        calls.append(cid)
        raise BlockNotFoundError(str(cid))

    root = CID.for_block(b"absent", RAW)
    with pytest.raises(BlockNotFoundError):
        export_car(root, missing)  # not iterated: the error comes from the call itself
    assert calls == [root]
    root_only, blocks = store_for(b"present", 1)
    fetched: list[CID] = []

    def counting(cid: CID) -> bytes:
        fetched.append(cid)
        return blocks[cid]

    assert read_car(b"".join(export_car(root_only, counting))).roots == (root_only,)
    assert fetched == [root_only]  # the root is fetched once
