"""Canonical JSON: the one byte form used wherever JSON is hashed (market metadata, tallies,
snapshots): sorted keys, no whitespace, UTF-8. For documents of strings, integers, booleans,
null, lists and objects this is the same byte string as RFC 8785 (JCS); floats are refused,
because their text form is where serialisers disagree."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def _check(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("canonical JSON holds no floats: use integers or decimal strings")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError("canonical JSON object keys must be strings")
            _check(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _check(v)


def canonical_json(value: Any) -> bytes:
    _check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def market_id_of(metadata: dict[str, Any]) -> bytes:
    """The market id the metadata binds to: sha256 of its canonical JSON (DESIGN.md §4)."""
    return hashlib.sha256(canonical_json(metadata)).digest()
