"""Content identifiers (CIDs), version 0 and 1, in binary and string forms.

* CIDv0: the bare binary sha2-256 multihash (34 bytes), written in base58btc without a multibase
  prefix (``Qm...``, 46 characters); its codec is always dag-pb.
* CIDv1: ``varint(1) varint(codec) multihash`` (36 bytes for raw/dag-pb + sha2-256), written with
  a multibase prefix, base32 lower-case by default (``bafy...`` for dag-pb, ``bafk...`` for raw).

Parsing raises :class:`~hybridmarket.ipfs.errors.InvalidCidError` with a message saying what is
wrong. :func:`cid_to_bytes`/:func:`cid_from_bytes` are the binary helpers for on-chain storage,
where a CID lives in a fixed 46-byte, zero-padded field.
"""

from __future__ import annotations

from dataclasses import dataclass

from hybridmarket.ipfs.errors import BlockCorruptError, InvalidCidError
from hybridmarket.ipfs.multiformats import (
    CODEC_NAMES,
    DAG_PB,
    RAW,
    SHA2_256,
    Multibase,
    Multihash,
    base58btc_decode,
    decode_varint,
    encode_varint,
    multibase_decode,
    multibase_encode,
)

CIDV0_STRING_LENGTH = 46
CIDV0_BYTES_LENGTH = 34
#: Size of the zero-padded on-chain field :func:`cid_from_bytes` accepts.
MAX_PADDED_CID_BYTES = 46


@dataclass(frozen=True, slots=True)
class CID:
    """A parsed CID. Equality and hashing compare version, codec and multihash."""

    version: int
    codec: int
    multihash: Multihash

    def __post_init__(self) -> None:
        if self.version not in (0, 1):
            raise InvalidCidError(f"unsupported CID version {self.version}")
        if self.version == 0 and (
            self.codec != DAG_PB
            or self.multihash.code != SHA2_256
            or len(self.multihash.digest) != 32
        ):
            raise InvalidCidError("a CIDv0 is always dag-pb with a 32-byte sha2-256 multihash")

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def for_block(cls, data: bytes, codec: int, version: int = 1) -> CID:
        """The CID of a block of bytes (sha2-256)."""
        return cls(version, codec, Multihash.sha2_256(data))

    @classmethod
    def decode(cls, value: str | bytes | bytearray | memoryview | CID) -> CID:
        """Parse a CID from its string form, its binary form or return a :class:`CID` as is."""
        if isinstance(value, CID):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return cls.from_bytes(bytes(value))
        if not isinstance(value, str):
            raise InvalidCidError(f"CID must be str or bytes, not {type(value).__name__}")
        return cls.parse(value)

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parse the string form of a CID (v0 ``Qm...`` or multibase-prefixed v1)."""
        text = text.strip()
        if not text:
            raise InvalidCidError("empty CID string")
        if len(text) == CIDV0_STRING_LENGTH and text.startswith("Qm"):
            raw = base58btc_decode(text)
            if len(raw) != CIDV0_BYTES_LENGTH:
                raise InvalidCidError(f"CIDv0 {text!r} does not decode to a 34-byte multihash")
            return cls.from_bytes(raw)
        _, raw = multibase_decode(text)
        if raw[:2] == bytes([SHA2_256, 32]):
            raise InvalidCidError("a CIDv0 must be written in base58btc without a multibase prefix")
        cid = cls.from_bytes(raw)
        if cid.version == 0:  # pragma: no cover - excluded by the check above
            raise InvalidCidError("CIDv0 with a multibase prefix")
        return cid

    @classmethod
    def from_bytes(cls, data: bytes) -> CID:
        """Parse the binary form of a CID; the whole buffer must be consumed."""
        cid, end = cls.read(data, 0)
        if end != len(data):
            raise InvalidCidError(f"{len(data) - end} unexpected byte(s) after the CID")
        return cid

    @classmethod
    def read(cls, data: bytes | memoryview, offset: int = 0) -> tuple[CID, int]:
        """Parse a binary CID at ``offset`` in a larger buffer; return it and the end offset."""
        if len(data) - offset < 2:
            raise InvalidCidError("binary CID too short")
        if data[offset] == SHA2_256 and data[offset + 1] == 32:
            mh, end = Multihash.decode(data, offset)
            return cls(0, DAG_PB, mh), end
        try:
            version, pos = decode_varint(data, offset)
            if version != 1:
                raise InvalidCidError(f"unsupported CID version {version}")
            codec, pos = decode_varint(data, pos)
        except ValueError as exc:
            raise InvalidCidError(f"malformed binary CID: {exc}") from None
        mh, end = Multihash.decode(data, pos)
        return cls(1, codec, mh), end

    # -- output ---------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The binary form (34 bytes for v0, 36 for a v1 raw/dag-pb sha2-256 CID)."""
        if self.version == 0:
            return self.multihash.to_bytes()
        return encode_varint(1) + encode_varint(self.codec) + self.multihash.to_bytes()

    def encode(self, base: Multibase | None = None) -> str:
        """The string form: base58btc for v0, multibase (base32 by default) for v1."""
        if self.version == 0:
            if base not in (None, Multibase.BASE58BTC):
                raise InvalidCidError("a CIDv0 can only be written in base58btc")
            return multibase_encode(self.to_bytes(), Multibase.BASE58BTC)[1:]
        return multibase_encode(self.to_bytes(), base or Multibase.BASE32)

    def __str__(self) -> str:
        return self.encode()

    def __repr__(self) -> str:
        return f"CID({self.encode()!r})"

    # -- conversions and checks -----------------------------------------------------------------

    @property
    def codec_name(self) -> str:
        """Human name of the codec (``raw``, ``dag-pb``...) or its hex code."""
        return CODEC_NAMES.get(self.codec, f"0x{self.codec:x}")

    def to_v1(self) -> CID:
        """The same content as a CIDv1 (v1 CIDs are returned unchanged)."""
        return CID(1, self.codec, self.multihash)

    def to_v0(self) -> CID:
        """The same content as a CIDv0; only dag-pb sha2-256 CIDs have one."""
        return CID(0, self.codec, self.multihash)

    def same_content(self, other: CID) -> bool:
        """Whether both CIDs name the same block (same codec and multihash, any version)."""
        return self.codec == other.codec and self.multihash == other.multihash

    def verify(self, data: bytes) -> None:
        """Raise :class:`BlockCorruptError` unless ``data`` hashes to this CID."""
        if not self.multihash.verifies(data):
            raise BlockCorruptError(str(self))


