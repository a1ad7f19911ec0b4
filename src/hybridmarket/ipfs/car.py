"""CARv1 (Content Addressable aRchive) writer and reader.

A CARv1 is ``varint(len(header)) header`` followed by ``varint(len(cid)+len(data)) cid data``
for each block, where the header is the dag-cbor map ``{"roots": [CID...], "version": 1}``
(https://ipld.io/specs/transport/car/carv1/). The header's dag-cbor is produced by hand (its shape
is fixed: dag-cbor sorts map keys by length, so ``roots`` precedes ``version``; a CID is CBOR
tag 42 over the bytes ``0x00 || cid``). The reader decodes just enough CBOR for any valid header.

:func:`export_car` streams a DAG the way an IPFS trustless gateway answers ``?format=car``:
the root, then its links depth-first in link order, each block once.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from hybridmarket.ipfs.cid import CID
from hybridmarket.ipfs.dagpb import PBNode
from hybridmarket.ipfs.errors import DecodeError, InvalidCidError, UnsupportedError
from hybridmarket.ipfs.multiformats import DAG_PB, RAW, decode_varint, encode_varint

CAR_CONTENT_TYPE = "application/vnd.ipld.car"

_CID_TAG = 42
_MAX_HEADER = 1 << 20
#: Largest block accepted when reading a CAR (Kubo refuses blocks over 2 MiB; leave headroom).
MAX_BLOCK_SIZE = 4 << 20


# -- minimal CBOR ---------------------------------------------------------------------------------


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for extra, fmt, limit in ((24, ">B", 1 << 8), (25, ">H", 1 << 16), (26, ">I", 1 << 32)):
        if value < limit:
            return bytes([major << 5 | extra]) + struct.pack(fmt, value)
    return bytes([major << 5 | 27]) + struct.pack(">Q", value)


def _cbor_text(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _cbor_head(3, len(raw)) + raw


def _cbor_cid(cid: CID) -> bytes:
    payload = b"\x00" + cid.to_bytes()
    return _cbor_head(6, _CID_TAG) + _cbor_head(2, len(payload)) + payload


def encode_header(roots: Iterable[CID]) -> bytes:
    """dag-cbor bytes of a CARv1 header ``{"roots": [...], "version": 1}``."""
    roots = list(roots)
    return (
        _cbor_head(5, 2)
        + _cbor_text("roots")
        + _cbor_head(4, len(roots))
        + b"".join(_cbor_cid(root) for root in roots)
        + _cbor_text("version")
        + _cbor_head(0, 1)
    )


class _CborReader:
    """Decodes the CBOR subset a CAR header uses (no floats, no indefinite lengths)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DecodeError("truncated CBOR in CAR header")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def _head(self) -> tuple[int, int]:
        first = self._take(1)[0]
        major, info = first >> 5, first & 0x1F
        if info < 24:
            return major, info
        sizes = {24: ">B", 25: ">H", 26: ">I", 27: ">Q"}
        if info not in sizes:
            raise DecodeError(f"unsupported CBOR additional info {info} in CAR header")
        fmt = sizes[info]
        (value,) = struct.unpack(fmt, self._take(struct.calcsize(fmt)))
        return major, int(value)

    def item(self) -> object:
        major, value = self._head()
        if major == 0:
            return value
        if major == 2:
            return self._take(value)
        if major == 3:
            try:
                return self._take(value).decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("invalid UTF-8 in CAR header") from None
        if major == 4:
            return [self.item() for _ in range(value)]
        if major == 5:
            out: dict[object, object] = {}
            for _ in range(value):
                key = self.item()
                if not isinstance(key, str):
                    raise DecodeError("non-string map key in CAR header")
                out[key] = self.item()
            return out
        if major == 6 and value == _CID_TAG:
            payload = self.item()
            if not isinstance(payload, bytes) or not payload.startswith(b"\x00"):
                raise DecodeError("malformed CID (tag 42) in CAR header")
            try:
                return CID.from_bytes(payload[1:])
            except InvalidCidError as exc:
                raise DecodeError(f"invalid root CID in CAR header: {exc}") from None
        raise DecodeError(f"unsupported CBOR major type {major} in CAR header")


