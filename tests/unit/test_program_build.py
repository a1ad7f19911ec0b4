"""The shipped program binary is exactly what `onchain/` builds to with the pinned compiler.

These tests fail, rather than skip, without the compiler: `make test` installs it (the
`program` extra), and a binary nobody can rebuild is not a reproducible build.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from typer.testing import CliRunner

import hybridmarket.sbf.__main__ as sbf_cli
from hybridmarket.sbf import program_binary
from hybridmarket.sbf.build import build_shipped, sha256, shipped_path
from hybridmarket.sbf.toolchain import Compiler, ToolchainError, find_compiler

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def compiler() -> Compiler:
    try:
        return find_compiler()
    except ToolchainError as exc:
        pytest.fail(f"{exc}; `make test` installs the program extra (ziglang) before the tests")


@pytest.fixture(scope="module")
def rebuilt(compiler: Compiler) -> bytes:
    return build_shipped(compiler=compiler)


def test_the_shipped_binary_is_a_fresh_build_of_onchain(rebuilt: bytes) -> None:
    shipped = shipped_path()
    committed = shipped.read_bytes() if shipped.exists() else b""
    assert sha256(committed) == sha256(rebuilt), (
        f"{shipped} (sha256 {sha256(committed)}) is not the build of onchain/ "
        f"(sha256 {sha256(rebuilt)}): run `make program` and commit the .so with the C"
    )


def test_program_binary_is_the_shipped_file() -> None:
    assert shipped_path().exists(), f"{shipped_path()} is missing: run `make program`, commit it"
    assert program_binary() == shipped_path().read_bytes()


def test_build_writes_where_told_in_either_version(rebuilt: bytes, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "v0.so"
    result = runner.invoke(sbf_cli.app, ["build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == rebuilt
    out3 = tmp_path / "v3.so"
    result = runner.invoke(sbf_cli.app, ["build", "--out", str(out3), "--sbpf-version", "3"])
    assert result.exit_code == 0, result.output
    with out3.open("rb") as f:
        assert ELFFile(f)["e_flags"] == 3


def test_verify_compares_byte_for_byte(
    rebuilt: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    same = tmp_path / "same.so"
    same.write_bytes(rebuilt)
    monkeypatch.setattr(sbf_cli, "shipped_path", lambda: same)
    result = runner.invoke(sbf_cli.app, ["verify"])
    assert result.exit_code == 0, result.output
    assert sha256(rebuilt) in result.output

    stale = tmp_path / "stale.so"
    stale.write_bytes(rebuilt[:-1] + bytes([rebuilt[-1] ^ 1]))
    monkeypatch.setattr(sbf_cli, "shipped_path", lambda: stale)
    result = runner.invoke(sbf_cli.app, ["verify"])
    assert result.exit_code == 1
    assert sha256(rebuilt) in result.output
    assert sha256(stale.read_bytes()) in result.output
    assert "differs from a fresh build" in result.output
