"""On-disk block store: layout, persistence, verification, atomic writes, pins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hybridmarket.ipfs import (
    CID,
    BlockCorruptError,
    BlockNotFoundError,
    FsBlockStore,
    import_bytes,
)
from hybridmarket.ipfs.multiformats import RAW

pytestmark = pytest.mark.unit


def test_put_get_across_instances(tmp_path: Path) -> None:
    result = import_bytes(bytes(range(256)) * 3000, cid_version=0)
    store = FsBlockStore(tmp_path / "store")
    for block in result.blocks:
        store.put(block.cid, block.data)
    reopened = FsBlockStore(tmp_path / "store")
    for block in result.blocks:
        assert reopened.has(block.cid)
        assert reopened.get(block.cid) == block.data
        assert reopened.get(str(block.cid.to_v1())) == block.data  # keyed by multihash
    assert len(list(reopened.multihash_keys())) == len(result.blocks)


def test_layout_is_flatfs_like(tmp_path: Path) -> None:
    store = FsBlockStore(tmp_path)
    cid = CID.for_block(b"hello", RAW)
    store.put(cid, b"hello")
    key = FsBlockStore.key(cid)
    assert key.startswith("CIQ")  # base32 of 0x12 0x20 ...
    path = tmp_path / "blocks" / key[-3:-1] / f"{key}.data"
    assert store.path_for(cid) == path
    assert path.read_bytes() == b"hello"
    assert not list(path.parent.glob("*.tmp"))


def test_missing_block(tmp_path: Path) -> None:
    store = FsBlockStore(tmp_path)
    cid = CID.for_block(b"nope", RAW)
    assert not store.has(cid)
    with pytest.raises(BlockNotFoundError) as info:
        store.get(cid)
    assert info.value.cid == str(cid)
    assert "not found" in str(info.value)
    assert list(store.multihash_keys()) == []


def test_put_refuses_wrong_bytes(tmp_path: Path) -> None:
    store = FsBlockStore(tmp_path)
    with pytest.raises(BlockCorruptError):
        store.put(CID.for_block(b"a", RAW), b"b")
    assert not any(tmp_path.rglob("*.data"))


def test_corruption_on_disk_is_detected_and_repaired(tmp_path: Path) -> None:
    store = FsBlockStore(tmp_path)
    cid = CID.for_block(b"precious", RAW)
    store.put(cid, b"precious")
    store.path_for(cid).write_bytes(b"bit rot!")
    with pytest.raises(BlockCorruptError, match="corrupt"):
        FsBlockStore(tmp_path).get(cid)
    store.put(cid, b"precious")  # rewriting the good bytes repairs it
    assert store.get(cid) == b"precious"
    store.path_for(cid).write_bytes(b"")
    with pytest.raises(BlockCorruptError):
        store.get(cid)


def test_put_is_idempotent_and_delete(tmp_path: Path) -> None:
    store = FsBlockStore(tmp_path)
    cid = CID.for_block(b"x", RAW)
    store.put(cid, b"x")
    mtime = store.path_for(cid).stat().st_mtime_ns
    store.put(cid, b"x")
    assert store.path_for(cid).stat().st_mtime_ns == mtime
    store.delete(cid)
    store.delete(cid)
    assert not store.has(cid)


def test_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    store = FsBlockStore(tmp_path)
    cid = CID.for_block(b"x", RAW)
    with pytest.raises(OSError, match="disk full"):
        store.put(cid, b"x")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_pins(tmp_path: Path) -> None:
    store = FsBlockStore(tmp_path)
    v0 = CID.parse("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")
    assert store.pins() == []
    store.add_pin(v0)
    store.add_pin(v0)
    assert store.is_pinned(v0.to_v1())
    assert FsBlockStore(tmp_path).pins() == [str(v0.to_v1())]
    store.remove_pin(str(v0))
    store.remove_pin(str(v0))
    assert not store.is_pinned(v0)
