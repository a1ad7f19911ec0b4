"""Typed errors of the IPFS module.

Every error raised on purpose by :mod:`hybridmarket.ipfs` derives from :class:`IpfsError`, so a
caller can catch the whole family at once, or pick the precise case (a malformed CID, a block
whose bytes do not hash to its CID, a backend that returned a different CID than the one computed
locally...).
"""

from __future__ import annotations


class IpfsError(Exception):
    """Base class of every error of :mod:`hybridmarket.ipfs`."""


class InvalidCidError(IpfsError, ValueError):
    """A CID (string or binary form) is malformed or uses an unsupported multiformat."""


class DecodeError(IpfsError, ValueError):
    """A block (dag-pb, UnixFS) or a CAR file could not be decoded."""


class UnsupportedError(IpfsError):
    """A well-formed object uses a feature this module does not implement
    (e.g. a dag-cbor DAG, a HAMT-sharded directory, a hash function other than sha2-256)."""


class BlockNotFoundError(IpfsError, KeyError):
    """The block of a CID is not available from the store or backend."""

    def __init__(self, cid: str) -> None:
        super().__init__(cid)
        self.cid = cid

    def __str__(self) -> str:
        return f"block not found: {self.cid}"


class BlockCorruptError(IpfsError):
    """Bytes read for a CID do not hash to that CID (disk corruption or a lying peer)."""

    def __init__(self, cid: str, detail: str = "content does not match its CID") -> None:
        super().__init__(f"{cid}: {detail}")
        self.cid = cid


class NotAFileError(IpfsError):
    """``cat`` was asked for a DAG that is not a UnixFS file (a directory, a symlink...)."""


class CidMismatchError(IpfsError):
    """A backend stored content under a CID other than the locally computed one."""

    def __init__(self, expected: str, actual: str, backend: str) -> None:
        super().__init__(f"{backend} returned CID {actual}, but the content's CID is {expected}")
        self.expected = expected
        self.actual = actual
        self.backend = backend


class BackendError(IpfsError):
    """A remote backend (Kubo RPC, pinning service) failed or answered something unexpected."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
