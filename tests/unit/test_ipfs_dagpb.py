"""dag-pb and UnixFS protobuf encoding: canonical bytes and strict decoding."""

from __future__ import annotations

import pytest

from hybridmarket.ipfs import CID, DecodeError
from hybridmarket.ipfs.dagpb import PBLink, PBNode, UnixFSData, UnixFSType
from hybridmarket.ipfs.multiformats import RAW

pytestmark = pytest.mark.unit

LEAF = CID.for_block(b"leaf", RAW)


def test_links_are_written_before_data() -> None:
    node = PBNode(data=b"\x08\x02", links=(PBLink(LEAF, "", 4),))
    encoded = node.encode()
    assert encoded[0] == 0x12  # field 2 (Links) first
    assert encoded.endswith(b"\x0a\x02\x08\x02")  # field 1 (Data) last
    assert PBNode.decode(encoded) == node


def test_empty_node_and_optional_link_fields() -> None:
    assert PBNode().encode() == b""
    assert PBNode.decode(b"") == PBNode()
    bare = PBNode(links=(PBLink(LEAF, None, None),))
    assert PBNode.decode(bare.encode()) == bare


def test_data_before_links_is_accepted_like_the_reference_decoder() -> None:
    link = PBNode(links=(PBLink(LEAF, "x", 1),)).encode()
    data = PBNode(data=b"d").encode()
    assert PBNode.decode(data + link).links[0].name == "x"


@pytest.mark.parametrize(
    "block",
    [
        PBNode(links=(PBLink(LEAF),)).encode()
        + PBNode(data=b"d").encode()
        + PBNode(links=(PBLink(LEAF),)).encode(),  # links on both sides of Data
        PBNode(data=b"a").encode() + PBNode(data=b"b").encode(),  # two Data
        b"\x08\x01",  # Data as a varint
        b"\x1a\x00",  # unknown field 3
        b"\x12\x02\x18\x01",  # link without Hash
        b"\x12\x04\x0a\x02\x01\x55",  # link with a broken CID
        b"\x0a\x05ab",  # truncated
        b"\x0b",  # wire type 3
        b"\x0a",  # missing length
    ],
)
def test_malformed_dag_pb_is_rejected(block: bytes) -> None:
    with pytest.raises(DecodeError):
        PBNode.decode(block)


def test_link_field_order_is_enforced() -> None:
    hash_field = b"\x0a" + bytes([len(LEAF.to_bytes())]) + LEAF.to_bytes()
    name_then_hash = b"\x12\x00" + hash_field
    with pytest.raises(DecodeError):
        PBNode.decode(b"\x12" + bytes([len(name_then_hash)]) + name_then_hash)
    tsize_then_name = hash_field + b"\x18\x01\x12\x00"
    with pytest.raises(DecodeError):
        PBNode.decode(b"\x12" + bytes([len(tsize_then_name)]) + tsize_then_name)


def test_unixfs_file_encoding_matches_kubo() -> None:
    # Kubo's CIDv0 empty file: Data{Type: File, filesize: 0}
    assert UnixFSData(UnixFSType.FILE, data=b"", filesize=0).encode() == b"\x08\x02\x18\x00"
    parent = UnixFSData(UnixFSType.FILE, filesize=300, blocksizes=(200, 100))
    encoded = parent.encode()
    assert encoded == b"\x08\x02\x18\xac\x02\x20\xc8\x01\x20\x64"  # unpacked blocksizes
    assert UnixFSData.decode(encoded) == parent


def test_unixfs_decode_variants() -> None:
    packed = b"\x08\x02\x22\x03\xc8\x01\x64"
    assert UnixFSData.decode(packed).blocksizes == (200, 100)
    full = UnixFSData(UnixFSType.HAMT_SHARD, data=b"x", hash_type=0x22, fanout=256)
    assert UnixFSData.decode(full.encode() + b"\x38\xa4\x03") == full  # mode (field 7) ignored
    with pytest.raises(DecodeError):
        UnixFSData.decode(b"\x18\x00")  # no Type
    with pytest.raises(DecodeError):
        UnixFSData.decode(b"\x08\x09")  # unknown Type
    with pytest.raises(DecodeError):
        UnixFSData.decode(b"\x08\x02\x22\x01\x80")  # broken packed varint
