"""Storage backends behind one interface, :class:`IpfsBackend`.

* :class:`EmbeddedBackend` (the default): blocks in an on-disk :class:`FsBlockStore`; needs no
  daemon. Everything is computed and verified locally.
* :class:`KuboBackend`: a Kubo (go-ipfs) node, or anything speaking the Kubo RPC API
  (``/api/v0/add``, ``cat``, ``pin/add``, ``block/get``), selected by ``IPFS_API_URL``.
* :class:`PinningServiceBackend`: the IPFS Pinning Service API (``POST /pins``,
  ``GET /pins?cid=``), selected by ``PINNING_SERVICE_URL`` + ``PINNING_SERVICE_TOKEN``. A pinning
  service only *pins* — it fetches the blocks from the IPFS network (optionally from ``origins``
  multiaddrs we give it) and offers no read API — so this backend computes the DAG locally,
  keeps the blocks in an embedded store to serve ``cat``/``get_block``/CAR exports, and asks the
  service to pin the root. Making the blocks reachable for the service (an IPFS node announcing
  them, listed as ``origins``) is a deployment concern outside this module.

Every upload is verified: the CID is first computed locally with Kubo's settings
(:mod:`hybridmarket.ipfs.importer`) and the CID a remote returns must name the same content, or
:class:`~hybridmarket.ipfs.errors.CidMismatchError` is raised. Everything read from a remote is
checked against the CID asked for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx2

from hybridmarket.ipfs.blockstore import FsBlockStore
from hybridmarket.ipfs.car import export_car, walk_dag
from hybridmarket.ipfs.cid import CID
from hybridmarket.ipfs.errors import BackendError, BlockNotFoundError, CidMismatchError, IpfsError
from hybridmarket.ipfs.exporter import cat as unixfs_cat
from hybridmarket.ipfs.importer import CHUNK_SIZE, import_bytes

if TYPE_CHECKING:
    from hybridmarket.settings import Settings

DEFAULT_STORE_DIR = Path(".hybridmarket/ipfs")
DEFAULT_TIMEOUT = 60.0


@runtime_checkable
class IpfsBackend(Protocol):
    """What the rest of hybridmarket needs from IPFS."""

    def add(self, data: bytes, *, cid_version: int = 1) -> str:
        """Store ``data`` as a UnixFS file, pin it, return its CID (as ``ipfs add`` would)."""
        ...

    def cat(self, cid: str | CID) -> bytes:
        """The content of the UnixFS file ``cid``, verified against it."""
        ...

    def pin(self, cid: str | CID) -> None:
        """Keep the DAG of ``cid`` (recursively)."""
        ...

    def get_block(self, cid: str | CID) -> bytes:
        """The raw bytes of one block, verified against ``cid``."""
        ...

    def export_car(self, root: str | CID) -> Iterator[bytes]:
        """The CARv1 of the DAG under ``root``, streamed (trustless gateway order)."""
        ...

    def close(self) -> None:
        """Release connections (no-op for local backends)."""
        ...


def _check_same(expected: CID, returned: str, backend: str) -> None:
    try:
        actual = CID.parse(returned)
    except IpfsError:
        raise CidMismatchError(str(expected), returned, backend) from None
    if actual.version != expected.version or not actual.same_content(expected):
        raise CidMismatchError(str(expected), returned, backend)


class EmbeddedBackend:
    """Blocks on local disk under ``store_dir`` (default ``.hybridmarket/ipfs``)."""

    def __init__(self, store_dir: str | os.PathLike[str] = DEFAULT_STORE_DIR) -> None:
        self.store = FsBlockStore(store_dir)

    def add(self, data: bytes, *, cid_version: int = 1) -> str:
        """Import ``data`` into the store and pin its root."""
        result = import_bytes(
            data, cid_version=cid_version, sink=lambda b: self.store.put(b.cid, b.data)
        )
        self.store.add_pin(result.root)
        return result.cid

    def cat(self, cid: str | CID) -> bytes:
        """Read a file back from the store (every block verified)."""
        return unixfs_cat(CID.decode(cid), self.store.get)

    def pin(self, cid: str | CID) -> None:
        """Pin ``cid`` after checking its whole DAG is present (else BlockNotFoundError)."""
        root = CID.decode(cid)
        for _ in walk_dag(root, self.store.get):
            pass
        self.store.add_pin(root)

    def unpin(self, cid: str | CID) -> None:
        """Remove a pin (blocks are kept; there is no garbage collector yet)."""
        self.store.remove_pin(cid)

    def get_block(self, cid: str | CID) -> bytes:
        """A verified block from the store."""
        return self.store.get(cid)

    def export_car(self, root: str | CID) -> Iterator[bytes]:
        """CARv1 of a stored DAG."""
        return export_car(root, self.store.get)

    def close(self) -> None:
        """Nothing to release."""


class _HttpBackend:
    name = "remote"

    def __init__(self, base_url: str, *, timeout: float, client: httpx2.Client | None) -> None:
        self.base_url = base_url.rstrip("/")
        self._own_client = client is None
        self.client = client or httpx2.Client(timeout=timeout)

    def close(self) -> None:
        """Close the HTTP client if this backend created it."""
        if self._own_client:
            self.client.close()

    def __enter__(self) -> _HttpBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx2.HTTPError as exc:
            raise BackendError(f"{self.name}: {method} {url} failed: {exc}") from exc
        if response.status_code >= 400:
            raise BackendError(
                f"{self.name}: {method} {url} -> HTTP {response.status_code}: "
                f"{_error_message(response)}",
                status_code=response.status_code,
            )
        return response


def _error_message(response: httpx2.Response) -> str:
    text = response.text[:500]
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(body, dict):
        for key in ("Message", "message", "error", "reason", "details"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("reason") or value.get("details")
            if value:
                return str(value)
    return text.strip()


class KuboBackend(_HttpBackend):
    """A node speaking the Kubo RPC API at ``api_url`` (e.g. ``http://127.0.0.1:5001``)."""

    name = "kubo"

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx2.Client | None = None,
    ) -> None:
        base = api_url.rstrip("/")
        if base.endswith("/api/v0"):
            base = base[: -len("/api/v0")]
        super().__init__(base, timeout=timeout, client=client)

    def _rpc(self, command: str, params: Mapping[str, str], **kwargs: Any) -> httpx2.Response:
        return self._request("POST", f"{self.base_url}/api/v0/{command}", params=params, **kwargs)

    def add(self, data: bytes, *, cid_version: int = 1) -> str:
        """``/api/v0/add`` with Kubo's default layout; the node's CID must equal ours."""
        expected = import_bytes(data, cid_version=cid_version, sink=lambda _b: None).root
        params = {
            "cid-version": str(cid_version),
            "raw-leaves": "true" if cid_version == 1 else "false",
            "chunker": f"size-{CHUNK_SIZE}",
            "hash": "sha2-256",
            "pin": "true",
        }
        if cid_version == 1:
            params["cid-base"] = "base32"
        files = {"file": ("data", data, "application/octet-stream")}
        response = self._rpc("add", params, files=files)
        returned: str | None = None
        for line in response.text.splitlines():
            if line.strip():
                try:
                    entry = json.loads(line)
                except ValueError:
                    raise BackendError(f"kubo: unexpected add output {line[:200]!r}") from None
                if isinstance(entry, dict) and "Hash" in entry:
                    returned = str(entry["Hash"])
        if returned is None:
            raise BackendError("kubo: add returned no Hash")
        _check_same(expected, returned, self.name)
        return str(expected)

    def cat(self, cid: str | CID) -> bytes:
        """``/api/v0/cat``, verified by recomputing the CID; falls back to a block-by-block
        verified read when the file was imported with other settings than ours."""
        root = CID.decode(cid)
        data = self._rpc("cat", {"arg": str(root)}).content
        if import_bytes(data, cid_version=root.version, sink=lambda _b: None).root == root:
            return data
        return unixfs_cat(root, self._get_verified_block)

    def pin(self, cid: str | CID) -> None:
        """``/api/v0/pin/add`` (recursive)."""
        root = CID.decode(cid)
        body = self._rpc("pin/add", {"arg": str(root), "recursive": "true"}).json()
        pins = body.get("Pins") if isinstance(body, dict) else None
        if not isinstance(pins, list) or not any(_same_cid(p, root) for p in pins):
            raise BackendError(f"kubo: pin/add did not confirm {root}: {body!r}")

    def _get_verified_block(self, cid: CID) -> bytes:
        data = self._rpc("block/get", {"arg": str(cid)}).content
        cid.verify(data)
        return data

    def get_block(self, cid: str | CID) -> bytes:
        """``/api/v0/block/get``, checked against the CID."""
        return self._get_verified_block(CID.decode(cid))

    def export_car(self, root: str | CID) -> Iterator[bytes]:
        """CARv1 built from verified ``block/get`` calls."""
        return export_car(root, self._get_verified_block)


