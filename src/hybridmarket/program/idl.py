"""The program's Anchor IDL (0.30+ spec, as `anchor build` emits), generated from the model.

Instructions, accounts, events, errors and types all come from the tables the processor runs
on, so the published interface cannot drift from the behaviour. `idl/hybridmarket.json` is
this output, committed; a test keeps the two equal.
"""

from __future__ import annotations

import json
from typing import Any

from solders.pubkey import Pubkey

from hybridmarket import __version__
from hybridmarket.codec.borsh import struct_types
from hybridmarket.program.accounts import (
    ACCOUNT_TYPES,
    MARKET_STATE,
    VOTE_KIND,
    ConfigParams,
)
from hybridmarket.program.errors import all_program_errors
from hybridmarket.program.events import EVENT_TYPES
from hybridmarket.program.ids import PROGRAM_ID
from hybridmarket.program.instructions import INSTRUCTIONS, AccountSpec, Seed


def _seed(seed: Seed, spec_by_name: dict[str, AccountSpec]) -> dict[str, Any]:
    if seed.kind == "const":
        return {"kind": "const", "value": list(seed.value)}
    if seed.kind == "arg":
        return {"kind": "arg", "path": seed.path}
    acc, _, fld = seed.path.partition(".")
    out: dict[str, Any] = {"kind": "account", "path": seed.path}
    if fld:
        typ = spec_by_name[acc].account_type
        assert typ is not None
        out["account"] = typ.__name__
    return out


def _account(spec: AccountSpec, spec_by_name: dict[str, AccountSpec]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": spec.name}
    if spec.docs:
        out["docs"] = [spec.docs]
    if spec.writable:
        out["writable"] = True
    if spec.signer:
        out["signer"] = True
    if spec.address is not None:
        out["address"] = str(spec.address)
    if spec.seeds is not None:
        out["pda"] = {"seeds": [_seed(s, spec_by_name) for s in spec.seeds]}
    return out


def build_idl(program_id: Pubkey = PROGRAM_ID) -> dict[str, Any]:
    instructions = []
    for ix in INSTRUCTIONS:
        by_name = {s.name: s for s in ix.accounts}
        instructions.append(
            {
                "name": ix.name,
                "docs": [ix.docs],
                "discriminator": list(ix.discriminator),
                "accounts": [_account(s, by_name) for s in ix.accounts],
                "args": ix.args.idl_fields(),
            }
        )
    types = [
        *struct_types([ConfigParams]),
        *struct_types(list(ACCOUNT_TYPES)),
        *struct_types(list(EVENT_TYPES)),
        MARKET_STATE.idl_type_def(),
        VOTE_KIND.idl_type_def(),
    ]
    return {
        "address": str(program_id),
        "metadata": {
            "name": "hybridmarket",
            "version": __version__,
            "spec": "0.1.0",
            "description": "Binary prediction market with LMSR pricing and off-chain vote aggregation",
        },
        "instructions": instructions,
        "accounts": [
            {"name": a.__name__, "discriminator": list(a.DISCRIMINATOR)} for a in ACCOUNT_TYPES
        ],
        "events": [
            {"name": e.__name__, "discriminator": list(e.DISCRIMINATOR)} for e in EVENT_TYPES
        ],
        "errors": [
            {"code": e.code, "name": e.name, "msg": e.message} for e in all_program_errors()
        ],
        "types": types,
    }


def idl_json(program_id: Pubkey = PROGRAM_ID) -> str:
    """The IDL as the committed file holds it: 2-space indented JSON with a final newline."""
    return json.dumps(build_idl(program_id), indent=2, ensure_ascii=False) + "\n"
