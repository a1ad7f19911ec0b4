"""`python -m hybridmarket.sbf build|verify`: build the on-chain program, or check the shipped one."""

from __future__ import annotations

import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hybridmarket.sbf.build import build_shipped, sha256, shipped_path, stderr_log
from hybridmarket.sbf.toolchain import CompileError, ToolchainError, find_compiler

app = typer.Typer(
    name="python -m hybridmarket.sbf",
    help="Build the on-chain program from onchain/ into src/hybridmarket/program/hybridmarket.so.",
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


@app.command()
def build(
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write (default: the shipped .so).")
    ] = None,
    sbpf_version: Annotated[
        SbpfVersion, typer.Option("--sbpf-version", help="0 (what ships) or 3.")
    ] = SbpfVersion.V0,
    compiler: _Compiler = None,
) -> None:
    """Compile every onchain/src/*.c, link them and write the program."""
    elf = _build(int(sbpf_version.value), compiler)
    path = out or shipped_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(elf)
    typer.echo(f"wrote {path} ({len(elf)} bytes, sha256 {sha256(elf)})", err=True)


@app.command()
def verify(compiler: _Compiler = None) -> None:
    """Rebuild into a temporary directory and compare with the shipped .so byte for byte."""
    shipped = shipped_path()
    with tempfile.TemporaryDirectory(prefix="hm-sbf-verify-") as tmp:
        rebuilt_path = Path(tmp) / "hybridmarket.so"
        rebuilt_path.write_bytes(_build(0, compiler))
        rebuilt = rebuilt_path.read_bytes()
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
        raise typer.Exit(1)
    typer.echo("identical")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
