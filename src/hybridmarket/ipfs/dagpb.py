"""dag-pb (``PBNode``/``PBLink``) and UnixFS ``Data`` protobuf encoding, written by hand.

Why no protobuf library: a CID hashes the exact bytes, and the dag-pb spec fixes a byte layout
that generated protobuf code does not produce — ``Links`` (field 2) are written *before*
``Data`` (field 1), links always carry ``Hash``, ``Name`` and ``Tsize`` in that order, and UnixFS
``blocksizes`` are repeated, *unpacked* varints (proto2). Google's ``protobuf`` serializes by
field number (Data first) and would give different CIDs; the pure-Python alternatives on PyPI are
unmaintained. The wire format needed here is two message types of varints and byte strings, so
the encoder/decoder below is short and follows the specs:

* https://ipld.io/specs/codecs/dag-pb/spec/
* https://github.com/ipfs/specs/blob/main/UNIXFS.md
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from hybridmarket.ipfs.cid import CID
from hybridmarket.ipfs.errors import DecodeError, InvalidCidError
from hybridmarket.ipfs.multiformats import decode_varint, encode_varint

_VARINT = 0
_LEN = 2


def _key(field_number: int, wire_type: int) -> bytes:
    return encode_varint(field_number << 3 | wire_type)


def _len_field(field_number: int, payload: bytes) -> bytes:
    return _key(field_number, _LEN) + encode_varint(len(payload)) + payload


def _varint_field(field_number: int, value: int) -> bytes:
    return _key(field_number, _VARINT) + encode_varint(value)


def _fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """Split a protobuf message into ``(field_number, wire_type, value)`` triples."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    try:
        while pos < len(data):
            key, pos = decode_varint(data, pos)
            number, wire_type = key >> 3, key & 7
            if number == 0:
                raise DecodeError("protobuf field number 0")
            if wire_type == _VARINT:
                value, pos = decode_varint(data, pos)
                out.append((number, wire_type, value))
            elif wire_type == _LEN:
                length, pos = decode_varint(data, pos)
                if pos + length > len(data):
                    raise DecodeError("truncated protobuf length-delimited field")
                out.append((number, wire_type, data[pos : pos + length]))
                pos += length
            else:
                raise DecodeError(f"unsupported protobuf wire type {wire_type}")
    except ValueError as exc:
        raise DecodeError(f"malformed protobuf: {exc}") from None
    return out


# -- dag-pb ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PBLink:
    """A dag-pb link: target CID, optional name, optional cumulative size of the target DAG."""

    cid: CID
    name: str | None = ""
    tsize: int | None = None

    def encode(self) -> bytes:
        """Protobuf bytes of the link: Hash (1), Name (2), Tsize (3)."""
        out = _len_field(1, self.cid.to_bytes())
        if self.name is not None:
            out += _len_field(2, self.name.encode("utf-8"))
        if self.tsize is not None:
            out += _varint_field(3, self.tsize)
        return out


@dataclass(frozen=True, slots=True)
class PBNode:
    """A dag-pb node: ordered links and optional opaque data (a UnixFS message for files)."""

    data: bytes | None = None
    links: Sequence[PBLink] = field(default_factory=tuple)

    def encode(self) -> bytes:
        """Canonical dag-pb bytes: every link (field 2) first, then Data (field 1)."""
        out = b"".join(_len_field(2, link.encode()) for link in self.links)
        if self.data is not None:
            out += _len_field(1, self.data)
        return out

    @classmethod
    def decode(cls, block: bytes) -> PBNode:
        """Parse dag-pb bytes, as strictly as the reference decoder (``@ipld/dag-pb``).

        Known fields with the right wire types only, one Data section, and the links in one
        run (Data may come before or after them, but not between).
        """
        data: bytes | None = None
        links: list[PBLink] = []
        links_before_data = False
        for number, wire_type, value in _fields(block):
            if number == 1 and wire_type == _LEN and isinstance(value, bytes):
                if data is not None:
                    raise DecodeError("dag-pb node has two Data fields")
                data = value
                links_before_data = bool(links)
            elif number == 2 and wire_type == _LEN and isinstance(value, bytes):
                if links_before_data:
                    raise DecodeError("dag-pb Links found on both sides of Data")
                links.append(_decode_link(value))
            else:
                raise DecodeError(f"unexpected dag-pb field {number} (wire type {wire_type})")
        return cls(data=data, links=tuple(links))


