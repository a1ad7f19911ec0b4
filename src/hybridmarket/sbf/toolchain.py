"""The pinned C compiler for SBF programs and the flags that make its objects loadable.

Two verified sources of a clang that targets BPF: PyPI's `ziglang==0.17.1` (clang 22, the
`program` extra; the default, and what the committed binary is built with) and Debian's
`clang-19`. `HYBRIDMARKET_SBF_COMPILER` (`zig`, `clang-19`, or a path to a clang) chooses one;
unset, zig is used when installed, else clang-19.

The same zig also builds the host library (`host_compiler`): the program's LMSR compiled for
x86_64 Linux as a shared object the API calls for its quotes. Only zig builds it, since zig
brings its own linker (lld) and needs no libc, so its bytes depend on nothing but the pin.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "COMPILER_ENV",
    "FLAGS",
    "HOST_FLAGS",
    "HOST_TARGET",
    "ZIGLANG_VERSION",
    "CompileError",
    "Compiler",
    "HostCompiler",
    "ToolchainError",
    "find_compiler",
    "host_compiler",
]

COMPILER_ENV = "HYBRIDMARKET_SBF_COMPILER"
ZIGLANG_VERSION = "0.17.1"

# SBF.md: the flags verified with both compilers. -mcpu=v2 without +alu32: SBPF runs v4's
# signed division as unsigned and sign-extends 32-bit results. The unwind flags keep zig's
# clang from emitting a writable .eh_frame; -fno-jump-tables keeps switch tables (indirect
# jumps through rodata) out; -g0 and the prefix map keep objects free of paths and debug info.
FLAGS: tuple[str, ...] = (
    "-std=c11",
    "-mcpu=v2",
    "-O2",
    "-ffreestanding",
    "-nostdlib",
    "-fno-builtin",
    "-fno-stack-protector",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-fno-jump-tables",
    "-g0",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-mllvm",
    "-bpf-stack-size=4096",
)

# allows-misaligned-mem-access: SBPF's VM reads and writes any address (it translates every
# access and copies unaligned), so a borsh u64 at an odd account offset is one ldxdw, not eight
# byte loads and shifts (the same target feature Solana's own LLVM enables for SBF). clang 22
# (zig) has it; clang 19 does not (it warns and ignores it), so its objects use byte loads:
# the same behaviour, ~1.5k CU more per instruction.
MISALIGNED_ACCESS: tuple[str, ...] = (
    "-Xclang",
    "-target-feature",
    "-Xclang",
    "+allows-misaligned-mem-access",
)

# The host library: x86_64 Linux, the CPU baseline (zig targets the baseline, not this machine,
# when given a target), freestanding like the program (the LMSR needs no libc: the library
# has no DT_NEEDED and no undefined symbol). -fvisibility=hidden exports only what
# onchain/host/lmsr_host.c marks (and makes the LMSR's internal calls direct); -s drops the
# symbol table and no build id is written, so the bytes are the same from any checkout.
HOST_TARGET = "x86_64-linux-gnu"
HOST_FLAGS: tuple[str, ...] = (
    "-std=c11",
    "-O2",
    "-ffreestanding",
    "-nostdlib",
    "-fno-builtin",
    "-fPIC",
    "-shared",
    "-fvisibility=hidden",
    "-g0",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-s",
    "-Wl,--build-id=none",
)

_INSTALL_HINT = (
    "run `make program` (or `pip install -e '.[program]'`, which installs "
    f"ziglang=={ZIGLANG_VERSION}), or install Debian's clang-19"
)


class ToolchainError(Exception):
    """No usable compiler; the message says how to install one."""


class CompileError(Exception):
    """The compiler rejected a source file; the message carries its diagnostics."""


@dataclass(frozen=True)
class Compiler:
    """A clang that targets little-endian BPF, as an argv prefix."""

    name: str  # "zig" or "clang-19" (or the path given)
    prefix: tuple[str, ...]  # the command up to, and including, the target

    def command(
        self,
        source: str,
        output: str,
        include_dirs: Sequence[str],
        root: Path,
        flags: Sequence[str] = (),
    ) -> list[str]:
        """The command that compiles `source` into the relocatable object `output`.

        `flags` come after the pinned ones, so they override them (tests use that to produce
        what the linker must refuse, e.g. `-mcpu=v4`).
        """
        includes = [f"-I{d}" for d in include_dirs]
        return [
            *self.prefix,
            *FLAGS,
            f"-ffile-prefix-map={root}/=",
            *includes,
            *flags,
            "-c",
            source,
            "-o",
            output,
        ]

    def compile(
        self,
        source: Path,
        include_dirs: Sequence[Path] = (),
        *,
        root: Path,
        flags: Sequence[str] = (),
    ) -> bytes:
        """Compile one C file and return the object's bytes.

        Runs in `root` with paths relative to it where possible, so that nothing in the object
        (an `__FILE__`, say) depends on where the checkout lives.
        """
        import tempfile

        with tempfile.TemporaryDirectory(prefix="hm-sbf-") as tmp:
            output = Path(tmp) / (source.stem + ".o")
            cmd = self.command(
                _relative(source, root),
                str(output),
                [_relative(d, root) for d in include_dirs],
                root,
                flags,
            )
            proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise CompileError(
                    f"{self.name} failed on {_relative(source, root)}:\n{proc.stderr.strip()}"
                )
            return output.read_bytes()


@dataclass(frozen=True)
class HostCompiler:
    """zig's clang and lld, building a shared library for HOST_TARGET in one invocation."""

    prefix: tuple[str, ...]  # the command up to, and including, the target

    def command(
        self, sources: Sequence[str], output: str, include_dirs: Sequence[str], root: Path
    ) -> list[str]:
        includes = [f"-I{d}" for d in include_dirs]
        return [
            *self.prefix,
            *HOST_FLAGS,
            f"-ffile-prefix-map={root}/=",
            *includes,
            *sources,
            "-o",
            output,
        ]

    def shared_library(
        self, sources: Sequence[Path], include_dirs: Sequence[Path] = (), *, root: Path
    ) -> bytes:
        """Compile and link `sources` into one shared object and return its bytes (run in
        `root` with relative paths, as `Compiler.compile`)."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="hm-host-") as tmp:
            output = Path(tmp) / "lib.so"
            cmd = self.command(
                [_relative(s, root) for s in sources],
                str(output),
                [_relative(d, root) for d in include_dirs],
                root,
            )
            proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise CompileError(f"zig failed on the host library:\n{proc.stderr.strip()}")
            return output.read_bytes()


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _zig_cc(hint: str = _INSTALL_HINT) -> tuple[str, ...]:
    """`python -m ziglang cc` at the pinned version, or ToolchainError saying how to get it."""
    if importlib.util.find_spec("ziglang") is None:
        raise ToolchainError(f"ziglang is not installed: {hint}")
    version = importlib.metadata.version("ziglang")
    if version != ZIGLANG_VERSION:
        raise ToolchainError(
            f"ziglang {version} is installed but the build is pinned to {ZIGLANG_VERSION}: {hint}"
        )
    return (sys.executable, "-m", "ziglang", "cc")


def _zig() -> Compiler:
    target = ("-target", "bpfel-freestanding", *MISALIGNED_ACCESS)
    return Compiler("zig", (*_zig_cc(), *target))


def host_compiler() -> HostCompiler:
    """The pinned zig, targeting HOST_TARGET (the host library is built with nothing else)."""
    hint = (
        "run `make program` (or `pip install -e '.[program]'`, which installs "
        f"ziglang=={ZIGLANG_VERSION})"
    )
    return HostCompiler((*_zig_cc(hint), "-target", HOST_TARGET))


def _clang(program: str) -> Compiler:
    path = shutil.which(program)
    if path is None:
        raise ToolchainError(f"{program} is not on PATH: {_INSTALL_HINT}")
    return Compiler(program, (path, "-target", "bpfel"))


def find_compiler(choice: str | None = None) -> Compiler:
    """The compiler named by `choice`, else by $HYBRIDMARKET_SBF_COMPILER, else zig or clang-19."""
    choice = choice or os.environ.get(COMPILER_ENV) or None
    if choice == "zig":
        return _zig()
    if choice is not None:
        return _clang(choice)
    try:
        return _zig()
    except ToolchainError:
        if shutil.which("clang-19"):
            return _clang("clang-19")
        if importlib.util.find_spec("ziglang") is not None:
            raise  # installed at the wrong version: say so
    raise ToolchainError(f"no SBF compiler found: {_INSTALL_HINT}")