def decode_header(data: bytes) -> list[CID]:
    """Parse a CARv1 header; return its roots."""
    reader = _CborReader(data)
    header = reader.item()
    if reader.pos != len(data):
        raise DecodeError("trailing bytes in CAR header")
    if not isinstance(header, dict) or header.get("version") != 1:
        raise DecodeError("not a CARv1 header")
    roots = header.get("roots")
    if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
        raise DecodeError("CAR header roots must be a list of CIDs")
    return [r for r in roots if isinstance(r, CID)]


# -- writing --------------------------------------------------------------------------------------


def car_section(cid: CID, data: bytes) -> bytes:
    """One framed block: ``varint(len) cid data``."""
    cid_bytes = cid.to_bytes()
    return encode_varint(len(cid_bytes) + len(data)) + cid_bytes + data


def write_car(roots: Iterable[CID], blocks: Iterable[tuple[CID, bytes]]) -> Iterator[bytes]:
    """Stream a CARv1: the framed header, then each ``(cid, data)`` block as given."""
    header = encode_header(roots)
    yield encode_varint(len(header)) + header
    for cid, data in blocks:
        yield car_section(cid, data)


def walk_dag(root: CID, get_block: Callable[[CID], bytes]) -> Iterator[tuple[CID, bytes]]:
    """Blocks of the DAG under ``root``: depth-first pre-order, links in order, each once.

    Only raw and dag-pb DAGs (what UnixFS uses) can be walked; another codec raises
    :class:`UnsupportedError`.
    """
    seen: set[tuple[int, bytes]] = set()
    stack = [root]
    while stack:
        cid = stack.pop()
        key = (cid.codec, cid.multihash.to_bytes())
        if key in seen:
            continue
        seen.add(key)
        if cid.codec not in (RAW, DAG_PB):
            raise UnsupportedError(f"cannot walk a DAG through a {cid.codec_name} block ({cid})")
        data = get_block(cid)
        yield cid, data
        if cid.codec == DAG_PB:
            stack.extend(link.cid for link in reversed(PBNode.decode(data).links))


def export_car(root: CID | str, get_block: Callable[[CID], bytes]) -> Iterator[bytes]:
    """Stream the CARv1 of the DAG rooted at ``root`` (one root; gateway block order).

    The root block is fetched before returning, so a missing or corrupt root raises here,
    before any byte is produced (an HTTP handler can still answer 404/502); a block missing
    deeper in the DAG raises while streaming.
    """
    root_cid = CID.decode(root)
    root_data = get_block(root_cid)

    def fetch(cid: CID) -> bytes:
        return root_data if cid == root_cid else get_block(cid)

    return write_car([root_cid], walk_dag(root_cid, fetch))


# -- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CarFile:
    """A parsed CARv1: roots and blocks in file order."""

    roots: tuple[CID, ...]
    blocks: tuple[tuple[CID, bytes], ...]

    def block_map(self) -> dict[CID, bytes]:
        """Blocks by CID."""
        return dict(self.blocks)


def read_car(data: bytes, *, verify: bool = True) -> CarFile:
    """Parse a CARv1 held in memory; by default check every block against its CID."""
    view = memoryview(data)
    try:
        header_len, pos = decode_varint(view, 0)
    except ValueError as exc:
        raise DecodeError(f"malformed CAR header length: {exc}") from None
    if header_len == 0 or header_len > _MAX_HEADER or pos + header_len > len(data):
        raise DecodeError("invalid CAR header length")
    roots = decode_header(bytes(view[pos : pos + header_len]))
    pos += header_len
    blocks: list[tuple[CID, bytes]] = []
    while pos < len(data):
        try:
            length, start = decode_varint(view, pos)
        except ValueError as exc:
            raise DecodeError(f"malformed CAR section length: {exc}") from None
        end = start + length
        if length == 0 or length > MAX_BLOCK_SIZE + 128 or end > len(data):
            raise DecodeError("invalid CAR section length")
        try:
            cid, data_start = CID.read(view[:end], start)
        except InvalidCidError as exc:
            raise DecodeError(f"invalid CID in CAR section: {exc}") from None
        block = bytes(view[data_start:end])
        if verify:
            cid.verify(block)
        blocks.append((cid, block))
        pos = end
    return CarFile(tuple(roots), tuple(blocks))
