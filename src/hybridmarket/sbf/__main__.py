"""`python -m hybridmarket.sbf build|verify`: build the on-chain program, or check the shipped one."""

from __future__ import annotations

import tempfile
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

_Compiler = Annotated[
    str | None,
    typer.Option(
        "--compiler",
        help="zig (default when installed), clang-19, or a clang path; "
        "else $HYBRIDMARKET_SBF_COMPILER.",
    ),
]


def _build(version: int, compiler: str | None) -> bytes:
    from hybridmarket.sbf.linker import LinkError

    try:
        return build_shipped(version=version, compiler=find_compiler(compiler), log=stderr_log)
    except (ToolchainError, CompileError, LinkError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def build(
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write (default: the shipped .so).")
    ] = None,
    sbpf_version: Annotated[
        int, typer.Option("--sbpf-version", min=0, max=3, help="0 (shipped) or 3.")
    ] = 0,
    compiler: _Compiler = None,
) -> None:
    """Compile every onchain/src/*.c, link them and write the program."""
    if sbpf_version not in (0, 3):
        raise typer.BadParameter("SBPF version must be 0 or 3", param_hint="--sbpf-version")
    elf = _build(sbpf_version, compiler)
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
    committed = shipped.read_bytes() if shipped.exists() else b""
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
