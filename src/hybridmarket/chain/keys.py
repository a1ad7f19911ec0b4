"""Solana CLI keypair files: a JSON array of 64 integers (`solana-keygen` format)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from solders.keypair import Keypair


class KeypairFileError(ValueError):
    """A keypair file that is missing or not a 64-number JSON array."""


def load_keypair(path: str | Path) -> Keypair:
    p = Path(path)
    try:
        raw = json.loads(p.read_text())
    except FileNotFoundError:
        raise KeypairFileError(f"keypair file not found: {p}") from None
    except (OSError, ValueError) as e:
        raise KeypairFileError(f"cannot read keypair file {p}: {e}") from None
    if not (
        isinstance(raw, list)
        and len(raw) == 64
        and all(isinstance(x, int) and 0 <= x < 256 for x in raw)
    ):
        raise KeypairFileError(f"{p} is not a Solana CLI keypair (a JSON array of 64 bytes)")
    try:
        return Keypair.from_bytes(bytes(raw))
    except ValueError as e:
        raise KeypairFileError(f"{p} holds an invalid keypair: {e}") from None


def write_keypair(path: str | Path, keypair: Keypair) -> Path:
    """Write a keypair file readable by its owner only (0600), atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(keypair.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, p)
    return p


def load_or_create_keypair(path: str | Path) -> Keypair:
    p = Path(path)
    if p.exists():
        return load_keypair(p)
    kp = Keypair()
    write_keypair(p, kp)
    return kp
