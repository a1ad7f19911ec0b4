"""UnixFS file importer that reproduces Kubo's ``ipfs add`` CIDs.

Kubo defaults (also those of ``ipfs-unixfs-importer`` configured like Kubo):

* chunker ``size-262144``: fixed 256 KiB chunks, one (empty) chunk for an empty file;
* balanced layout, at most 174 links per node, all leaves at the same depth;
* CIDv1 (``--cid-version=1``): raw leaves (codec ``raw``), dag-pb parents, CIDv1 everywhere;
* CIDv0 (the historical default): leaves are dag-pb nodes holding a UnixFS ``file`` message
  with the chunk, every CID is v0;
* a file of a single chunk is that leaf itself (no parent node).

Parents hold a UnixFS ``file`` message with ``filesize`` and one ``blocksizes`` entry per child
(the file bytes under that child), and one link per child named ``""`` whose ``Tsize`` is the
child's cumulative DAG size. The builder streams: it keeps only the pending links of each level
in memory, and hands every finished block to an optional sink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hybridmarket.ipfs.cid import CID
from hybridmarket.ipfs.dagpb import PBLink, PBNode, UnixFSData, UnixFSType
from hybridmarket.ipfs.multiformats import DAG_PB, RAW

CHUNK_SIZE = 262_144
MAX_CHILDREN = 174


@dataclass(frozen=True, slots=True)
class Block:
    """A block: its CID and its bytes."""

    cid: CID
    data: bytes


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Outcome of importing one file.

    ``blocks`` are unique, in creation order (leaves before the parents that link them, root
    last); empty when the import was given a sink instead.
    """

    root: CID
    file_size: int
    dag_size: int
    blocks: tuple[Block, ...]

    @property
    def cid(self) -> str:
        """Root CID string, as ``ipfs add -Q`` prints it."""
        return str(self.root)


@dataclass(frozen=True, slots=True)
class _Node:
    cid: CID
    content_size: int  # file bytes under the node (UnixFS blocksize)
    dag_size: int  # cumulative serialized size (dag-pb Tsize)


def _check_version(cid_version: int) -> None:
    if cid_version not in (0, 1):
        raise ValueError(f"cid_version must be 0 or 1, not {cid_version!r}")


def chunk_bytes(data: bytes, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Fixed-size chunks of ``data``; one empty chunk for empty data (like Kubo)."""
    if not data:
        yield b""
        return
    view = memoryview(data)
    for start in range(0, len(data), chunk_size):
        yield bytes(view[start : start + chunk_size])


def chunk_stream(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Fixed-size chunks read from a binary stream (short reads are coalesced)."""
    emitted = False
    pending = b""
    while True:
        piece = stream.read(chunk_size - len(pending))
        if not piece:
            break
        pending += piece
        if len(pending) == chunk_size:
            yield pending
            emitted = True
            pending = b""
    if pending or not emitted:
        yield pending


class _BalancedBuilder:
    """Streaming balanced-layout DAG builder (equivalent to batching each level by 174)."""

    def __init__(self, cid_version: int, max_children: int, sink: Callable[[Block], None]):
        self.cid_version = cid_version
        self.max_children = max_children
        self.sink = sink
        self.levels: list[list[_Node]] = [[]]
        self.leaf_count = 0

    def add_chunk(self, chunk: bytes) -> None:
        if self.cid_version == 1:
            cid = CID.for_block(chunk, RAW, 1)
            block = chunk
            dag_size = len(chunk)
        else:
            unixfs = UnixFSData(UnixFSType.FILE, data=chunk, filesize=len(chunk))
            block = PBNode(data=unixfs.encode()).encode()
            cid = CID.for_block(block, DAG_PB, 0)
            dag_size = len(block)
        self.sink(Block(cid, block))
        self.leaf_count += 1
        self._push(0, _Node(cid, len(chunk), dag_size))

    def _push(self, level: int, node: _Node) -> None:
        while len(self.levels) <= level:
            self.levels.append([])
        pending = self.levels[level]
        pending.append(node)
        if len(pending) == self.max_children:
            self.levels[level] = []
            self._push(level + 1, self._parent(pending))

    def _parent(self, children: list[_Node]) -> _Node:
        # children with no content are left out, as Kubo and js-ipfs do (only an empty file
        # has an empty chunk, and it never gets a parent)
        children = [c for c in children if c.content_size > 0]
        unixfs = UnixFSData(
            UnixFSType.FILE,
            filesize=sum(c.content_size for c in children),
            blocksizes=tuple(c.content_size for c in children),
        )
        links = [PBLink(c.cid, "", c.dag_size) for c in children]
        block = PBNode(data=unixfs.encode(), links=links).encode()
        cid = CID.for_block(block, DAG_PB, self.cid_version)
        self.sink(Block(cid, block))
        return _Node(cid, unixfs.filesize or 0, len(block) + sum(c.dag_size for c in children))

    def finish(self) -> _Node:
        if self.leaf_count == 0:
            self.add_chunk(b"")
        if self.leaf_count == 1:
            return self.levels[0][0]
        level = 0
        while True:
            pending = self.levels[level]
            higher = any(self.levels[level + 1 :])
            if not higher and len(pending) == 1:
                return pending[0]
            if pending:
                self.levels[level] = []
                self._push(level + 1, self._parent(pending))
            level += 1


def import_chunks(
    chunks: Iterable[bytes],
    *,
    cid_version: int = 1,
    max_children: int = MAX_CHILDREN,
    sink: Callable[[Block], None] | None = None,
) -> ImportResult:
    """Build the UnixFS DAG of a file given as chunks (see :func:`chunk_bytes`).

    With ``sink``, every block is passed to it as soon as it is made and the result carries no
    blocks (constant memory for big files); without, the result lists them all.
    """
    _check_version(cid_version)
    if max_children < 2:
        raise ValueError("max_children must be at least 2")
    collected: dict[CID, Block] = {}

    def collect(block: Block) -> None:
        collected.setdefault(block.cid, block)

    builder = _BalancedBuilder(cid_version, max_children, sink or collect)
    file_size = 0
    for chunk in chunks:
        file_size += len(chunk)
        builder.add_chunk(chunk)
    root = builder.finish()
    return ImportResult(root.cid, file_size, root.dag_size, tuple(collected.values()))


def import_bytes(
    data: bytes,
    *,
    cid_version: int = 1,
    chunk_size: int = CHUNK_SIZE,
    max_children: int = MAX_CHILDREN,
    sink: Callable[[Block], None] | None = None,
) -> ImportResult:
    """Import a file held in memory; its CID equals ``ipfs add [--cid-version=N]``'s.

    ``chunk_size`` and ``max_children`` exist for tests (Kubo's are the defaults).
    """
    return import_chunks(
        chunk_bytes(data, chunk_size),
        cid_version=cid_version,
        max_children=max_children,
        sink=sink,
    )


def import_file(
    path: str | Path,
    *,
    cid_version: int = 1,
    sink: Callable[[Block], None] | None = None,
) -> ImportResult:
    """Import a file from disk, reading it 256 KiB at a time."""
    with open(path, "rb") as stream:
        return import_chunks(chunk_stream(stream), cid_version=cid_version, sink=sink)


def compute_cid(data: bytes, *, cid_version: int = 1) -> str:
    """The CID ``ipfs add --only-hash`` would print for ``data``."""
    return import_bytes(data, cid_version=cid_version, sink=lambda _block: None).cid
