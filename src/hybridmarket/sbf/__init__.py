"""Building the on-chain program: the pinned compiler, an SBPF linker, the reproducible build.

The shipped binary is read through `program_binary()`; building needs the `program` extra
(`make program`), running the project does not.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = ["PROGRAM_SO", "program_binary"]

# The committed SBPFv0 build of onchain/ (`python -m hybridmarket.sbf build` writes it).
PROGRAM_SO: Traversable = files("hybridmarket").joinpath("program", "hybridmarket.so")


def program_binary() -> bytes:
    """The shipped program's ELF bytes, as deployed."""
    return PROGRAM_SO.read_bytes()