def _decode_link(payload: bytes) -> PBLink:
    cid: CID | None = None
    name: str | None = None
    tsize: int | None = None
    for number, wire_type, value in _fields(payload):
        if number != 1 and cid is None:
            raise DecodeError("dag-pb link fields out of order: Hash must come first")
        if number == 2 and tsize is not None:
            raise DecodeError("dag-pb link fields out of order: Name after Tsize")
        if number == 1 and wire_type == _LEN and isinstance(value, bytes) and cid is None:
            try:
                cid = CID.from_bytes(value)
            except InvalidCidError as exc:
                raise DecodeError(f"dag-pb link has an invalid CID: {exc}") from None
        elif number == 2 and wire_type == _LEN and isinstance(value, bytes) and name is None:
            try:
                name = value.decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("dag-pb link name is not UTF-8") from None
        elif number == 3 and wire_type == _VARINT and isinstance(value, int) and tsize is None:
            tsize = value
        else:
            raise DecodeError(f"unexpected or repeated dag-pb link field {number}")
    if cid is None:
        raise DecodeError("dag-pb link without Hash")
    return PBLink(cid=cid, name=name, tsize=tsize)


# -- UnixFS ---------------------------------------------------------------------------------------


class UnixFSType(IntEnum):
    """UnixFS ``Data.DataType``."""

    RAW = 0
    DIRECTORY = 1
    FILE = 2
    METADATA = 3
    SYMLINK = 4
    HAMT_SHARD = 5


@dataclass(frozen=True, slots=True)
class UnixFSData:
    """The UnixFS message carried in a dag-pb node's Data (mode/mtime are kept opaque)."""

    type: UnixFSType
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: tuple[int, ...] = ()
    hash_type: int | None = None
    fanout: int | None = None

    def encode(self) -> bytes:
        """Protobuf bytes in field order, blocksizes unpacked (as Kubo and js-ipfs write)."""
        out = _varint_field(1, int(self.type))
        if self.data:
            out += _len_field(2, self.data)
        if self.filesize is not None:
            out += _varint_field(3, self.filesize)
        for size in self.blocksizes:
            out += _varint_field(4, size)
        if self.hash_type is not None:
            out += _varint_field(5, self.hash_type)
        if self.fanout is not None:
            out += _varint_field(6, self.fanout)
        return out

    @classmethod
    def decode(cls, payload: bytes) -> UnixFSData:
        """Parse a UnixFS Data message; unknown fields (mode, mtime) are ignored."""
        kind: int | None = None
        data: bytes | None = None
        filesize: int | None = None
        blocksizes: list[int] = []
        hash_type: int | None = None
        fanout: int | None = None
        for number, wire_type, value in _fields(payload):
            if wire_type == _VARINT and isinstance(value, int):
                if number == 1:
                    kind = value
                elif number == 3:
                    filesize = value
                elif number == 4:
                    blocksizes.append(value)
                elif number == 5:
                    hash_type = value
                elif number == 6:
                    fanout = value
            elif wire_type == _LEN and isinstance(value, bytes):
                if number == 2:
                    data = value
                elif number == 4:  # tolerate packed blocksizes
                    pos = 0
                    try:
                        while pos < len(value):
                            size, pos = decode_varint(value, pos)
                            blocksizes.append(size)
                    except ValueError as exc:
                        raise DecodeError(f"malformed packed blocksizes: {exc}") from None
        if kind is None:
            raise DecodeError("UnixFS Data without Type")
        try:
            unixfs_type = UnixFSType(kind)
        except ValueError:
            raise DecodeError(f"unknown UnixFS type {kind}") from None
        return cls(
            type=unixfs_type,
            data=data,
            filesize=filesize,
            blocksizes=tuple(blocksizes),
            hash_type=hash_type,
            fanout=fanout,
        )
