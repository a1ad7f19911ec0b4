"""The C program's generated constants equal the model's (one source for every discriminator,
account size, error code and message, and instruction account table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridmarket.program import cheader

pytestmark = pytest.mark.unit

HEADER = Path(__file__).resolve().parents[2] / "onchain" / "include" / "generated.h"


def test_generated_header_matches_the_model() -> None:
    assert HEADER.read_text() == cheader.render(), (
        "onchain/include/generated.h is stale: run "
        "`python -m hybridmarket.program.cheader > onchain/include/generated.h`, then `make program`"
    )


def test_every_instruction_and_error_is_in_the_header() -> None:
    from hybridmarket.program.errors import MarketError
    from hybridmarket.program.instructions import INSTRUCTIONS

    text = cheader.render()
    for ix in INSTRUCTIONS:
        assert f"HM_ACCOUNTS_{ix.name.upper()}(X)" in text
        assert ix.discriminator.hex() not in text  # written as little-endian u64, not hex bytes
        assert f"0x{int.from_bytes(ix.discriminator, 'little'):016x}ULL" in text
    for err in MarketError:
        assert f"X({int(err)}, {err.name}," in text


def test_docs_give_the_shipped_binary_sha256_and_size() -> None:
    import hashlib

    from hybridmarket.sbf import program_binary

    elf = program_binary()
    doc = (HEADER.parents[2] / "docs" / "program.md").read_text()
    assert f"`{hashlib.sha256(elf).hexdigest()}`" in doc, "update the sha256 in docs/program.md"
    assert f"{len(elf):,} bytes" in doc, "update the binary's size in docs/program.md"
