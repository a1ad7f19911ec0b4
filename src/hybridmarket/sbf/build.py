"""The reproducible build of the on-chain program: compile `onchain/src/*.c`, link, write the .so.

The committed `src/hybridmarket/program/hybridmarket.so` is this build's output, byte for byte,
with the pinned compiler (`verify` and tests/unit/test_program_build.py hold it to that).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hybridmarket.sbf.toolchain import Compiler, find_compiler

__all__ = [
    "build_probe",
    "build_program",
    "build_shipped",
    "probe_sources",
    "program_sources",
    "project_root",
    "sha256",
    "shipped_path",
]


def project_root() -> Path:
    """The checkout holding `onchain/` (this file's, else the working directory)."""
    here = Path(__file__).resolve().parents[3]
    return here if (here / "onchain").is_dir() else Path.cwd()


def shipped_path(root: Path | None = None) -> Path:
    """Where the shipped binary lives in the source tree."""
    return (root or project_root()) / "src" / "hybridmarket" / "program" / "hybridmarket.so"


def program_sources(root: Path | None = None) -> tuple[list[Path], list[Path]]:
    """The program's C files (sorted, so the link order is fixed) and its include dirs."""
    onchain = (root or project_root()) / "onchain"
    return sorted((onchain / "src").glob("*.c")), [onchain / "include"]


def probe_sources(root: Path | None = None) -> tuple[list[Path], list[Path]]:
    """The LMSR probe: `onchain/probe/*.c` with the program's LMSR and wide arithmetic."""
    onchain = (root or project_root()) / "onchain"
    sources = sorted((onchain / "probe").glob("*.c"))
    sources += [onchain / "src" / "lmsr.c", onchain / "src" / "wide.c"]
    return sources, [onchain / "include"]


def build_program(
    sources: Sequence[Path],
    include_dirs: Sequence[Path] = (),
    *,
    version: int = 0,
    compiler: Compiler | None = None,
    root: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> bytes:
    """Compile `sources` and link them, in the given order, into an SBPF program.

    Raises ToolchainError (no compiler), CompileError (clang's diagnostics) or LinkError.
    """
    from hybridmarket.sbf.linker import link

    if not sources:
        raise ValueError("no C sources to build")
    compiler = compiler or find_compiler()
    root = root or project_root()

    def compile_one(source: Path) -> bytes:
        if log is not None:
            log(f"cc {_display(source, root)}")
        return compiler.compile(source, include_dirs, root=root)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        objects = list(pool.map(compile_one, sources))
    return link(
        {_display(s, root): obj for s, obj in zip(sources, objects, strict=True)},
        version=version,
    )


def build_shipped(
    *,
    version: int = 0,
    compiler: Compiler | None = None,
    log: Callable[[str], None] | None = None,
) -> bytes:
    """The shipped program, built from `onchain/` (what `python -m hybridmarket.sbf build` does)."""
    root = project_root()
    sources, includes = program_sources(root)
    return build_program(sources, includes, version=version, compiler=compiler, root=root, log=log)


def build_probe(*, version: int = 0, compiler: Compiler | None = None) -> bytes:
    """The test-only LMSR probe program."""
    root = project_root()
    sources, includes = probe_sources(root)
    return build_program(sources, includes, version=version, compiler=compiler, root=root)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
