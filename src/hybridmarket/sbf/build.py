"""The reproducible build of the on-chain program: compile `onchain/src/*.c`, link, write the .so.

The committed `src/hybridmarket/program/hybridmarket.so` is this build's output, byte for byte,
with the pinned compiler (`verify` and tests/unit/test_program_build.py hold it to that). So is
`src/hybridmarket/program/lmsr_host.so`, the program's LMSR built for x86_64 Linux for the API's
quotes (`build_host`; tests/unit/test_quote_native.py).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hybridmarket.sbf.toolchain import (
    HOST_TARGET,
    Compiler,
    HostCompiler,
    find_compiler,
    host_compiler,
)

__all__ = [
    "build_host",
    "build_probe",
    "build_program",
    "build_shipped",
    "host_library_path",
    "host_sources",
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


def host_library_path(root: Path | None = None) -> Path:
    """Where the shipped host library (the LMSR for the API's quotes) lives in the source tree."""
    return (root or project_root()) / "src" / "hybridmarket" / "program" / "lmsr_host.so"


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


def host_sources(root: Path | None = None) -> tuple[list[Path], list[Path]]:
    """The host library: the program's LMSR and wide arithmetic, the budget search the probe
    also links, and the entry points of `onchain/host/` (the same files the binaries use)."""
    onchain = (root or project_root()) / "onchain"
    sources = [onchain / "src" / "lmsr.c", onchain / "src" / "wide.c"]
    sources += [onchain / "probe" / "lmsr_search.c"]
    sources += sorted((onchain / "host").glob("*.c"))
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


def build_host(
    *, compiler: HostCompiler | None = None, log: Callable[[str], None] | None = None
) -> bytes:
    """The shipped host library, built from `onchain/` with the pinned zig (ToolchainError
    without it, CompileError on a diagnostic)."""
    compiler = compiler or host_compiler()
    root = project_root()
    sources, includes = host_sources(root)
    if log is not None:
        log(f"cc {' '.join(_display(s, root) for s in sources)} (host: {HOST_TARGET})")
    return compiler.shared_library(sources, includes, root=root)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
