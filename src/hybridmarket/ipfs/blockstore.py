"""On-disk, content-addressed block store.

Layout (close to Kubo's flatfs ``next-to-last/2``): a block lives in
``<root>/blocks/<XY>/<KEY>.data`` where ``KEY`` is the upper-case base32 (no padding) of the
block's *multihash* and ``XY`` the two characters before its last one. Keying by multihash, as
Kubo does, means a CIDv0 and a CIDv1 of the same dag-pb block share one file.

* Writes are atomic: the bytes go to a temporary file in the same directory, are flushed and
  fsync'ed, then renamed over the final name; the directory is fsync'ed too. A crash leaves
  either the whole block or nothing (and maybe a ``.tmp`` file, which readers ignore).
* Reads are verified: bytes that do not hash to the requested CID raise
  :class:`~hybridmarket.ipfs.errors.BlockCorruptError` (a later ``put`` of the good bytes repairs
  the file).
* Pins are empty marker files ``<root>/pins/<CIDv1>``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hybridmarket.ipfs.cid import CID
from hybridmarket.ipfs.errors import BlockCorruptError, BlockNotFoundError


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file + fsync + rename + fsync(dir)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


class FsBlockStore:
    """Blocks in sharded directories under ``root`` (created on first write)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.blocks_dir = self.root / "blocks"
        self.pins_dir = self.root / "pins"

    @staticmethod
    def key(cid: CID) -> str:
        """File name stem of a block: base32 upper-case of its multihash."""
        encoded = base64.b32encode(cid.multihash.to_bytes()).decode("ascii")
        return encoded.rstrip("=")

    def path_for(self, cid: CID) -> Path:
        """Where the block of ``cid`` is (or would be) stored."""
        key = self.key(cid)
        return self.blocks_dir / key[-3:-1] / f"{key}.data"

    def put(self, cid: CID | str, data: bytes) -> None:
        """Store a block after checking that ``data`` hashes to ``cid``; idempotent."""
        cid = CID.decode(cid)
        cid.verify(data)
        path = self.path_for(cid)
        try:
            if path.read_bytes() == data:
                return
        except FileNotFoundError:
            pass
        atomic_write(path, data)

    def get(self, cid: CID | str) -> bytes:
        """The bytes of a block, verified against its CID.

        Raises :class:`BlockNotFoundError` or :class:`BlockCorruptError`.
        """
        cid = CID.decode(cid)
        try:
            data = self.path_for(cid).read_bytes()
        except FileNotFoundError:
            raise BlockNotFoundError(str(cid)) from None
        if not cid.multihash.verifies(data):
            raise BlockCorruptError(str(cid), f"stored block {self.path_for(cid)} is corrupt")
        return data

    def has(self, cid: CID | str) -> bool:
        """Whether a block for ``cid`` is stored (without verifying it)."""
        return self.path_for(CID.decode(cid)).is_file()

    def delete(self, cid: CID | str) -> None:
        """Remove a block if present."""
        with contextlib.suppress(FileNotFoundError):
            self.path_for(CID.decode(cid)).unlink()

    def multihash_keys(self) -> Iterator[str]:
        """Keys (see :meth:`key`) of all stored blocks."""
        if not self.blocks_dir.is_dir():
            return
        for shard in sorted(self.blocks_dir.iterdir()):
            if shard.is_dir():
                for entry in sorted(shard.glob("*.data")):
                    yield entry.stem

    # -- pins -----------------------------------------------------------------------------------

    def _pin_path(self, cid: CID) -> Path:
        return self.pins_dir / str(cid.to_v1())

    def add_pin(self, cid: CID | str) -> None:
        """Record a (recursive) pin on ``cid``."""
        path = self._pin_path(CID.decode(cid))
        if not path.exists():
            atomic_write(path, b"")

    def remove_pin(self, cid: CID | str) -> None:
        """Forget a pin."""
        with contextlib.suppress(FileNotFoundError):
            self._pin_path(CID.decode(cid)).unlink()

    def is_pinned(self, cid: CID | str) -> bool:
        """Whether ``cid`` (either version) is pinned."""
        return self._pin_path(CID.decode(cid)).exists()

    def pins(self) -> list[str]:
        """Pinned CIDs (as CIDv1 strings)."""
        if not self.pins_dir.is_dir():
            return []
        return sorted(p.name for p in self.pins_dir.iterdir() if not p.name.startswith("."))