def parse_cid(value: str | bytes | bytearray | memoryview | CID) -> CID:
    """Parse a CID from any of its forms (see :meth:`CID.decode`)."""
    return CID.decode(value)


def normalize_cid(value: str | bytes | bytearray | memoryview | CID) -> str:
    """Parse a CID and return its canonical string form (v0 stays v0, v1 in base32)."""
    return str(CID.decode(value))


def cid_to_bytes(cid_str: str) -> bytes:
    """Binary form of a CID string: 36 bytes for a CIDv1 raw/dag-pb sha2-256, 34 for a CIDv0."""
    return CID.parse(cid_str).to_bytes()


def cid_from_bytes(data: bytes) -> str:
    """String form of a binary CID, tolerating trailing zero padding up to 46 bytes in all.

    On-chain accounts keep CIDs in a fixed-size zero-padded byte field; anything after the CID
    must be zero bytes and the whole field at most :data:`MAX_PADDED_CID_BYTES` long.
    """
    data = bytes(data)
    if len(data) > MAX_PADDED_CID_BYTES:
        raise InvalidCidError(f"binary CID field is {len(data)} bytes, at most 46 allowed")
    cid, end = CID.read(data, 0)
    if any(data[end:]):
        raise InvalidCidError("non-zero bytes after the binary CID")
    return str(cid)


__all__ = [
    "CID",
    "DAG_PB",
    "MAX_PADDED_CID_BYTES",
    "RAW",
    "cid_from_bytes",
    "cid_to_bytes",
    "normalize_cid",
    "parse_cid",
]