def _same_cid(value: object, cid: CID) -> bool:
    if isinstance(value, dict):
        value = value.get("/")
    if not isinstance(value, str):
        return False
    try:
        return CID.parse(value).same_content(cid)
    except IpfsError:
        return False


class PinningServiceBackend(_HttpBackend):
    """IPFS Pinning Service API at ``url`` with bearer ``token``, blocks kept in ``store_dir``."""

    name = "pinning-service"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        store_dir: str | os.PathLike[str] = DEFAULT_STORE_DIR,
        origins: tuple[str, ...] = (),
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx2.Client | None = None,
    ) -> None:
        super().__init__(url, timeout=timeout, client=client)
        self.local = EmbeddedBackend(store_dir)
        self.origins = origins
        self._headers = {"Authorization": f"Bearer {token}"}

    def add(self, data: bytes, *, cid_version: int = 1, name: str | None = None) -> str:
        """Import locally (blocks into the embedded store), then ask the service to pin."""
        cid = self.local.add(data, cid_version=cid_version)
        self.pin(cid, name=name)
        return cid

    def pin(self, cid: str | CID, *, name: str | None = None) -> None:
        """``POST /pins``; the service must echo the same CID and not report failure."""
        root = CID.decode(cid)
        body: dict[str, Any] = {"cid": str(root), "name": name or str(root)}
        if self.origins:
            body["origins"] = list(self.origins)
        status = self._request(
            "POST", f"{self.base_url}/pins", json=body, headers=self._headers
        ).json()
        pinned = status.get("pin", {}).get("cid") if isinstance(status, dict) else None
        if not isinstance(pinned, str):
            raise BackendError(f"pinning-service: malformed pin status {status!r}")
        _check_same(root, pinned, self.name)
        if status.get("status") == "failed":
            raise BackendError(f"pinning-service: pin of {root} failed: {status!r}")

    def status(self, cid: str | CID) -> str | None:
        """Best status the service reports for ``cid`` (``pinned`` > ``pinning`` > ``queued`` >
        ``failed``), or None when it has no pin request for it (``GET /pins?cid=``)."""
        root = CID.decode(cid)
        params = {"cid": str(root), "status": "queued,pinning,pinned,failed"}
        body = self._request(
            "GET", f"{self.base_url}/pins", params=params, headers=self._headers
        ).json()
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise BackendError(f"pinning-service: malformed pin list {body!r}")
        statuses = {
            r.get("status")
            for r in results
            if isinstance(r, dict) and _same_cid(r.get("pin", {}).get("cid"), root)
        }
        for best in ("pinned", "pinning", "queued", "failed"):
            if best in statuses:
                return best
        return None

    def cat(self, cid: str | CID) -> bytes:
        """Served from the local store (a pinning service has no read API)."""
        return self.local.cat(cid)

    def get_block(self, cid: str | CID) -> bytes:
        """Served from the local store."""
        return self.local.get_block(cid)

    def export_car(self, root: str | CID) -> Iterator[bytes]:
        """Served from the local store."""
        return self.local.export_car(root)


