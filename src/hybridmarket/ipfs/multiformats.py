"""The small part of the multiformats family that IPFS CIDs need.

* unsigned varints (LEB128, as used by multicodec, multihash, CIDs and CAR framing);
* multibase: base32 lower/upper (``b``/``B``, RFC 4648 without padding), base58btc (``z``)
  and base16 (``f``/``F``);
* multihash: sha2-256 (``0x12``) and identity (``0x00``), the only functions we verify.

Written by hand rather than taken from PyPI: ``multiformats`` (last release 2023) needs a
configuration package and brings typing-extensions tricks for a few dozen lines we need;
``py-cid``/``py-multibase``/``py-multihash`` are three more untyped dependencies. base58 comes from
the already-pinned ``base58`` package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from enum import Enum

import base58

from hybridmarket.ipfs.errors import InvalidCidError, UnsupportedError

# multicodec codes
SHA2_256 = 0x12
IDENTITY = 0x00
RAW = 0x55
DAG_PB = 0x70
DAG_CBOR = 0x71

CODEC_NAMES: dict[int, str] = {RAW: "raw", DAG_PB: "dag-pb", DAG_CBOR: "dag-cbor"}

MAX_VARINT_BYTES = 9  # the multiformats spec caps unsigned varints at 9 bytes (63 bits)


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer as an unsigned LEB128 varint."""
    if value < 0:
        raise ValueError("varint must be non-negative")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes | memoryview, offset: int = 0) -> tuple[int, int]:
    """Decode an unsigned varint at ``offset``; return ``(value, next_offset)``.

    Raises :class:`ValueError` on truncated, over-long or non-minimal encodings.
    """
    value = 0
    shift = 0
    pos = offset
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        if pos - offset >= MAX_VARINT_BYTES:
            raise ValueError("varint longer than 9 bytes")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and pos - offset > 1:
                raise ValueError("non-minimal varint encoding")
            return value, pos
        shift += 7


class Multibase(Enum):
    """Multibase encodings understood here (value = prefix character)."""

    BASE32 = "b"
    BASE32_UPPER = "B"
    BASE58BTC = "z"
    BASE16 = "f"
    BASE16_UPPER = "F"


def multibase_encode(data: bytes, base: Multibase = Multibase.BASE32) -> str:
    """Encode ``data`` with its multibase prefix."""
    return base.value + _encode_plain(data, base)


def _encode_plain(data: bytes, base: Multibase) -> str:
    if base is Multibase.BASE32:
        return base64.b32encode(data).decode("ascii").rstrip("=").lower()
    if base is Multibase.BASE32_UPPER:
        return base64.b32encode(data).decode("ascii").rstrip("=")
    if base is Multibase.BASE58BTC:
        return base58.b58encode(data).decode("ascii")
    if base is Multibase.BASE16:
        return data.hex()
    return data.hex().upper()


_B32_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")
_B58_ALPHABET = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


def base58btc_decode(text: str) -> bytes:
    """Decode plain base58btc (no multibase prefix); reject foreign characters."""
    if not text or not set(text) <= _B58_ALPHABET:
        raise InvalidCidError(f"invalid base58btc string {text!r}")
    return bytes(base58.b58decode(text))


def multibase_decode(text: str) -> tuple[Multibase, bytes]:
    """Decode a multibase string; return its base and the bytes.

    Raises :class:`InvalidCidError` for an unknown prefix or characters outside the alphabet.
    """
    if not text:
        raise InvalidCidError("empty multibase string")
    prefix, body = text[0], text[1:]
    try:
        base = Multibase(prefix)
    except ValueError:
        raise InvalidCidError(f"unsupported multibase prefix {prefix!r}") from None
    if not body:
        raise InvalidCidError("multibase string has no payload")
    if base in (Multibase.BASE32, Multibase.BASE32_UPPER):
        if base is Multibase.BASE32_UPPER:
            if body != body.upper():
                raise InvalidCidError("mixed case in base32 upper string")
            body = body.lower()
        if not set(body) <= _B32_ALPHABET:
            raise InvalidCidError("invalid character in base32 string")
        if len(body) % 8 in (1, 3, 6):
            raise InvalidCidError(f"invalid base32 length {len(body)} (truncated or extended)")
        padded = body.upper() + "=" * (-len(body) % 8)
        try:
            decoded = base64.b32decode(padded)
        except binascii.Error as exc:
            raise InvalidCidError(f"invalid base32 string: {exc}") from None
        if _encode_plain(decoded, Multibase.BASE32) != body:
            raise InvalidCidError("non-canonical base32 string (bad length or trailing bits)")
        return base, decoded
    if base is Multibase.BASE58BTC:
        return base, base58btc_decode(body)
    expected_case = body.lower() if base is Multibase.BASE16 else body.upper()
    if body != expected_case:
        raise InvalidCidError("mixed case in base16 string")
    try:
        return base, bytes.fromhex(body)
    except ValueError as exc:
        raise InvalidCidError(f"invalid base16 string: {exc}") from None


@dataclass(frozen=True, slots=True)
class Multihash:
    """A multihash: hash function code and digest."""

    code: int
    digest: bytes

    @classmethod
    def sha2_256(cls, data: bytes) -> Multihash:
        """The sha2-256 multihash of ``data``."""
        return cls(SHA2_256, hashlib.sha256(data).digest())

    @classmethod
    def decode(cls, data: bytes | memoryview, offset: int = 0) -> tuple[Multihash, int]:
        """Parse a binary multihash at ``offset``; return it and the offset after it."""
        try:
            code, pos = decode_varint(data, offset)
            length, pos = decode_varint(data, pos)
        except ValueError as exc:
            raise InvalidCidError(f"malformed multihash: {exc}") from None
        if pos + length > len(data):
            raise InvalidCidError(
                f"multihash digest truncated: needs {length} bytes, {len(data) - pos} present"
            )
        if code == SHA2_256 and length != 32:
            raise InvalidCidError(f"sha2-256 digest must be 32 bytes, got {length}")
        return cls(code, bytes(data[pos : pos + length])), pos + length

    def to_bytes(self) -> bytes:
        """Binary form: ``varint(code) varint(len) digest``."""
        return encode_varint(self.code) + encode_varint(len(self.digest)) + self.digest

    def verifies(self, data: bytes) -> bool:
        """Whether ``data`` hashes to this multihash.

        Raises :class:`UnsupportedError` for hash functions other than sha2-256 and identity.
        """
        if self.code == SHA2_256:
            return hashlib.sha256(data).digest() == self.digest
        if self.code == IDENTITY:
            return data == self.digest
        raise UnsupportedError(f"unsupported multihash function 0x{self.code:x}")
