"""`python -m hybridmarket.sbf build|verify`: build the on-chain program and the host library
(its LMSR for the API's quotes), or check that the shipped ones are fresh builds."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hybridmarket.sbf.build import (
    build_host,
    build_shipped,
    host_library_path,
    sha256,
    shipped_path,
    stderr_log,
)
from hybridmarket.sbf.toolchain import CompileError, ToolchainError, find_compiler

app = typer.Typer(
    name="python -m hybridmarket.sbf",
    help="Build the on-chain program from onchain/ into src/hybridmarket/program/hybridmarket.so, "
    "and its LMSR for the host into src/hybridmarket/program/lmsr_host.so.",
    no_args_is_help=True,
    add_completion=False,
)


class SbpfVersion(StrEnum):
    V0 = "0"
    V3 = "3"


_Compiler = Annotated[
    str | None,
    typer.Option(
        "--compiler",
        help="zig, clang-19 or a path to a clang (default: $HYBRIDMARKET_SBF_COMPILER, "
        "else zig when installed, else clang-19). The shipped binary is built with zig.",
    ),
]


def _build(version: int, compiler: str | None) -> bytes:
    from hybridmarket.sbf.linker import LinkError

    try:
        chosen = find_compiler(compiler)
        stderr_log(f"compiler: {chosen.name} ({' '.join(chosen.prefix)})")
        return build_shipped(version=version, compiler=chosen, log=stderr_log)
    except (ToolchainError, CompileError, LinkError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _build_host() -> bytes:
    try:
        return build_host(log=stderr_log)
    except (ToolchainError, CompileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    typer.echo(f"wrote {path} ({len(data)} bytes, sha256 {sha256(data)})", err=True)


@app.command()
def build(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the program here, and only the program."),
    ] = None,
    host_out: Annotated[
        Path | None,
        typer.Option("--host-out", help="Write the host library here, and only it."),
    ] = None,
    sbpf_version: Annotated[
        SbpfVersion, typer.Option("--sbpf-version", help="0 (what ships) or 3.")
    ] = SbpfVersion.V0,
    compiler: _Compiler = None,
) -> None:
    """Compile every onchain/src/*.c, link them and write the program; build the host library.

    Without --out or --host-out, both go to their shipped paths; with either, only what it
    names is built. The host library is always built with the pinned zig (--compiler is the
    program's).
    """
    if out is not None or host_out is None:
        _write(out or shipped_path(), _build(int(sbpf_version.value), compiler))
    if host_out is not None or out is None:
        _write(host_out or host_library_path(), _build_host())


def _compare(shipped: Path, rebuilt: bytes) -> bool:
    """Print the committed and rebuilt sha256 of one artefact; whether they are identical."""
    committed = shipped.read_bytes() if shipped.exists() else None
    if committed is None:
        typer.echo(f"committed (missing)  {shipped}")
    else:
        typer.echo(f"committed {sha256(committed)}  {shipped}")
    typer.echo(f"rebuilt   {sha256(rebuilt)}")
    if committed != rebuilt:
        typer.echo(
            f"error: {shipped.name} differs from a fresh build of onchain/: "
            "run `python -m hybridmarket.sbf build` and commit the result",
            err=True,
        )
        return False
    return True


@app.command()
def verify(compiler: _Compiler = None) -> None:
    """Rebuild the program and the host library and compare each with the shipped one byte
    for byte."""
    program_ok = _compare(shipped_path(), _build(0, compiler))
    host_ok = _compare(host_library_path(), _build_host())
    if not (program_ok and host_ok):
        raise typer.Exit(1)
    typer.echo("identical")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