def make_backend(
    *,
    store_dir: str | os.PathLike[str] = DEFAULT_STORE_DIR,
    api_url: str | None = None,
    pinning_url: str | None = None,
    pinning_token: str | None = None,
) -> IpfsBackend:
    """Pick a backend: Kubo RPC if ``api_url``, else a pinning service if ``pinning_url``,
    else the embedded store."""
    if api_url:
        return KuboBackend(api_url)
    if pinning_url:
        if not pinning_token:
            raise BackendError("PINNING_SERVICE_URL is set but PINNING_SERVICE_TOKEN is not")
        return PinningServiceBackend(pinning_url, pinning_token, store_dir=store_dir)
    return EmbeddedBackend(store_dir)


def backend_from_settings(settings: Settings) -> IpfsBackend:
    """:func:`make_backend` from ``IPFS_API_URL``, ``PINNING_SERVICE_URL`` and
    ``PINNING_SERVICE_TOKEN`` (through Settings), the embedded store under DATA_DIR/ipfs."""
    token = settings.pinning_service_token
    return make_backend(
        store_dir=settings.data_dir / "ipfs",
        api_url=settings.ipfs_api_url or None,
        pinning_url=settings.pinning_service_url or None,
        pinning_token=token.get_secret_value() or None if token is not None else None,
    )


__all__ = [
    "DEFAULT_STORE_DIR",
    "BlockNotFoundError",
    "EmbeddedBackend",
    "IpfsBackend",
    "KuboBackend",
    "PinningServiceBackend",
    "backend_from_settings",
    "make_backend",
]
