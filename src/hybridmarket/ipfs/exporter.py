"""Reading UnixFS files back from blocks (``ipfs cat``).

Walks a file DAG from its root in link order: a raw block is file bytes; a dag-pb node holds a
UnixFS ``file`` (or ``raw``) message whose own ``Data`` comes first, followed by its children.
Sizes are cross-checked (``filesize`` against data + ``blocksizes``, each child against its
``blocksizes`` entry) so a well-hashed but inconsistent DAG is reported rather than returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from hybridmarket.ipfs.cid import CID
from hybridmarket.ipfs.dagpb import PBNode, UnixFSData, UnixFSType
from hybridmarket.ipfs.errors import DecodeError, NotAFileError, UnsupportedError
from hybridmarket.ipfs.multiformats import DAG_PB, RAW

GetBlock = Callable[[CID], bytes]

_MAX_DEPTH = 64


def iter_cat(root: CID | str, get_block: GetBlock) -> Iterator[bytes]:
    """Stream the bytes of the UnixFS file (or raw block) at ``root``."""
    yield from _walk(CID.decode(root), get_block, 0, None)


def cat(root: CID | str, get_block: GetBlock) -> bytes:
    """The whole content of the UnixFS file at ``root``."""
    return b"".join(iter_cat(root, get_block))


def _walk(cid: CID, get_block: GetBlock, depth: int, expected: int | None) -> Iterator[bytes]:
    if depth > _MAX_DEPTH:
        raise DecodeError("UnixFS DAG too deep")
    block = get_block(cid)
    if cid.codec == RAW:
        if expected is not None and len(block) != expected:
            raise DecodeError(f"raw leaf {cid} has {len(block)} bytes, parent says {expected}")
        yield block
        return
    if cid.codec != DAG_PB:
        raise UnsupportedError(f"{cid} is {cid.codec_name}, not a UnixFS (dag-pb) node")
    node = PBNode.decode(block)
    if node.data is None:
        raise NotAFileError(f"{cid} is a dag-pb node without UnixFS data")
    unixfs = UnixFSData.decode(node.data)
    if unixfs.type not in (UnixFSType.FILE, UnixFSType.RAW):
        raise NotAFileError(f"{cid} is a UnixFS {unixfs.type.name.lower()}, not a file")
    own = unixfs.data or b""
    if node.links and len(unixfs.blocksizes) != len(node.links):
        raise DecodeError(f"{cid}: {len(node.links)} links but {len(unixfs.blocksizes)} blocksizes")
    total = len(own) + sum(unixfs.blocksizes)
    if unixfs.filesize is not None and unixfs.filesize != total:
        raise DecodeError(f"{cid}: filesize {unixfs.filesize} != data + blocksizes ({total})")
    if expected is not None and total != expected:
        raise DecodeError(f"{cid} holds {total} bytes, parent says {expected}")
    if own:
        yield own
    for link, size in zip(node.links, unixfs.blocksizes, strict=False):
        yield from _walk(link.cid, get_block, depth + 1, size)
