"""``hybridmarket ipfs`` commands (a typer sub-app; the main CLI registers it as ``ipfs``).

* ``hybridmarket ipfs add [--only-hash] [--cid-version 0|1] FILE`` prints the CID alone, like
  ``ipfs add -Q`` (``-`` reads standard input);
* ``hybridmarket ipfs cat CID`` writes the content to standard output.

``--store DIR`` (default ``.hybridmarket/ipfs``) is the embedded block store; ``--api-url``
(default: ``$IPFS_API_URL``) sends the command to a Kubo RPC node instead.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hybridmarket.ipfs.backends import DEFAULT_STORE_DIR, IpfsBackend, make_backend
from hybridmarket.ipfs.cid import CID
from hybridmarket.ipfs.errors import IpfsError
from hybridmarket.ipfs.importer import chunk_stream, import_chunks, import_file

app = typer.Typer(help="Content-addressed storage on IPFS (CIDs as Kubo computes them).")

StoreOption = Annotated[
    Path, typer.Option("--store", help="Embedded block store directory.", show_default=True)
]
ApiUrlOption = Annotated[
    str | None,
    typer.Option("--api-url", envvar="IPFS_API_URL", help="Kubo RPC API URL (default: embedded)."),
]


def _backend(store: Path, api_url: str | None) -> IpfsBackend:
    return make_backend(store_dir=store, api_url=api_url)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"Error: {exc}", err=True)
    return typer.Exit(code=1)


@app.command()
def add(
    file: Annotated[str, typer.Argument(help="File to add ('-' for standard input).")],
    only_hash: Annotated[
        bool, typer.Option("--only-hash", "-n", help="Only compute the CID; store nothing.")
    ] = False,
    cid_version: Annotated[
        int,
        typer.Option(
            "--cid-version",
            min=0,
            max=1,
            help="1: raw leaves, base32 (our default); 0: dag-pb leaves, Qm... (Kubo's default).",
        ),
    ] = 1,
    store: StoreOption = DEFAULT_STORE_DIR,
    api_url: ApiUrlOption = None,
) -> None:
    """Add a file and print its CID."""
    try:
        if only_hash:
            if file == "-":
                result = import_chunks(
                    chunk_stream(sys.stdin.buffer), cid_version=cid_version, sink=lambda _b: None
                )
            else:
                result = import_file(file, cid_version=cid_version, sink=lambda _b: None)
            typer.echo(result.cid)
            return
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        backend = _backend(store, api_url)
        try:
            typer.echo(backend.add(data, cid_version=cid_version))
        finally:
            backend.close()
    except (IpfsError, OSError) as exc:
        raise _fail(exc) from exc


@app.command()
def cat(
    cid: Annotated[str, typer.Argument(help="CID of a UnixFS file.")],
    store: StoreOption = DEFAULT_STORE_DIR,
    api_url: ApiUrlOption = None,
) -> None:
    """Print the content of a file."""
    try:
        root = CID.parse(cid)
        backend = _backend(store, api_url)
        try:
            data = backend.cat(root)
        finally:
            backend.close()
    except IpfsError as exc:
        raise _fail(exc) from exc
    out = sys.stdout.buffer
    out.write(data)
    out.flush()
