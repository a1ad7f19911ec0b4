"""IPFS for hybridmarket: CIDs exactly as Kubo's ``ipfs add`` computes them, and storage backends.

Modules:

* :mod:`~hybridmarket.ipfs.multiformats` — varints, multibase, multihash;
* :mod:`~hybridmarket.ipfs.cid` — :class:`CID` (v0/v1, binary/string), on-chain byte helpers;
* :mod:`~hybridmarket.ipfs.dagpb` — dag-pb and UnixFS protobuf encoding;
* :mod:`~hybridmarket.ipfs.importer` — 256 KiB chunker + balanced (174) DAG builder;
* :mod:`~hybridmarket.ipfs.exporter` — ``cat`` of a UnixFS file;
* :mod:`~hybridmarket.ipfs.car` — CARv1 writer/reader and gateway-ordered DAG export;
* :mod:`~hybridmarket.ipfs.blockstore` — on-disk block store (atomic writes, verified reads);
* :mod:`~hybridmarket.ipfs.backends` — :class:`IpfsBackend` and its embedded, Kubo RPC and
  pinning-service implementations;
* :mod:`~hybridmarket.ipfs.cli` — the ``hybridmarket ipfs`` typer sub-app.
"""

from hybridmarket.ipfs.backends import (
    DEFAULT_STORE_DIR,
    EmbeddedBackend,
    IpfsBackend,
    KuboBackend,
    PinningServiceBackend,
    backend_from_settings,
    make_backend,
)
from hybridmarket.ipfs.blockstore import FsBlockStore
from hybridmarket.ipfs.car import CAR_CONTENT_TYPE, CarFile, export_car, read_car, walk_dag
from hybridmarket.ipfs.cid import CID, cid_from_bytes, cid_to_bytes, normalize_cid, parse_cid
from hybridmarket.ipfs.errors import (
    BackendError,
    BlockCorruptError,
    BlockNotFoundError,
    CidMismatchError,
    DecodeError,
    InvalidCidError,
    IpfsError,
    NotAFileError,
    UnsupportedError,
)
from hybridmarket.ipfs.exporter import cat, iter_cat
from hybridmarket.ipfs.importer import (
    Block,
    ImportResult,
    compute_cid,
    import_bytes,
    import_chunks,
    import_file,
)

__all__ = [
    "CAR_CONTENT_TYPE",
    "CID",
    "DEFAULT_STORE_DIR",
    "BackendError",
    "Block",
    "BlockCorruptError",
    "BlockNotFoundError",
    "CarFile",
    "CidMismatchError",
    "DecodeError",
    "EmbeddedBackend",
    "FsBlockStore",
    "ImportResult",
    "InvalidCidError",
    "IpfsBackend",
    "IpfsError",
    "KuboBackend",
    "NotAFileError",
    "PinningServiceBackend",
    "UnsupportedError",
    "backend_from_settings",
    "cat",
    "cid_from_bytes",
    "cid_to_bytes",
    "compute_cid",
    "export_car",
    "import_bytes",
    "import_chunks",
    "import_file",
    "iter_cat",
    "make_backend",
    "normalize_cid",
    "parse_cid",
    "read_car",
    "walk_dag",
]
