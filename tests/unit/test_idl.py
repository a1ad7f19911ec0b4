"""The committed IDL is exactly what the model generates, and it has the 0.30+ spec's shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hybridmarket.cli import app
from hybridmarket.program.accounts import ACCOUNT_TYPES
from hybridmarket.program.errors import MarketError
from hybridmarket.program.events import EVENT_TYPES
from hybridmarket.program.idl import build_idl, idl_json
from hybridmarket.program.ids import PROGRAM_ID
from hybridmarket.program.instructions import INSTRUCTIONS

pytestmark = pytest.mark.unit
COMMITTED = Path(__file__).resolve().parents[2] / "idl" / "hybridmarket.json"


def test_committed_idl_equals_generated() -> None:
    assert COMMITTED.read_text() == idl_json(), "run `make idl` and commit idl/hybridmarket.json"


def test_cli_prints_the_idl() -> None:
    result = CliRunner().invoke(app, ["idl"])
    assert result.exit_code == 0
    assert result.output == idl_json()
    bad = CliRunner().invoke(app, ["idl", "--program-id", "not-a-key"])
    assert bad.exit_code == 2 and "not a base58 public key" in bad.output


def test_idl_shape_follows_anchor_0_30_spec() -> None:
    idl = build_idl()
    assert idl["address"] == str(PROGRAM_ID)
    assert idl["metadata"]["spec"] == "0.1.0"
    assert [i["name"] for i in idl["instructions"]] == [i.name for i in INSTRUCTIONS]
    for entry, ix in zip(idl["instructions"], INSTRUCTIONS, strict=True):
        assert entry["discriminator"] == list(ix.discriminator)
        assert all(
            set(a) <= {"name", "docs", "writable", "signer", "address", "pda"}
            for a in entry["accounts"]
        )
    type_names = {t["name"] for t in idl["types"]}
    for group, classes in (("accounts", ACCOUNT_TYPES), ("events", EVENT_TYPES)):
        assert [a["name"] for a in idl[group]] == [c.__name__ for c in classes]
        assert all(len(a["discriminator"]) == 8 for a in idl[group])
        assert {c.__name__ for c in classes} <= type_names
    assert [e["code"] for e in idl["errors"]] == [int(e) for e in MarketError]
    assert idl["errors"][0]["code"] == 6000
    text = json.dumps(idl)
    assert '"publicKey"' not in text and '"pubkey"' in text  # 0.30 names, not legacy ones
