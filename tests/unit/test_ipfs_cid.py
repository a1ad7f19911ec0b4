"""CIDs: known values, round trips, binary helpers for on-chain storage, malformed input."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridmarket.ipfs import (
    CID,
    InvalidCidError,
    cid_from_bytes,
    cid_to_bytes,
    compute_cid,
    normalize_cid,
)
from hybridmarket.ipfs.errors import BlockCorruptError, UnsupportedError
from hybridmarket.ipfs.multiformats import (
    DAG_PB,
    IDENTITY,
    RAW,
    Multibase,
    Multihash,
    decode_varint,
    encode_varint,
    multibase_decode,
)

pytestmark = pytest.mark.unit

EMPTY_V1 = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
EMPTY_V0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
# "hello\n" as js-ipfs 0.66 printed it for `add --cid-version=1` (base58btc CIDv1)
HELLO_V1_B58 = "zb2rhcc1wJn2GHDLT2YkmPq5b69cXc2xfRZZmyufbjFUfBkxr"


def test_empty_file_cids_match_kubo() -> None:
    assert compute_cid(b"", cid_version=1) == EMPTY_V1
    assert compute_cid(b"", cid_version=0) == EMPTY_V0


def test_v1_parse_fields() -> None:
    cid = CID.parse(EMPTY_V1)
    assert (cid.version, cid.codec, cid.codec_name) == (1, RAW, "raw")
    assert cid.multihash == Multihash.sha2_256(b"")
    assert str(cid) == EMPTY_V1
    assert repr(cid) == f"CID('{EMPTY_V1}')"
    assert len(cid.to_bytes()) == 36


def test_v0_parse_fields() -> None:
    cid = CID.parse(EMPTY_V0)
    assert (cid.version, cid.codec, cid.codec_name) == (0, DAG_PB, "dag-pb")
    assert cid.to_bytes()[:2] == b"\x12\x20"
    assert len(cid.to_bytes()) == 34
    assert str(cid) == EMPTY_V0
    assert str(cid.to_v1()).startswith("bafybei")
    assert cid.to_v1().to_v0() == cid
    assert cid.same_content(cid.to_v1())
    assert cid != cid.to_v1()


def test_other_multibases_decode_to_the_same_cid() -> None:
    cid = CID.parse(EMPTY_V1)
    for base in Multibase:
        text = cid.encode(base)
        assert text[0] == base.value
        assert CID.parse(text) == cid
    assert CID.parse(HELLO_V1_B58) == CID.parse(compute_cid(b"hello\n"))
    assert CID.parse(EMPTY_V1.upper()[1:].join(["B", ""])) == cid


def test_decode_accepts_all_forms() -> None:
    cid = CID.parse(EMPTY_V1)
    assert CID.decode(cid) is cid
    assert CID.decode(cid.to_bytes()) == cid
    assert CID.decode(bytearray(cid.to_bytes())) == cid
    assert CID.decode(f"  {EMPTY_V1}\n") == cid
    assert normalize_cid(cid.encode(Multibase.BASE58BTC)) == EMPTY_V1


def test_v0_cannot_use_another_base_and_raw_has_no_v0() -> None:
    v0 = CID.parse(EMPTY_V0)
    with pytest.raises(InvalidCidError):
        v0.encode(Multibase.BASE32)
    with pytest.raises(InvalidCidError):
        CID.parse(EMPTY_V1).to_v0()


def test_verify() -> None:
    cid = CID.for_block(b"abc", RAW)
    cid.verify(b"abc")
    with pytest.raises(BlockCorruptError):
        cid.verify(b"abd")
    identity = CID(1, RAW, Multihash(IDENTITY, b"inline"))
    identity.verify(b"inline")
    with pytest.raises(UnsupportedError):
        CID(1, RAW, Multihash(0x13, b"x" * 64)).verify(b"")


def test_cid_to_bytes_and_back() -> None:
    v1 = cid_to_bytes(EMPTY_V1)
    v0 = cid_to_bytes(EMPTY_V0)
    assert len(v1) == 36
    assert v1[:2] == b"\x01\x55"
    assert v1[2:] == b"\x12\x20" + hashlib.sha256(b"").digest()
    assert len(v0) == 34
    assert cid_from_bytes(v1) == EMPTY_V1
    assert cid_from_bytes(v0) == EMPTY_V0
    dag_pb_v1 = cid_to_bytes(str(CID.parse(EMPTY_V0).to_v1()))
    assert len(dag_pb_v1) == 36


@pytest.mark.parametrize("cid_str", [EMPTY_V1, EMPTY_V0])
def test_cid_from_bytes_tolerates_zero_padding_up_to_46(cid_str: str) -> None:
    raw = cid_to_bytes(cid_str)
    for pad in range(46 - len(raw) + 1):
        assert cid_from_bytes(raw + b"\x00" * pad) == cid_str
    with pytest.raises(InvalidCidError, match="at most 46"):
        cid_from_bytes(raw + b"\x00" * (47 - len(raw)))
    with pytest.raises(InvalidCidError, match="non-zero"):
        cid_from_bytes(raw + b"\x00\x01")


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 46, b"\x01", b"\x02\x55\x12\x20" + b"\x00" * 32, b"\x01\x55\x12\x20\x00"],
)
def test_cid_from_bytes_rejects_garbage(data: bytes) -> None:
    with pytest.raises(InvalidCidError):
        cid_from_bytes(data)


MALFORMED = [
    ("", "empty"),
    ("   ", "empty"),
    ("Qm" + "0" * 44, "base58btc"),  # '0' is not in the base58 alphabet
    ("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQ", "prefix"),  # 45 chars: not a v0
    ("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQHH", "prefix"),  # 47 chars
    ("xafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", "prefix"),
    ("b", "no payload"),
    ("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk", "base32 length"),
    (EMPTY_V1[:57], "truncated"),  # 56 base32 chars = 35 whole bytes, one digest byte short
    ("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykv", "non-canonical"),
    ("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk1", "invalid character"),
    ("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykua", "base32 length"),
    ("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykuaaa", "unexpected"),
    ("BAFKREIHDWDcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", "mixed case"),
    ("f0155122", "truncated|hex|base16"),
    ("f02551220" + "00" * 32, "version 2"),
    ("f01551210" + "00" * 16, "32 bytes"),  # sha2-256 with a 16-byte digest
    ("fFF", "mixed case|truncated"),
    ("z" + "1" * 10, "too short|version|truncated"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_cids_raise_typed_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidCidError, match=message):
        CID.parse(text)


def test_v0_multihash_with_multibase_prefix_is_rejected() -> None:
    v0_bytes = CID.parse(EMPTY_V0).to_bytes()
    with pytest.raises(InvalidCidError, match="base58btc without a multibase prefix"):
        CID.parse("f" + v0_bytes.hex())


def test_wrong_types_and_versions() -> None:
    with pytest.raises(InvalidCidError):
        CID.decode(123)  # type: ignore[arg-type]
    with pytest.raises(InvalidCidError):
        CID(2, RAW, Multihash.sha2_256(b""))
    with pytest.raises(InvalidCidError):
        CID(0, RAW, Multihash.sha2_256(b""))
    assert issubclass(InvalidCidError, ValueError)


def test_multibase_decode_errors() -> None:
    with pytest.raises(InvalidCidError):
        multibase_decode("")
    with pytest.raises(InvalidCidError):
        multibase_decode("fzz")


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_varint_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded + b"\xff") == (value, len(encoded))


@pytest.mark.parametrize("data", [b"", b"\x80", b"\x80\x00", b"\xff" * 10])
def test_varint_rejects_bad_encodings(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_varint(data)


def test_encode_varint_rejects_negative() -> None:
    with pytest.raises(ValueError):
        encode_varint(-1)


@given(
    st.sampled_from([0, 1]),
    st.sampled_from([RAW, DAG_PB, 0x71, 0x0129]),
    st.binary(max_size=64),
)
def test_cid_round_trips(version: int, codec: int, payload: bytes) -> None:
    cid = CID.for_block(payload, DAG_PB if version == 0 else codec, version)
    assert CID.from_bytes(cid.to_bytes()) == cid
    assert CID.parse(str(cid)) == cid
    assert cid_from_bytes(cid_to_bytes(str(cid)).ljust(46, b"\x00")) == str(cid)
